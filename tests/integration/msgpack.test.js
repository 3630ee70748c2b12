'use strict';
/*
 * PARSER=msgpack|auto (socket.io-msgpack-parser): real socket.io-client 4 clients
 * with `parser: require('socket.io-msgpack-parser')` over WebSocket and long-polling
 * (JWT auth, acks, binary both ways, rooms, broadcasts from the API and from
 * @socket.io/redis-emitter, a second namespace, server disconnect), the
 * once-per-packet msgpack rendering (sio_msgpack_encodes_total), PARSER=auto with
 * both kinds of clients in one room, PARSER=default refusing a msgpack client, and
 * malformed msgpack over a raw WebSocket closing only that connection.
 */
const assert = require('node:assert/strict');
const msgpackParser = require('socket.io-msgpack-parser');
const notepack = require('socket.io-msgpack-parser/node_modules/notepack.io');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { httpRequest } = require('../lib/server');
const {
  sleep, within, once, eventually, startSioServer, stopAlive, connect, connected, connectError,
  emitAck, closeAll, jwtHS256, nowSec, apiPost, apiGet, rawWs, norm,
} = require('../lib/sio');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');

const SECRET = 'msgpack-test-secret';
const token = (claims = {}) => jwtHS256({ sub: 'u1', exp: nowSec() + 600, ...claims }, SECRET);
const TRANSPORTS = [['websocket'], ['polling']];

function useServer(env) {
  const ctx = { server: null };
  before(async function () {
    ctx.server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', ...env } });
  });
  after(async function () {
    closeAll();
    await stopAlive(ctx.server);
  });
  afterEach(closeAll);
  return ctx;
}

/** A connected msgpack client (auth.token when `jwt`). */
async function mpClient(ctx, { nsp = '/', transports = ['websocket'], jwt = true, ...opts } = {}) {
  const auth = jwt ? { token: token() } : undefined;
  const s = connect(`${ctx.server.url}${nsp}`, { parser: msgpackParser, transports, auth, ...opts });
  await connected(s);
  return s;
}

async function textClient(ctx, { nsp = '/', transports = ['websocket'] } = {}) {
  const s = connect(`${ctx.server.url}${nsp}`, { transports });
  await connected(s);
  return s;
}

function record(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(norm(args)));
  return got;
}

async function until(pred, ms, what) {
  await within((async () => { while (!pred()) await sleep(10); })(), ms, what);
}

async function broadcast(ctx, body) {
  const res = await apiPost(ctx.server.apiPort, body);
  assert.equal(res.status, 202, `broadcast refused: ${res.status} ${res.body}`);
}

async function metricValue(ctx, name) {
  const text = (await apiGet(ctx.server.apiPort, '/metrics')).body;
  const m = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return m ? Number(m.split(' ').pop()) : NaN;
}

/** The server is alive and a fresh msgpack client acks a subscribe. */
async function stillServes(ctx) {
  const { proc } = ctx.server;
  assert.ok(proc.exitCode === null && proc.signalCode === null, `server died:\n${ctx.server.stderr()}`);
  const h = await httpRequest({ port: ctx.server.port, path: '/health' });
  assert.equal(h.status, 200);
  const s = await mpClient(ctx);
  assert.deepEqual(await emitAck(s, 'subscribe', 'alive'), { ok: true, rooms: ['alive'] });
  s.close();
}

const BIN = { name: 'f', bytes: Buffer.from([0, 1, 2, 255]), parts: [Buffer.from('a'), Buffer.from('bc')] };

describe('PARSER=msgpack (socket.io-msgpack-parser clients)', function () {
  this.timeout(30000);
  const ctx = useServer({
    PARSER: 'msgpack', JWT_SECRET: SECRET, SUBSCRIBE_PATTERNS: '*', PUBLISH_PATTERNS: '*',
    NAMESPACES: '/,/chat',
  });

  for (const transports of TRANSPORTS) {
    describe(`over ${transports[0]}`, function () {
      it('connects with a JWT; a bad token gets connect_error "unauthorized" (a msgpack CONNECT_ERROR)', async function () {
        const s = await mpClient(ctx, { transports });
        assert.equal(typeof s.id, 'string');
        assert.equal(s.id.length, 20);
        const bad = connect(ctx.server.url, { parser: msgpackParser, transports, auth: { token: 'x.y.z' } });
        const err = await connectError(bad);
        assert.match(err.message, /unauthorized/);
        const none = connect(ctx.server.url, { parser: msgpackParser, transports });
        assert.match((await connectError(none)).message, /unauthorized/);
      });

      it('emit with ack: subscribe is acked, an API broadcast to the room arrives', async function () {
        const s = await mpClient(ctx, { transports });
        assert.deepEqual(await emitAck(s, 'subscribe', ['news', 'sport']), { ok: true, rooms: ['news', 'sport'] });
        const got = record(s, 'score');
        await broadcast(ctx, { rooms: ['news'], event: 'score', args: [1, 'two', { three: [3.5, null, true] }, -7] });
        await until(() => got.length === 1, 3000, 'the broadcast');
        assert.deepEqual(got, [[1, 'two', { three: [3.5, null, true] }, -7]]);
      });

      it('binary both ways: a Buffer nested in an object and several, published to msgpack receivers', async function () {
        const sender = await mpClient(ctx, { transports });
        const receivers = [await mpClient(ctx, { transports: ['websocket'] }), await mpClient(ctx, { transports: ['polling'] })];
        for (const r of receivers) await emitAck(r, 'subscribe', `bin-${transports[0]}`);
        const got = receivers.map((r) => record(r, 'file'));
        const res = await emitAck(sender, 'publish', { room: `bin-${transports[0]}`, event: 'file', data: BIN });
        assert.deepEqual(res, { ok: true });
        await until(() => got.every((g) => g.length === 1), 3000, 'the binary publish');
        for (const g of got) assert.deepEqual(g, [[BIN]]);
        assert.ok(Buffer.isBuffer(got[0][0][0].bytes));
      });

      it('server disconnect (POST /v1/sockets/disconnect) reaches the client as "io server disconnect"', async function () {
        const s = await mpClient(ctx, { transports });
        await emitAck(s, 'subscribe', `bye-${transports[0]}`);
        const gone = once(s, 'disconnect', 5000);
        const res = await apiPost(ctx.server.apiPort, { namespace: '/', rooms: [`bye-${transports[0]}`] },
          { path: '/v1/sockets/disconnect' });
        assert.ok(res.status === 200 || res.status === 202, `${res.status} ${res.body}`);
        assert.equal((await gone)[0], 'io server disconnect');
      });
    });
  }

  it('a second namespace: /chat gets its own broadcasts, / does not', async function () {
    const chat = await mpClient(ctx, { nsp: '/chat' });
    const root = await mpClient(ctx);
    await emitAck(chat, 'subscribe', 'room');
    await emitAck(root, 'subscribe', 'room');
    const gotChat = record(chat, 'hello');
    const gotRoot = record(root, 'hello');
    await broadcast(ctx, { namespace: '/chat', rooms: ['room'], event: 'hello', data: 'chat' });
    await broadcast(ctx, { namespace: '/', rooms: ['room'], event: 'hello', data: 'root' });
    await until(() => gotChat.length === 1 && gotRoot.length === 1, 3000, 'both broadcasts');
    await sleep(100);
    assert.deepEqual(gotChat, [['chat']]);
    assert.deepEqual(gotRoot, [['root']]);
    const err = await connectError(connect(`${ctx.server.url}/nope`, {
      parser: msgpackParser, transports: ['websocket'], auth: { token: token() },
    }));
    assert.match(err.message, /Invalid namespace/);
  });

  it('a broadcast to 20 msgpack clients is encoded for them once (sio_msgpack_encodes_total +1)', async function () {
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await mpClient(ctx, { transports: [i % 4 ? 'websocket' : 'polling'] }));
    for (const c of clients) await emitAck(c, 'subscribe', 'twenty');
    const got = clients.map((c) => record(c, 'all'));
    const before = await metricValue(ctx, 'sio_msgpack_encodes_total');
    assert.ok(Number.isFinite(before), 'sio_msgpack_encodes_total is exported');
    await broadcast(ctx, { rooms: ['twenty'], event: 'all', data: { n: 20 } });
    await until(() => got.every((g) => g.length === 1), 5000, 'every delivery');
    for (const g of got) assert.deepEqual(g, [[{ n: 20 }]]);
    assert.equal(await metricValue(ctx, 'sio_msgpack_encodes_total') - before, 1);
  });
});

describe('PARSER=msgpack with Redis: broadcasts of @socket.io/redis-emitter', function () {
  this.timeout(30000);
  let redis;
  let redisCli;
  let emitter;
  const ctx = { server: null };
  before(async function () {
    redis = await startRedis();
    ctx.server = await startSioServer({
      env: { REDIS_URL: redisUrl(redis), PARSER: 'msgpack', SUBSCRIBE_PATTERNS: '*', RECOVERY_WINDOW_MS: '0' },
    });
    redisCli = createClient({ url: redisUrl(redis) });
    redisCli.on('error', () => {});
    await redisCli.connect();
    emitter = new Emitter(redisCli);
  });
  after(async function () {
    closeAll();
    if (redisCli) await redisCli.quit().catch(() => {});
    if (ctx.server) await stopAlive(ctx.server);
    if (redis) await stopRedis(redis);
  });
  afterEach(closeAll);

  it('an emitter broadcast with binary reaches msgpack clients over websocket and polling', async function () {
    const clients = [await mpClient(ctx, { jwt: false }), await mpClient(ctx, { jwt: false, transports: ['polling'] })];
    for (const c of clients) await emitAck(c, 'subscribe', 'redis-room');
    await eventually(async () => {
      const n = await redisCli.pubSubNumSub('socket.io#/#redis-room#');
      return n['socket.io#/#redis-room#'] === 1;
    }, 5000, 'the room subscription');
    const got = clients.map((c) => record(c, 'emitted'));
    emitter.to('redis-room').emit('emitted', 'text', { blob: Buffer.from([9, 8, 7]) }, [Buffer.from('x')]);
    await until(() => got.every((g) => g.length === 1), 5000, 'the emitter broadcast');
    for (const g of got) assert.deepEqual(g, [['text', { blob: Buffer.from([9, 8, 7]) }, [Buffer.from('x')]]]);
  });
});

describe('PARSER=auto: each connection speaks what its first packet says', function () {
  this.timeout(30000);
  const ctx = useServer({ PARSER: 'auto', SUBSCRIBE_PATTERNS: '*', PUBLISH_PATTERNS: '*' });

  for (const transports of TRANSPORTS) {
    it(`a default and a msgpack client (${transports[0]}) in one room get the same broadcasts and binary`, async function () {
      const text = await textClient(ctx, { transports });
      const mp = await mpClient(ctx, { transports, jwt: false });
      const room = `mixed-${transports[0]}`;
      for (const s of [text, mp]) assert.deepEqual(await emitAck(s, 'subscribe', room), { ok: true, rooms: [room] });
      const got = [text, mp].map((s) => record(s, 'ev'));
      await broadcast(ctx, { rooms: [room], event: 'ev', args: [{ a: 1 }, 'b', [2.5]] });
      await until(() => got.every((g) => g.length === 1), 3000, 'the API broadcast');
      const senders = [await textClient(ctx), await mpClient(ctx, { jwt: false })];
      for (const s of senders) assert.deepEqual(await emitAck(s, 'publish', { room, event: 'ev', data: BIN }), { ok: true });
      await until(() => got.every((g) => g.length === 3), 3000, 'both binary publishes');
      for (const g of got) assert.deepEqual(g, [[{ a: 1 }, 'b', [2.5]], [BIN], [BIN]]);
    });
  }
});

describe('PARSER=default: a msgpack client is refused cleanly', function () {
  this.timeout(30000);
  const ctx = useServer({ SUBSCRIBE_PATTERNS: '*' });

  it('its binary CONNECT closes the connection ("parse error"); the server goes on serving', async function () {
    const s = connect(ctx.server.url, { parser: msgpackParser, transports: ['websocket'] });
    const closed = once(s.io, 'close', 5000);
    const [reason] = await closed;
    assert.equal(s.connected, false);
    assert.match(reason, /transport close/);
    const t = await textClient(ctx);
    assert.deepEqual(await emitAck(t, 'subscribe', 'x'), { ok: true, rooms: ['x'] });
  });
});

describe('PARSER=msgpack: malformed input over a raw WebSocket', function () {
  this.timeout(30000);
  const ctx = useServer({ PARSER: 'msgpack', SUBSCRIBE_PATTERNS: '*' });
  const enc = (v) => notepack.encode(v);
  const deep = () => {
    const head = enc({ type: 2, nsp: '/', data: ['x', 0] });
    const body = Buffer.alloc(10001, 0x91);
    body[10000] = 0x01;
    return Buffer.concat([head.subarray(0, head.length - 1), body]); // [..., 'x', [[[...1]]]]
  };
  // each would be accepted by a lenient decoder as a packet that does NOT close a connected client
  const cases = {
    'truncated msgpack': enc({ type: 2, nsp: '/', data: ['subscribe', 'abcdef'] }).subarray(0, 20),
    'not a map': enc([2, '/', ['subscribe', 'r']]),
    'type as a string': enc({ type: '2', nsp: '/', data: ['subscribe', 'r'] }),
    'type 5 (BINARY_EVENT is not in this format)': enc({ type: 5, nsp: '/', data: ['subscribe', 'r'] }),
    'type 9': enc({ type: 9, nsp: '/', data: ['subscribe', 'r'] }),
    'nsp a number': enc({ type: 2, nsp: 3, data: ['subscribe', 'r'] }),
    'no nsp': enc({ type: 2, data: ['subscribe', 'r'] }),
    'id -1': enc({ type: 2, nsp: '/', data: ['subscribe', 'r'], id: -1 }),
    'id 1.5': enc({ type: 2, nsp: '/', data: ['subscribe', 'r'], id: 1.5 }),
    'EVENT without a name': enc({ type: 2, nsp: '/', data: [] }),
    'CONNECT data a string': enc({ type: 0, nsp: '/other', data: 'x' }),
    'deep nesting (10,000 levels)': deep(),
    'a huge declared array': Buffer.from('83a47479706502a36e7370a12fa464617461dd7fffffff01', 'hex'),
    'a huge declared map': Buffer.from('dfffffffffa47479706502', 'hex'),
    'a huge declared bin': Buffer.from('83a47479706502a36e7370a12fa46461746192a178c6ffffffff00', 'hex'),
    'a huge declared str': Buffer.from('83a47479706502a36e7370dbffffffff2f', 'hex'),
    'trailing bytes': Buffer.concat([enc({ type: 2, nsp: '/', data: ['subscribe', 'r'] }), Buffer.from([0])]),
    'a text frame': '42["subscribe","r"]',
  };

  /** A raw msgpack client, connected to / and shown to be served (a subscribe is acked). */
  async function rawConnected() {
    const raw = rawWs(ctx.server.port);
    await raw.opened;
    raw.send(enc({ type: 0, nsp: '/' }));
    const ack = notepack.decode((await raw.next(3000)).data);
    assert.equal(ack.type, 0);
    raw.send(enc({ type: 2, nsp: '/', data: ['subscribe', 'r'], id: 1 }));
    const m = await raw.next(3000);
    assert.equal(m.isBinary, true);
    assert.deepEqual(notepack.decode(m.data), { type: 3, data: [{ ok: true, rooms: ['r'] }], nsp: '/', id: 1 });
    return raw;
  }

  it('a valid CONNECT over the raw socket is answered with one binary msgpack CONNECT', async function () {
    const raw = rawWs(ctx.server.port);
    await raw.opened;
    raw.send(enc({ type: 0, nsp: '/' }));
    const m = await raw.next(3000);
    assert.equal(m.isBinary, true);
    const p = notepack.decode(m.data);
    assert.deepEqual(Object.keys(p), ['type', 'data', 'nsp']);
    assert.equal(p.type, 0);
    assert.equal(p.nsp, '/');
    assert.equal(typeof p.data.sid, 'string');
  });

  for (const [name, bytes] of Object.entries(cases)) {
    it(`${name} -> the connection closes, the server keeps serving`, async function () {
      const raw = await rawConnected();
      raw.send(bytes);
      const info = await within(raw.closed, 5000, 'the close');
      assert.ok(info.code === 1000 || info.code === 1005 || info.code === 1006, `close code ${info.code}`);
      await stillServes(ctx);
    });
  }
});

for (const adapter of [null, 'pubsub']) {
  describe(`PARSER=msgpack: connection state recovery (${adapter ? `Redis, REDIS_ADAPTER=${adapter}` : 'in memory'})`, function () {
    this.timeout(30000);
    let redis = null;
    const ctx = { server: null };
    before(async function () {
      const env = { PARSER: 'msgpack', SUBSCRIBE_PATTERNS: '*' }; // RECOVERY_WINDOW_MS: its default (on)
      if (adapter) {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redisUrl(redis), REDIS_ADAPTER: adapter });
      }
      ctx.server = await startSioServer({ env });
    });
    after(async function () {
      closeAll();
      if (ctx.server) await stopAlive(ctx.server);
      if (redis) await stopRedis(redis);
    });
    afterEach(closeAll);

    it('a msgpack client gets offsets, and after a transport close recovers its id and rooms and what it missed, in order', async function () {
      const s = await mpClient(ctx, { jwt: false });
      assert.equal(typeof s._pid, 'string', 'CONNECT answers {sid, pid}');
      assert.deepEqual(await emitAck(s, 'subscribe', 'rec'), { ok: true, rooms: ['rec'] });
      const got = record(s, 'ev');
      await broadcast(ctx, { rooms: ['rec'], event: 'ev', data: 1 });
      await until(() => got.length === 1, 3000, 'the first broadcast');
      assert.equal(got[0][0], 1);
      assert.equal(typeof got[0][1], 'string', 'a recoverable broadcast ends with its offset');
      assert.equal(s._lastOffset, got[0][1], 'socket.io-client read the offset from the msgpack packet');
      const { id, _pid: pid } = s;
      const gone = once(s, 'disconnect', 3000);
      s.io.engine.close();
      await gone;
      await sleep(100);
      await broadcast(ctx, { rooms: ['rec'], event: 'ev', data: 2 });
      await broadcast(ctx, { rooms: ['rec'], event: 'ev', data: { three: false } });
      await sleep(200);
      const back = connected(s);
      s.connect();
      await back;
      assert.equal(s.recovered, true);
      assert.equal(s.id, id);
      assert.equal(s._pid, pid);
      await until(() => got.length === 3, 3000, 'the replay');
      await broadcast(ctx, { rooms: ['rec'], event: 'ev', data: 4 });
      await until(() => got.length === 4, 3000, 'a live broadcast to the kept room');
      assert.deepEqual(got.map((g) => g[0]), [1, 2, { three: false }, 4]);
      assert.ok(got.every((g) => g.length === 2 && typeof g[1] === 'string'));
    });
  });
}

describe('PARSER=msgpack leaves plain WebSocket clients (PLAIN_WS_PATH) as they are', function () {
  this.timeout(30000);
  const ctx = useServer({ PARSER: 'msgpack', PLAIN_WS_PATH: '/ws', SUBSCRIBE_PATTERNS: '*' });

  it('a plain client and a msgpack client in one room: JSON text to the one, msgpack to the other', async function () {
    const WebSocket = require('ws');
    const plain = new WebSocket(`ws://127.0.0.1:${ctx.server.port}/ws`, { perMessageDeflate: false });
    const texts = [];
    plain.on('message', (data, isBinary) => texts.push(isBinary ? data : JSON.parse(data.toString())));
    await within(new Promise((resolve, reject) => { plain.once('open', resolve); plain.once('error', reject); }), 3000, 'the plain WebSocket');
    try {
      plain.send(JSON.stringify({ event: 'subscribe', data: ['both'], id: 1 }));
      await until(() => texts.length === 1, 3000, 'the plain reply');
      assert.deepEqual(texts[0], { id: 1, data: { ok: true, rooms: ['both'] } });
      const mp = await mpClient(ctx, { jwt: false });
      await emitAck(mp, 'subscribe', 'both');
      const got = record(mp, 'news');
      await broadcast(ctx, { rooms: ['both'], event: 'news', data: { a: 1 } });
      await until(() => texts.length === 2 && got.length === 1, 3000, 'both deliveries');
      assert.deepEqual(texts[1], { event: 'news', data: { a: 1 } });
      assert.deepEqual(got, [[{ a: 1 }]]);
    } finally {
      plain.terminate();
    }
  });
});
