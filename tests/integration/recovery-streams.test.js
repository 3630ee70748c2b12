'use strict';
/*
 * REDIS_ADAPTER=streams: sio-server in a mixed cluster with Node.js socket.io 4.8 nodes
 * on @socket.io/redis-streams-adapter 0.3 (tests/ref/node-streams-gateway.js), with
 * connection state recovery on both kinds of node. One real redis-server: every node
 * XADDs its broadcasts to the stream `socket.io` and XREADs it; the entry id is the
 * recovery offset (the last argument of each broadcast); sessions are Node's
 * `sio:session:<pid>` keys (sio keeps a live socket's session there too).
 *   1. 1 sio node + 1 Node node behind haproxy (the deployed config, cookie stickiness
 *      on `io`), 20 clients on both, broadcasts at 10/s alternately from sio's API and
 *      the Node node (after the kill: from another sio node's API, see the test); kill -9
 *      of the sio node: its clients come back on the Node node recovered with their id
 *      (the session sio kept in Redis), what they missed replayed, and every client has
 *      every broadcast once, in order;
 *   2. the reverse: SIGTERM of the Node node (io.close() writes the sessions): its
 *      clients come back on the sio node recovered, nothing missed, in order;
 *   3. both kinds of node set the stickiness cookie io=<sid> alike; broadcasts from each
 *      kind of node reach clients of both kinds with the stream entry id as last
 *      argument (the same id everywhere), binary intact.
 * Not covered (a known limitation): Node's ephemeral pub/sub messages (fetchSockets,
 * serverSideEmit, broadcasts with ack) do not involve sio nodes.
 * Every wait is bounded; clients record what they get and assertions come at the end,
 * after a summary line, so a failure says what was missed rather than "timed out".
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { createClient } = require('redis');
const { HOST, freePort, startServer, stopServer, httpRequest } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const { startHaproxy, stopHaproxy, haproxyAvailable } = require('../lib/haproxy');
const {
  sleep, eventually, norm, startSioServer, connect, connected, emitAck, closeAll, apiPost, apiGet,
} = require('../lib/sio');
const {
  isAlive, stopNow, cleanup, settled, analyse, short, assertRecovered, allSubscribed,
} = require('../lib/recovery');

const NODE_GATEWAY = path.join(__dirname, '..', 'ref', 'node-streams-gateway.js');
const STREAM = 'socket.io';
const OFFSET_RE = /^\d+-\d+$/;

/* ------------------------------------------------------------------ */
/* nodes                                                              */
/* ------------------------------------------------------------------ */


/** A sio-server node in streams mode. */
function startSioStreams(url, nodeId) {
  return startSioServer({ env: { REDIS_URL: url, REDIS_ADAPTER: 'streams', NODE_ID: nodeId } });
}

/** The Node reference node; resolves once its Socket.IO port (and control port) accept TCP. */
async function startNodeStreams(url, nodeId) {
  const port = await freePort();
  let control = await freePort();
  while (control === port) control = await freePort();
  const server = await startServer({
    command: process.execPath,
    args: [NODE_GATEWAY, '--port', String(port), '--control', String(control), '--redis', url, '--node-id', nodeId],
    port,
  });
  server.control = control;
  return server;
}

/** POST to the Node node's control port: io.to(room).emit(event, ...). */
async function nodeEmit(node, body) {
  return apiPost(node.control, body, { path: '/', timeoutMs: 3000 });
}

/** Socket ids connected to the Node node. */
async function nodeSockets(node) {
  const res = await apiGet(node.control, '/sockets', { timeoutMs: 2000 });
  assert.equal(res.status, 200, `GET /sockets of the Node node: ${res.status} ${res.body}`);
  return res.json;
}

/** `sockets` of the sio node's API /health (refreshed every 200 ms). */
async function sioSockets(node) {
  return JSON.parse((await apiGet(node.apiPort, '/health', { timeoutMs: 2000 })).body).sockets;
}




async function redisClient(url) {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Session keys and stream length, for the summary lines. */
async function redisState(cli) {
  const [keys, xlen] = await Promise.all([cli.keys('sio:session:*'), cli.xLen(STREAM)]);
  return { sessionKeys: keys.length, xlen };
}

/* ------------------------------------------------------------------ */
/* clients and publisher                                              */
/* ------------------------------------------------------------------ */

/**
 * A client that subscribes to `room` on its first connect, and again only after a
 * reconnect that was not recovered (a recovered socket has its rooms back). Records the
 * `tick` seqs (first argument) and their last argument (the offset), the origins of the
 * `probe` events, and for every connect its id and `socket.recovered`.
 */
function liveClient(url, opts = {}, room = 'live') {
  const socket = connect(url, {
    withCredentials: true, // the cookie jar: haproxy's stickiness on `io`
    reconnection: true,
    // first attempt 150..450 ms after the loss: a few broadcasts to replay at 10/s
    reconnectionDelay: 300,
    reconnectionDelayMax: 600,
    randomizationFactor: 0.5,
    ...opts,
  });
  const state = {
    socket, seqs: [], offsets: [], seqAt: [], probes: new Set(), connects: [], disconnects: [], errors: [],
    subscribed: 0, firstId: null,
  };
  socket.on('connect', () => {
    const recovered = socket.recovered === true;
    state.connects.push({ id: socket.id, recovered, at: Date.now() });
    if (state.firstId === null) state.firstId = socket.id;
    if (state.connects.length === 1 || !recovered) {
      socket.emit('subscribe', room, (res) => { if (res && res.ok) state.subscribed++; });
    }
  });
  socket.on('disconnect', (reason) => state.disconnects.push({ reason, at: Date.now() }));
  socket.on('connect_error', (e) => state.errors.push(String(e && e.message)));
  socket.on('probe', (d) => state.probes.add(d && d.from));
  socket.on('tick', (...args) => {
    state.seqs.push(args[0]);
    state.offsets.push(args.length >= 2 ? args[args.length - 1] : undefined);
    state.seqAt.push(Date.now());
  });
  return state;
}


/** Origins of broadcasts: a sio node's HTTP API, the Node node's control port. */
function sioOrigin(sio, name = 'sio', room = 'live') {
  return { kind: 'sio', name, post: (event, data) => apiPost(sio.apiPort, { rooms: [room], event, data }, { timeoutMs: 3000 }), okStatus: 202 };
}
function nodeOrigin(node, name = 'node', room = 'live') {
  return { kind: 'node', name, post: (event, data) => nodeEmit(node, { room, event, data }), okStatus: 200 };
}
function origins(sio, node) {
  return { sio: sioOrigin(sio), node: nodeOrigin(node) };
}

/**
 * Readiness: both nodes read the stream and every client is in the room. Posts a
 * `probe` from each origin every 250 ms until every client got one from each.
 */
async function warmUp(clients, list, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await Promise.all(list.map((o) => o.post('probe', { from: o.kind }).catch(() => {})));
    if (await settled(() => clients.every((c) => list.every((o) => c.probes.has(o.kind))), 250)) return;
  }
  const missing = clients.map((c, i) => [i, list.filter((o) => !c.probes.has(o.kind)).map((o) => o.kind)])
    .filter(([, m]) => m.length);
  throw new Error(`probes from every origin did not reach every client within ${ms} ms: ${JSON.stringify(missing)}`);
}

/**
 * Posts `tick` with data seq = 0, 1, 2... every intervalMs, one request at a time (the
 * stream's order is the seqs' order), seq taken by sources[seq % sources.length];
 * records which seqs were accepted (and when), which got another status, which failed.
 * use(sources) switches origins and resolves once the request in flight (which may
 * still use the old ones) is answered.
 */
function startPublisher(sources, { intervalMs = 100 } = {}) {
  const pub = {
    next: 0, sources, accepted: [], acceptedAt: new Map(), by: {}, rejected: [], errors: [], running: true,
    inflight: Promise.resolve(),
  };
  pub.done = (async () => {
    let due = Date.now();
    while (pub.running) {
      const seq = pub.next++;
      const src = pub.sources[seq % pub.sources.length];
      pub.inflight = (async () => {
        try {
          const res = await src.post('tick', seq);
          if (res.status === src.okStatus) {
            pub.accepted.push(seq);
            pub.acceptedAt.set(seq, Date.now());
            pub.by[src.name] = (pub.by[src.name] || 0) + 1;
          } else {
            pub.rejected.push({ seq, origin: src.name, status: res.status, body: res.body });
          }
        } catch (e) {
          pub.errors.push({ seq, origin: src.name, error: e.message });
        }
      })();
      await pub.inflight;
      due += intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait); else due = Date.now();
    }
  })();
  pub.use = (list) => { pub.sources = list; return pub.inflight; };
  pub.stop = async () => { pub.running = false; await pub.done; };
  return pub;
}



function describeClient(c, a, i) {
  return `client ${i} (first on ${c.home}, ${c.moved ? 'moved' : 'stayed'}, id ${c.firstId}, connects ` +
    `${JSON.stringify(c.connects.map((x) => [x.id, x.recovered]))}, disconnects ${JSON.stringify(c.disconnects.map((d) => d.reason))}): ` +
    `got ${c.seqs.length}, missed ${short(a.missed)}, duplicates ${short(a.duplicates)}, unexpected ${short(a.unexpected)}, ` +
    `out of order ${a.outOfOrder}, seqs ${short(c.seqs, 40)}`;
}

/**
 * Broadcasts a moved client should have had replayed: accepted between its
 * disconnect and its (recovered) connect.
 */
function whileAway(c, pub) {
  if (!c.moved || c.connects.length < 2) return [];
  const from = c.disconnects[0].at;
  const to = c.connects[1].at;
  return pub.accepted.filter((s) => pub.acceptedAt.get(s) >= from && pub.acceptedAt.get(s) < to);
}

/** One summary line: missed / duplicates per client, moved and stayed apart. */
function summary(label, clients, pub, extra) {
  const expected = pub.accepted;
  const rows = clients.map((c) => ({ c, a: analyse(c.seqs, expected) }));
  const part = (sel) => {
    const r = rows.filter(sel);
    const missed = r.map((x) => x.a.missed.length);
    const dups = r.map((x) => x.a.duplicates.length);
    return `${r.length} clients, missed per client max ${Math.max(0, ...missed)} ` +
      `total ${missed.reduce((s, v) => s + v, 0)}, duplicates total ${dups.reduce((s, v) => s + v, 0)}, ` +
      `out of order total ${r.reduce((s, x) => s + x.a.outOfOrder, 0)}`;
  };
  const moved = clients.filter((c) => c.moved);
  const recovered = moved.filter((c) => c.connects.length > 1 && c.connects.slice(1).every((x) => x.recovered)).length;
  const away = moved.map((c) => whileAway(c, pub).length);
  const reconnectMs = moved.filter((c) => c.connects.length > 1).map((c) => c.connects[1].at - c.disconnects[0].at);
  console.log(`      ${label}: ${expected.length} broadcasts accepted (by origin ${JSON.stringify(pub.by)}); ` +
    `moved: ${part((x) => x.c.moved)} (${recovered} recovered, reconnect ms max ${Math.max(0, ...reconnectMs)}, ` +
    `broadcasts while away per client ${JSON.stringify(away)}); stayed: ${part((x) => !x.c.moved)}; ` +
    `missed per client ${JSON.stringify(rows.map((x) => x.a.missed.length))}; ${extra}`);
  return rows;
}


/** Every client got exactly `expected`, in order, each tick ending with a stream entry id. */
function assertEveryBroadcastOnce(rows, expected) {
  for (const [i, { c, a }] of rows.entries()) {
    assert.deepEqual(c.seqs, expected, describeClient(c, a, i));
  }
  for (const [i, { c }] of rows.entries()) {
    const bad = c.offsets.findIndex((o) => typeof o !== 'string' || !OFFSET_RE.test(o));
    assert.equal(bad, -1, `client ${i}: tick #${bad} (seq ${c.seqs[bad]}) did not end with a stream entry id (${JSON.stringify(c.offsets[bad])})`);
  }
}

/**
 * Connects n clients through the load balancer (every other one WebSocket only), waits
 * for their subscriptions, then tells which node each is on: `home` 'node' when the
 * Node node lists its id, else 'sio' (checked against the sio node's socket count).
 */
async function spreadClients(url, n, sio, node) {
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(liveClient(url, i % 2 ? { transports: ['websocket'] } : {}));
  await allSubscribed(clients, 15000);
  let onNode = [];
  let onSio = -1;
  await eventually(async () => {
    [onNode, onSio] = await Promise.all([nodeSockets(node), sioSockets(sio)]);
    return onNode.length + onSio === n;
  }, 5000, `the nodes' socket counts to sum to ${n}`).catch((e) => {
    throw new Error(`${e.message} (Node node ${onNode.length}, sio node ${onSio})`);
  });
  const ids = new Set(onNode);
  for (const c of clients) c.home = ids.has(c.firstId) ? 'node' : 'sio';
  assert.equal(clients.filter((c) => c.home === 'sio').length, onSio, 'clients not on the Node node are on the sio node');
  return clients;
}

/* ------------------------------------------------------------------ */
/* 1. kill -9 of the sio node                                         */
/* ------------------------------------------------------------------ */

/*
 * After the kill the broadcasts come from a second sio node's API (`sio-pub`: no clients,
 * not behind haproxy), not from the Node node: socket.io 4.8.4's restore on the Node node
 * races with that node's own broadcasts (the local delivery after XADD can run before the
 * restored socket joins its rooms, the XRANGE of restoreSession having run before the
 * XADD), so a broadcast the Node node emits while it restores a session can be lost for
 * that client. That happens with Node nodes only as well (no sio node involved), so it
 * is not what this suite tests; broadcasts XREAD from the stream do not race that way at
 * this rate.
 */
describe('streams adapter, mixed cluster: kill -9 of the sio node behind haproxy', function () {
  this.timeout(60000);
  let redis;
  let cli;
  let sio;
  let sioPub;
  let node;
  let lb;

  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    const url = redisUrl(redis);
    // one after the other: free ports are picked before they are bound
    sio = await startSioStreams(url, 'sio1');
    sioPub = await startSioStreams(url, 'sio-pub');
    node = await startNodeStreams(url, 'node1');
    lb = await startHaproxy({ ports: [sio.port, node.port] });
    cli = await redisClient(url);
  });

  after(async function () {
    closeAll();
    await cleanup([
      () => stopHaproxy(lb), () => stopNow(sio), () => stopNow(sioPub), () => stopServer(node), () => cli && cli.quit(),
      () => stopRedis(redis),
    ]);
  });

  it('the sio node\'s clients recover on the Node node with their id; every client has every broadcast once, in order', async function () {
    const clients = await spreadClients(`http://${HOST}:${lb.port}`, 20, sio, node);
    const onSio = clients.filter((c) => c.home === 'sio').length;
    assert.ok(onSio > 0 && onSio < 20, `uneven spread: ${onSio} of 20 on the sio node`);
    const o = { ...origins(sio, node), pub: sioOrigin(sioPub, 'sio-pub') };
    await warmUp(clients, [o.sio, o.node]);

    const pub = startPublisher([o.sio, o.node]);
    try {
      await eventually(() => clients.every((c) => c.seqs.length >= 12), 8000, 'every client receiving before the kill');
      // no broadcast may be in flight to the node about to die: sio-pub alone publishes
      // from here (see above), and everything sio1 accepted has been delivered
      await pub.use([o.pub]);
      const beforeKill = [...pub.accepted];
      const delivered = await settled(() => clients.every((c) => beforeKill.every((s) => c.seqs.includes(s))), 5000);
      const sessionsBefore = await redisState(cli);
      const earlyDrops = clients.map((c, i) => [i, c.disconnects.length, c.errors.length]).filter(([, d, e]) => d || e);
      const killedAt = Date.now();
      sio.proc.kill('SIGKILL');
      const exit = await Promise.race([sio.exited, sleep(3000).then(() => 'still running')]);
      const back = await settled(async () => clients.filter((c) => c.disconnects.length > 0).length >= onSio &&
        clients.every((c) => c.socket.connected) && (await nodeSockets(node)).length === 20, 15000);
      const backAfter = Date.now() - killedAt;
      await sleep(1000); // broadcasts keep flowing to the moved clients
      await pub.stop();
      for (const c of clients) c.moved = c.disconnects.length > 0;
      const expected = pub.accepted;
      await settled(() => clients.every((c) => c.seqs.length >= expected.length), 6000);
      await sleep(300); // duplicates would be here by now
      const ids = await nodeSockets(node);
      const after = await redisState(cli);
      console.log(`      kill -9 of the sio node (exit ${JSON.stringify(exit)}) with ${onSio} of 20 clients; ` +
        `all delivered before the kill: ${delivered}; all connected to the Node node again: ${back} after ${backAfter} ms; ` +
        `redis before the kill ${JSON.stringify(sessionsBefore)}, at the end ${JSON.stringify(after)}`);
      const rows = summary('kill -9 of sio', clients, pub, `Node node has ${ids.length} sockets`);

      assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
      assert.ok(isAlive(node), `the Node node died:\n${node.stderr()}`);
      assert.ok(isAlive(sioPub), `the publishing sio node died:\n${sioPub.stderr()}`);
      assert.deepEqual(earlyDrops, [], 'clients lost their connection or failed to connect before the kill ([client, disconnects, connect errors]): stickiness?');
      assert.ok(delivered, 'the broadcasts accepted before the kill did not all reach every client');
      assert.equal(sessionsBefore.sessionKeys, onSio,
        `sio kept ${sessionsBefore.sessionKeys} sio:session: keys for its ${onSio} live sockets before the kill`);
      for (const [i, c] of clients.entries()) {
        assert.equal(c.moved, c.home === 'sio', `client ${i} (on ${c.home}) ${c.moved ? 'lost' : 'kept'} its connection`);
        if (!c.moved) assert.equal(c.connects.length, 1, `client ${i} of the Node node reconnected`);
      }
      assertRecovered(clients);
      assert.deepEqual([...ids].sort(), clients.map((c) => c.firstId).sort(), 'every client (with its first id) is on the Node node');
      assertEveryBroadcastOnce(rows, expected);
      assert.ok(clients.some((c) => whileAway(c, pub).length > 0), 'no broadcast was published while a moved client was away (nothing to replay)');
      assert.deepEqual(pub.rejected, [], 'broadcasts refused');
      assert.deepEqual(pub.errors, [], 'broadcasts unanswered');
      assert.equal(node.stderr(), '', 'the Node node logged errors');
    } finally {
      await pub.stop();
      closeAll();
    }
  });
});

/* ------------------------------------------------------------------ */
/* 2. SIGTERM of the Node node                                        */
/* ------------------------------------------------------------------ */

describe('streams adapter, mixed cluster: SIGTERM of the Node node behind haproxy', function () {
  this.timeout(60000);
  let redis;
  let cli;
  let sio;
  let node;
  let lb;

  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    const url = redisUrl(redis);
    sio = await startSioStreams(url, 'sio1');
    node = await startNodeStreams(url, 'node1');
    lb = await startHaproxy({ ports: [sio.port, node.port] });
    cli = await redisClient(url);
  });

  after(async function () {
    closeAll();
    await cleanup([
      () => stopHaproxy(lb), () => stopNow(sio), () => stopServer(node), () => cli && cli.quit(), () => stopRedis(redis),
    ]);
  });

  it('the Node node\'s clients recover on the sio node with their id; every client has every broadcast once, in order', async function () {
    const clients = await spreadClients(`http://${HOST}:${lb.port}`, 20, sio, node);
    const onNode = clients.filter((c) => c.home === 'node').length;
    assert.ok(onNode > 0 && onNode < 20, `uneven spread: ${onNode} of 20 on the Node node`);
    const o = origins(sio, node);
    await warmUp(clients, [o.sio, o.node]);

    const pub = startPublisher([o.sio, o.node]);
    try {
      await eventually(() => clients.every((c) => c.seqs.length >= 12), 8000, 'every client receiving before the SIGTERM');
      await pub.use([o.sio]);
      const beforeTerm = [...pub.accepted];
      const delivered = await settled(() => clients.every((c) => beforeTerm.every((s) => c.seqs.includes(s))), 5000);
      const sessionsBefore = await redisState(cli);
      const earlyDrops = clients.map((c, i) => [i, c.disconnects.length, c.errors.length]).filter(([, d, e]) => d || e);
      const termAt = Date.now();
      node.proc.kill('SIGTERM');
      const exit = await Promise.race([node.exited, sleep(10000).then(() => 'still running')]);
      const exitMs = Date.now() - termAt;
      const back = await settled(async () => clients.filter((c) => c.disconnects.length > 0).length >= onNode &&
        clients.every((c) => c.socket.connected) && (await sioSockets(sio)) === 20, 15000);
      const backAfter = Date.now() - termAt;
      await sleep(1000);
      await pub.stop();
      for (const c of clients) c.moved = c.disconnects.length > 0;
      const expected = pub.accepted;
      await settled(() => clients.every((c) => c.seqs.length >= expected.length), 6000);
      await sleep(300);
      const after = await redisState(cli);
      const sioCount = await sioSockets(sio);
      console.log(`      SIGTERM of the Node node with ${onNode} of 20 clients: exit ${JSON.stringify(exit)} after ${exitMs} ms; ` +
        `all delivered before: ${delivered}; all connected to the sio node again: ${back} after ${backAfter} ms; ` +
        `redis before ${JSON.stringify(sessionsBefore)}, at the end ${JSON.stringify(after)}`);
      const rows = summary('SIGTERM of Node', clients, pub, `sio node has ${sioCount} sockets`);

      assert.deepEqual(exit, { code: 0, signal: null }, `the Node node's exit on SIGTERM:\n${node.stderr()}`);
      assert.equal(node.stderr(), '', 'the Node node logged errors');
      assert.ok(isAlive(sio), `the sio node died:\n${sio.stderr()}`);
      assert.deepEqual(earlyDrops, [], 'clients lost their connection or failed to connect before the SIGTERM ([client, disconnects, connect errors]): stickiness?');
      assert.ok(delivered, 'the broadcasts accepted before the SIGTERM did not all reach every client');
      for (const [i, c] of clients.entries()) {
        assert.equal(c.moved, c.home === 'node', `client ${i} (on ${c.home}) ${c.moved ? 'lost' : 'kept'} its connection`);
        if (!c.moved) assert.equal(c.connects.length, 1, `client ${i} of the sio node reconnected`);
      }
      assertRecovered(clients);
      assert.equal(sioCount, 20, 'every client is on the sio node');
      assertEveryBroadcastOnce(rows, expected);
      assert.ok(clients.some((c) => whileAway(c, pub).length > 0), 'no broadcast was published while a moved client was away (nothing to replay)');
      assert.deepEqual(pub.rejected, [], 'broadcasts refused');
      assert.deepEqual(pub.errors, [], 'broadcasts unanswered');
    } finally {
      await pub.stop();
      closeAll();
    }
  });
});

/* ------------------------------------------------------------------ */
/* 3. broadcasts across kinds of node: offsets, binary                */
/* ------------------------------------------------------------------ */

describe('streams adapter, mixed cluster: broadcasts between sio and Node nodes', function () {
  this.timeout(30000);
  let redis;
  let cli;
  let sio;
  let node;

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    sio = await startSioStreams(url, 'sio1');
    node = await startNodeStreams(url, 'node1');
    cli = await redisClient(url);
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(sio), () => stopServer(node), () => cli && cli.quit(), () => stopRedis(redis)]);
  });

  it('both kinds of node set the stickiness cookie io=<sid> on the handshake, alike', async function () {
    const shapes = {};
    for (const [home, port] of [['sio', sio.port], ['node', node.port]]) {
      const res = await httpRequest({ port, path: '/socket.io/?EIO=4&transport=polling' });
      assert.equal(res.status, 200, `${home}: handshake answered ${res.status} ${res.body}`);
      const { sid } = JSON.parse(res.body.slice(res.body.indexOf('{')));
      const cookies = [].concat(res.headers['set-cookie'] || []);
      const io = cookies.find((c) => c.startsWith('io='));
      assert.ok(io, `${home}: no io cookie in ${JSON.stringify(cookies)}`);
      assert.equal(io.split(';')[0], `io=${sid}`, `${home}: the io cookie is not the sid`);
      shapes[home] = io.split(';').slice(1).map((a) => a.trim().toLowerCase()).sort();
    }
    console.log(`      io cookie attributes: ${JSON.stringify(shapes)}`);
    assert.deepEqual(shapes.node, shapes.sio, 'the Node node sets the io cookie unlike sio');
  });

  it('reach clients of both kinds of node once, each with its stream entry id as last argument; binary intact', async function () {
    // two clients on each node (WebSocket, and polling then upgraded), directly
    const clients = [];
    for (const [home, port] of [['sio', sio.port], ['node', node.port]]) {
      for (let k = 0; k < 2; k++) {
        const c = liveClient(`http://${HOST}:${port}`, k ? {} : { transports: ['websocket'] });
        c.home = home;
        c.got = [];
        c.socket.onAny((event, ...args) => { if (event !== 'probe' && event !== 'tick') c.got.push({ event, args }); });
        clients.push(c);
      }
    }
    await allSubscribed(clients, 10000);
    const o = origins(sio, node);
    await warmUp(clients, [o.sio, o.node]);

    const bin = Buffer.from([0, 1, 2, 127, 128, 250, 255, 0x7b]);
    const big = Buffer.alloc(4096, 0xa5);
    const sent = [
      { event: 'from-sio', origin: 'sio', args: [{ n: 1, text: 'é ✓', list: [1, null, true] }] },
      { event: 'from-node', origin: 'node', args: [{ n: 2, text: 'é ✓', list: [1, null, true] }] },
      { event: 'bin', origin: 'node', args: [bin] },
      { event: 'bin-mixed', origin: 'node', args: [{ label: 'm', buf: big, nested: [bin] }, 42, 'tail'] },
    ];
    const statuses = [];
    for (const s of sent) {
      let res;
      if (s.origin === 'sio') {
        res = await apiPost(sio.apiPort, { rooms: ['live'], event: s.event, data: s.args[0] });
      } else {
        const b64 = (v) => (Buffer.isBuffer(v) ? { $bin: v.toString('base64') } : Array.isArray(v) ? v.map(b64)
          : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, b64(x)])) : v);
        res = await nodeEmit(node, { room: 'live', event: s.event, args: b64(s.args) });
      }
      statuses.push(res.status);
    }
    await settled(() => clients.every((c) => sent.every((s) => c.got.some((g) => g.event === s.event))), 5000);
    await sleep(300);
    const entries = await cli.xRange(STREAM, '-', '+');
    const ids = new Set(entries.map((e) => e.id));
    const offsetOf = (g) => g.args[g.args.length - 1];
    const table = sent.map((s) => {
      const per = clients.map((c) => c.got.filter((g) => g.event === s.event));
      return `${s.event} from ${s.origin}: ${per.map((p, i) => `${clients[i].home}#${i} x${p.length} ${p.map(offsetOf).join('/')}`).join(', ')}`;
    });
    console.log(`      statuses ${JSON.stringify(statuses)}; stream ${STREAM} has ${entries.length} entries; ${table.join('; ')}`);

    assert.deepEqual(statuses, [202, 200, 200, 200], 'a broadcast was refused');
    for (const s of sent) {
      const offsets = new Set();
      for (const [i, c] of clients.entries()) {
        const got = c.got.filter((g) => g.event === s.event);
        const who = `client ${i} (on ${c.home}), '${s.event}' from the ${s.origin} node`;
        assert.equal(got.length, 1, `${who} received ${got.length} times`);
        const { args } = got[0];
        const offset = args[args.length - 1];
        assert.match(String(offset), OFFSET_RE, `${who}: last argument ${JSON.stringify(offset)} is not a stream entry id`);
        assert.equal(typeof offset, 'string', `${who}: the offset is not a string`);
        assert.ok(ids.has(offset), `${who}: offset ${offset} is no entry of the stream ${STREAM}`);
        offsets.add(offset);
        assert.deepEqual(norm(args.slice(0, -1)), norm(s.args), `${who}: arguments differ`);
      }
      assert.equal(offsets.size, 1, `'${s.event}' carried different offsets: ${[...offsets].join(', ')}`);
    }
    // the stream's order is everyone's order
    const order = sent.map((s) => offsetOf(clients[0].got.find((g) => g.event === s.event)));
    const idx = order.map((id) => entries.findIndex((e) => e.id === id));
    assert.deepEqual([...idx].sort((a, b) => a - b), idx, `offsets ${order.join(', ')} not in the order of the stream`);
    for (const c of clients) assert.deepEqual(c.got.map((g) => g.event), sent.map((s) => s.event), `client on ${c.home}: order of events`);
  });

  it("the Node node's fetchSockets, serverSideEmitWithAck and broadcast with ack include the sio node, without timeouts", async function () {
    closeAll(); // the previous test's clients would not ack
    await eventually(async () => JSON.parse((await apiGet(sio.apiPort, '/health')).body).sockets === 0 &&
      JSON.parse((await httpRequest({ port: node.control, path: '/sockets' })).body).length === 0, 5000,
    'the previous clients to leave');
    const onSio = connect(`http://${HOST}:${sio.port}`, { transports: ['websocket'] });
    onSio.on('please-ack', (n, ack) => ack({ from: 'sio', n, bin: Buffer.from([9, 8, 7]) }));
    const onNode = connect(`http://${HOST}:${node.port}`, { transports: ['websocket'] });
    onNode.on('please-ack', (n, ack) => ack({ from: 'node', n }));
    await Promise.all([connected(onSio), connected(onNode)]);
    await emitAck(onSio, 'subscribe', 'req-room');
    const res = await httpRequest({ port: node.control, path: '/cluster', timeoutMs: 10000 });
    assert.equal(res.status, 200, res.body);
    const r = JSON.parse(res.body);
    console.log(`      Node-side requests took ${r.ms} ms; sockets ${r.sockets.length}; sse ${JSON.stringify(r.sse)}`);
    const ids = r.sockets.map((x) => x.id).sort();
    assert.deepEqual(ids, [onSio.id, onNode.id].sort(), 'fetchSockets sees both nodes\' sockets');
    const fromSio = r.sockets.find((x) => x.id === onSio.id);
    assert.ok(fromSio.rooms.includes('req-room') && fromSio.rooms.includes(onSio.id), JSON.stringify(fromSio));
    assert.equal(fromSio.address, '127.0.0.1');
    assert.deepEqual(r.sse, [null], 'one answer, null, from the sio node (it has no server-side handlers)');
    const acks = r.acks.map((a) => a.from).sort();
    assert.deepEqual(acks, ['node', 'sio'], `acks ${JSON.stringify(r.acks)}`);
    const sioAck = r.acks.find((a) => a.from === 'sio');
    assert.equal(sioAck.n, 7);
    assert.deepEqual(Buffer.from(sioAck.bin.data || sioAck.bin), Buffer.from([9, 8, 7]), 'the binary of the ack');
    assert.ok(r.ms < 2500, `took ${r.ms} ms: someone waited for a timeout`);
  });
});

describe('streams adapter: bad entries in the stream and bad messages on its channels', function () {
  this.timeout(30000);
  let redis;
  let cli;
  let sio;

  before(async function () {
    redis = await startRedis();
    sio = await startSioServer({ env: { REDIS_URL: redisUrl(redis), REDIS_ADAPTER: 'streams', NODE_ID: 'bad-in' } });
    cli = await redisClient(redisUrl(redis));
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(sio), () => cli && cli.quit(), () => stopRedis(redis)]);
  });

  const invalid = async () => {
    const m = (await apiGet(sio.apiPort, '/metrics')).body.match(/^sio_redis_invalid_total\{[^}]*\} (\S+)$/m);
    return m ? Number(m[1]) : NaN;
  };

  it('are counted and skipped; the node goes on delivering', async function () {
    const s = connect(`http://${HOST}:${sio.port}`, { transports: ['websocket'] });
    const got = [];
    s.on('ok', (...args) => got.push(args));
    await connected(s);
    await emitAck(s, 'subscribe', 'live');
    const before = await invalid();
    const bad = [
      { uid: 'x', nsp: '/', type: '3', data: 'not base64 !!' },
      { uid: 'x', nsp: '/', type: '3', data: '{"packet":1}' },
      { uid: 'x', nsp: '/', type: '3', data: '{"packet":{"type":2,"data":["e"],"nsp":"/"},"opts":{"rooms":{}}}' },
      { uid: 'x', nsp: '/', type: '3', data: Buffer.from([0x81, 0xa6]).toString('base64') },
      { uid: 'x', nsp: '/', type: '4', data: '[1,2' },
      { uid: 'x', type: '3', data: '{}' },
      { nsp: '/', type: '3' },
    ];
    for (const e of bad) await cli.xAdd(STREAM, '*', e);
    await cli.publish('socket.io#/#', Buffer.from([0xc1, 0xff, 0x00]));
    await cli.publish('socket.io#/#', Buffer.from([0x80])); // an empty map: no uid, no type
    await apiPost(sio.apiPort, { rooms: ['live'], event: 'ok', data: 1 });
    await eventually(() => got.length === 1, 5000, 'the good broadcast after the bad ones');
    assert.equal(got[0][0], 1);
    const after = await invalid();
    assert.ok(after - before >= 5, `invalid counted ${before} -> ${after}`);
    assert.ok(isAlive(sio), sio.stderr());
  });
});
