'use strict';
/*
 * The plain WebSocket endpoint (PLAIN_WS_PATH; README "Plain WebSocket
 * clients"): clients that open `new WebSocket(url)`
 * and speak JSON text frames and binary frames, with no Engine.IO / Socket.IO
 * framing, as sockets of PLAIN_WS_NAMESPACE. Against the real sio-server, with
 * the real `ws` client, socket.io-client, @socket.io/redis-emitter, a Node
 * socket.io server on @socket.io/redis-adapter, redis-server and a Node HTTP
 * backend in this process:
 *   - broadcasts from every origin (API, emitter, Node node, another sio node),
 *     text and binary, in the plain shapes; no recovery offsets shown;
 *   - subscribe / unsubscribe / publish and their replies, ids (0 included);
 *   - the connect proxy (transport "plain", the query as auth, the cookie), the
 *     welcome message, events answered by the backend, refusals (close 1008);
 *   - JWT in ?token= or Authorization: Bearer, bad tokens and expiry (1008);
 *   - upstream audio into EVENT_STREAM (100 clients x 50 frames/s x 30 s, every
 *     frame in order, RSS bounded) and the flood bound (1008 upstream queue full);
 *   - bad input: the close code the client sees (1007, 1008, 1009, 1002), the
 *     server serving on afterwards;
 *   - keepalive ping frames, drain (1001), MAX_CONNECTIONS / per IP (503),
 *     EVENT_RATE, /metrics transport="plain", API disconnect (1000), the path
 *     (404 when unset, 400 / 405 for what is not an upgrade, 413 for a body).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { HOST, freePort, httpRequest } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const {
  sleep, within, eventually, norm, startSioServer, runSioServer, stopAlive, connect, connected, emitAck,
  closeAll, apiPost, apiGet, jwtHS256, nowSec,
} = require('../lib/sio');
const { rawWsConnect, frame, closeRawSockets } = require('../lib/raw');
const { plainWs, closeAllPlain, rawCloseCode } = require('../lib/plain');
const { startBackend, json } = require('../lib/backend');

/** Every plain variable unset unless a test sets it (never the developer's shell). */
const PLAIN_VARS = {
  PLAIN_WS_PATH: undefined,
  PLAIN_WS_NAMESPACE: undefined,
  PLAIN_WS_EVENT_FIELD: undefined,
  PLAIN_WS_DATA_FIELD: undefined,
  PLAIN_WS_ID_FIELD: undefined,
  PLAIN_WS_BINARY_EVENT: undefined,
};

/** sio-server with the plain endpoint at /ws; recovery off unless env turns it on. */
function startPlain(env = {}, opts = {}) {
  return startSioServer({ ...opts, env: { ...PLAIN_VARS, PLAIN_WS_PATH: '/ws', RECOVERY_WINDOW_MS: '0', ...env } });
}

/** A plain client, open. */
async function plainClient(server, opts = {}) {
  const c = plainWs(server.port, opts);
  await c.opened;
  return c;
}

/** A socket.io-client (WebSocket transport), connected. */
async function sioClient(server, nsp = '/', opts = {}) {
  return connected(connect(`http://${HOST}:${server.port}${nsp}`, { transports: ['websocket'], ...opts }));
}

/** Subscribes a plain client with request id `id` and checks the reply. */
async function subscribe(c, rooms, id = 1) {
  const reply = await c.request({ event: 'subscribe', data: rooms, id });
  assert.deepEqual(reply, { id, data: { ok: true, rooms: Array.isArray(rooms) ? rooms : [rooms] } });
}

/** Recovery (on by default) appends a broadcast's offset as its last argument. */
const isOffset = (v) => typeof v === 'string' && /^\d+-\d+$/.test(v);

/** Every event of a socket.io client: [event, ...args] (binaries as Buffers, offsets kept in got.offsets). */
function recordSio(socket) {
  const got = [];
  got.offsets = [];
  socket.onAny((event, ...args) => {
    if (args.length && isOffset(args[args.length - 1])) got.offsets.push(args.pop());
    got.push(norm([event, ...args]));
  });
  return got;
}

async function broadcast(server, body) {
  const res = await apiPost(server.apiPort, { namespace: '/', ...body });
  assert.equal(res.status, 202, `broadcast refused: ${res.status} ${res.body}`);
}

const PH = (num) => ({ _placeholder: true, num });

function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

/** name{labels} value -> [{labels, value}] */
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-z_:]+)\{([^}]*)\} (\S+)$/);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function metricValue(server, name, labels = {}) {
  const m = parseMetrics((await apiGet(server.apiPort, '/metrics')).body);
  const rows = (m.get(name) || []).filter((r) => Object.entries(labels).every(([k, v]) => r.labels[k] === v));
  return rows.length === 1 ? rows[0].value : NaN;
}

/** The server is still alive and serving: /health 200 on PORT and a fresh plain client subscribes. */
async function stillServes(server) {
  assert.ok(server.proc.exitCode === null && server.proc.signalCode === null, `server died:\n${server.stderr()}`);
  const h = await httpRequest({ port: server.port, path: '/health' });
  assert.equal(h.status, 200, h.body);
  const fresh = await plainClient(server);
  await subscribe(fresh, 'alive', 42);
  fresh.ws.close();
}

function cleanup() {
  closeAll();
  closeAllPlain();
  closeRawSockets();
}

/* ====================================================================== */

describe('plain ws: broadcasts from every origin reach plain and Socket.IO clients alike', function () {
  this.timeout(30000);
  let redis;
  let server;
  let pubCli;
  let emitter;
  before(async function () {
    redis = await startRedis();
    // recovery on (the default): Socket.IO clients get offsets, plain clients never
    server = await startPlain({ REDIS_URL: redisUrl(redis), RECOVERY_WINDOW_MS: undefined, PUBLISH_PATTERNS: 'scores' });
    pubCli = createClient({ url: redisUrl(redis) });
    pubCli.on('error', () => {});
    await pubCli.connect();
    emitter = new Emitter(pubCli);
  });
  after(async function () {
    cleanup();
    if (pubCli) await pubCli.quit().catch(() => {});
    await stopAlive(server);
    await stopRedis(redis);
  });
  afterEach(cleanup);

  it('1. the same POST /v1/broadcast and emitter broadcast: {"event","data"} text to the plain client, no offset', async function () {
    const p = await plainClient(server);
    const s = await sioClient(server);
    // nothing is sent on admission: the first message is the reply
    assert.deepEqual(await p.request({ event: 'subscribe', data: ['scores'], id: 1 }), { id: 1, data: { ok: true, rooms: ['scores'] } });
    assert.deepEqual(await emitAck(s, 'subscribe', 'scores'), { ok: true, rooms: ['scores'] });
    const got = recordSio(s);

    await broadcast(server, { rooms: ['scores'], event: 'score', data: { home: 1, away: 0 } });
    const m1 = await p.next();
    assert.equal(m1.isBinary, false);
    assert.deepEqual(JSON.parse(m1.text), { event: 'score', data: { home: 1, away: 0 } }, `the plain text was ${m1.text}`);
    await eventually(() => got.length === 1, 3000, 'the API broadcast on the Socket.IO client');
    assert.deepEqual(got[0], ['score', { home: 1, away: 0 }]);
    assert.equal(got.offsets.length, 1, 'recovery is on: the Socket.IO client saw an offset (the plain client must not)');

    emitter.to('scores').emit('score', { home: 2, away: 0 });
    assert.deepEqual(await p.nextJson(), { event: 'score', data: { home: 2, away: 0 } });
    await eventually(() => got.length === 2, 3000, 'the emitter broadcast on the Socket.IO client');
    assert.deepEqual(got[1], ['score', { home: 2, away: 0 }]);

    // data: the single argument, an array when there are several, absent when none
    await broadcast(server, { rooms: ['scores'], event: 'many', args: [1, 'two', { three: 3 }] });
    assert.deepEqual(await p.nextJson(), { event: 'many', data: [1, 'two', { three: 3 }] });
    await broadcast(server, { rooms: ['scores'], event: 'bare', args: [] });
    assert.deepEqual(await p.nextJson(), { event: 'bare' });
    emitter.to('scores').emit('arr', [1, 2]);
    assert.deepEqual(await p.nextJson(), { event: 'arr', data: [1, 2] }, 'one array argument is data: [1,2]');
    await eventually(() => got.length === 5, 3000, 'the Socket.IO client got all five');
    assert.deepEqual(got.slice(2), [['many', 1, 'two', { three: 3 }], ['bare'], ['arr', [1, 2]]]);
    assert.deepEqual(p.pending(), [], 'nothing else reached the plain client');
  });

  it('1. binary: a lone Buffer is one binary frame; a Buffer inside an object is text with "attachments" then the frames', async function () {
    const p = await plainClient(server);
    const s = await sioClient(server);
    await subscribe(p, ['scores']);
    assert.equal((await emitAck(s, 'subscribe', 'scores')).ok, true);
    const got = recordSio(s);
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    const bin2 = Buffer.from('second blob');

    emitter.to('scores').emit('audio-out', bin);
    const m = await p.next();
    assert.equal(m.isBinary, true, `expected one binary frame, got ${m.text}`);
    assert.deepEqual(m.bin, bin);
    await eventually(() => got.length === 1, 3000, 'the Socket.IO client');
    assert.deepEqual(got[0], ['audio-out', bin]);
    assert.ok(Buffer.isBuffer(got[0][1]));

    emitter.to('scores').emit('file', { name: 'f', blob: bin2 });
    assert.deepEqual(await p.nextJson(), { event: 'file', data: { name: 'f', blob: PH(0) }, attachments: 1 });
    assert.deepEqual(await p.nextBinary(), bin2);
    await eventually(() => got.length === 2, 3000, 'the Socket.IO client');
    assert.deepEqual(got[1], ['file', { name: 'f', blob: bin2 }]);

    // several arguments, one binary: data is the array, the placeholder in it
    emitter.to('scores').emit('two', 7, bin);
    assert.deepEqual(await p.nextJson(), { event: 'two', data: [7, PH(0)], attachments: 1 });
    assert.deepEqual(await p.nextBinary(), bin);
    // two binaries: two frames, in order
    emitter.to('scores').emit('pair', bin, bin2);
    assert.deepEqual(await p.nextJson(), { event: 'pair', data: [PH(0), PH(1)], attachments: 2 });
    assert.deepEqual(await p.nextBinary(), bin);
    assert.deepEqual(await p.nextBinary(), bin2);
    await eventually(() => got.length === 4, 3000, 'the Socket.IO client');
    assert.deepEqual(got.slice(2), [['two', 7, bin], ['pair', bin, bin2]]);
    assert.deepEqual(p.pending(), []);
  });

  it('2. a Node socket.io server on @socket.io/redis-adapter, and another sio node, reach the plain client', async function () {
    const { Server } = require('socket.io');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const pub = createClient({ url: redisUrl(redis) });
    const sub = pub.duplicate();
    pub.on('error', () => {});
    sub.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    const io = new Server({ adapter: createAdapter(pub, sub) });
    const other = await startPlain({ REDIS_URL: redisUrl(redis), PUBLISH_PATTERNS: 'scores' });
    try {
      const p = await plainClient(server);
      await subscribe(p, 'scores');
      io.to('scores').emit('node-score', { n: 1 });
      assert.deepEqual(await p.nextJson(), { event: 'node-score', data: { n: 1 } });
      const bin = Buffer.from([9, 8, 7, 0, 255]);
      io.to('scores').emit('node-bin', bin);
      assert.deepEqual(await p.nextBinary(), bin);
      io.to('scores').emit('node-obj', { b: bin }, 'x');
      assert.deepEqual(await p.nextJson(), { event: 'node-obj', data: [{ b: PH(0) }, 'x'], attachments: 1 });
      assert.deepEqual(await p.nextBinary(), bin);
      io.emit('node-all', 'everyone'); // the whole namespace
      assert.deepEqual(await p.nextJson(), { event: 'node-all', data: 'everyone' });
      // another sio node's API, and a plain client of that node publishing
      await broadcast(other, { rooms: ['scores'], event: 'from-b', data: 2 });
      assert.deepEqual(await p.nextJson(), { event: 'from-b', data: 2 });
      const q = await plainClient(other);
      assert.deepEqual(await q.request({ event: 'publish', data: { room: 'scores', event: 'from-plain-b', data: { z: 1 } }, id: 9 }),
        { id: 9, data: { ok: true } });
      assert.deepEqual(await p.nextJson(), { event: 'from-plain-b', data: { z: 1 } });
    } finally {
      io.close();
      await Promise.all([pub.quit(), sub.quit()]).catch(() => {});
      cleanup();
      await stopAlive(other);
    }
  });
});

/* ====================================================================== */

describe('plain ws: subscribe / unsubscribe / publish and replies', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ SUBSCRIBE_PATTERNS: 'scores,chat-*', PUBLISH_PATTERNS: 'chat-*' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('3. publish from a plain client reaches the room (Socket.IO and plain), not the sender; unsubscribe stops delivery; forbidden rooms', async function () {
    const a = await plainClient(server);
    const c = await plainClient(server);
    const s = await sioClient(server);
    await subscribe(a, ['chat-1', 'scores'], 1);
    await subscribe(c, 'chat-1', 1);
    assert.equal((await emitAck(s, 'subscribe', 'chat-1')).ok, true);
    const got = recordSio(s);

    assert.deepEqual(await a.request({ event: 'publish', data: { room: 'chat-1', event: 'msg', data: { text: 'hi' } }, id: 2 }),
      { id: 2, data: { ok: true } });
    await eventually(() => got.length === 1, 3000, 'the publish on the Socket.IO client');
    assert.deepEqual(got[0], ['msg', { text: 'hi' }]);
    assert.deepEqual(await c.nextJson(), { event: 'msg', data: { text: 'hi' } });
    // the sender's next message is a later broadcast to the room, not its own publish
    await broadcast(server, { rooms: ['chat-1'], event: 'marker', data: 1 });
    assert.deepEqual(await a.nextJson(), { event: 'marker', data: 1 }, 'the sender got its own publish');
    assert.deepEqual(await c.nextJson(), { event: 'marker', data: 1 });

    // a Socket.IO client's publish reaches the plain ones
    assert.deepEqual(await emitAck(s, 'publish', { room: 'chat-1', event: 'msg', data: 'from-sio' }), { ok: true });
    assert.deepEqual(await a.nextJson(), { event: 'msg', data: 'from-sio' });
    assert.deepEqual(await c.nextJson(), { event: 'msg', data: 'from-sio' });

    // unsubscribe: nothing more from chat-1 (a marker to another room of a's comes first)
    assert.deepEqual(await a.request({ event: 'unsubscribe', data: 'chat-1', id: 3 }), { id: 3, data: { ok: true, rooms: ['chat-1'] } });
    await broadcast(server, { rooms: ['chat-1'], event: 'after', data: 'x' });
    await broadcast(server, { rooms: ['scores'], event: 'marker', data: 2 });
    assert.deepEqual(await a.nextJson(), { event: 'marker', data: 2 }, 'delivered after unsubscribe');
    assert.deepEqual(await c.nextJson(), { event: 'after', data: 'x' }, 'c, still subscribed, gets it');

    // outside SUBSCRIBE_PATTERNS / PUBLISH_PATTERNS
    assert.deepEqual(await a.request({ event: 'subscribe', data: 'private', id: 4 }), { id: 4, data: { ok: false, error: 'forbidden' } });
    assert.deepEqual(await a.request({ event: 'subscribe', data: ['chat-2', 'secret'], id: 5 }), { id: 5, data: { ok: false, error: 'forbidden' } });
    assert.deepEqual(await a.request({ event: 'publish', data: { room: 'scores', event: 'x', data: 1 }, id: 6 }), { id: 6, data: { ok: false, error: 'forbidden' } });
    await broadcast(server, { rooms: ['private', 'secret', 'chat-2'], event: 'leak' });
    await broadcast(server, { rooms: ['scores'], event: 'marker', data: 3 });
    assert.deepEqual(await a.nextJson(), { event: 'marker', data: 3 }, 'a forbidden room was joined');
    assert.equal(a.isClosed, false);
  });

  it('8. replies: id 0 is a request; no id, no reply (but the subscription is made)', async function () {
    const p = await plainClient(server);
    assert.deepEqual(await p.request({ event: 'subscribe', data: 'chat-a', id: 0 }), { id: 0, data: { ok: true, rooms: ['chat-a'] } });
    p.send({ event: 'subscribe', data: 'chat-b' });
    assert.deepEqual(await p.request({ event: 'subscribe', data: 'chat-c', id: 7 }), { id: 7, data: { ok: true, rooms: ['chat-c'] } },
      'the first reply must be id 7: a request without id gets none');
    await broadcast(server, { rooms: ['chat-b'], event: 'b', data: true });
    assert.deepEqual(await p.nextJson(), { event: 'b', data: true });
    // a large id comes back as it was
    assert.deepEqual(await p.request({ event: 'unsubscribe', data: 'chat-c', id: 2147483648 }), { id: 2147483648, data: { ok: true, rooms: ['chat-c'] } });
  });
});

describe('plain ws: configured field names', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ PLAIN_WS_EVENT_FIELD: 'type', PLAIN_WS_DATA_FIELD: 'payload', PLAIN_WS_ID_FIELD: 'rid' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('PLAIN_WS_EVENT_FIELD / DATA_FIELD / ID_FIELD name the fields both ways', async function () {
    const p = await plainClient(server);
    assert.deepEqual(await p.request({ type: 'subscribe', payload: ['scores'], rid: 5 }), { rid: 5, payload: { ok: true, rooms: ['scores'] } });
    await broadcast(server, { rooms: ['scores'], event: 'score', data: 1 });
    assert.deepEqual(await p.nextJson(), { type: 'score', payload: 1 });
    await broadcast(server, { rooms: ['scores'], event: 'multi', args: [1, 2] });
    assert.deepEqual(await p.nextJson(), { type: 'multi', payload: [1, 2] });
  });
});

describe('plain ws: PLAIN_WS_NAMESPACE', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ NAMESPACES: '/,/live', PLAIN_WS_NAMESPACE: '/live' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('plain clients are sockets of that namespace', async function () {
    const p = await plainClient(server);
    await subscribe(p, 'scores');
    await broadcast(server, { namespace: '/', rooms: ['scores'], event: 'root', data: 1 });
    await broadcast(server, { namespace: '/live', rooms: ['scores'], event: 'live', data: 2 });
    assert.deepEqual(await p.nextJson(), { event: 'live', data: 2 }, 'a broadcast to / reached a /live plain client');
    const s = await sioClient(server, '/live');
    const got = recordSio(s);
    assert.equal((await emitAck(s, 'subscribe', 'scores')).ok, true);
    const res = await apiGet(server.apiPort, '/v1/sockets?namespace=/live&room=scores');
    assert.equal(res.status, 200);
    assert.equal(res.json.sockets.length, 2, JSON.stringify(res.json));
    await broadcast(server, { namespace: '/live', rooms: ['scores'], event: 'both', data: 3 });
    assert.deepEqual(await p.nextJson(), { event: 'both', data: 3 });
    await eventually(() => got.length === 1, 3000, 'the /live Socket.IO client');
  });

  it('a PLAIN_WS_NAMESPACE outside NAMESPACES stops start-up (exit 2, naming the variable)', async function () {
    const r = await runSioServer({
      ...PLAIN_VARS, PORT: String(await freePort()), API_PORT: String(await freePort()),
      NAMESPACES: '/', PLAIN_WS_PATH: '/ws', PLAIN_WS_NAMESPACE: '/nope',
    });
    assert.equal(r.code, 2, `exit ${r.code} ${r.signal}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /PLAIN_WS_NAMESPACE/);
  });
});

/* ====================================================================== */

describe('plain ws: the backend (connect proxy, client events)', function () {
  this.timeout(30000);
  let backend;
  let server;
  function handle(body, req, res) {
    if (!body) return json(res, {});
    if (body.type === 'connect') {
      if (body.auth && body.auth.deny) return json(res, { allow: false, reason: 'go away', data: { why: 'test' } });
      if (body.auth && body.auth.hang) return undefined; // never answers
      return json(res, { allow: true, user: 'ann', rooms: ['user:ann'], emit: [{ event: 'welcome', args: [{ hello: 'x' }] }] });
    }
    if (body.type === 'event') {
      if (body.event === 'ping') return json(res, { ack: [{ pong: true }] });
      if (body.event === 'multi') return json(res, { ack: ['pong', 7] });
      return json(res, { ack: [] });
    }
    return json(res, {});
  }
  before(async function () {
    backend = await startBackend(handle);
    server = await startPlain({
      PLAIN_WS_EVENT_FIELD: 'action',
      CONNECT_PROXY_URL: `${backend.url}/connect`,
      EVENT_PROXY_URL: `${backend.url}/events`,
      PROXY_EVENTS: 'ping,multi,binary',
      PROXY_HEADERS: 'cookie',
      PROXY_TIMEOUT_MS: '1000',
    });
  });
  after(async function () { cleanup(); await stopAlive(server); await backend.close(); });
  afterEach(() => { cleanup(); backend.requests.length = 0; });

  it('4. the welcome on connect, {"action":"ping","id":3} answered by the backend, the whole object as data', async function () {
    const p = await plainClient(server, {
      query: 'room=x%20y&token=abc',
      headers: { Cookie: 'session=good; a=1', Authorization: 'Bearer not-forwarded' },
    });
    assert.deepEqual(await p.nextJson(), { action: 'welcome', data: { hello: 'x' } });
    const conn = backend.requests.find((r) => r.body && r.body.type === 'connect');
    assert.ok(conn, 'the connect proxy was not asked');
    assert.equal(conn.body.transport, 'plain');
    assert.equal(conn.body.namespace, '/');
    assert.deepEqual(conn.body.auth, { room: 'x y', token: 'abc' }, 'auth is the query, URL-decoded');
    assert.deepEqual(conn.body.headers, { cookie: 'session=good; a=1' }, 'PROXY_HEADERS=cookie: the cookie and nothing else');
    assert.equal(conn.body.address, HOST);
    assert.equal(typeof conn.body.sid, 'string');
    const sid = conn.body.sid;

    // the proxy's rooms are joined (its own id room too)
    await broadcast(server, { rooms: ['user:ann'], event: 'note', data: 'for ann' });
    assert.deepEqual(await p.nextJson(), { action: 'note', data: 'for ann' });
    await broadcast(server, { rooms: [sid], event: 'direct', data: 1 });
    assert.deepEqual(await p.nextJson(), { action: 'direct', data: 1 });

    p.send({ action: 'ping', seq: 1 }); // no id: no reply
    assert.deepEqual(await p.request({ action: 'ping', id: 3 }), { id: 3, data: { pong: true } });
    assert.deepEqual(await p.request({ action: 'ping', data: { q: 1 }, id: 4 }), { id: 4, data: { pong: true } });
    const pings = backend.requests.filter((r) => r.body && r.body.type === 'event' && r.body.event === 'ping').map((r) => r.body);
    assert.equal(pings.length, 3);
    for (const b of pings) assert.equal(b.sid, sid);
    assert.equal(pings[0].user, 'ann');
    assert.deepEqual(pings[0].args, [{ action: 'ping', seq: 1 }], 'no data field: the whole object is the data');
    assert.equal(pings[1].args.length, 1);
    assert.equal(pings[1].args[0].action, 'ping', `no data field: the whole object (${JSON.stringify(pings[1].args)})`);
    assert.deepEqual(pings[2].args, [{ q: 1 }], 'a data field is the data');

    // an ack of several arguments: data is their array
    assert.deepEqual(await p.request({ action: 'multi', id: 5 }), { id: 5, data: ['pong', 7] });

    // a binary frame: event PLAIN_WS_BINARY_EVENT ("binary") with the bytes, base64 with a placeholder
    p.send(Buffer.from([1, 2, 3]));
    await eventually(() => backend.requests.some((r) => r.body && r.body.event === 'binary'), 3000, 'the binary event at the backend');
    const b = backend.requests.find((r) => r.body && r.body.event === 'binary').body;
    assert.equal(b.sid, sid);
    assert.deepEqual(b.args, [PH(0)]);
    assert.deepEqual(b.attachments, ['AQID']);
    assert.deepEqual(p.pending(), [], 'no reply to a frame without id');
  });

  it('4. allow:false -> accepted, then closed 1008 with the backend\'s reason', async function () {
    const p = plainWs(server.port, { query: 'deny=1' });
    assert.equal(await p.status, 101, 'the WebSocket is accepted, then closed');
    const closed = await within(p.closed, 3000, 'the close');
    assert.equal(closed.code, 1008);
    assert.equal(closed.reason, 'go away');
    assert.equal(p.messages, 0);
  });

  it('4. a backend that does not answer -> closed 1008 "auth unavailable"', async function () {
    const p = plainWs(server.port, { query: 'hang=1' });
    assert.equal(await p.status, 101);
    const closed = await within(p.closed, 5000, 'the close');
    assert.deepEqual([closed.code, closed.reason], [1008, 'auth unavailable']);
  });
});

describe('plain ws: a slow connect proxy (input held until admitted)', function () {
  this.timeout(30000);
  let backend;
  let server;
  before(async function () {
    // answers after 1.5 s: longer than PING_INTERVAL + PING_TIMEOUT (600 ms)
    backend = await startBackend((body, req, res) => {
      setTimeout(() => json(res, body && body.type === 'connect'
        ? { allow: true, emit: [{ event: 'welcome', args: ['hi'] }] } : {}), 1500);
    });
    server = await startPlain({ CONNECT_PROXY_URL: `${backend.url}/connect`, PROXY_TIMEOUT_MS: '4000', PING_INTERVAL: '300', PING_TIMEOUT: '300' });
  });
  after(async function () { cleanup(); await stopAlive(server); await backend.close(); });
  afterEach(cleanup);

  it('no heartbeat runs while held (its pongs cannot be read): admitted after 1.5 s, then served, and pinged again', async function () {
    const p = await plainClient(server);
    p.send({ event: 'subscribe', data: 'slow', id: 1 }); // sent while held: handled after admission
    assert.deepEqual(await p.nextJson(3000), { event: 'welcome', data: 'hi' }, 'the welcome first');
    assert.deepEqual(await p.nextJson(3000), { id: 1, data: { ok: true, rooms: ['slow'] } });
    const pings = p.pings;
    await eventually(async () => p.pings > pings, 3000, 'pings once admitted');
    assert.equal(p.ws.readyState, 1, 'still open');
  });
});

/* ====================================================================== */

describe('plain ws: JWT', function () {
  this.timeout(20000);
  const secret = 'plain-secret';
  let server;
  before(async function () {
    server = await startPlain({ JWT_SECRET: secret });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  const good = (claims = {}) => jwtHS256({ sub: 'u1', exp: nowSec() + 600, ...claims }, secret);

  it('5. a token in ?token= or in Authorization: Bearer admits; bad or missing tokens close 1008 "unauthorized"', async function () {
    const q = await plainClient(server, { query: `token=${good()}` });
    await subscribe(q, 'scores');
    const h = await plainClient(server, { headers: { Authorization: `Bearer ${good()}` } });
    await subscribe(h, 'scores');
    for (const [what, opts] of [
      ['a bad token', { query: 'token=nope' }],
      ['a token of another secret', { query: `token=${jwtHS256({ sub: 'u', exp: nowSec() + 600 }, 'other')}` }],
      ['an expired token', { query: `token=${jwtHS256({ sub: 'u', exp: nowSec() - 60 }, secret)}` }],
      ['a bad Bearer header', { headers: { Authorization: 'Bearer nope' } }],
      ['no token', {}],
    ]) {
      const p = plainWs(server.port, opts);
      assert.equal(await p.status, 101, `${what}: accepted, then closed`);
      const closed = await within(p.closed, 3000, `the close (${what})`);
      assert.deepEqual([closed.code, closed.reason], [1008, 'unauthorized'], what);
    }
  });

  it('5. the token\'s rooms claim replaces SUBSCRIBE_PATTERNS', async function () {
    const p = await plainClient(server, { query: `token=${good({ rooms: ['vip-*'] })}` });
    assert.deepEqual(await p.request({ event: 'subscribe', data: 'scores', id: 1 }), { id: 1, data: { ok: false, error: 'forbidden' } });
    await subscribe(p, 'vip-1', 2);
  });

  it('5. a token expiring in 2 s: closed 1008 "token expired" at about 2 s', async function () {
    const exp = nowSec() + 2;
    const p = await plainClient(server, { query: `token=${jwtHS256({ sub: 'u', exp }, secret)}` });
    const closed = await within(p.closed, 5000, 'the expiry close');
    assert.deepEqual([closed.code, closed.reason], [1008, 'token expired']);
    const late = closed.at - exp * 1000;
    assert.ok(late > -1100 && late < 1500, `closed ${late} ms from exp`);
  });
});

/* ====================================================================== */

describe('plain ws: upstream audio', function () {
  this.timeout(120000);

  it('6. upstream audio (the 30 s load test): 100 plain clients x 50 binary frames/s x 640 B reach EVENT_STREAM complete and in order; RSS bounded', async function () {
    const CLIENTS = 100;
    const FPS = 50;
    const SECONDS = 30;
    const N = FPS * SECONDS;
    const SIZE = 640;
    const KEY = 'audio-jobs';
    const redis = await startRedis();
    const server = await startPlain({
      REDIS_URL: redisUrl(redis), EVENT_STREAM: KEY, EVENT_STREAM_MAXLEN: String(10 * CLIENTS * N),
      PROXY_EVENTS: 'audio', PLAIN_WS_BINARY_EVENT: 'audio',
      // freed memory must come back for RSS to mean anything under ASan
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1`,
    });
    const cli = createClient({ url: redisUrl(redis) });
    cli.on('error', () => {});
    await cli.connect();
    /** Frame `seq` of client `id`: id and seq in the first 8 bytes, then a pattern of both. */
    const makeFrame = (id, seq) => {
      const b = Buffer.alloc(SIZE);
      b.writeUInt32BE(id, 0);
      b.writeUInt32BE(seq, 4);
      for (let i = 8; i < SIZE; i++) b[i] = (id * 31 + seq * 7 + i) & 0xff;
      return b;
    };
    let sampler;
    try {
      const baseline = rssKb(server.proc.pid);
      const clients = [];
      for (let i = 0; i < CLIENTS; i += 25) {
        clients.push(...await Promise.all(Array.from({ length: 25 }, () => plainClient(server))));
      }
      let peak = rssKb(server.proc.pid);
      sampler = setInterval(() => { try { peak = Math.max(peak, rssKb(server.proc.pid)); } catch (_) { /* gone */ } }, 250);
      const sent = new Array(CLIENTS).fill(0);
      const t0 = Date.now();
      await new Promise((resolve) => {
        const tick = setInterval(() => {
          // frames due by now (catching up whatever a late timer missed)
          const due = Math.min(N, Math.floor((Date.now() - t0) / (1000 / FPS)) + 1);
          for (let c = 0; c < CLIENTS; c++) {
            while (sent[c] < due) { clients[c].ws.send(makeFrame(c, sent[c]), { binary: true }); sent[c]++; }
          }
          if (sent.every((n) => n === N) || clients.some((c) => c.isClosed)) { clearInterval(tick); resolve(); }
        }, 1000 / FPS);
      });
      const sendMs = Date.now() - t0;
      const closedOnes = clients.filter((c) => c.isClosed);
      assert.equal(closedOnes.length, 0, `clients closed while sending: ${JSON.stringify(await closedOnes[0]?.closed)}`);
      const total = CLIENTS * N;
      let len = 0;
      await eventually(async () => { len = await cli.xLen(KEY); return len >= total; }, 20000, `${total} stream entries (have ${len})`);
      clearInterval(sampler);
      sampler = null;
      peak = Math.max(peak, rssKb(server.proc.pid));
      assert.equal(len, total, 'entries beyond the frames sent');

      // read the stream back, in its order
      const byClient = Array.from({ length: CLIENTS }, () => []);
      const sidOf = new Array(CLIENTS).fill(null);
      let start = '-';
      let read = 0;
      for (;;) {
        const page = await cli.xRange(KEY, start, '+', { COUNT: 10000 });
        if (!page.length) break;
        for (const e of page) {
          const job = JSON.parse(e.message.payload);
          assert.equal(job.type, 'event');
          assert.equal(job.event, 'audio');
          assert.deepEqual(job.args, [PH(0)]);
          assert.equal(job.attachments.length, 1);
          const bytes = Buffer.from(job.attachments[0], 'base64');
          assert.equal(bytes.length, SIZE);
          const id = bytes.readUInt32BE(0);
          const seq = bytes.readUInt32BE(4);
          assert.ok(id < CLIENTS, `client id ${id}`);
          assert.ok(bytes.equals(makeFrame(id, seq)), `frame ${seq} of client ${id}: bytes differ`);
          if (sidOf[id] === null) sidOf[id] = job.sid;
          assert.equal(job.sid, sidOf[id], `client ${id}'s frames from two sids`);
          byClient[id].push(seq);
        }
        read += page.length;
        start = `(${page[page.length - 1].id}`;
      }
      assert.equal(read, total);
      assert.equal(new Set(sidOf).size, CLIENTS, 'one sid per client');
      for (let c = 0; c < CLIENTS; c++) {
        const seqs = byClient[c];
        assert.equal(seqs.length, N, `client ${c}: ${seqs.length} of ${N} frames`);
        for (let i = 0; i < N; i++) if (seqs[i] !== i) assert.fail(`client ${c}: frame ${i} is seq ${seqs[i]} (out of order or lost)`);
      }
      for (const c of clients) assert.deepEqual(c.pending(), [], 'a plain client was sent something');
      const bound = process.env.ASAN_OPTIONS ? 400 * 1024 : 150 * 1024;
      console.log(`      ${total} frames of ${SIZE} B in ${sendMs} ms; server RSS baseline ${(baseline / 1024).toFixed(1)} MB, ` +
        `peak ${(peak / 1024).toFixed(1)} MB (bound ${bound / 1024} MB)`);
      assert.ok(peak < bound, `server RSS peaked at ${peak} kB`);
    } finally {
      if (sampler) clearInterval(sampler);
      cleanup();
      await cli.quit().catch(() => {});
      await stopAlive(server);
      await stopRedis(redis);
    }
  });

  it('6. a flooding plain client (5,000 frames at once, PROXY_SOCKET_QUEUE=8, a backend answering in 200 ms): "upstream queue full", close 1008; others go on', async function () {
    this.timeout(30000);
    const backend = await startBackend((body, req, res) => {
      setTimeout(() => json(res, { ack: [{ ok: true }] }), 200);
    });
    const server = await startPlain({
      EVENT_PROXY_URL: `${backend.url}/events`, PROXY_EVENTS: 'audio', PLAIN_WS_BINARY_EVENT: 'audio',
      PROXY_SOCKET_QUEUE: '8', PROXY_TIMEOUT_MS: '5000',
    });
    try {
      const flooder = await plainClient(server);
      const polite = await plainClient(server);
      const s = await sioClient(server);
      const chunk = Buffer.alloc(640, 0x5a);
      for (let i = 0; i < 5000; i++) flooder.ws.send(chunk, { binary: true });
      const closed = await within(flooder.closed, 10000, 'the flooder closed');
      assert.deepEqual([closed.code, closed.reason], [1008, 'upstream queue full']);
      // binary frames carry no id: the error is the one message before the close
      assert.deepEqual(flooder.pending().map((m) => (m.isBinary ? m.bin : m.json)),
        [{ event: 'error', data: { message: 'upstream queue full' } }]);
      // the other plain client is served
      assert.deepEqual(await polite.request({ event: 'audio', data: 'x', id: 1 }, 5000), { id: 1, data: { ok: true } });
      assert.equal(polite.isClosed, false);
      // a Socket.IO client past the bound gets "backend busy" acks and stays
      const acks = await Promise.all(Array.from({ length: 20 }, () => s.timeout(10000).emitWithAck('audio', 'y')));
      assert.ok(acks.some((a) => a && a.error === 'backend busy'), JSON.stringify(acks));
      assert.ok(acks.some((a) => a && a.ok === true), JSON.stringify(acks));
      assert.equal(s.connected, true);
    } finally {
      cleanup();
      await stopAlive(server);
      await backend.close();
    }
  });
});

/* ====================================================================== */

describe('plain ws: bad input closes the connection with the right code; the server lives', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ MAX_PAYLOAD: '1000' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  const cases = [
    ['invalid UTF-8 in a text frame', (p) => p.ws.send(Buffer.from([0xff, 0xfe]), { binary: false }), 1007],
    ['text over MAX_PAYLOAD', (p) => p.send(JSON.stringify({ event: 'subscribe', data: 'a'.repeat(2000) })), 1009],
    ['binary over MAX_PAYLOAD', (p) => p.send(Buffer.alloc(2000, 1)), 1009],
    ['text of MAX_PAYLOAD + 1 bytes', (p) => p.send(`{"event":"subscribe","data":"${'a'.repeat(1001 - 31)}"}`), 1009],
    ['not JSON', (p) => p.send('hello'), 1007],
    ['truncated JSON', (p) => p.send('{"event":'), 1007],
    ['a JSON array', (p) => p.send('["subscribe","a"]'), 1007],
    ['a JSON string', (p) => p.send('"subscribe"'), 1007],
    ['a JSON number', (p) => p.send('42'), 1007],
    ['an event that is not a string', (p) => p.send({ event: 5 }), 1007],
    ['an empty event', (p) => p.send({ event: '' }), 1007],
    ['an event of 257 bytes', (p) => p.send({ event: 'e'.repeat(257) }), 1007],
    ['a negative id', (p) => p.send({ event: 'subscribe', data: 'a', id: -1 }), 1007],
    ['a fractional id', (p) => p.send('{"event":"subscribe","data":"a","id":1.5}'), 1007],
    ['a string id', (p) => p.send({ event: 'subscribe', data: 'a', id: '1' }), 1007],
    ['neither event nor id', (p) => p.send({ data: 1 }), 1007],
    ['a _placeholder object in the data', (p) => p.send({ event: 'subscribe', data: { x: { _placeholder: true, num: 0 } } }), 1007],
    ['an event nothing handles', (p) => p.send({ event: 'nope' }), 1008, 'unknown event'],
    ['an unknown event of 256 bytes (a valid name)', (p) => p.send({ event: 'e'.repeat(256) }), 1008, 'unknown event'],
    ['the reserved event connect', (p) => p.send({ event: 'connect' }), 1008, 'unknown event'],
    ['the reserved event disconnect', (p) => p.send({ event: 'disconnect', data: 'x' }), 1008, 'unknown event'],
  ];
  for (const [what, act, code, reason] of cases) {
    it(`7. ${what} -> close ${code}${reason ? ` "${reason}"` : ''}`, async function () {
      const p = await plainClient(server);
      act(p);
      const closed = await within(p.closed, 3000, `the close after ${what}`);
      assert.equal(closed.code, code, `close ${closed.code} "${closed.reason}"`);
      if (reason) assert.equal(closed.reason, reason);
      await stillServes(server);
    });
  }

  it('7. a message of exactly MAX_PAYLOAD bytes is accepted (answered, not closed)', async function () {
    const p = await plainClient(server);
    const text = `{"event":"subscribe","data":"${'a'.repeat(1000 - 38)}","id":1}`;
    assert.equal(Buffer.byteLength(text), 1000);
    const reply = await p.request(text);
    assert.equal(reply.id, 1);
    assert.equal(reply.data.ok, false, 'a 962-byte room name is refused by subscribe, not by the frame limit');
    assert.equal(p.isClosed, false);
  });

  const rawCases = [
    ['a continuation frame with no start', (c) => c.write(frame(0, '{"event":"x"}'))],
    ['a new data frame inside a fragmented message', (c) => { c.write(frame(1, '{"event":', { fin: false })); c.write(frame(1, '"subscribe"}')); }],
    ['a fragmented ping', (c) => c.write(frame(9, 'abc', { fin: false }))],
    ['a ping of 126 bytes', (c) => c.write(frame(9, Buffer.alloc(126, 1)))],
    ['an unmasked frame', (c) => c.write(frame(1, '{"event":"subscribe","data":"a","id":1}', { mask: false }))],
    ['a reserved bit (RSV1 without an extension)', (c) => c.write(frame(1, '{"event":"subscribe","data":"a","id":1}', { rsv: 4 }))],
  ];
  for (const [what, act] of rawCases) {
    it(`7. raw TCP: ${what} -> close 1002`, async function () {
      const c = await rawWsConnect(server.port, '/ws');
      act(c);
      assert.equal(await rawCloseCode(c, 3000), 1002);
      await stillServes(server);
    });
  }

  it('7. raw TCP: a fragmented message past MAX_PAYLOAD -> close 1009', async function () {
    const c = await rawWsConnect(server.port, '/ws');
    c.write(frame(1, `{"event":"subscribe","data":"${'a'.repeat(600)}`, { fin: false }));
    c.write(frame(0, `${'a'.repeat(600)}"}`));
    assert.equal(await rawCloseCode(c, 3000), 1009);
    await stillServes(server);
  });

  it('7. raw TCP control: a fragmented message with a ping between its fragments is answered (pong, then the reply)', async function () {
    const c = await rawWsConnect(server.port, '/ws');
    c.write(frame(1, '{"event":"subscr', { fin: false }));
    c.write(frame(9, 'hb'));
    c.write(frame(0, 'ibe","data":"frag","id":1}'));
    const pong = await c.next(3000);
    assert.equal(pong.opcode, 10);
    assert.equal(pong.payload.toString(), 'hb');
    const reply = await c.next(3000);
    assert.equal(reply.opcode, 1);
    assert.deepEqual(JSON.parse(reply.text), { id: 1, data: { ok: true, rooms: ['frag'] } });
  });
});

describe('plain ws: EVENT_RATE', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ EVENT_RATE: '20', EVENT_BURST: '20' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('past EVENT_RATE a plain client is closed 1008 "rate limit"; a polite one is not', async function () {
    const flooder = await plainClient(server);
    const polite = await plainClient(server);
    for (let i = 0; i < 200; i++) flooder.send({ event: 'subscribe', data: `r-${i}` });
    const closed = await within(flooder.closed, 3000, 'the rate-limit close');
    assert.deepEqual([closed.code, closed.reason], [1008, 'rate limit']);
    for (let i = 0; i < 5; i++) {
      await subscribe(polite, `ok-${i}`, i + 1);
      await sleep(60);
    }
    assert.equal(polite.isClosed, false);
  });
});

/* ====================================================================== */

describe('plain ws: keepalive', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startPlain({ PING_INTERVAL: '300', PING_TIMEOUT: '300' });
  });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('9. a ws client gets ping frames (no text heartbeat) and, answering pongs, stays past 1.5 s', async function () {
    const p = await plainClient(server);
    await sleep(1600); // staying connected for a while is the point
    assert.equal(p.isClosed, false, `closed: ${JSON.stringify(await Promise.race([p.closed, null]))}`);
    assert.ok(p.pings >= 3, `${p.pings} ping frames in 1.6 s at PING_INTERVAL=300`);
    assert.equal(p.messages, 0, 'a data frame was sent (a text heartbeat?)');
    await subscribe(p, 'still-here');
  });

  it('9. a ws client that stops answering pings is closed within about 1 s (a close frame, not a drop)', async function () {
    const t0 = Date.now();
    const p = plainWs(server.port, { autoPong: false });
    await p.opened;
    const closed = await within(p.closed, 3000, 'the close of the silent client');
    const ms = closed.at - t0;
    assert.ok(p.pings >= 1, 'no ping frame before the close');
    assert.notEqual(closed.code, 1006, 'the connection was dropped without a close frame');
    assert.ok(ms >= 450 && ms < 2000, `closed after ${ms} ms (ping 300 + timeout 300)`);
  });

  it('9. a raw client that never answers pings: a ping frame, then the server\'s close frame within about 1 s', async function () {
    const t0 = Date.now();
    const c = await rawWsConnect(server.port, '/ws');
    let tcpEnd = null;
    c.closed.then(() => { tcpEnd = Date.now() - t0; });
    const ping = await c.next(2000);
    assert.equal(ping.opcode, 9, 'the first frame is a ping');
    const code = await rawCloseCode(c, 3000);
    const ms = Date.now() - t0;
    assert.equal(typeof code, 'number', `no close frame (${code})`);
    assert.ok(ms >= 450 && ms < 2000, `the close frame came after ${ms} ms (ping 300 + timeout 300)`);
    // the client answers nothing, not even the close: the server still ends the TCP connection
    await within(c.closed, 8000, 'the end of the TCP connection');
    console.log(`      close frame ${code} after ${ms} ms; TCP connection ended after ${tcpEnd} ms`);
  });
});

describe('plain ws: drain', function () {
  this.timeout(30000);

  it('10. SIGTERM: /health 503, a new plain upgrade 503, the plain clients closed 1001, exit 0', async function () {
    const server = await startPlain({ DRAIN_SECONDS: '2' });
    try {
      const p = await plainClient(server);
      const q = await plainClient(server);
      await subscribe(p, 'scores');
      server.proc.kill('SIGTERM');
      await eventually(async () => (await httpRequest({ port: server.port, path: '/health' })).status === 503, 3000, '/health 503');
      const late = plainWs(server.port);
      assert.equal(await within(late.status, 3000, 'the late upgrade'), 503);
      const [a, b] = await Promise.all([within(p.closed, 6000, 'p closed'), within(q.closed, 6000, 'q closed')]);
      assert.equal(a.code, 1001);
      assert.equal(b.code, 1001);
      const exit = await within(server.exited, 10000, 'the exit');
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
      assert.ok(!/Sanitizer|runtime error:/.test(server.stderr()), server.stderr());
    } finally {
      cleanup();
      if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
    }
  });
});

/* ====================================================================== */

describe('plain ws: connection limits and /metrics', function () {
  this.timeout(20000);
  afterEach(cleanup);

  it('11. MAX_CONNECTIONS=2 with a Socket.IO and a plain client open: a third plain upgrade gets 503; /metrics counts transport="plain"', async function () {
    const server = await startPlain({ MAX_CONNECTIONS: '2' });
    try {
      const s = await sioClient(server);
      const p = await plainClient(server);
      await eventually(async () => await metricValue(server, 'sio_connections', { transport: 'plain' }) === 1, 3000,
        'sio_connections{transport="plain"} 1');
      assert.equal(await metricValue(server, 'sio_connections', { transport: 'websocket' }), 1);
      assert.equal(await metricValue(server, 'sio_connections', { transport: 'polling' }), 0);
      assert.equal(await metricValue(server, 'sio_clients'), 2, 'sio_clients is the sum of every transport');
      const third = plainWs(server.port);
      assert.equal(await within(third.status, 3000, 'the third upgrade'), 503);
      // a slot freed is a slot usable
      p.ws.close();
      await p.closed;
      await eventually(async () => await metricValue(server, 'sio_connections', { transport: 'plain' }) === 0, 3000,
        'sio_connections{transport="plain"} 0');
      const again = await plainClient(server);
      await subscribe(again, 'x');
      assert.equal(s.connected, true);
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });

  it('a broadcast to 40 plain clients in a room is encoded for them once (sio_plain_encodes_total +1), and each gets the same bytes', async function () {
    const server = await startPlain();
    try {
      const clients = [];
      for (let i = 0; i < 40; i++) clients.push(await plainClient(server));
      for (const c of clients) await subscribe(c, 'fan');
      const before = await metricValue(server, 'sio_plain_encodes_total');
      assert.ok(Number.isFinite(before), 'sio_plain_encodes_total is exported');
      await broadcast(server, { rooms: ['fan'], event: 'score', data: { home: 3 } });
      const got = await Promise.all(clients.map((c) => c.next(5000)));
      for (const m of got) assert.equal(m.text, '{"event":"score","data":{"home":3}}');
      assert.equal(await metricValue(server, 'sio_plain_encodes_total') - before, 1,
        'one plain encoding for 40 recipients');
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });

  it('11. MAX_CONNECTIONS_PER_IP=1: a second plain upgrade from the address gets 503, another address gets in', async function () {
    const server = await startPlain({ MAX_CONNECTIONS_PER_IP: '1' });
    try {
      await plainClient(server);
      assert.equal(await within(plainWs(server.port).status, 3000, 'the second upgrade'), 503);
      const other = await plainClient(server, { headers: { 'X-Forwarded-For': '203.0.113.7' } });
      await subscribe(other, 'x');
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });
});

describe('plain ws: the socket API', function () {
  this.timeout(20000);
  let server;
  before(async function () { server = await startPlain(); });
  after(async function () { cleanup(); await stopAlive(server); });
  afterEach(cleanup);

  it('12. POST /v1/sockets/disconnect for the room closes the plain client with 1000; others stay', async function () {
    const p = await plainClient(server);
    const q = await plainClient(server);
    await subscribe(p, 'scores');
    const res = await apiPost(server.apiPort, { namespace: '/', rooms: ['scores'] }, { path: '/v1/sockets/disconnect' });
    assert.equal(res.status, 202, res.body);
    const closed = await within(p.closed, 3000, 'the disconnect');
    assert.equal(closed.code, 1000);
    await subscribe(q, 'still', 2);
    assert.equal(q.isClosed, false);
  });

  it('socketsJoin and fetchSockets see plain sockets', async function () {
    const p = await plainClient(server);
    await subscribe(p, 'lobby');
    let res = await apiPost(server.apiPort, { namespace: '/', rooms: ['lobby'], targets: ['vip'] }, { path: '/v1/sockets/join' });
    assert.equal(res.status, 202, res.body);
    await eventually(async () => (await apiGet(server.apiPort, '/v1/sockets?namespace=/&room=vip')).json.sockets.length === 1, 3000, 'in vip');
    res = await apiGet(server.apiPort, '/v1/sockets?namespace=/&room=vip');
    assert.ok(res.json.sockets[0].rooms.includes('lobby'), JSON.stringify(res.json));
    await broadcast(server, { rooms: ['vip'], event: 'vip', data: 1 });
    assert.deepEqual(await p.nextJson(), { event: 'vip', data: 1 });
  });
});

/* ====================================================================== */

describe('plain ws: the path', function () {
  this.timeout(20000);
  afterEach(cleanup);

  it('CORS_ORIGINS set (README): an upgrade with an Origin outside it gets 403, one inside is served', async function () {
    const server = await startPlain({ CORS_ORIGINS: 'https://good.example' });
    try {
      assert.equal(await within(plainWs(server.port, { headers: { Origin: 'https://evil.example' } }).status, 3000, 'the upgrade'), 403);
      const p = await plainClient(server, { headers: { Origin: 'https://good.example' } });
      await subscribe(p, 'cors');
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });

  it('13. a POST with a body at PLAIN_WS_PATH -> 413 from its length, before the body is read (the endpoint takes no body)', async function () {
    const server = await startPlain();
    try {
      const res = await httpRequest({ port: server.port, method: 'POST', path: '/ws', body: '{}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 413, `POST /ws with a 2-byte body: ${res.status} ${res.body}`);
    } finally {
      await stopAlive(server);
    }
  });

  it('13. PLAIN_WS_PATH unset: an upgrade at /ws is not served (404)', async function () {
    const server = await startSioServer({ env: { ...PLAIN_VARS, RECOVERY_WINDOW_MS: '0' } });
    try {
      assert.equal(await within(plainWs(server.port).status, 3000, 'the upgrade'), 404);
      await sioClient(server); // Socket.IO unaffected
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });

  it('13. PLAIN_WS_PATH set: a GET that is not an upgrade -> 400, other methods -> 405, other paths are not it, a query string is allowed', async function () {
    const server = await startPlain();
    try {
      const get = await httpRequest({ port: server.port, path: '/ws' });
      assert.equal(get.status, 400, get.body);
      for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
        const res = await httpRequest({ port: server.port, method, path: '/ws' });
        assert.equal(res.status, 405, `${method} /ws: ${res.status} ${res.body}`);
      }
      const elsewhere = await within(plainWs(server.port, { path: '/nowhere' }).status, 3000, 'an upgrade elsewhere');
      assert.notEqual(elsewhere, 101);
      for (const path of ['/wsx', '/ws/', '/ws/extra']) {
        assert.equal(await within(plainWs(server.port, { path }).status, 3000, `the upgrade at ${path}`), elsewhere, `${path} is not /ws (exact match)`);
      }
      const p = await plainClient(server, { query: 'a=1' });
      await subscribe(p, 'q');
      await sioClient(server); // Socket.IO on the same port
    } finally {
      cleanup();
      await stopAlive(server);
    }
  });
});
