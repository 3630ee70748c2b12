#!/usr/bin/env bash
# conformance.sh: runs the official Engine.IO v4 and Socket.IO v5 test suites
# (the test-suite/ folders of github.com/socketio/engine.io-protocol and
# socket.io-protocol) against build dirs' sio-conformance, as CI does:
#   scripts/conformance.sh [BUILD_DIR...]        (default: build)
# The suites are read from ../shared/conformance (the team's copies); a clone
# without that folder skips them with one line. Each suite is copied to a temp
# folder, installed with `npm ci`, and run with `mocha --retries 3`: it must
# pass whole (24/24 and 32/32). The suites talk to localhost:3000.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
suites="$root/../shared/conformance"
if [ ! -d "$suites/engine.io-protocol" ] || [ ! -d "$suites/socket.io-protocol" ]; then
    echo "conformance: ../shared/conformance is not here (a user's clone): the official suites are skipped"
    exit 0
fi
builds=()
for b in "$@"; do builds+=("$(cd "$b" && pwd)"); done
[ ${#builds[@]} -gt 0 ] || builds=("$root/build")

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

for suite in engine.io-protocol socket.io-protocol; do
    cp -r "$suites/$suite" "$tmp/$suite"
    (cd "$tmp/$suite" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
done

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

status=0
for build in "${builds[@]}"; do
    if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
        echo "conformance: port 3000 is taken; the suites need it" >&2
        exit 1
    fi
    # lws keeps process-lifetime allocations (see scripts/test.sh): ASan checks
    # memory errors here, UBSan undefined behaviour; leaks are the unit tests'
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$build/sio-conformance" --port 3000 >"$tmp/server.log" 2>&1 &
    server_pid=$!
    wait_port || { echo "conformance: $build/sio-conformance did not listen" >&2; cat "$tmp/server.log" >&2; exit 1; }
    for suite in engine.io-protocol socket.io-protocol; do
        echo "== official $suite suite against $build/sio-conformance"
        if ! (cd "$tmp/$suite" && timeout 300 npx mocha --retries 3 --reporter dot test-suite.js); then
            status=1
        fi
    done
    kill "$server_pid"
    if ! wait "$server_pid"; then
        echo "conformance: $build/sio-conformance exited badly:" >&2
        cat "$tmp/server.log" >&2
        status=1
    fi
    server_pid=""
    if grep -qE "ERROR: AddressSanitizer|runtime error:" "$tmp/server.log"; then
        echo "conformance: sanitizer report from $build/sio-conformance:" >&2
        cat "$tmp/server.log" >&2
        status=1
    fi
done
exit "$status"
