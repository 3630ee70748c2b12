#!/usr/bin/env bash
# README command 1: install what is missing, build, and start sio standalone
# (in-memory adapter, no Redis) on port 3000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [[ -x build/sio-server ]]; then
  exec env PORT="${PORT:-3000}" build/sio-server
fi
echo "run.sh: build/sio-server is not built yet; starting build/sio-conformance on port ${PORT:-3000}" >&2
exec build/sio-conformance --port "${PORT:-3000}"
