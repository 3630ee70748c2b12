'use strict';
/*
 * Connection state recovery across a cluster (socket.io 4.8 semantics): sio-server
 * nodes share one real redis-server, which holds the sessions and an ordered history
 * of the recoverable broadcasts, so a client recovers on any node, even when its own
 * node died with kill -9.
 *   - CONNECT is answered {sid, pid}; every recoverable broadcast carries its offset
 *     as its last argument; socket.io-client reconnects with auth {pid, offset} and the
 *     server restores the id and the rooms and replays what was missed, in order, once
 *     (`socket.recovered === true`);
 *   - kill -9 of one of two nodes behind haproxy while a publisher posts to the other
 *     node's API at 10/s: every client of the dead node comes back recovered with the
 *     same id, and every client has every broadcast exactly once, in order;
 *   - the same with a SIGTERM drain of one of three nodes;
 *   - Redis killed and restarted while the API keeps accepting broadcasts: every
 *     broadcast answered 202 is delivered to every client exactly once, in order (the
 *     node buffers them while Redis is away), and no rejected one ever appears;
 *   - the `subscribe` ack is only sent once the Redis SUBSCRIBE is active: a broadcast
 *     posted on another node right after the ack reaches the client.
 * Every wait is bounded; clients record what they get and assertions come at the end,
 * after a summary line, so a failure says what was missed rather than "timed out".
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { HOST } = require('../lib/server');
const { startRedis, stopRedis, killRedis, restartRedis, redisUrl } = require('../lib/redis');
const { startHaproxy, stopHaproxy, haproxyAvailable } = require('../lib/haproxy');
const {
  sleep, eventually, startSioServer, connect, connected, emitAck, closeAll, apiPost, apiGet,
} = require('../lib/sio');
const {
  isAlive, stopNow, cleanup, settled, analyse, short, assertRecovered, allSubscribed,
} = require('../lib/recovery');

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */





/** Parsed /health of a node's API port. */
async function health(node) {
  return JSON.parse((await apiGet(node.apiPort, '/health', { timeoutMs: 2000 })).body);
}

/**
 * A client that subscribes to `room` on its first connect, and again only after a
 * reconnect that was not recovered (a recovered socket has its rooms back). Records the
 * `tick` seqs (first argument) and whether the last argument was an offset (a string),
 * and for every connect its id and `socket.recovered`.
 */
function liveClient(url, opts = {}, room = 'live') {
  const socket = connect(url, {
    withCredentials: true,
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 300,
    randomizationFactor: 0.5,
    ...opts,
  });
  const state = {
    socket, seqs: [], offsets: [], connects: [], disconnects: [], errors: [], subscribed: 0, firstId: null,
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
  socket.on('tick', (...args) => {
    state.seqs.push(args[0]);
    state.offsets.push(args.length >= 2 ? args[args.length - 1] : undefined);
  });
  return state;
}

/**
 * Posts {rooms:[room], event, data: seq} to apiPort, one request at a time (so the
 * node sees them in order) every intervalMs, with seq = 0, 1, 2...; records which seqs
 * were answered 202, which got another status (with its Retry-After), and which failed
 * without an answer.
 */
function startPublisher(apiPort, { room = 'live', event = 'tick', intervalMs = 100 } = {}) {
  const pub = { next: 0, accepted: [], rejected: [], errors: [], running: true };
  pub.done = (async () => {
    let due = Date.now();
    while (pub.running) {
      const seq = pub.next++;
      try {
        const res = await apiPost(apiPort, { rooms: [room], event, data: seq }, { timeoutMs: 3000 });
        if (res.status === 202) pub.accepted.push(seq);
        else pub.rejected.push({ seq, status: res.status, retryAfter: res.headers['retry-after'], body: res.body });
      } catch (e) {
        pub.errors.push({ seq, error: e.message });
      }
      due += intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait); else due = Date.now();
    }
  })();
  pub.stop = async () => { pub.running = false; await pub.done; };
  return pub;
}



function describeClient(c, a, i) {
  return `client ${i} (${c.moved ? 'moved' : 'stayed'}, connects ${c.connects.length}, ` +
    `recovered ${JSON.stringify(c.connects.slice(1).map((x) => x.recovered))}): got ${c.seqs.length}, ` +
    `missed ${short(a.missed)}, duplicates ${short(a.duplicates)}, unexpected ${short(a.unexpected)}, ` +
    `out of order ${a.outOfOrder}`;
}

/** One summary line: missed / duplicates per client, moved and stayed apart. */
function summary(label, clients, expected) {
  const rows = clients.map((c) => ({ c, a: analyse(c.seqs, expected) }));
  const part = (sel) => {
    const r = rows.filter(sel);
    const missed = r.map((x) => x.a.missed.length);
    const dups = r.map((x) => x.a.duplicates.length);
    return `${r.length} clients, missed per client max ${Math.max(0, ...missed)} ` +
      `total ${missed.reduce((s, v) => s + v, 0)}, duplicates total ${dups.reduce((s, v) => s + v, 0)}, ` +
      `out of order total ${r.reduce((s, x) => s + x.a.outOfOrder, 0)}`;
  };
  const recovered = clients.filter((c) => c.moved && c.connects.length > 1 && c.connects.slice(1).every((x) => x.recovered)).length;
  console.log(`      ${label}: ${expected.length} broadcasts accepted; moved: ${part((x) => x.c.moved)} ` +
    `(${recovered} recovered); stayed: ${part((x) => !x.c.moved)}; ` +
    `missed per client ${JSON.stringify(rows.map((x) => x.a.missed.length))}`);
  return rows;
}


/** Every client got exactly `expected`, in order (and each tick ended with a string offset). */
function assertEveryBroadcastOnce(rows, expected) {
  for (const [i, { c, a }] of rows.entries()) {
    assert.deepEqual(c.seqs, expected, describeClient(c, a, i));
  }
  for (const [i, { c }] of rows.entries()) {
    const bad = c.offsets.findIndex((o) => typeof o !== 'string' || o.length === 0);
    assert.equal(bad, -1, `client ${i}: tick #${bad} (seq ${c.seqs[bad]}) did not end with a string offset (${JSON.stringify(c.offsets[bad])})`);
  }
}


/** Waits for the API's gauges (refreshed every 200 ms) to count `total` clients; returns them. */
async function gauges(nodes, total) {
  let per = [];
  await eventually(async () => {
    per = await Promise.all(nodes.map(async (n) => (await health(n)).connections));
    return per.reduce((s, v) => s + v, 0) === total;
  }, 5000, `connection gauges to sum to ${total}`);
  return per;
}

/* ------------------------------------------------------------------ */
/* 1. kill -9 of a node behind haproxy                                */
/* ------------------------------------------------------------------ */

describe('recovery across nodes: kill -9 of one of two nodes behind haproxy', function () {
  this.timeout(90000);
  let redis;
  let nodes = [];
  let lb;

  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    nodes = await Promise.all([0, 1].map((i) => startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: `sio${i + 1}` },
    })));
    lb = await startHaproxy({ ports: nodes.map((n) => n.port) });
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopHaproxy(lb), ...nodes.map((n) => () => stopNow(n)), () => stopRedis(redis)]);
  });

  it('every client of the killed node recovers on the other with its id; every client has every broadcast once, in order', async function () {
    const url = `http://${HOST}:${lb.port}`;
    const clients = [];
    for (let i = 0; i < 40; i++) {
      clients.push(liveClient(url, i % 2 ? { transports: ['websocket'] } : {}));
    }
    await allSubscribed(clients, 15000);
    const per = await gauges(nodes, 40);
    const [victim, survivor] = nodes;
    const onVictim = per[0];
    assert.ok(onVictim > 0 && onVictim < 40, `uneven spread ${JSON.stringify(per)}`);

    const pub = startPublisher(survivor.apiPort);
    try {
      await eventually(() => clients.every((c) => c.seqs.length >= 3), 8000, 'every client receiving before the kill');
      const killedAt = Date.now();
      victim.proc.kill('SIGKILL');
      await Promise.race([victim.exited, sleep(3000)]);
      // its clients notice, reconnect through haproxy to the survivor
      await settled(() => clients.filter((c) => c.disconnects.length > 0).length >= onVictim &&
        clients.every((c) => c.socket.connected), 15000);
      const backAfter = Date.now() - killedAt;
      await sleep(1000); // broadcasts keep flowing to the moved clients
      await pub.stop();
      for (const c of clients) c.moved = c.disconnects.length > 0;
      const expected = pub.accepted;
      await settled(() => clients.every((c) => c.seqs.length >= expected.length), 6000);
      await sleep(300); // duplicates would be here by now
      console.log(`      kill -9 of a node with ${onVictim} of 40 clients; all connected again after ${backAfter} ms`);
      const rows = summary('kill -9', clients, expected);

      assert.ok(isAlive(survivor), `the surviving node died:\n${survivor.stderr()}`);
      assert.equal(clients.filter((c) => c.moved).length, onVictim, 'the clients that lost their connection are the killed node\'s');
      for (const [i, c] of clients.entries()) {
        if (!c.moved) assert.equal(c.connects.length, 1, `client ${i} of the surviving node reconnected`);
      }
      assertRecovered(clients);
      assertEveryBroadcastOnce(rows, expected);
      assert.deepEqual(pub.rejected, [], 'the surviving node\'s API refused broadcasts');
      assert.deepEqual(pub.errors, [], 'the surviving node\'s API did not answer');
    } finally {
      await pub.stop();
      closeAll();
    }
  });
});

/* ------------------------------------------------------------------ */
/* 2. SIGTERM drain of a node behind haproxy                          */
/* ------------------------------------------------------------------ */

describe('recovery across nodes: SIGTERM drain of one of three nodes behind haproxy', function () {
  this.timeout(90000);
  let redis;
  let nodes = [];
  let lb;

  before(async function () {
    if (!haproxyAvailable()) this.skip();
    redis = await startRedis();
    nodes = await Promise.all([0, 1, 2].map((i) => startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: `sio${i + 1}`, DRAIN_SECONDS: '3' },
    })));
    lb = await startHaproxy({ ports: nodes.map((n) => n.port) });
  });

  after(async function () {
    closeAll();
    // DRAIN_SECONDS=3 here: SIGTERM would drain, SIGINT exits at once
    await cleanup([() => stopHaproxy(lb), ...nodes.map((n) => () => stopNow(n)), () => stopRedis(redis)]);
  });

  it('the drained node\'s clients recover elsewhere; every client has every broadcast once, in order', async function () {
    const url = `http://${HOST}:${lb.port}`;
    const clients = [];
    for (let i = 0; i < 45; i++) {
      clients.push(liveClient(url, i % 2 ? { transports: ['websocket'] } : {}));
    }
    await allSubscribed(clients, 15000);
    const per = await gauges(nodes, 45);
    const [victim, publisher, third] = nodes;
    const onVictim = per[0];
    assert.ok(onVictim > 0, `no client on the node to drain ${JSON.stringify(per)}`);

    const pub = startPublisher(publisher.apiPort);
    try {
      await eventually(() => clients.every((c) => c.seqs.length >= 3), 8000, 'every client receiving before the drain');
      const termAt = Date.now();
      const exited = new Promise((resolve) => victim.proc.once('exit', (code, signal) => resolve({ code, signal })));
      victim.proc.kill('SIGTERM');
      const exit = await Promise.race([exited, sleep(15000).then(() => 'still running')]);
      const drainMs = Date.now() - termAt;
      await settled(() => clients.filter((c) => c.disconnects.length > 0).length >= onVictim &&
        clients.every((c) => c.socket.connected), 15000);
      await sleep(1000);
      await pub.stop();
      for (const c of clients) c.moved = c.disconnects.length > 0;
      const expected = pub.accepted;
      await settled(() => clients.every((c) => c.seqs.length >= expected.length), 6000);
      await sleep(300);
      console.log(`      drain of a node with ${onVictim} of 45 clients took ${drainMs} ms (exit ${JSON.stringify(exit)})`);
      const rows = summary('SIGTERM drain', clients, expected);

      assert.deepEqual(exit, { code: 0, signal: null }, `exit after the drain:\n${victim.stderr()}`);
      assert.ok(isAlive(publisher) && isAlive(third), 'a node that was not drained died');
      assert.equal(clients.filter((c) => c.moved).length, onVictim, 'the clients that lost their connection are the drained node\'s');
      assertRecovered(clients);
      assertEveryBroadcastOnce(rows, expected);
      assert.deepEqual(pub.rejected, [], 'the publishing node\'s API refused broadcasts');
      assert.deepEqual(pub.errors, [], 'the publishing node\'s API did not answer');
    } finally {
      await pub.stop();
      closeAll();
    }
  });
});

/* ------------------------------------------------------------------ */
/* 3. Redis killed and restarted while the API accepts broadcasts     */
/* ------------------------------------------------------------------ */

describe('recovery across nodes: Redis killed and restarted while the API accepts broadcasts', function () {
  this.timeout(90000);
  let redis;
  let nodes = [];

  before(async function () {
    redis = await startRedis();
    nodes = await Promise.all([0, 1].map((i) => startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: `sio${i + 1}` },
    })));
  });

  after(async function () {
    closeAll();
    await cleanup([...nodes.map((n) => () => stopNow(n)), () => stopRedis(redis)]);
  });

  it('every broadcast answered 202 reaches every client of both nodes exactly once, in order; no refused one appears', async function () {
    const [a, b] = nodes;
    const clients = [];
    for (const node of nodes) {
      for (let i = 0; i < 8; i++) {
        clients.push(liveClient(`http://${HOST}:${node.port}`, i % 2 ? { transports: ['websocket'] } : {}));
      }
    }
    await allSubscribed(clients, 10000);

    const pub = startPublisher(a.apiPort);
    try {
      await eventually(() => clients.every((c) => c.seqs.length >= 3), 8000, 'every client receiving before Redis dies');
      const killedSeq = pub.next;
      await killRedis(redis);
      const sawDown = await settled(async () => (await health(a)).redis === 'down', 5000);
      await sleep(2000); // Redis stays away for ~2 s while broadcasts keep coming
      const restartedSeq = pub.next;
      await restartRedis(redis);
      await eventually(async () => (await Promise.all(nodes.map(health))).every((h) => h.redis === 'up'), 10000,
        'both nodes connected to Redis again');
      await sleep(1500);
      await pub.stop();
      const unknown = new Set(pub.errors.map((e) => e.seq));
      const expected = pub.accepted;
      await settled(() => clients.every((c) => expected.every((s) => c.seqs.includes(s))), 10000);
      await sleep(500);
      const duringOutage = expected.filter((s) => s >= killedSeq && s < restartedSeq).length;
      console.log(`      Redis down for seqs ${killedSeq}..${restartedSeq - 1} (health said down: ${sawDown}); ` +
        `accepted ${expected.length} of ${pub.next} (${duringOutage} while Redis was down), ` +
        `refused ${pub.rejected.length} ${JSON.stringify(pub.rejected.slice(0, 3).map((r) => [r.seq, r.status, r.retryAfter]))}, ` +
        `unanswered ${pub.errors.length}`);
      for (const c of clients) c.moved = c.connects.length > 1;
      // a seq whose POST got no answer at all may or may not have been accepted: left out
      const rows = clients.map((c) => {
        const seqs = c.seqs.filter((s) => !unknown.has(s));
        return { c: { ...c, seqs }, a: analyse(seqs, expected) };
      });
      const missed = rows.map((r) => r.a.missed.length);
      console.log(`      missed per client (first 8 on A, then 8 on B) ${JSON.stringify(missed)}; ` +
        `duplicates total ${rows.reduce((s, r) => s + r.a.duplicates.length, 0)}; ` +
        `refused seqs delivered ${rows.reduce((s, r) => s + r.a.unexpected.length, 0)}`);

      assert.ok(isAlive(a) && isAlive(b), 'a node died while Redis was away');
      for (const [i, { c, a: an }] of rows.entries()) {
        assert.deepEqual(c.seqs, expected, `${i < 8 ? 'node A' : 'node B'} ${describeClient(c, an, i)}`);
      }
      assert.ok(duringOutage > 0, `the API accepted no broadcast while Redis was down (refused ${JSON.stringify(pub.rejected.slice(0, 3))})`);
      for (const r of pub.rejected) {
        assert.equal(r.status, 503, `seq ${r.seq} refused with ${r.status}: ${r.body}`);
        assert.ok(r.retryAfter !== undefined, `seq ${r.seq}: 503 without Retry-After`);
      }
      assert.deepEqual(pub.errors, [], 'the API did not answer while Redis was away');
    } finally {
      await pub.stop();
      closeAll();
    }
  });
});

/* ------------------------------------------------------------------ */
/* 4. the subscribe ack means the Redis SUBSCRIBE is active           */
/* ------------------------------------------------------------------ */

describe('recovery across nodes: the subscribe ack is sent once the room is subscribed in Redis', function () {
  this.timeout(30000);
  let redis;
  let nodes = [];

  before(async function () {
    redis = await startRedis();
    nodes = await Promise.all([0, 1].map((i) => startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: `sio${i + 1}` },
    })));
  });

  after(async function () {
    closeAll();
    await cleanup([...nodes.map((n) => () => stopNow(n)), () => stopRedis(redis)]);
  });

  it('a broadcast posted on node A right after the ack of a subscribe on node B reaches the client, 20 times out of 20', async function () {
    const [a, b] = nodes;
    const sockets = [
      connect(`http://${HOST}:${b.port}`, { transports: ['websocket'] }),
      connect(`http://${HOST}:${b.port}`), // polling, then upgraded to WebSocket
    ];
    const got = sockets.map(() => []);
    sockets.forEach((s, k) => s.on('fresh', (data) => got[k].push(data)));
    await Promise.all(sockets.map((s) => connected(s)));
    const sent = [];
    for (let i = 0; i < 20; i++) {
      const k = i % 2;
      const room = `fresh-room-${crypto.randomBytes(8).toString('hex')}`;
      let ack;
      try {
        ack = await emitAck(sockets[k], 'subscribe', room);
      } catch (e) {
        assert.fail(`subscribe #${i} to ${room} on node B was not acked within 3 s (${e.message})`);
      }
      // no pause: the ack says the node already receives the room's traffic
      const res = await apiPost(a.apiPort, { rooms: [room], event: 'fresh', data: { i, room } });
      sent.push({ i, k, room, ack, status: res.status });
    }
    const receivedBy = (s) => got[s.k].filter((d) => d && d.room === s.room);
    await settled(() => sent.every((s) => receivedBy(s).length >= 1), 5000);
    await sleep(300);
    const missed = sent.filter((s) => receivedBy(s).length === 0).map((s) => s.i);
    console.log(`      broadcasts right after a subscribe ack: ${sent.length - missed.length} of ${sent.length} received` +
      `${missed.length ? ` (missed #${missed.join(', #')})` : ''}`);

    for (const s of sent) {
      assert.equal(s.ack && s.ack.ok, true, `subscribe #${s.i} acked ${JSON.stringify(s.ack)}`);
      assert.equal(s.status, 202, `broadcast #${s.i} answered ${s.status}`);
    }
    assert.deepEqual(missed, [], 'broadcasts posted right after the subscribe ack were lost');
    for (const s of sent) assert.equal(receivedBy(s).length, 1, `broadcast #${s.i} received more than once`);
    for (const [k, list] of got.entries()) {
      const foreign = list.filter((d) => !sent.some((s) => s.k === k && s.room === d.room));
      assert.deepEqual(foreign, [], `client ${k} received a broadcast to a room it had not joined`);
    }
  });
});

/* ------------------------------------------------------------------ */
/* 5. Who holds a session in Redis                                    */
/* ------------------------------------------------------------------ */

describe('recovery across nodes: a session key belongs to the node holding the socket', function () {
  this.timeout(30000);
  let redis;
  let cli;
  let a;
  let b;

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    a = await startSioServer({ env: { REDIS_URL: url, NODE_ID: 'own-a' } });
    b = await startSioServer({ env: { REDIS_URL: url, NODE_ID: 'own-b' } });
    const { createClient } = require('redis');
    cli = createClient({ url });
    await cli.connect();
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => cli && cli.quit(), () => stopRedis(redis)]);
  });

  const sessionOf = async (pid) => {
    const v = await cli.get(`socket.io-session#${pid}`);
    return v ? JSON.parse(v) : null;
  };

  /** A client of `node` in room `room` that has received one broadcast (so it has an offset). */
  async function member(node, room) {
    const s = connect(`http://${HOST}:${node.port}`, { transports: ['websocket'], reconnection: false });
    const got = [];
    s.on('tick', (...args) => got.push(args));
    await connected(s);
    await emitAck(s, 'subscribe', room);
    await apiPost(node.apiPort, { rooms: [room], event: 'tick', data: 0 });
    await eventually(() => got.length === 1, 3000, 'the first broadcast');
    return { s, pid: s._pid, offset: s._lastOffset, id: s.id };
  }

  it('a restore refused because the socket is still connected here leaves its session in Redis', async function () {
    const m = await member(a, 'own-1');
    await eventually(async () => (await sessionOf(m.pid)) !== null, 3000, 'the live session in Redis');
    const other = connect(`http://${HOST}:${a.port}`, { transports: ['websocket'], reconnection: false, auth: { pid: m.pid, offset: m.offset } });
    await connected(other);
    assert.notEqual(other.id, m.id, 'a connected socket\'s session was handed to another connection of its node');
    await eventually(async () => {
      const sess = await sessionOf(m.pid);
      return sess && sess.sid === m.id && sess.rooms.includes('own-1');
    }, 3000, 'the live session written again');
  });

  it('after a client recovered on another node, its old node does not overwrite the session when it sees the old connection end', async function () {
    const m = await member(a, 'own-2');
    await eventually(async () => (await sessionOf(m.pid)) !== null, 3000, 'the live session in Redis');
    const nodeA = (await sessionOf(m.pid)).node;
    // the client comes back on B while A has not seen its old connection end (a network blip)
    const back = connect(`http://${HOST}:${b.port}`, { transports: ['websocket'], reconnection: false, auth: { pid: m.pid, offset: m.offset } });
    await connected(back);
    assert.equal(back.id, m.id, 'restored on B with its id');
    await emitAck(back, 'subscribe', 'own-2b');
    let nodeB;
    await eventually(async () => {
      const sess = await sessionOf(m.pid);
      nodeB = sess && sess.node;
      return sess && nodeB !== nodeA && sess.rooms.includes('own-2b');
    }, 3000, 'B holding the session');
    // now A sees the old connection end, with a recoverable reason
    m.s.io.engine.close();
    await sleep(500);
    const sess = await sessionOf(m.pid);
    assert.equal(sess && sess.node, nodeB, `A overwrote B's session: ${JSON.stringify(sess)}`);
    assert.ok(sess.rooms.includes('own-2b'), JSON.stringify(sess));
  });
});

/* ------------------------------------------------------------------ */
/* 6. What Redis holds is input too                                   */
/* ------------------------------------------------------------------ */

describe('recovery in Redis (pubsub): bad history entries and bad session values', function () {
  this.timeout(30000);
  let redis;
  let cli;
  let node;

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    node = await startSioServer({ env: { REDIS_URL: url, NODE_ID: 'bad-redis' } });
    const { createClient } = require('redis');
    cli = createClient({ url });
    await cli.connect();
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(node), () => cli && cli.quit(), () => stopRedis(redis)]);
  });

  it('a replay skips entries it cannot decode; a session value that is not one gives a new session', async function () {
    const url = `http://${HOST}:${node.port}`;
    const s = connect(url, { transports: ['websocket'], reconnection: false });
    const got = [];
    s.on('tick', (...args) => got.push(args));
    await connected(s);
    await emitAck(s, 'subscribe', 'bad');
    await apiPost(node.apiPort, { rooms: ['bad'], event: 'tick', data: 0 });
    await eventually(() => got.length === 1, 3000, 'the first broadcast');
    const id = s.id;
    s.io.engine.close();
    await eventually(() => !s.connected, 3000, 'the disconnect');
    const history = 'socket.io-history#/#';
    await cli.xAdd(history, '*', { p: 'garbage' });
    await cli.xAdd(history, '*', { x: 'no p field' });
    await apiPost(node.apiPort, { rooms: ['bad'], event: 'tick', data: 1 });
    await cli.xAdd(history, '*', { p: Buffer.from([0x93, 0xa1, 0x78]).toString('latin1') });
    await apiPost(node.apiPort, { rooms: ['bad'], event: 'tick', data: 2 });
    await sleep(200);
    s.connect();
    await connected(s);
    assert.equal(s.recovered, true);
    assert.equal(s.id, id);
    await eventually(() => got.length === 3, 3000, 'the replay of the two good entries');
    assert.deepEqual(got.map((a) => a[0]), [0, 1, 2]);

    // a session key holding something else than a session
    const t = connect(url, { transports: ['websocket'], reconnection: false });
    await connected(t);
    await emitAck(t, 'subscribe', 'bad');
    await apiPost(node.apiPort, { rooms: ['bad'], event: 'tick', data: 3 });
    await sleep(200);
    const tid = t.id;
    t.io.engine.close();
    await eventually(() => !t.connected, 3000, 'the disconnect');
    // the node has seen it go and kept its session: what follows replaces that
    await eventually(async () => {
      const v = await cli.get(`socket.io-session#${t._pid}`);
      return v && (await cli.pTTL(`socket.io-session#${t._pid}`)) <= 120000 &&
        JSON.parse((await apiGet(node.apiPort, '/health')).body).sockets === 1;
    }, 5000, 'the session kept after the disconnect');
    for (const v of ['not json', '[]', '{"nsp":"/","sid":1,"rooms":"x"}', '{"nsp":"/"}']) {
      await cli.set(`socket.io-session#${t._pid}`, v);
      const u = connect(url, { transports: ['websocket'], reconnection: false, auth: { pid: t._pid, offset: t._lastOffset } });
      await connected(u);
      assert.notEqual(u.id, tid, `restored from ${v}`);
      u.close();
    }
    assert.ok(isAlive(node), node.stderr());
  });
});

/* ------------------------------------------------------------------ */
/* 7. A subscriber back before its publisher                          */
/* ------------------------------------------------------------------ */

describe('recovery in Redis (pubsub): a node whose subscriber comes back before its publisher', function () {
  this.timeout(30000);
  let redis;
  let cli;
  let a;
  let b;
  let bConns;

  const conns = async () => String(await cli.sendCommand(['CLIENT', 'LIST'])).trim().split('\n')
    .map((l) => ({ id: /\bid=(\d+)/.exec(l)[1], sub: Number(/ sub=(\d+)/.exec(l)[1]) }));

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    const { createClient } = require('redis');
    cli = createClient({ url });
    await cli.connect();
    a = await startSioServer({ env: { REDIS_URL: url, NODE_ID: 'gap-a' } });
    await sleep(300);
    const before = new Set((await conns()).map((c) => c.id));
    b = await startSioServer({ env: { REDIS_URL: url, NODE_ID: 'gap-b' } });
    // both of B's connections, the subscriber's SUBSCRIBE done (it may be open a moment before)
    await eventually(async () => {
      bConns = (await conns()).filter((c) => !before.has(c.id));
      return bConns.length === 2 && bConns.some((c) => c.sub > 0) && bConns.some((c) => c.sub === 0);
    }, 5000, "B's two connections, one subscribed");
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => cli && cli.quit(), () => stopRedis(redis)]);
  });

  it('receives what it missed from the history before anything newer: none lost, in order', async function () {
    const s = connect(`http://${HOST}:${b.port}`, { transports: ['websocket'], reconnection: false });
    const got = [];
    s.on('tick', (n) => got.push(n));
    await connected(s);
    await emitAck(s, 'subscribe', 'gap');
    await apiPost(a.apiPort, { rooms: ['gap'], event: 'tick', data: 0 });
    await eventually(() => got.length === 1, 3000, 'the first broadcast');
    const known = new Set((await conns()).map((c) => c.id));
    let n = 1;
    let go = true;
    const publisher = (async () => {
      while (go) {
        await apiPost(a.apiPort, { rooms: ['gap'], event: 'tick', data: n++ });
        await sleep(10);
      }
    })();
    await sleep(50);
    // B's subscriber is cut once; its publisher (the one that reads the history) is
    // kept away for 800 ms, so the subscriber is back well before it
    const bSub = bConns.find((c) => c.sub > 0).id;
    const bPub = bConns.find((c) => c.sub === 0).id;
    await cli.sendCommand(['CLIENT', 'KILL', 'ID', bSub]);
    const t0 = Date.now();
    let cut = 0;
    while (Date.now() - t0 < 800) {
      for (const c of await conns()) {
        if (c.sub === 0 && (c.id === bPub || !known.has(c.id))) {
          cut += Number(await cli.sendCommand(['CLIENT', 'KILL', 'ID', c.id]).catch(() => 0));
        }
      }
      await sleep(20);
    }
    await sleep(300);
    go = false;
    await publisher;
    const sent = n;
    await eventually(() => got.length >= sent, 5000, 'every broadcast');
    await sleep(300);
    console.log(`      sent ${sent}, got ${got.length}; B's publisher cut ${cut} times`);
    assert.ok(cut >= 1, 'the publisher was not cut: the test did not test anything');
    assert.deepEqual(got, [...Array(sent).keys()], 'each broadcast once, in order');
  });
});
