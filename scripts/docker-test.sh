#!/usr/bin/env bash
# Builds the Docker image (Dockerfile) and runs it, also on a machine that reaches no
# container registry:
#   1. installs docker.io, debootstrap and docker-compose when missing (apt-get), starts
#      dockerd when no daemon answers (in the background; stopped again at the end), and
#      checks that docker-compose 1.29 (and Compose v2, where installed) accept
#      docker-compose.yml (`config -q`);
#   2. base images: debian:bookworm and debian:bookworm-slim as they are, else pulled,
#      else imported from a cached minimal bookworm tarball, else made with
#      `debootstrap --variant=minbase bookworm` (the tarball is kept in the cache dir
#      for the next run);
#   3. docker build, then checks with --network host, loopback addresses only, against a
#      redis-server of its own on a free loopback port:
#        (a) /health answers on PORT and API_PORT, and Docker's HEALTHCHECK turns healthy,
#            also with API_PORT=0 (API off: the check falls back to PORT);
#        (b) socket.io-client round trip: subscribe to a room, POST /v1/broadcast, receive;
#        (c) two containers on one Redis: a broadcast posted to container 1's API reaches
#            a client of container 2;
#        (d) `docker stop --time 40` of a container with connected clients: it drains
#            (/health 503, clients closed with 1001) and exits 0;
#        (e) the server process runs as uid 10001, not root;
#        (f) a `docker run --read-only` container serves (container 2 of (c) and (d)).
# Any failure ends it non-zero with a message; its containers, redis-server and clients
# are removed on exit.
#
# Environment:
#   SIO_DOCKER_CACHE   cache dir of the base tarball and the dockerd log (/var/cache/sio-docker)
#   SIO_DOCKER_IMAGE   tag of the image built (sio-server:docker-test)
#   SIO_DOCKER_PULL    0: do not try to pull the base images, use the tarball (1)
#   SIO_DEBIAN_MIRROR  debootstrap mirror (http://deb.debian.org/debian)
#   SIO_DOCKER_KEEP_DAEMON  1: leave a dockerd started here running (0)
#   SIO_DOCKER_DRAIN   DRAIN_SECONDS of the container stopped in (d) (5; < 40)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIO_DOCKER_CACHE:-/var/cache/sio-docker}
IMAGE=${SIO_DOCKER_IMAGE:-sio-server:docker-test}
PULL=${SIO_DOCKER_PULL:-1}
MIRROR=${SIO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEEP_DAEMON=${SIO_DOCKER_KEEP_DAEMON:-0}
DRAIN=${SIO_DOCKER_DRAIN:-5}  # DRAIN_SECONDS of the container stopped in (d)
STOP_TIMEOUT=40            # docker stop --time: > DRAIN_SECONDS (the README's line)
t0=$SECONDS

log() { echo "docker-test [$((SECONDS - t0))s]: $*"; }
fail() { echo "docker-test: FAIL: $*" >&2; exit 1; }
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

work=$(mktemp -d /tmp/sio-docker-test.XXXXXX)
prefix="sio-docker-test-$$"
containers=()
pids=()
dockerd_pid=""
cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)); then
    for c in "${containers[@]}"; do
      echo "--- docker logs $c (last 30 lines) ---" >&2
      docker logs --tail 30 "$c" >&2 2>&1
    done
    [[ -f "$work/redis.log" ]] && { echo "--- redis-server log ---" >&2; tail -5 "$work/redis.log" >&2; }
  fi
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [[ -n "$dockerd_pid" && "$KEEP_DAEMON" != 1 ]]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$work"
  if ((rc != 0)); then echo "docker-test: failed (exit $rc) after $((SECONDS - t0)) s" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
# forget PID: it has been waited for (so that cleanup never signals a reused pid)
forget() { local keep=() p; for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done; pids=("${keep[@]}"); }
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. docker
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v dockerd >/dev/null || [[ " ${need[*]} " == *" docker.io "* ]] || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v docker-compose >/dev/null || need+=(docker-compose)
for tool in curl redis-server node; do command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"; done
[[ -d "$repo/tests/node_modules/socket.io-client" ]] || fail "$repo/tests/node_modules has no socket.io-client (scripts/install-deps.sh)"
if ((${#need[@]})); then
  log "installing ${need[*]} (apt-get)"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l \
      $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$work/apt.log" 2>&1; then
    tail -20 "$work/apt.log" >&2
    fail "apt-get install ${need[*]} failed"
  fi
fi
$SUDO mkdir -p "$CACHE"

daemon_up() { docker info >/dev/null 2>&1; }
wait_daemon() { # seconds
  for _ in $(seq $(($1 * 4))); do daemon_up && return 0; sleep 0.25; done
  return 1
}
if ! daemon_up; then
  # apt may have just started docker.service (systemd): give it a moment first.
  if pgrep -x dockerd >/dev/null && wait_daemon 30; then :; else
    log "starting dockerd (log: $CACHE/dockerd.log)"
    $SUDO dockerd >"$CACHE/dockerd.log" 2>&1 &
    dockerd_pid=$!
    wait_daemon 60 || { tail -20 "$CACHE/dockerd.log" >&2; fail "dockerd did not answer on its socket within 60 s"; }
  fi
fi
log "docker $(docker version -f '{{.Server.Version}}' 2>/dev/null) (client $(docker version -f '{{.Client.Version}}' 2>/dev/null))"

# docker-compose.yml: accepted by Debian's docker-compose 1.29 and, where installed, Compose v2
docker-compose -f "$repo/docker-compose.yml" config -q || fail "docker-compose $(docker-compose version --short) rejects docker-compose.yml"
compose_v=("docker-compose $(docker-compose version --short)")
if docker compose version >/dev/null 2>&1; then
  docker compose -f "$repo/docker-compose.yml" config -q || fail "docker compose (v2) rejects docker-compose.yml"
  compose_v+=("docker compose $(docker compose version --short 2>/dev/null)")
fi
log "docker-compose.yml accepted by: ${compose_v[*]}"

# ---------------------------------------------------------------- 2. base images
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
bases=(debian:bookworm debian:bookworm-slim)
missing=()
for b in "${bases[@]}"; do
  have_image "$b" && continue
  if [[ "$PULL" == 1 ]] && timeout 120 docker pull -q "$b" >"$work/pull.log" 2>&1; then
    log "pulled $b"
  else
    missing+=("$b")
  fi
done
if ((${#missing[@]})); then
  tarball="$CACHE/bookworm.tar"
  if [[ ! -s "$tarball" ]]; then
    log "no registry for ${missing[*]}: debootstrap --variant=minbase bookworm ($MIRROR)"
    root="$CACHE/rootfs.$$"
    $SUDO rm -rf "$root"
    if ! $SUDO debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
      tail -20 "$CACHE/debootstrap.log" >&2
      $SUDO rm -rf "$root"
      fail "debootstrap failed (log: $CACHE/debootstrap.log)"
    fi
    # The sources of the official image (updates and security too), and nothing cached.
    $SUDO rm -f "$root/etc/apt/sources.list"
    $SUDO tee "$root/etc/apt/sources.list.d/debian.sources" >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO chroot "$root" apt-get clean
    $SUDO rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
      "$root"/tmp/* "$root"/etc/hostname "$root"/etc/resolv.conf
    $SUDO tar --numeric-owner --xattrs -C "$root" \
      --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$tarball.tmp" .
    $SUDO mv "$tarball.tmp" "$tarball"
    $SUDO rm -rf "$root"
    log "cached $tarball ($(du -h "$tarball" | cut -f1))"
  fi
  for b in "${missing[@]}"; do
    log "docker import $tarball as $b"
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' "$tarball" "$b" >/dev/null || fail "docker import of $tarball failed"
  done
fi

# ---------------------------------------------------------------- 3. build
log "docker build -t $IMAGE (log: $work/build.log)"
# The build stage is tagged too ($IMAGE-build), so that its apt layer stays cached for the
# next run while the images of the previous run's sources are removed (no pile of
# untagged build stages). --network host: the RUN steps reach the Debian mirror the way
# this machine does. The classic builder by default: no BuildKit frontend to fetch.
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
old_ids=("$(image_id "$IMAGE-build")" "$(image_id "$IMAGE")")
build() { DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --network host "$@" "$repo" >>"$work/build.log" 2>&1; }
if ! build --target build -t "$IMAGE-build" || ! build -t "$IMAGE"; then
  tail -40 "$work/build.log" >&2
  fail "docker build failed"
fi
new_ids=("$(image_id "$IMAGE-build")" "$(image_id "$IMAGE")")
for i in 0 1; do
  if [[ -n "${old_ids[i]}" && "${old_ids[i]}" != "${new_ids[i]}" ]]; then docker rmi "${old_ids[i]}" >/dev/null 2>&1 || true; fi
done
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log "built $IMAGE ($((size / 1000000)) MB)"

# ---------------------------------------------------------------- 4. run and check
# Free loopback ports, distinct: held open together, then released.
read -r P1 A1 P2 A2 P3 RP < <(node -e '
  const net = require("net"); const s = [];
  let n = 6;
  for (let i = 0; i < n; i++) { const v = net.createServer(); s.push(v); v.listen(0, "127.0.0.1", () => {
    if (--n === 0) { console.log(s.map((x) => x.address().port).join(" ")); s.forEach((x) => x.close()); } }); }')
[[ -n "$RP" ]] || fail "could not pick free ports"

redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --protected-mode yes \
  >"$work/redis.log" 2>&1 &
pids+=($!)
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p "$RP" ping 2>/dev/null)" == PONG ]]; }
for _ in $(seq 50); do redis_up && break; sleep 0.1; done
redis_up || fail "redis-server did not start on 127.0.0.1:$RP"

# run NAME [docker run options...] -- ENV=VALUE...
run() {
  local name="$prefix-$1"; shift
  local opts=()
  while (($#)) && [[ "$1" != -- ]]; do opts+=("$1"); shift; done
  shift
  local envs=()
  for e in "$@"; do envs+=(-e "$e"); done
  containers+=("$name")
  docker run -d --name "$name" --network host --health-interval 1s "${opts[@]}" \
    -e BIND_ADDR=127.0.0.1 -e API_BIND_ADDR=127.0.0.1 -e LOG_LEVEL=info "${envs[@]}" "$IMAGE" >/dev/null \
    || fail "docker run $name failed"
}
# wait_http PORT -> 0 once 127.0.0.1:PORT/health answers 200 (10 s)
wait_http() {
  for _ in $(seq 100); do curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/health" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# wait_healthy CONTAINER -> Docker's HEALTHCHECK says healthy (20 s)
wait_healthy() {
  local s=""
  for _ in $(seq 80); do
    s=$(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null)
    [[ "$s" == healthy ]] && return 0
    [[ "$(docker inspect -f '{{.State.Running}}' "$1")" == true ]] || fail "$1 exited: $(docker logs --tail 5 "$1" 2>&1)"
    sleep 0.25
  done
  fail "$1: HEALTHCHECK status is '$s', not healthy, after 20 s: $(docker inspect -f '{{json .State.Health}}' "$1")"
}

# Container 1: the API on; container 2: read-only root; container 3: API_PORT=0.
run 1 -- PORT="$P1" API_PORT="$A1" REDIS_URL="redis://127.0.0.1:$RP" NODE_ID=docker-1
run 2 --read-only -- PORT="$P2" API_PORT="$A2" REDIS_URL="redis://127.0.0.1:$RP" NODE_ID=docker-2 DRAIN_SECONDS="$DRAIN"
run 3 -- PORT="$P3" API_PORT=0 NODE_ID=docker-3
c1="$prefix-1" c2="$prefix-2" c3="$prefix-3"

# (a) /health on both ports (and PORT of the API-less one), then Docker's own health check
for p in "$P1" "$A1" "$P2" "$A2" "$P3"; do
  wait_http "$p" || fail "no 200 from http://127.0.0.1:$p/health within 10 s"
done
body=$(curl -fsS "http://127.0.0.1:$A1/health")
log "(a) /health 200 on PORT and API_PORT of both, PORT of the API_PORT=0 one: $body"
wait_healthy "$c1"
wait_healthy "$c3"
log "(a) HEALTHCHECK healthy with the API on (API_PORT) and with API_PORT=0 (PORT)"

# (e) non-root: the image's user and the uid of the server process seen from the host
user=$(docker inspect -f '{{.Config.User}}' "$c1")
uid_in=$(docker exec "$c1" id -u)
hostpid=$(docker inspect -f '{{.State.Pid}}' "$c1")
uid_host=$(ps -o uid= -p "$hostpid" | tr -d ' ')
[[ "$uid_in" != 0 && "$uid_host" != 0 && "${user%%:*}" != 0 && -n "$user" ]] \
  || fail "the server runs as root (Config.User '$user', id -u $uid_in, host uid $uid_host)"
log "(e) non-root: Config.User $user, id -u $uid_in, the process's uid on the host $uid_host"

# (f) read-only root: container 2 was started with --read-only and serves (above, below)
[[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$c2")" == true ]] || fail "$c2 is not read-only"
docker exec "$c2" sh -c 'touch /probe' 2>/dev/null && fail "$c2: / is writable despite --read-only"
log "(f) --read-only container serves /health (and (c), (d) below); / is not writable"

# The socket.io-client side of (b), (c), (d).
cat >"$work/client.js" <<'EOF'
'use strict';
// node client.js roundtrip SIO_PORT API_PORT ROOM   subscribe, POST the API, receive it
// node client.js drain SIO_PORT N READY_FILE         N clients; exit 0 when all see the drain close
const { io } = require('socket.io-client');
const http = require('http');
const [mode, sioPort, arg, third] = process.argv.slice(2);
const die = (m) => { console.error(m); process.exit(1); };
const connect = () => io(`http://127.0.0.1:${sioPort}`, { transports: ['websocket'], reconnection: false, timeout: 5000 });
function post(port, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/broadcast',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('error', reject); req.setTimeout(5000, () => req.destroy(new Error('API timeout'))); req.end(data);
  });
}
function subscribed(s, room) {
  return new Promise((resolve, reject) => {
    s.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
    s.on('connect', () => s.emit('subscribe', [room], (res) => (res && res.ok ? resolve() : reject(new Error(`subscribe: ${JSON.stringify(res)}`)))));
  });
}
(async () => {
  if (mode === 'roundtrip') {
    setTimeout(() => die(`round trip: nothing received within 15 s`), 15000).unref();
    const room = third; const nonce = `n-${process.pid}-${Date.now()}`;
    const s = connect();
    await subscribed(s, room);
    const got = new Promise((resolve) => s.on('docker-test', (d) => { if (d && d.nonce === nonce) resolve(d); }));
    const r = await post(Number(arg), { namespace: '/', rooms: [room], event: 'docker-test', data: { nonce } });
    if (r.status !== 202) die(`POST /v1/broadcast answered ${r.status} ${r.body}`);
    await got;
    console.log(`received ${nonce} on ${sioPort}`);
    s.close(); process.exit(0);
  } else if (mode === 'drain') {
    setTimeout(() => die('drain: the clients were not closed within 60 s'), 60000).unref();
    const n = Number(arg); const socks = [];
    for (let i = 0; i < n; i++) { const s = connect(); socks.push(s); await subscribed(s, 'drain'); }
    const closed = socks.map((s) => new Promise((resolve) => s.on('disconnect', (reason, details) =>
      resolve({ reason, code: details && details.context && details.context.code }))));
    require('fs').writeFileSync(third, 'ready');
    const res = await Promise.all(closed);
    const bad = res.filter((r) => r.reason !== 'transport close' || (r.code !== undefined && r.code !== 1001));
    if (bad.length) die(`unexpected disconnects: ${JSON.stringify(bad)}`);
    console.log(`${n} clients closed: ${JSON.stringify(res[0])}`);
    process.exit(0);
  } else die(`unknown mode ${mode}`);
})().catch((e) => die(e.stack || String(e)));
EOF
client() { NODE_PATH="$repo/tests/node_modules" node "$work/client.js" "$@"; }

# (b) round trip on container 1
out=$(client roundtrip "$P1" "$A1" docker-room 2>&1) || fail "(b) round trip on container 1: $out"
log "(b) socket.io-client round trip on container 1: $out"

# (c) container 1's API -> Redis -> container 2's client (and the other way)
out=$(client roundtrip "$P2" "$A1" docker-cross 2>&1) || fail "(c) API of container 1 -> client of container 2: $out"
log "(c) API of container 1 -> client of container 2 (read-only): $out"
out=$(client roundtrip "$P1" "$A2" docker-cross 2>&1) || fail "(c) API of container 2 -> client of container 1: $out"
log "(c) API of container 2 -> client of container 1: $out"

# (d) docker stop --time 40 of container 2 with 3 connected clients
ready="$work/drain.ready"
client drain "$P2" 3 "$ready" >"$work/drain.out" 2>&1 &
drain_client=$!
pids+=("$drain_client")
for _ in $(seq 100); do [[ -f "$ready" ]] && break; kill -0 "$drain_client" 2>/dev/null || break; sleep 0.1; done
[[ -f "$ready" ]] || fail "(d) the drain clients did not connect: $(cat "$work/drain.out")"
stop_start=$SECONDS
docker stop --time "$STOP_TIMEOUT" "$c2" >/dev/null &
stopper=$!
pids+=("$stopper")
saw503=""
for _ in $(seq 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$P2/health" 2>/dev/null || true)
  [[ "$code" == 503 ]] && { saw503=1; break; }
  sleep 0.1
done
stop_rc=0
wait "$stopper" || stop_rc=$?
forget "$stopper"
((stop_rc == 0)) || fail "(d) docker stop --time $STOP_TIMEOUT $c2 failed"
took=$((SECONDS - stop_start))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$c2")
client_rc=0
wait "$drain_client" || client_rc=$?
forget "$drain_client"
[[ "$exit_code" == 0 ]] || fail "(d) $c2 exited $exit_code after docker stop --time $STOP_TIMEOUT (137: SIGKILLed before its drain of DRAIN_SECONDS=$DRAIN ended)"
((client_rc == 0)) || fail "(d) the clients of $c2: $(cat "$work/drain.out")"
[[ -n "$saw503" ]] || fail "(d) $c2's /health did not answer 503 while draining"
((took >= DRAIN - 1 && took < STOP_TIMEOUT)) || fail "(d) docker stop took $took s, expected about DRAIN_SECONDS=$DRAIN"
logs=$(docker logs "$c2" 2>&1)
[[ "$logs" == *'"draining"'* ]] || fail "(d) $c2 logged no drain"
log "(d) docker stop --time $STOP_TIMEOUT: /health 503, $(cat "$work/drain.out"), exit code 0 after ${took} s (DRAIN_SECONDS=$DRAIN)"

# container 1 is still healthy and still serving after its peer left
out=$(client roundtrip "$P1" "$A1" docker-after 2>&1) || fail "container 1 after container 2 stopped: $out"
log "all checks passed in $((SECONDS - t0)) s"
