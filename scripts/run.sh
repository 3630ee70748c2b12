#!/usr/bin/env bash
# README command 1: install what is missing, build, and start sio-server
# standalone (in-memory adapter, no Redis) on port 3000 (API on 3001).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec env PORT="${PORT:-3000}" build/sio-server
