'use strict';
/*
 * The k6 and artillery load-test scripts (loadtest/k6, loadtest/artillery) against a live
 * cluster: a real redis-server and 2 sio-server nodes (JWT auth, API token), loopback only.
 *   - k6: loadtest/k6/subscriber.js on each node and loadtest/k6/publisher.js posting to
 *     node A's API, each under loadtest/k6-runner/run.js (k6 itself is not installed); the
 *     runner's summaries: deliveries on both nodes, latency trend, thresholds, exit codes
 *     (an impossible threshold exits 99, a script error in the init context 107);
 *   - artillery 2.x (npm `artillery`, socketio engine): loadtest/artillery/scenario.yml on
 *     node B while broadcasts are posted to node A; its JSON report (vusers, the
 *     processor's counters and histogram, no errors); a refused subscribe failing the
 *     ack check; long-polling through HAProxy with `io` cookie stickiness (the ALB
 *     stand-in): works with the config's withCredentials, fails without it.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { REPO_ROOT, HOST } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const { startHaproxy, stopHaproxy, haproxyAvailable } = require('../lib/haproxy');
const {
  sleep, startSioServer, stopAlive, apiPost, apiGet, jwtHS256, nowSec,
} = require('../lib/sio');

const RUNNER = path.join(REPO_ROOT, 'loadtest', 'k6-runner', 'run.js');
const K6_SUBSCRIBER = path.join(REPO_ROOT, 'loadtest', 'k6', 'subscriber.js');
const K6_PUBLISHER = path.join(REPO_ROOT, 'loadtest', 'k6', 'publisher.js');
const ART_DIR = path.join(REPO_ROOT, 'loadtest', 'artillery');
const ARTILLERY_BIN = path.join(path.dirname(require.resolve('artillery/package.json')), 'bin', 'run');

const JWT_SECRET = 'loadtest-secret';
const API_TOKEN = 'loadtest-api-token';
const ROOMS = 'room-1,room-2';

/** Runs a command to its exit (killed after timeoutMs): {code, signal, stdout, stderr}. */
function run(command, args, { env, timeoutMs, cwd }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${path.basename(args[0] || command)} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A clean environment: nothing from the developer's shell reaches the scripts. */
const baseEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME || os.tmpdir() });

/** A k6 script under the runner; -e for each variable; resolves with the run and its summary. */
async function k6(script, vars, dir, name) {
  const summaryFile = path.join(dir, `${name}.json`);
  const args = [RUNNER, 'run'];
  for (const [k, v] of Object.entries(vars)) args.push('-e', `${k}=${v}`);
  args.push('--graceful-stop', '5s', '--summary-json', summaryFile, script);
  const res = await run(process.execPath, args, { env: baseEnv(), timeoutMs: 30000 });
  res.summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : null;
  res.what = `${name}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
  return res;
}

/**
 * artillery run --config config.yml scenario.yml with small phases (and more config
 * overrides, e.g. socketio options); resolves with the JSON report.
 */
async function artillery(target, vars, dir, name, phases, config = {}) {
  const output = path.join(dir, `${name}.json`);
  const args = [ARTILLERY_BIN, 'run',
    '--target', target,
    '--overrides', JSON.stringify({ config: { phases, ...config } }),
    '--output', output,
    '--config', path.join(ART_DIR, 'config.yml'),
    path.join(ART_DIR, 'scenario.yml')];
  const env = {
    ...baseEnv(),
    ...vars,
    ARTILLERY_DISABLE_TELEMETRY: 'true',
    // artillery 2.0.21 still calls PostHog at exit: loopback only, so stub it (see the file)
    NODE_OPTIONS: `--require ${path.join(ART_DIR, 'no-telemetry.js')}`,
  };
  const res = await run(process.execPath, args, { env, timeoutMs: 45000, cwd: dir });
  res.what = `${name}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
  assert.ok(fs.existsSync(output), `no report\n${res.what}`);
  res.report = JSON.parse(fs.readFileSync(output, 'utf8'));
  return res;
}

/** Posts stamped broadcasts to an API every intervalMs until stop() (resolves with the count). */
function publishLoop(apiPort, intervalMs) {
  let stopped = false;
  let seq = 0;
  const done = (async () => {
    while (!stopped) {
      seq += 1;
      const room = seq % 2 ? 'room-1' : 'room-2';
      const res = await apiPost(apiPort, {
        namespace: '/', rooms: [room], event: 'bench', data: { t: Date.now() * 1000, room, seq },
      }, { token: API_TOKEN });
      assert.equal(res.status, 202, res.body);
      await sleep(intervalMs);
    }
    return seq;
  })();
  return { stop: () => { stopped = true; return done; } };
}

const thresholdsOf = (summary) => Object.fromEntries(summary.runner.thresholds.map((t) => [`${t.metric}: ${t.expr}`, t.ok]));

describe('load-test scripts: k6 (under loadtest/k6-runner) and artillery against a 2-node cluster', function () {
  this.timeout(60000);
  let redis;
  let nodes = [];
  let dir;
  const token = (claims = {}) => jwtHS256({ sub: 'loadtest', exp: nowSec() + 600, ...claims }, JWT_SECRET);
  const wsUrl = (n) => `ws://${HOST}:${n.port}`;
  const httpUrl = (n) => `http://${HOST}:${n.port}`;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-loadtest-'));
    redis = await startRedis();
    nodes = await Promise.all(['a', 'b'].map((id) => startSioServer({
      env: {
        REDIS_URL: redisUrl(redis), JWT_SECRET, API_TOKEN, NODE_ID: `loadtest-${id}`,
      },
    })));
    for (const n of nodes) {
      const end = Date.now() + 5000;
      for (;;) {
        const h = await apiGet(n.apiPort, '/health');
        if (h.json && h.json.redis === 'up') break;
        if (Date.now() > end) throw new Error(`node ${n.apiPort}: redis not up: ${h.body}`);
        await sleep(50);
      }
    }
  });

  after(async function () {
    for (const n of nodes) await stopAlive(n);
    await stopRedis(redis);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('k6: subscribers on both nodes get the publisher\'s broadcasts to node A, thresholds pass (exit 0)', async function () {
    const jwt = token();
    const sub = (n, name) => k6(K6_SUBSCRIBER, {
      TARGET_URL: wsUrl(n), JWT: jwt, ROOMS, VUS: 3, DURATION: '4s', SESSION_SECONDS: 2, P99_MS: 1000,
    }, dir, name);
    const [a, b, pub] = await Promise.all([
      sub(nodes[0], 'sub-a'),
      sub(nodes[1], 'sub-b'),
      k6(K6_PUBLISHER, {
        API_URL: `http://${HOST}:${nodes[0].apiPort}`, API_TOKEN, ROOMS, VUS: 1, DURATION: '5s', RATE: 20,
      }, dir, 'pub'),
    ]);

    for (const r of [a, b, pub]) {
      assert.equal(r.code, 0, r.what);
      assert.ok(r.summary, `no summary\n${r.what}`);
      assert.equal(r.summary.runner.iterationErrors, 0, r.what);
    }
    // the publisher: ~20/s for 5 s, every one accepted (202) with the API token
    const published = pub.summary.metrics.sio_published.values.count;
    assert.ok(published >= 50, `published ${published}\n${pub.what}`);
    assert.deepEqual(pub.summary.root_group.checks.map((c) => [c.name, c.fails]), [['broadcast accepted (202)', 0]]);
    assert.equal(pub.summary.metrics.http_req_failed.values.rate, 0);

    for (const [r, node] of [[a, 'A (the API node)'], [b, 'B (through Redis)']]) {
      const m = r.summary.metrics;
      // deliveries on this node's clients, with their latency
      assert.ok(m.sio_deliveries.values.count > 0, `node ${node}: no deliveries\n${r.what}`);
      const lat = m.sio_delivery_latency.values;
      assert.equal(lat.count, m.sio_deliveries.values.count, `node ${node}: every delivery timed`);
      for (const k of ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)']) {
        assert.ok(Number.isFinite(lat[k]) && lat[k] >= 0, `node ${node}: latency ${k} = ${lat[k]}`);
      }
      assert.ok(lat['p(99)'] <= lat.max && lat.min <= lat.med, JSON.stringify(lat));
      // the protocol worked: handshakes, CONNECT with the JWT, subscribe acks
      assert.equal(m.sio_connect_errors.values.count, 0, r.what);
      assert.equal(m.sio_errors, undefined, `node ${node}: protocol errors\n${r.what}`);
      assert.equal(m.sio_subscribed.values.rate, 1);
      assert.ok(m.ws_sessions.values.count >= 3, `node ${node}: sessions`);
      for (const c of r.summary.root_group.checks) assert.equal(c.fails, 0, `${node} check ${c.name}`);
      // every threshold of the script was evaluated, and passed
      assert.deepEqual(thresholdsOf(r.summary), {
        'sio_delivery_latency: p(99)<1000': true,
        'sio_connect_errors: count<=0': true,
        'sio_deliveries: count>0': true,
        'sio_subscribed: rate>=0.99': true,
      });
      assert.equal(m.sio_delivery_latency.thresholds['p(99)<1000'].ok, true);
      assert.match(r.stdout, /✓ sio_delivery_latency\.+: avg=/);
    }
  });

  it('k6: an impossible latency threshold fails the run (exit 99), the others still pass', async function () {
    const pub = publishLoop(nodes[0].apiPort, 50);
    let r;
    try {
      r = await k6(K6_SUBSCRIBER, {
        TARGET_URL: wsUrl(nodes[1]), JWT: token(), ROOMS, VUS: 2, DURATION: '2s', SESSION_SECONDS: 1, P99_MS: 0,
      }, dir, 'impossible');
    } finally {
      await pub.stop();
    }
    assert.equal(r.code, 99, r.what);
    assert.equal(r.summary.runner.exitCode, 99);
    assert.ok(r.summary.metrics.sio_deliveries.values.count > 0, r.what);
    assert.deepEqual(thresholdsOf(r.summary), {
      'sio_delivery_latency: p(99)<0': false,
      'sio_connect_errors: count<=0': true,
      'sio_deliveries: count>0': true,
      'sio_subscribed: rate>=0.99': true,
    });
    assert.match(r.stderr, /threshold 'p\(99\)<0' on sio_delivery_latency failed/);
    assert.match(r.stdout, /✗ sio_delivery_latency/);
  });

  it('k6: a bad token is a connect error (threshold fails); a script error in the init context exits 107', async function () {
    const bad = await k6(K6_SUBSCRIBER, {
      TARGET_URL: httpUrl(nodes[0]), JWT: 'not-a-jwt', ROOMS, VUS: 1, DURATION: '1s', SESSION_SECONDS: 1,
    }, dir, 'bad-token');
    assert.equal(bad.code, 99, bad.what);
    assert.ok(bad.summary.metrics.sio_connect_errors.values.count >= 1, bad.what);
    assert.equal(thresholdsOf(bad.summary)['sio_connect_errors: count<=0'], false);
    const checks = Object.fromEntries(bad.summary.root_group.checks.map((c) => [c.name, c]));
    assert.equal(checks['websocket handshake 101'].fails, 0); // the WebSocket opened...
    assert.equal(checks['socket.io connected'].passes, 0); // ...the CONNECT was refused

    const broken = await k6(K6_SUBSCRIBER, { STAGES: '10s' }, dir, 'broken');
    assert.equal(broken.code, 107, broken.what);
    assert.match(broken.stderr, /bad stage '10s'/);
  });

  it('artillery: the socketio scenario on node B receives broadcasts posted to node A; report has the custom metrics', async function () {
    const pub = publishLoop(nodes[0].apiPort, 50);
    let r;
    try {
      r = await artillery(httpUrl(nodes[1]), {
        ROOMS, JWT: token(), LISTEN_SECONDS: '3',
      }, dir, 'artillery', [{ duration: 2, arrivalRate: 2 }]);
    } finally {
      await pub.stop();
    }
    assert.equal(r.code, 0, r.what);
    const { counters, summaries } = r.report.aggregate;
    assert.equal(counters['vusers.created'], 4, r.what);
    assert.equal(counters['vusers.completed'], 4, r.what);
    assert.equal(counters['vusers.failed'], 0, r.what);
    assert.deepEqual(Object.keys(counters).filter((k) => k.startsWith('errors.')), [], r.what);
    assert.equal(counters['socketio.emit'], 4); // the subscribe, acked {"ok":true,...}
    assert.ok(counters.broadcasts_received > 0, r.what);
    for (const k of ['listeners_without_broadcasts', 'unexpected_disconnects', 'broadcasts_unstamped', 'negative_latency']) {
      assert.equal(counters[k], undefined, `${k}\n${r.what}`);
    }
    const lat = summaries.broadcast_latency;
    assert.ok(lat, `no broadcast_latency histogram\n${r.what}`);
    assert.equal(lat.count, counters.broadcasts_received);
    assert.ok(lat.min >= 0 && lat.p99 >= lat.min && lat.max >= lat.p99, JSON.stringify(lat));
    assert.ok(summaries['vusers.session_length'].min >= 3000, 'each virtual user listened LISTEN_SECONDS');
    assert.match(r.stdout, /broadcast_latency:/);
    // config.yml's ensure checks ran and passed (else the exit code would be 1)
    for (const c of ['broadcast_latency.p99 < 500', 'vusers.failed == 0', 'broadcasts_received > 0']) {
      assert.ok(r.stdout.includes(`ok: ${c}`), `check ${c}\n${r.what}`);
    }
  });

  it('artillery: a refused subscribe fails the ack check', async function () {
    // the token only allows room-*; the ack is {"ok":false,"error":"forbidden"}
    const r = await artillery(httpUrl(nodes[0]), {
      ROOMS: 'secret-1', JWT: token({ rooms: ['room-*'] }), LISTEN_SECONDS: '1',
    }, dir, 'artillery-refused', [{ duration: 1, arrivalRate: 2 }]);
    const { counters } = r.report.aggregate;
    assert.equal(counters['vusers.created'], 2, r.what);
    assert.equal(counters['vusers.failed'], 2, r.what);
    assert.equal(counters['errors.Failed match'], 2, r.what);
    assert.equal(counters['vusers.completed'], undefined);
    assert.equal(r.code, 1, r.what); // the ensure checks failed
    assert.ok(r.stdout.includes('fail: vusers.failed == 0'), r.what);
  });

  describe('artillery over long-polling through HAProxy with io-cookie stickiness', function () {
    let lb;

    before(async function () {
      if (!haproxyAvailable()) this.skip();
      lb = await startHaproxy({ ports: nodes.map((n) => n.port) });
    });

    after(async function () {
      await stopHaproxy(lb);
    });

    it('withCredentials (config.yml): polling-only sessions stay on their node and receive broadcasts', async function () {
      const pub = publishLoop(nodes[0].apiPort, 50);
      let r;
      try {
        r = await artillery(lb.url, { ROOMS, JWT: token(), LISTEN_SECONDS: '2' }, dir, 'artillery-polling',
          [{ duration: 2, arrivalRate: 2 }], { socketio: { transports: ['polling'] } });
      } finally {
        await pub.stop();
      }
      const { counters, summaries } = r.report.aggregate;
      assert.equal(counters['vusers.completed'], 4, r.what);
      assert.equal(counters['vusers.failed'], 0, r.what);
      assert.deepEqual(Object.keys(counters).filter((k) => k.startsWith('errors.')), [], r.what);
      assert.ok(counters.broadcasts_received > 0, r.what);
      assert.equal(counters.listeners_without_broadcasts, undefined, r.what);
      assert.equal(summaries.broadcast_latency.count, counters.broadcasts_received);
      assert.equal(r.code, 0, r.what);
    });

    it('without withCredentials the cookies are dropped: the 2nd polling request lands on the other node', async function () {
      // one virtual user: HAProxy's round robin alternates its requests between the 2 nodes
      const r = await artillery(lb.url, { ROOMS, JWT: token(), LISTEN_SECONDS: '1' }, dir, 'artillery-no-cookies',
        [{ duration: 1, arrivalRate: 1 }], { socketio: { transports: ['polling'], withCredentials: false } });
      const { counters } = r.report.aggregate;
      assert.equal(counters['vusers.created'], 1, r.what);
      assert.equal(counters['vusers.failed'], 1, r.what);
      assert.equal(counters['vusers.completed'], undefined, r.what);
      // its next request (the CONNECT POST or the first poll GET, whichever goes first) had
      // no cookies and reached the other node: 400 "Session ID unknown"
      const errs = Object.keys(counters).filter((k) => k.startsWith('errors.'));
      assert.equal(errs.length, 1, r.what);
      assert.match(errs[0], /^errors\.Error: xhr (post|poll) error$/, r.what);
      assert.equal(r.code, 1, r.what);
    });
  });
});
