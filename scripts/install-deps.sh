#!/usr/bin/env bash
# Installs what sio needs on Debian bookworm, idempotently: apt packages that are
# missing (one `apt-get update` first), then the Node test dependencies from the
# committed lock file. Runs as root (CI) or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhttp-parser-dev
  libevent-dev libhiredis-dev libjansson-dev libmsgpack-dev libssl-dev libwslay-dev
  libcurl4-openssl-dev
  redis-server haproxy nodejs npm curl ca-certificates
)
# Test-only, never in the image: the browser of tests/integration/compression.test.js
# (playwright-core drives /usr/bin/chromium; the test fails without it when CI is set).
TEST_ONLY_APT=(chromium)
APT_PACKAGES+=("${TEST_ONLY_APT[@]}")

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (e.g. a preinstalled toolchain)
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -d tests/node_modules ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci in tests/"
  # artillery depends on @playwright/browser-chromium, whose install script would
  # download a browser from outside the npm registry; its socketio engine needs none
  (cd tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
