'use strict';
/*
 * Behind a load balancer, as on ECS: haproxy (the deployed deploy/haproxy/haproxy.cfg,
 * on loopback) balances 3 sio-server nodes round-robin with cookie stickiness on
 * the application cookie `io`, as an ALB target group with app_cookie stickiness.
 *  - 200 polling-only and 200 default (polling, then WebSocket) clients connect,
 *    subscribe and receive broadcasts, with no "Session ID unknown";
 *  - WebSocket-only clients work through round-robin haproxy with stickiness off;
 *  - SIGTERM one node while broadcasts flow: its clients come back on the other
 *    nodes, re-subscribe and keep receiving; the test reports what they missed.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { HOST, freePort, startServer, stopServer } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const { startHaproxy, stopHaproxy, renderConfig, haproxyAvailable } = require('../lib/haproxy');
const {
  sleep, eventually, startSioServer, stopAlive, connect, closeAll, apiPost, apiGet,
} = require('../lib/sio');

/** SIGINT (no drain), then checks the node exited cleanly with no sanitizer report. */
async function stopNow(node) {
  if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => node.proc.once('exit', (code, signal) => resolve({ code, signal })));
  node.proc.kill('SIGINT');
  const info = await Promise.race([exited, sleep(5000).then(() => 'still running')]);
  assert.deepEqual(info, { code: 0, signal: null }, node.stderr());
  assert.ok(!/Sanitizer|runtime error:/.test(node.stderr()), node.stderr());
}

/** A client that (re)subscribes to `room` on every connect and records `tick` seqs and errors. */
function liveClient(url, opts) {
  const socket = connect(url, { withCredentials: true, ...opts });
  const state = { socket, seqs: [], errors: [], connects: 0, subscribed: 0 };
  socket.on('connect', () => {
    state.connects++;
    socket.emit('subscribe', 'live', (res) => { if (res && res.ok) state.subscribed++; });
  });
  socket.on('connect_error', (e) => state.errors.push(String(e.message) + JSON.stringify(e.description || e.context || '')));
  socket.io.engine && socket.io.engine.on('error', (e) => state.errors.push(String(e && e.message)));
  socket.io.on('open', () => socket.io.engine.on('error', (e) => state.errors.push(String(e && e.message))));
  socket.on('tick', (seq) => state.seqs.push(seq));
  return state;
}

describe('behind haproxy with io-cookie stickiness (the ALB stand-in)', function () {
  this.timeout(90000);
  let redis;
  let nodes = [];
  let lb;

  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    nodes = await Promise.all([0, 1, 2].map((i) => startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: `sio${i + 1}`, DRAIN_SECONDS: '4', LOG_LEVEL: 'warn' },
    })));
    lb = await startHaproxy({ ports: nodes.map((n) => n.port) });
  });

  after(async function () {
    closeAll();
    await stopHaproxy(lb);
    for (const n of nodes) await stopNow(n); // DRAIN_SECONDS=4 here: SIGTERM would drain
    await stopRedis(redis);
  });

  const url = () => `http://${HOST}:${lb.port}`;

  it('200 polling-only and 200 upgrading clients connect, subscribe and receive, with no "Session ID unknown"', async function () {
    const clients = [];
    for (let i = 0; i < 400; i++) {
      clients.push(liveClient(url(), { transports: i < 200 ? ['polling'] : ['polling', 'websocket'], reconnection: false }));
      if (i % 50 === 49) await sleep(100);
    }
    await eventually(() => clients.every((c) => c.subscribed === 1), 20000, 'all 400 subscribed');
    // spread over the three nodes by round-robin (the API's gauge lags by <= 200 ms)
    let per = [];
    await eventually(async () => {
      per = await Promise.all(nodes.map(async (n) => JSON.parse((await apiGet(n.apiPort, '/health')).body).connections));
      return per.reduce((a, b) => a + b, 0) === 400;
    }, 3000, 'connection gauges');
    for (const c of per) assert.ok(c > 50, `uneven spread ${JSON.stringify(per)}`);
    for (let seq = 0; seq < 5; seq++) {
      await apiPost(nodes[seq % 3].apiPort, { rooms: ['live'], event: 'tick', data: seq });
    }
    await eventually(() => clients.every((c) => c.seqs.length === 5), 10000, 'all 5 broadcasts everywhere');
    await sleep(300);
    for (const c of clients) {
      // published through different nodes: exactly once each, but no order
      // across publishers (a local broadcast can overtake one relayed by Redis)
      assert.deepEqual([...c.seqs].sort((a, b) => a - b), [0, 1, 2, 3, 4]);
      assert.deepEqual(c.errors.filter((e) => /Session ID unknown|400/.test(e)), []);
    }
    const upgraded = clients.slice(200).filter((c) => c.socket.io.engine.transport.name === 'websocket').length;
    assert.equal(upgraded, 200, 'upgrades through the balancer');
    closeAll();
  });

  it('SIGTERM on one node while broadcasts flow: its clients come back elsewhere, re-subscribe and keep receiving', async function () {
    // the previous test's sessions must be gone before the victim's share is counted
    await eventually(async () => {
      const per = await Promise.all(nodes.map(async (n) => JSON.parse((await apiGet(n.apiPort, '/health')).body).connections));
      return per.every((p) => p === 0);
    }, 15000, 'sessions of the previous test to close');
    const clients = [];
    for (let i = 0; i < 60; i++) {
      clients.push(liveClient(url(), {
        transports: i % 2 ? ['polling'] : ['polling', 'websocket'],
        reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 1000, randomizationFactor: 0.5,
      }));
    }
    await eventually(() => clients.every((c) => c.subscribed >= 1), 15000, 'all subscribed');
    const victim = nodes[0];
    await sleep(300); // the API's gauge lags by <= 200 ms
    const onVictim = JSON.parse((await apiGet(victim.apiPort, '/health')).body).connections;
    assert.ok(onVictim > 0);

    let seq = 0;
    let streaming = true;
    const publisher = nodes[1];
    const stream = (async () => {
      while (streaming) {
        await apiPost(publisher.apiPort, { rooms: ['live'], event: 'tick', data: seq++ }).catch(() => {});
        await sleep(50);
      }
    })();
    await sleep(500);
    const termAt = seq;
    const t0 = Date.now();
    victim.proc.kill('SIGTERM');
    await sleep(200);
    assert.equal((await apiGet(victim.apiPort, '/health')).status, 503, '/health while draining');
    const exit = await Promise.race([
      new Promise((resolve) => victim.proc.once('exit', (code, signal) => resolve({ code, signal }))),
      sleep(15000).then(() => 'still running'),
    ]);
    const drainMs = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after the drain:\n${victim.stderr()}`);
    // everyone reconnected to the two others and receives again
    const resumeFrom = seq;
    await eventually(() => clients.every((c) => c.socket.connected && c.seqs.some((s) => s > resumeFrom + 2)), 20000,
      'every client receiving again after the drain');
    streaming = false;
    await stream;
    await sleep(300);
    const last = seq - 1;
    const missed = clients.map((c) => {
      const got = new Set(c.seqs.filter((s) => s >= termAt && s <= last));
      return last - termAt + 1 - got.size;
    });
    const moved = clients.filter((c) => c.connects > 1);
    console.log(`      drain took ${drainMs} ms for ${onVictim} clients; ${moved.length} reconnected; ` +
      `broadcasts missed per moved client: max ${Math.max(...moved.map((c) => missed[clients.indexOf(c)]))}, ` +
      `mean ${(moved.reduce((a, c) => a + missed[clients.indexOf(c)], 0) / Math.max(1, moved.length)).toFixed(1)} ` +
      `(of ${last - termAt + 1} sent at 20/s); clients that stayed missed ${Math.max(0, ...clients.filter((c) => c.connects === 1).map((c) => missed[clients.indexOf(c)]))}`);
    assert.equal(moved.length, onVictim, 'every client of the drained node reconnected');
    for (const c of clients) {
      if (c.connects === 1) assert.equal(missed[clients.indexOf(c)], 0, 'a client of a healthy node missed broadcasts');
      const dup = c.seqs.length - new Set(c.seqs).size;
      assert.equal(dup, 0, 'duplicates');
    }
    closeAll();
  });
});

describe('WebSocket-only clients through round-robin haproxy without stickiness', function () {
  this.timeout(30000);
  let redis;
  let nodes = [];
  let lb;
  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    nodes = await Promise.all([0, 1].map(() => startSioServer({ env: { REDIS_URL: redisUrl(redis) } })));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-rr-'));
    const port = await freePort();
    const deployed = fs.readFileSync(path.join(__dirname, '..', '..', 'deploy', 'haproxy', 'haproxy.cfg'), 'utf8');
    const noCookies = deployed.split('\n').filter((l) => !/^\s*cookie\s/.test(l)).join('\n')
      .replace(/ cookie sio\d+/g, '');
    const cfg = renderConfig({ ports: nodes.map((n) => n.port), listenPort: port, source: noCookies })
      .replace(/ cookie sio\d+/g, '');
    assert.ok(!/cookie/.test(cfg.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n')), 'stickiness left in the config');
    fs.writeFileSync(path.join(dir, 'rr.cfg'), cfg);
    lb = await startServer({ command: 'haproxy', args: ['-db', '-f', path.join(dir, 'rr.cfg')], port });
    lb.dir = dir;
    await sleep(500);
  });
  after(async function () {
    closeAll();
    if (lb) await stopServer(lb);
    if (lb) fs.rmSync(lb.dir, { recursive: true, force: true });
    for (const n of nodes) await stopAlive(n);
    await stopRedis(redis);
  });

  it('connect, subscribe and receive broadcasts', async function () {
    const clients = [];
    for (let i = 0; i < 40; i++) clients.push(liveClient(`http://${HOST}:${lb.port}`, { transports: ['websocket'], reconnection: false }));
    await eventually(() => clients.every((c) => c.subscribed === 1), 10000, 'subscribed');
    let per = [];
    await eventually(async () => { // the API's gauge is refreshed every 200 ms
      per = await Promise.all(nodes.map(async (n) => JSON.parse((await apiGet(n.apiPort, '/health')).body).connections));
      return per[0] + per[1] === 40;
    }, 3000, 'connection gauges');
    assert.ok(per.every((p) => p > 0), `round-robin spread ${JSON.stringify(per)}`);
    await apiPost(nodes[0].apiPort, { rooms: ['live'], event: 'tick', data: 1 });
    await eventually(() => clients.every((c) => c.seqs.length === 1), 5000, 'broadcast');
  });
});
