#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test:
#   1. C unit tests (ctest), in a normal and an ASan/UBSan build, with the
#      replay of every committed fuzz seed and regression input;
#   2. the libFuzzer targets, built with clang, each run deterministically
#      (fixed -seed and -runs from the committed inputs: scripts/fuzz.sh --ci);
#   3. the Node integration suites against the real binaries, normal build
#      (they start their own redis-server and haproxy on loopback);
#   4. the same integration suites against the ASan/UBSan build;
#   5. the official Engine.IO and Socket.IO suites against both builds;
#   6. the suites where the two threads meet, under ThreadSanitizer;
#   7. the Docker image built and run (scripts/docker-test.sh: health, a
#      client round trip, two containers on one Redis, the drain at docker
#      stop, non-root, read-only root; a debootstrapped base where Docker Hub
#      is out of reach);
#   8. cmake --install into a temporary prefix and examples/chat.c built
#      against it out of tree (tests/install/check.sh).
# Every build treats warnings as errors (SIO_WERROR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== build (RelWithDebInfo, warnings are errors) =="
scripts/build.sh build -DSIO_WERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
echo "== layering (the include graph of every product source) =="
node scripts/check-layers.js build
echo "== build (ASan + UBSan) =="
CC=${ASAN_CC:-gcc} scripts/build.sh build-asan -DSIO_SANITIZE=ON -DSIO_WERROR=ON

echo "== unit tests =="
ctest --test-dir build --output-on-failure
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure

echo "== fuzzers (deterministic: fixed seed and runs) =="
scripts/fuzz.sh --ci

echo "== integration tests (release build) =="
(cd tests && SIO_BUILD_DIR="$PWD/../build" npx mocha)

echo "== integration tests (ASan + UBSan build) =="
# lws and libuv keep a few process-lifetime allocations: leaks are checked by
# the unit tests; here ASan watches for memory errors and UBSan for UB.
(cd tests && SIO_BUILD_DIR="$PWD/../build-asan" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  npx mocha)
echo "== official protocol suites (release and ASan + UBSan builds) =="
scripts/conformance.sh build build-asan

echo "== ThreadSanitizer: the suites where the two threads meet =="
# the API, Redis fan-out and requests, the bounded mailboxes, /metrics, EMF, the ECS drain
# and recovery cross the edge/cluster boundary; a data race report ends the server (exit 66). (The
# haproxy drain suite runs in the release and ASan builds: at TSan's speed its
# timing is not the product's.)
scripts/build.sh build-tsan -DSIO_TSAN=ON -DSIO_WERROR=ON -DSIO_BUILD_LOADTEST=OFF
(cd tests && SIO_BUILD_DIR="$PWD/../build-tsan" TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
  npx mocha --no-config --timeout 30000 --exit integration/cluster.test.js integration/overload.test.js \
  integration/observability.test.js integration/recovery.test.js integration/backend.test.js \
  integration/aws.test.js)
# issue 18's options: msgpack renderings and deflated twins are made on the edge for packets
# the cluster thread encoded (API, Redis emitter) and freed by whichever thread drops them last
(cd tests && SIO_BUILD_DIR="$PWD/../build-tsan" TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
  npx mocha --no-config --timeout 30000 --exit integration/msgpack.test.js integration/protocol-combos.test.js)
# plain WebSocket clients: their broadcasts, backend calls and stream entries cross both threads
# (the 30 s upstream load test runs in the release and ASan builds)
(cd tests && SIO_BUILD_DIR="$PWD/../build-tsan" TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
  npx mocha --no-config --timeout 30000 --exit --grep "the 30 s load test" --invert integration/plain-ws.test.js)
# recovery across nodes (history, sessions, restores cross both threads), the drain excepted;
# the sharded adapter and Redis Cluster (slot maps, failover, migration)
(cd tests && SIO_BUILD_DIR="$PWD/../build-tsan" TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
  npx mocha --no-config --timeout 90000 --exit --grep "drain" --invert integration/recovery-cluster.test.js \
  integration/recovery-streams.test.js integration/sharded.test.js)

echo "== docker: image built and run (scripts/docker-test.sh) =="
scripts/docker-test.sh

echo "== install: libsio, sio.pc, examples/chat.c built out of tree =="
tests/install/check.sh "$PWD/build-install"
echo "== all tests passed =="
