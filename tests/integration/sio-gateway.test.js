'use strict';
/*
 * build/sio-server (the gateway), configured by environment: client events
 * subscribe / unsubscribe / publish with SUBSCRIBE_PATTERNS / PUBLISH_PATTERNS,
 * JWT authentication (HS256 JWT_SECRET, RS256 JWT_PUBLIC_KEY_FILE) whose claims
 * `rooms` / `publish` replace the patterns, the HTTP API on API_PORT
 * (POST /v1/broadcast, GET /health), namespaces, CORS, cookie, start-up errors.
 */
const assert = require('node:assert/strict');
const { httpRequest, freePort } = require('../lib/server');
const {
  sleep, within, once, startSioServer, runSioServer, stopAlive, connect, connected, connectError,
  emitAck, closeAll, jwtHS256, jwtRS256, nowSec, fixture, readFixture, apiPost, apiGet, rawWs,
  norm,
} = require('../lib/sio');


/** One sio-server for the enclosing describe block. These suites compare
 * events' exact arguments: recovery (on by default, whose offset is every
 * broadcast's last argument) is off here and tested in recovery.test.js. */
function useGateway(env) {
  const ctx = { server: null, url: '', apiPort: 0, port: 0 };
  before(async function () {
    ctx.server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', ...env } });
    ctx.url = ctx.server.url;
    ctx.port = ctx.server.port;
    ctx.apiPort = ctx.server.apiPort;
  });
  after(async function () {
    closeAll();
    await stopAlive(ctx.server);
  });
  afterEach(closeAll);
  return ctx;
}

async function client(ctx, nsp = '/', opts = {}) {
  const socket = connect(`${ctx.url}${nsp}`, { transports: ['websocket'], ...opts });
  await connected(socket);
  return socket;
}

/** Emits [event, arg] with ack id 1 over a raw websocket; resolves with the ack's arguments. */
async function emitAckRaw(raw, prefix, event, arg) {
  raw.send(`${prefix}1${JSON.stringify([event, arg])}`);
  for (;;) {
    const m = await raw.next(3000);
    if (!m.isBinary && m.data.startsWith('431')) return JSON.parse(m.data.slice(3));
  }
}

/** Records every `event` of socket (argument arrays, binaries as Buffers). */
function record(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(norm(args)));
  return got;
}

async function until(pred, ms, what) {
  await within((async () => { while (!pred()) await sleep(10); })(), ms, what);
}

/** Posts a broadcast and waits until `got` has n entries (then 100 ms for extras). */
async function broadcastAndWait(ctx, body, got, n = 1, opts = {}) {
  const res = await apiPost(ctx.apiPort, body, opts);
  assert.equal(res.status, 202, `broadcast refused: ${res.status} ${res.body}`);
  assert.deepEqual(res.json, { ok: true });
  await until(() => got.length >= n, 3000, `${n} deliveries of ${JSON.stringify(body)}`);
}

/** A broadcast that must reach nobody among the recorded sockets: followed by a marker to a witness. */
async function assertNotDelivered(ctx, body, recorders, witness, nsp = '/') {
  const res = await apiPost(ctx.apiPort, body);
  assert.equal(res.status, 202, res.body);
  const marker = record(witness, 'marker');
  const before = recorders.map((g) => g.length);
  // broadcasts are applied in order: once the marker is in, the first one was applied
  await apiPost(ctx.apiPort, { namespace: nsp, rooms: [witness.id], event: 'marker', data: 1 });
  await until(() => marker.length === 1, 3000, 'the marker');
  await sleep(50);
  assert.deepEqual(recorders.map((g) => g.length), before, `delivered: ${JSON.stringify(body)}`);
}

describe('sio-server gateway', function () {
  /* ---------------------------------------------------------------- */
  describe('subscribe / unsubscribe / publish (no JWT)', function () {
    const ctx = useGateway({
      SUBSCRIBE_PATTERNS: 'news,public-*,chat-*',
      PUBLISH_PATTERNS: 'chat-*',
    });

    it('subscribe to an allowed room -> {ok:true, rooms}; an API broadcast to it arrives', async function () {
      const s = await client(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', 'news'), { ok: true, rooms: ['news'] });
      const got = record(s, 'score');
      await broadcastAndWait(ctx, { namespace: '/', rooms: ['news'], event: 'score', data: { home: 1, away: 2 } }, got);
      assert.deepEqual(got, [[{ home: 1, away: 2 }]]);
    });

    it('subscribe to an array of rooms; a member of two targeted rooms receives once', async function () {
      const s = await client(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', ['public-1', 'public-2']), { ok: true, rooms: ['public-1', 'public-2'] });
      const got = record(s, 'u');
      await broadcastAndWait(ctx, { rooms: ['public-1', 'public-2'], event: 'u', data: 'x' }, got);
      await sleep(100);
      assert.deepEqual(got, [['x']]);
    });

    it('subscribe to a room outside SUBSCRIBE_PATTERNS -> {ok:false, error:"forbidden"}, nothing joined', async function () {
      const s = await client(ctx);
      const witness = await client(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', 'private'), { ok: false, error: 'forbidden' });
      // an array with one forbidden room is refused as a whole
      assert.deepEqual(await emitAck(s, 'subscribe', ['public-9', 'secret']), { ok: false, error: 'forbidden' });
      const got = record(s, 'leak');
      await assertNotDelivered(ctx, { rooms: ['private', 'secret', 'public-9'], event: 'leak' }, [got], witness);
    });

    it("subscribe to another socket's id room -> forbidden", async function () {
      const a = await client(ctx);
      const b = await client(ctx);
      // with a pattern that would allow any name
      assert.deepEqual(await emitAck(a, 'subscribe', `chat-x`), { ok: true, rooms: ['chat-x'] });
      assert.deepEqual(await emitAck(a, 'subscribe', b.id), { ok: false, error: 'forbidden' });
    });

    it('invalid subscribe requests are refused, the socket stays usable', async function () {
      const s = await client(ctx);
      const tooMany = Array.from({ length: 65 }, (_, i) => `public-${i}`);
      for (const bad of [42, {}, [], [1], '', ['news', null], null, `public-${'x'.repeat(300)}`, tooMany]) {
        const res = await emitAck(s, 'subscribe', bad);
        assert.equal(res.ok, false, `subscribe ${JSON.stringify(bad)} -> ${JSON.stringify(res)}`);
        assert.equal(typeof res.error, 'string');
      }
      assert.deepEqual(await emitAck(s, 'subscribe', 'news'), { ok: true, rooms: ['news'] });
    });

    it('unsubscribe -> {ok:true, rooms}; broadcasts to that room stop', async function () {
      const s = await client(ctx);
      const witness = await client(ctx);
      await emitAck(s, 'subscribe', ['public-a', 'public-b']);
      assert.deepEqual(await emitAck(s, 'unsubscribe', 'public-a'), { ok: true, rooms: ['public-a'] });
      const got = record(s, 'after');
      await assertNotDelivered(ctx, { rooms: ['public-a'], event: 'after' }, [got], witness);
      await broadcastAndWait(ctx, { rooms: ['public-b'], event: 'after', data: 'b' }, got);
      assert.deepEqual(got, [['b']]);
    });

    it("unsubscribe from a forbidden room or from the own id room -> forbidden", async function () {
      const s = await client(ctx);
      assert.deepEqual(await emitAck(s, 'unsubscribe', 'private'), { ok: false, error: 'forbidden' });
      assert.deepEqual(await emitAck(s, 'unsubscribe', s.id), { ok: false, error: 'forbidden' });
      // still reachable through its id room
      const got = record(s, 'direct');
      await broadcastAndWait(ctx, { rooms: [s.id], event: 'direct', data: 1 }, got);
    });

    it('publish {room, event, data} reaches the room except the sender; acked {ok:true}', async function () {
      const sender = await client(ctx);
      const a = await client(ctx);
      const b = await client(ctx);
      const outsider = await client(ctx);
      for (const s of [sender, a, b]) await emitAck(s, 'subscribe', 'chat-1');
      const got = [sender, a, b, outsider].map((s) => record(s, 'msg'));
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'chat-1', event: 'msg', data: { text: 'hi' } }), { ok: true });
      await until(() => got[1].length && got[2].length, 3000, 'the published message');
      await sleep(100);
      assert.deepEqual(got[1], [[{ text: 'hi' }]]);
      assert.deepEqual(got[2], [[{ text: 'hi' }]]);
      assert.deepEqual(got[0], [], 'the sender must not receive its own publish');
      assert.deepEqual(got[3], [], 'a socket outside the room must not receive it');
    });

    it('publish with binary data keeps the Buffers', async function () {
      const sender = await client(ctx, '/', { transports: ['polling'] });
      const r = await client(ctx);
      await emitAck(r, 'subscribe', 'chat-bin');
      const got = record(r, 'file');
      const data = { name: 'f', bytes: Buffer.from([0, 1, 2, 255]), parts: [Buffer.from('a'), Buffer.from('b')] };
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'chat-bin', event: 'file', data }), { ok: true });
      await until(() => got.length === 1, 3000, 'the binary publish');
      assert.deepEqual(got, [[data]]);
    });

    it('publish without data: the event has no arguments', async function () {
      const sender = await client(ctx);
      const r = await client(ctx);
      await emitAck(r, 'subscribe', 'chat-2');
      const got = record(r, 'ping-room');
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'chat-2', event: 'ping-room' }), { ok: true });
      await until(() => got.length === 1, 3000, 'the publish');
      assert.deepEqual(got, [[]]);
    });

    it('publish to a room outside PUBLISH_PATTERNS -> forbidden (even when subscribable)', async function () {
      const sender = await client(ctx);
      const r = await client(ctx);
      await emitAck(r, 'subscribe', 'news');
      const got = record(r, 'fake');
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'news', event: 'fake', data: 1 }), { ok: false, error: 'forbidden' });
      assert.deepEqual(await emitAck(sender, 'publish', { room: r.id, event: 'fake', data: 1 }), { ok: false, error: 'forbidden' });
      await sleep(100);
      assert.deepEqual(got, []);
    });

    it('invalid publish requests -> {ok:false, error:"invalid publish"}', async function () {
      const s = await client(ctx);
      const bad = [
        'chat-1',
        { event: 'msg' },
        { room: '', event: 'msg' },
        { room: 5, event: 'msg' },
        { room: 'chat-1' },
        { room: 'chat-1', event: '' },
        { room: 'chat-1', event: 7 },
        { room: `chat-${'x'.repeat(300)}`, event: 'msg' },
        ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']
          .map((event) => ({ room: 'chat-1', event })),
      ];
      for (const req of bad) {
        assert.deepEqual(await emitAck(s, 'publish', req), { ok: false, error: 'invalid publish' }, JSON.stringify(req));
      }
    });
  });

  /* ---------------------------------------------------------------- */
  describe('default permissions (SUBSCRIBE_PATTERNS "*", no PUBLISH_PATTERNS)', function () {
    const ctx = useGateway({});

    it('any room can be subscribed, nothing can be published', async function () {
      const s = await client(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', ['anything', 'x:y/z']), { ok: true, rooms: ['anything', 'x:y/z'] });
      assert.deepEqual(await emitAck(s, 'publish', { room: 'anything', event: 'e', data: 1 }), { ok: false, error: 'forbidden' });
    });

    it('a namespace other than "/" is refused', async function () {
      const s = connect(`${ctx.url}/chat`, { transports: ['websocket'] });
      assert.equal((await connectError(s)).message, 'Invalid namespace');
    });

    it('subscribe without an ack callback still subscribes', async function () {
      const s = await client(ctx);
      s.emit('subscribe', 'no-ack-room');
      s.emit('publish', { room: 'x', event: 'y' }); // refused silently
      const got = record(s, 'n');
      // the next acked request is answered after the first one was handled
      assert.deepEqual(await emitAck(s, 'subscribe', 'other'), { ok: true, rooms: ['other'] });
      await broadcastAndWait(ctx, { rooms: ['no-ack-room'], event: 'n', data: 1 }, got);
    });

    it('an event the gateway does not know is ignored (no ack), the socket stays connected', async function () {
      const s = await client(ctx);
      await assert.rejects(s.timeout(300).emitWithAck('no-such-event', 1));
      assert.equal(s.connected, true);
      assert.deepEqual(await emitAck(s, 'subscribe', 'z'), { ok: true, rooms: ['z'] });
    });

    it('a large API broadcast (700 kB) reaches websocket and polling clients intact', async function () {
      const ws = await client(ctx);
      const poll = await client(ctx, '/', { transports: ['polling'] });
      for (const s of [ws, poll]) await emitAck(s, 'subscribe', 'large');
      const got = [ws, poll].map((s) => record(s, 'large'));
      const text = `${'é'.repeat(1000)}${'x'.repeat(698000)}`;
      await broadcastAndWait(ctx, { rooms: ['large'], event: 'large', data: { text } }, got[0]);
      await until(() => got[1].length === 1, 5000, 'the polling client');
      assert.equal(got[0][0][0].text, text);
      assert.equal(got[1][0][0].text, text);
    });

    it('a polling client receives 100 API broadcasts in order', async function () {
      const s = await client(ctx, '/', { transports: ['polling'] });
      const got = record(s, 'p');
      const batch = Array.from({ length: 100 }, (_, i) => ({ rooms: [s.id], event: 'p', data: i }));
      await broadcastAndWait(ctx, batch.slice(0, 50), got, 1);
      for (const b of batch.slice(50)) assert.equal((await apiPost(ctx.apiPort, b)).status, 202);
      await until(() => got.length === 100, 5000, '100 broadcasts');
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => [i]));
    });

    it('API rooms: 1024 names are accepted, 1025 -> 400', async function () {
      const names = (n) => Array.from({ length: n }, (_, i) => `room-${i}`);
      assert.equal((await apiPost(ctx.apiPort, { rooms: names(1024), event: 'x' })).status, 202);
      const res = await apiPost(ctx.apiPort, { rooms: names(1025), event: 'x' });
      assert.equal(res.status, 400);
      assert.equal(res.json.ok, false);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('upgrade with the default PING_INTERVAL (25 s)', function () {
    const ctx = useGateway({ PUBLISH_PATTERNS: '*', PING_INTERVAL: undefined, PING_TIMEOUT: undefined });

    it('a polling GET made while the websocket probe is pending is released at once (noop), not after the 25 s ping', async function () {
      // socket.io-client pauses polling before it sends "5": it waits for its
      // GET to come back. engine.io answers such a GET with a noop (within its
      // 100 ms upgrade check); held until the next ping, the upgrade and every
      // packet the client buffers meanwhile wait up to PING_INTERVAL.
      const base = '/socket.io/?EIO=4&transport=polling';
      const hs = await httpRequest({ port: ctx.port, path: base });
      const open = JSON.parse(hs.body.slice(1));
      assert.equal(open.pingInterval, 25000);
      const q = `${base}&sid=${encodeURIComponent(open.sid)}`;
      assert.equal((await httpRequest({ port: ctx.port, method: 'POST', path: q, body: '40' })).status, 200);
      const connectAnswer = await httpRequest({ port: ctx.port, path: q });
      assert.match(connectAnswer.body, /^40\{"sid":/);
      const probe = rawWs(ctx.port, { query: `&sid=${encodeURIComponent(open.sid)}` });
      await within(probe.wsOpen, 3000, 'the probe websocket');
      probe.send('2probe');
      assert.equal((await probe.next()).data, '3probe');
      const t0 = Date.now();
      let res;
      try {
        res = await httpRequest({ port: ctx.port, path: q, timeoutMs: 2000 });
      } catch (e) {
        assert.fail(`the GET made during the upgrade was not answered within 2 s (${e.message})`);
      }
      assert.equal(res.body, '6');
      assert.ok(Date.now() - t0 < 1000);
      probe.send('5');
      assert.deepEqual(await emitAckRaw(probe, '42', 'publish', { room: 'r', event: 'e' }), [{ ok: true }]);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('broadcast API (POST /v1/broadcast)', function () {
    const ctx = useGateway({ API_MAX_BODY: '2000', SUBSCRIBE_PATTERNS: '*' });

    it('"data" is one argument, "args" are several, neither is none', async function () {
      const s = await client(ctx);
      await emitAck(s, 'subscribe', 'r');
      const got = record(s, 'score');
      await broadcastAndWait(ctx, { namespace: '/', rooms: ['r'], event: 'score', data: [1, { a: null }] }, got, 1);
      await broadcastAndWait(ctx, { rooms: ['r'], event: 'score', args: [1, 'two', { three: 3 }, null] }, got, 2);
      await broadcastAndWait(ctx, { rooms: ['r'], event: 'score' }, got, 3);
      await broadcastAndWait(ctx, { rooms: ['r'], event: 'score', data: null }, got, 4);
      assert.deepEqual(got, [[[1, { a: null }]], [1, 'two', { three: 3 }, null], [], [null]]);
    });

    it('without rooms: every socket of the namespace; except rooms skip their members', async function () {
      const a = await client(ctx);
      const b = await client(ctx);
      const c = await client(ctx, '/', { transports: ['polling'] });
      await emitAck(b, 'subscribe', 'muted');
      const got = [a, b, c].map((s) => record(s, 'all'));
      await broadcastAndWait(ctx, { event: 'all', data: 1 }, got[2]);
      await until(() => got[0].length === 1 && got[1].length === 1, 3000, 'all');
      await broadcastAndWait(ctx, { event: 'all', data: 2, except: ['muted'] }, got[2], 2);
      await until(() => got[0].length === 2, 3000, 'all 2');
      await sleep(100);
      assert.deepEqual(got[0], [[1], [2]]);
      assert.deepEqual(got[1], [[1]]);
      assert.deepEqual(got[2], [[1], [2]]);
    });

    it('rooms + except', async function () {
      const a = await client(ctx);
      const b = await client(ctx);
      await emitAck(a, 'subscribe', ['game']);
      await emitAck(b, 'subscribe', ['game', 'spectators']);
      const got = [a, b].map((s) => record(s, 'move'));
      await broadcastAndWait(ctx, { rooms: ['game'], except: ['spectators'], event: 'move', data: 'e4' }, got[0]);
      await sleep(100);
      assert.deepEqual(got[0], [['e4']]);
      assert.deepEqual(got[1], []);
    });

    it('a JSON array of broadcasts -> 202, delivered in order', async function () {
      const s = await client(ctx);
      await emitAck(s, 'subscribe', 'seq');
      const got = record(s, 'n');
      const batch = Array.from({ length: 10 }, (_, i) => ({ rooms: ['seq'], event: 'n', data: i }));
      await broadcastAndWait(ctx, batch, got, 10);
      assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => [i]));
    });

    it('a batch with one invalid item -> 400 and none of it is delivered', async function () {
      const s = await client(ctx);
      const witness = await client(ctx);
      await emitAck(s, 'subscribe', 'atomic');
      const got = record(s, 'b');
      const res = await apiPost(ctx.apiPort, [{ rooms: ['atomic'], event: 'b', data: 1 }, { rooms: ['atomic'] }]);
      assert.equal(res.status, 400);
      assert.equal(res.json.ok, false);
      await assertNotDelivered(ctx, { rooms: ['nobody'], event: 'b' }, [got], witness);
      assert.deepEqual(got, []);
    });

    it('volatile to a websocket client is delivered', async function () {
      const s = await client(ctx);
      const got = record(s, 'v');
      await broadcastAndWait(ctx, { rooms: [s.id], event: 'v', data: 'vol', volatile: true }, got);
      assert.deepEqual(got, [['vol']]);
    });

    it('messages sent in order arrive in order (100 single POSTs)', async function () {
      const s = await client(ctx);
      const got = record(s, 'i');
      for (let i = 0; i < 100; i++) {
        const res = await apiPost(ctx.apiPort, { rooms: [s.id], event: 'i', data: i });
        assert.equal(res.status, 202);
      }
      await until(() => got.length === 100, 5000, '100 broadcasts');
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => [i]));
    });

    const bad400 = [
      ['malformed JSON', '{"event": "x",'],
      ['not JSON at all', 'hello'],
      ['a JSON string', '"x"'],
      ['an empty batch', '[]'],
      ['missing event', { rooms: ['a'], data: 1 }],
      ['an empty event', { event: '' }],
      ['a non-string event', { event: 5 }],
      ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']
        .map((e) => [`reserved event "${e}"`, { event: e }]),
      ['an unknown namespace', { namespace: '/nope', event: 'x' }],
      ['a namespace without a slash', { namespace: 'chat', event: 'x' }],
      ['a pattern namespace', { namespace: '/*', event: 'x' }],
      ['rooms not an array', { rooms: 'a', event: 'x' }],
      ['rooms with a number', { rooms: ['a', 1], event: 'x' }],
      ['rooms with an empty name', { rooms: [''], event: 'x' }],
      ['except not an array', { except: 'a', event: 'x' }],
      ['both data and args', { event: 'x', data: 1, args: [1] }],
      ['args not an array', { event: 'x', args: 1 }],
      ['volatile not a boolean', { event: 'x', volatile: 'yes' }],
    ];
    for (const [name, body] of bad400) {
      it(`400 {"ok":false,"error":...} for ${name}`, async function () {
        const res = await apiPost(ctx.apiPort, body);
        assert.equal(res.status, 400, `${res.status} ${res.body}`);
        assert.equal(res.json.ok, false);
        assert.equal(typeof res.json.error, 'string');
        assert.ok(res.json.error.length > 0);
        assert.match(res.headers['content-type'], /application\/json/);
      });
    }

    it('413 for a body larger than API_MAX_BODY; a body just under it is accepted', async function () {
      const s = await client(ctx);
      const got = record(s, 'big');
      const small = JSON.stringify({ rooms: [s.id], event: 'big', data: 'x'.repeat(1900) });
      assert.ok(small.length <= 2000);
      await broadcastAndWait(ctx, small, got);
      const big = JSON.stringify({ rooms: [s.id], event: 'big', data: 'x'.repeat(2100) });
      const res = await apiPost(ctx.apiPort, big);
      assert.equal(res.status, 413);
      await sleep(100);
      assert.equal(got.length, 1);
    });

    it('the API stays open without API_TOKEN (no Authorization needed)', async function () {
      const res = await apiPost(ctx.apiPort, { event: 'x' });
      assert.equal(res.status, 202);
    });

    it('GET /v1/broadcast -> 405; an unknown path -> 404', async function () {
      const res = await apiGet(ctx.apiPort, '/v1/broadcast');
      assert.equal(res.status, 405);
      const res2 = await apiGet(ctx.apiPort, '/v2/nothing');
      assert.equal(res2.status, 404);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('API_TOKEN', function () {
    const ctx = useGateway({ API_TOKEN: 'api-secret-token' });

    it('401 without Authorization, with a wrong token or scheme; 202 with the right bearer token', async function () {
      const s = await client(ctx);
      const got = record(s, 'auth');
      const body = { rooms: [s.id], event: 'auth', data: 'x' };
      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic api-secret-token' },
        { Authorization: 'Bearer api-secret-tokenX' }, { Authorization: 'Bearer api-secret-toke' }]) {
        const res = await apiPost(ctx.apiPort, body, { headers });
        assert.equal(res.status, 401, JSON.stringify(headers));
        assert.equal(res.json.ok, false);
      }
      await sleep(100);
      assert.deepEqual(got, []);
      await broadcastAndWait(ctx, body, got, 1, { token: 'api-secret-token' });
    });

    it('GET /health needs no token', async function () {
      const res = await apiGet(ctx.apiPort, '/health');
      assert.equal(res.status, 200);
      assert.equal(res.json.status, 'ok');
    });
  });

  /* ---------------------------------------------------------------- */
  describe('health, cookie, path, heartbeat settings', function () {
    const ctx = useGateway({ SIO_PATH: '/rt', PING_INTERVAL: '1234', PING_TIMEOUT: '567', MAX_PAYLOAD: '5000' });

    it('GET /health on PORT and on API_PORT -> 200 {"status":"ok","connections":<number>}', async function () {
      const a = await client(ctx, '/', { path: '/rt' });
      const b = await client(ctx, '/', { path: '/rt', transports: ['polling'] });
      assert.ok(a.connected && b.connected);
      const edge = await apiGet(ctx.port, '/health');
      assert.equal(edge.status, 200);
      assert.match(edge.headers['content-type'], /application\/json/);
      assert.equal(edge.json.status, 'ok');
      assert.equal(typeof edge.json.connections, 'number');
      assert.equal(edge.json.connections, 2);
      // the API's figure is refreshed periodically
      const deadline = Date.now() + 3000;
      let api;
      do {
        api = await apiGet(ctx.apiPort, '/health');
        assert.equal(api.status, 200);
        assert.equal(api.json.status, 'ok');
        assert.equal(typeof api.json.connections, 'number');
        if (api.json.connections === 2) break;
        await sleep(50);
      } while (Date.now() < deadline);
      assert.equal(api.json.connections, 2);
    });

    it('SIO_PATH "/rt" (trailing slash added): the handshake is served there, not on /socket.io/', async function () {
      const res = await httpRequest({ port: ctx.port, path: '/rt/?EIO=4&transport=polling' });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.body[0], '0');
      const other = await httpRequest({ port: ctx.port, path: '/socket.io/?EIO=4&transport=polling' });
      assert.notEqual(other.status, 200);
    });

    it('the open packet carries PING_INTERVAL, PING_TIMEOUT, MAX_PAYLOAD; the io cookie is set', async function () {
      const res = await httpRequest({ port: ctx.port, path: '/rt/?EIO=4&transport=polling' });
      const open = JSON.parse(res.body.slice(1));
      assert.equal(open.pingInterval, 1234);
      assert.equal(open.pingTimeout, 567);
      assert.equal(open.maxPayload, 5000);
      assert.deepEqual(open.upgrades, ['websocket']);
      const cookies = [].concat(res.headers['set-cookie'] || []);
      assert.equal(cookies.length, 1, JSON.stringify(res.headers));
      assert.match(cookies[0], new RegExp(`^io=${open.sid};`));
      assert.match(cookies[0], /Path=\//);
      assert.match(cookies[0], /HttpOnly/);
      assert.match(cookies[0], /SameSite=Lax/);
    });

    it('MAX_PAYLOAD: a larger POST -> 413', async function () {
      const hs = await httpRequest({ port: ctx.port, path: '/rt/?EIO=4&transport=polling' });
      const { sid } = JSON.parse(hs.body.slice(1));
      const res = await httpRequest({
        port: ctx.port, method: 'POST', path: `/rt/?EIO=4&transport=polling&sid=${sid}`,
        headers: { 'Content-Type': 'text/plain' }, body: `4${'x'.repeat(6000)}`,
      });
      assert.equal(res.status, 413);
    });
  });

  describe('STICKY_COOKIE=false', function () {
    const ctx = useGateway({ STICKY_COOKIE: 'false' });
    it('no io cookie on the handshake', async function () {
      const res = await httpRequest({ port: ctx.port, path: '/socket.io/?EIO=4&transport=polling' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['set-cookie'], undefined);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('CORS_ORIGINS list', function () {
    const ctx = useGateway({ CORS_ORIGINS: 'https://a.example, https://b.example' });
    const hs = '/socket.io/?EIO=4&transport=polling';

    it('an allowed origin is echoed with Access-Control-Allow-Credentials: true', async function () {
      for (const origin of ['https://a.example', 'https://b.example']) {
        const res = await httpRequest({ port: ctx.port, path: hs, headers: { Origin: origin } });
        assert.equal(res.status, 200);
        assert.equal(res.headers['access-control-allow-origin'], origin);
        assert.equal(res.headers['access-control-allow-credentials'], 'true');
      }
    });

    it('a preflight from an allowed origin is answered with the CORS headers', async function () {
      const res = await httpRequest({
        port: ctx.port, method: 'OPTIONS', path: hs,
        headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST' },
      });
      assert.ok(res.status === 204 || res.status === 200, `${res.status}`);
      assert.equal(res.headers['access-control-allow-origin'], 'https://a.example');
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
    });

    it('a refused origin gets 403 {"code":4,"message":"Forbidden"} on the handshake', async function () {
      for (const origin of ['https://evil.example', 'https://a.example.evil', 'http://a.example', 'null']) {
        const res = await httpRequest({ port: ctx.port, path: hs, headers: { Origin: origin } });
        assert.equal(res.status, 403, origin);
        assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'Forbidden' });
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      }
    });

    it('a refused origin cannot open a websocket either', async function () {
      const c = rawWs(ctx.port, { headers: { Origin: 'https://evil.example' } });
      await assert.rejects(within(c.opened, 3000, 'refusal'));
      const ok = rawWs(ctx.port, { headers: { Origin: 'https://b.example' } });
      await within(ok.opened, 3000, 'allowed origin');
    });

    it('a request without Origin (non-browser client) is served', async function () {
      const res = await httpRequest({ port: ctx.port, path: hs });
      assert.equal(res.status, 200);
      await client(ctx);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('namespaces NAMESPACES="/,/tournament-*"', function () {
    const ctx = useGateway({ NAMESPACES: '/,/tournament-*' });

    it('a client on /tournament-7 subscribes and receives a broadcast for namespace "/tournament-7" only', async function () {
      const t7 = await client(ctx, '/tournament-7');
      const t8 = await client(ctx, '/tournament-8');
      const root = await client(ctx, '/');
      for (const s of [t7, t8, root]) {
        assert.deepEqual(await emitAck(s, 'subscribe', 'finals'), { ok: true, rooms: ['finals'] });
      }
      const got = [t7, t8, root].map((s) => record(s, 'score'));
      await broadcastAndWait(ctx, { namespace: '/tournament-7', rooms: ['finals'], event: 'score', data: [3, 1] }, got[0]);
      await sleep(100);
      assert.deepEqual(got[0], [[[3, 1]]]);
      assert.deepEqual(got[1], []);
      assert.deepEqual(got[2], []);
    });

    it('a namespace outside NAMESPACES (/nope) is refused', async function () {
      const s = connect(`${ctx.url}/nope`, { transports: ['websocket'] });
      assert.equal((await connectError(s)).message, 'Invalid namespace');
    });

    it('API: a pattern namespace or an unconfigured one -> 400; a configured one nobody joined -> 202', async function () {
      assert.equal((await apiPost(ctx.apiPort, { namespace: '/tournament-*', event: 'x' })).status, 400);
      assert.equal((await apiPost(ctx.apiPort, { namespace: '/nope', event: 'x' })).status, 400);
      assert.equal((await apiPost(ctx.apiPort, { namespace: '/tournament-999', event: 'x' })).status, 202);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('JWT HS256 (JWT_SECRET)', function () {
    const SECRET = 'gateway-test-secret';
    const ctx = useGateway({ JWT_SECRET: SECRET, SUBSCRIBE_PATTERNS: '*', PUBLISH_PATTERNS: 'chat-*' });
    const token = (claims, secret = SECRET) => jwtHS256({ sub: 'u1', ...claims }, secret);

    async function refused(opts) {
      const s = connect(ctx.url, { transports: ['websocket'], ...opts });
      const err = await connectError(s);
      assert.equal(err.message, 'unauthorized');
      assert.equal(typeof err.data?.reason, 'string');
      return err.data.reason;
    }

    it('a valid token (auth.token) connects; default patterns apply without claims', async function () {
      const s = await client(ctx, '/', { auth: { token: token({ exp: nowSec() + 60 }) } });
      assert.deepEqual(await emitAck(s, 'subscribe', 'anything'), { ok: true, rooms: ['anything'] });
      assert.deepEqual(await emitAck(s, 'publish', { room: 'chat-1', event: 'm' }), { ok: true });
      assert.deepEqual(await emitAck(s, 'publish', { room: 'other', event: 'm' }), { ok: false, error: 'forbidden' });
    });

    it('a valid token in an Authorization: Bearer header (polling extraHeaders) connects', async function () {
      const s = connect(ctx.url, { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${token({})}` } });
      await connected(s);
      assert.deepEqual(await emitAck(s, 'subscribe', 'x'), { ok: true, rooms: ['x'] });
    });

    it('a valid token in an Authorization: Bearer header of the WebSocket handshake connects', async function () {
      const s = connect(ctx.url, { transports: ['websocket'], extraHeaders: { Authorization: `Bearer ${token({})}` } });
      await connected(s);
      assert.deepEqual(await emitAck(s, 'subscribe', 'y'), { ok: true, rooms: ['y'] });
    });

    it('no token -> connect_error "unauthorized"', async function () {
      const reason = await refused({});
      assert.match(reason, /missing/i);
    });

    it('a token signed with another secret -> "unauthorized" (bad signature)', async function () {
      assert.match(await refused({ auth: { token: token({}, 'wrong-secret') } }), /signature/i);
    });

    it('a bearer header with a bad token -> "unauthorized"', async function () {
      await refused({ transports: ['polling'], extraHeaders: { Authorization: `Bearer ${token({}, 'nope')}` } });
    });

    it('an expired token -> "unauthorized" (expired)', async function () {
      assert.match(await refused({ auth: { token: token({ exp: nowSec() - 10 }) } }), /expired/i);
    });

    it('exp as a fraction is honoured; exp or nbf that is not a number -> "unauthorized"', async function () {
      await client(ctx, '/', { auth: { token: token({ exp: nowSec() + 60.5 }) } });
      await refused({ auth: { token: token({ exp: nowSec() - 0.5 - 1 }) } });
      await refused({ auth: { token: token({ exp: String(nowSec() + 60) }) } });
      await refused({ auth: { token: token({ nbf: 'yesterday' }) } });
    });

    it('nbf in the future -> "unauthorized" (not yet valid)', async function () {
      assert.match(await refused({ auth: { token: token({ nbf: nowSec() + 120 }) } }), /not yet|nbf/i);
      // nbf in the past is fine
      await client(ctx, '/', { auth: { token: token({ nbf: nowSec() - 5 }) } });
    });

    it('a malformed token, an RS256 token and an "alg":"none" token -> "unauthorized"', async function () {
      await refused({ auth: { token: 'not.a.jwt' } });
      await refused({ auth: { token: jwtRS256({ sub: 'x' }, readFixture('rsa_private.pem')) } });
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
      await refused({ auth: { token: none } });
    });

    it('the fixture token node_hs256.jwt verifies with its secret only (here: refused)', async function () {
      await refused({ auth: { token: readFixture('node_hs256.jwt').trim() } });
    });

    it('claim "rooms" replaces SUBSCRIBE_PATTERNS for that client', async function () {
      const s = await client(ctx, '/', { auth: { token: token({ rooms: ['news', 'team-*'] }) } });
      assert.deepEqual(await emitAck(s, 'subscribe', ['news', 'team-red']), { ok: true, rooms: ['news', 'team-red'] });
      assert.deepEqual(await emitAck(s, 'subscribe', 'sports'), { ok: false, error: 'forbidden' });
      // an empty list allows nothing
      const none = await client(ctx, '/', { auth: { token: token({ rooms: [] }) } });
      assert.deepEqual(await emitAck(none, 'subscribe', 'news'), { ok: false, error: 'forbidden' });
    });

    it('claim "publish" replaces PUBLISH_PATTERNS for that client', async function () {
      const s = await client(ctx, '/', { auth: { token: token({ publish: ['vip-*'] }) } });
      const r = await client(ctx, '/', { auth: { token: token({}) } });
      await emitAck(r, 'subscribe', ['vip-1', 'chat-1']);
      const got = record(r, 'm');
      assert.deepEqual(await emitAck(s, 'publish', { room: 'chat-1', event: 'm', data: 1 }), { ok: false, error: 'forbidden' });
      assert.deepEqual(await emitAck(s, 'publish', { room: 'vip-1', event: 'm', data: 2 }), { ok: true });
      await until(() => got.length === 1, 3000, 'the vip publish');
      await sleep(50);
      assert.deepEqual(got, [[2]]);
    });

    it('a malformed "rooms" claim does not widen the client\'s rights to SUBSCRIBE_PATTERNS', async function () {
      // The token restricts the client to "news"; a claim that is not an array of
      // strings must not silently fall back to SUBSCRIBE_PATTERNS ("*" here):
      // either the connection is refused or "secret" stays forbidden.
      for (const rooms of ['news', ['news', 5]]) {
        const s = connect(ctx.url, { transports: ['websocket'], auth: { token: token({ rooms }) } });
        try {
          await connected(s);
        } catch (e) {
          continue; // refused: fine
        }
        const res = await emitAck(s, 'subscribe', 'secret');
        assert.deepEqual(res, { ok: false, error: 'forbidden' }, `rooms claim ${JSON.stringify(rooms)} gave ${JSON.stringify(res)}`);
      }
    });
  });

  /* ---------------------------------------------------------------- */
  describe('JWT RS256 (JWT_PUBLIC_KEY_FILE)', function () {
    const ctx = useGateway({ JWT_PUBLIC_KEY_FILE: fixture('rsa_public.pem'), PUBLISH_PATTERNS: '*' });
    const priv = readFixture('rsa_private.pem');

    it('a token signed with the matching private key connects; its "rooms" claim applies', async function () {
      const s = await client(ctx, '/', { auth: { token: jwtRS256({ sub: 'r', rooms: ['news'], exp: nowSec() + 60 }, priv) } });
      assert.deepEqual(await emitAck(s, 'subscribe', 'news'), { ok: true, rooms: ['news'] });
      assert.deepEqual(await emitAck(s, 'subscribe', 'other'), { ok: false, error: 'forbidden' });
    });

    it('the fixture token node_rs256.jwt (signed by node) connects with rooms ["news"]', async function () {
      const s = await client(ctx, '/', { auth: { token: readFixture('node_rs256.jwt').trim() } });
      assert.deepEqual(await emitAck(s, 'subscribe', 'news'), { ok: true, rooms: ['news'] });
      assert.deepEqual(await emitAck(s, 'subscribe', 'chat:1'), { ok: false, error: 'forbidden' });
    });

    it('wrong key, HS256, expired and not-yet-valid tokens -> "unauthorized"', async function () {
      const { generateKeyPairSync } = require('node:crypto');
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
      const cases = [
        [jwtRS256({ sub: 'x' }, other), /signature/i],
        [jwtHS256({ sub: 'x' }, 'secret'), /./],
        // algorithm confusion: HS256 keyed with the public key's PEM text
        [jwtHS256({ sub: 'x' }, readFixture('rsa_public.pem')), /./],
        [jwtRS256({ sub: 'x', exp: nowSec() - 1 }, priv), /expired/i],
        [jwtRS256({ sub: 'x', nbf: nowSec() + 300 }, priv), /not yet|nbf/i],
      ];
      for (const [t, why] of cases) {
        const s = connect(ctx.url, { transports: ['websocket'], auth: { token: t } });
        const err = await connectError(s);
        assert.equal(err.message, 'unauthorized');
        assert.match(err.data.reason, why);
      }
    });
  });

  describe('JWT RS256 with a certificate as JWT_PUBLIC_KEY_FILE', function () {
    const ctx = useGateway({ JWT_PUBLIC_KEY_FILE: fixture('rsa_cert.pem') });
    it('a token signed with the certificate\'s key connects', async function () {
      await client(ctx, '/', { auth: { token: jwtRS256({ sub: 'c' }, readFixture('rsa_private.pem')) } });
    });
  });

  describe('JWT RS256 with another public key', function () {
    const ctx = useGateway({ JWT_PUBLIC_KEY_FILE: fixture('rsa_other_public.pem') });
    it('a token signed with rsa_private.pem is refused (bad signature)', async function () {
      const s = connect(ctx.url, { transports: ['websocket'], auth: { token: jwtRS256({ sub: 'c' }, readFixture('rsa_private.pem')) } });
      const err = await connectError(s);
      assert.equal(err.message, 'unauthorized');
      assert.match(err.data.reason, /signature/i);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('start-up errors', function () {
    // free ports, in case a bad value were accepted and the server started
    const ports = async () => ({ PORT: String(await freePort()), API_PORT: String(await freePort()) });
    const cases = [
      ['PORT', { PORT: 'abc', API_PORT: '0' }],
      ['PORT', { PORT: '70000', API_PORT: '0' }],
      ['API_PORT', { PORT: '1', API_PORT: '-1' }],
      ['PING_INTERVAL', { PING_INTERVAL: '0' }],
      ['PING_TIMEOUT', { PING_TIMEOUT: '1s' }],
      ['MAX_PAYLOAD', { MAX_PAYLOAD: '0' }],
      ['SIO_PATH', { SIO_PATH: 'socket.io' }],
      ['CORS_ORIGINS', { CORS_ORIGINS: '' }],
      ['NAMESPACES', { NAMESPACES: 'chat' }],
      ['NAMESPACES', { NAMESPACES: '' }],
      ['TRANSPORTS', { TRANSPORTS: 'carrier-pigeon' }],
      ['JWT_SECRET', { JWT_SECRET: '' }],
      ['JWT_PUBLIC_KEY_FILE', { JWT_PUBLIC_KEY_FILE: '/nonexistent/key.pem' }],
      ['JWT_SECRET', { JWT_SECRET: 's', JWT_PUBLIC_KEY_FILE: fixture('rsa_public.pem') }],
      ['API_MAX_BODY', { API_MAX_BODY: '0' }],
      ['API_PORT', { PORT: '4000', API_PORT: '4000' }],
      ['STICKY_COOKIE', { STICKY_COOKIE: 'maybe' }],
      ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ];
    for (const [name, env] of cases) {
      it(`${JSON.stringify(env)} -> exit code 2, message names ${name}`, async function () {
        const res = await runSioServer({ ...(await ports()), ...env });
        assert.equal(res.code, 2, `exit ${res.code}, stderr: ${res.stderr}`);
        assert.ok(res.stderr.includes(name), `stderr does not name ${name}: ${res.stderr}`);
      });
    }

    it('JWT_PUBLIC_KEY_FILE holding an EC key, a 1024-bit RSA key or no key -> exit code 2, message names JWT_PUBLIC_KEY_FILE', async function () {
      const wrong = [];
      for (const file of ['ec_public.pem', 'rsa1024_public.pem', 'README']) {
        const res = await runSioServer({ ...(await ports()), JWT_PUBLIC_KEY_FILE: fixture(file) });
        assert.notEqual(res.code, 0, `${file}: the server started`);
        if (res.code !== 2 || !res.stderr.includes('JWT_PUBLIC_KEY_FILE')) {
          wrong.push(`${file}: exit ${res.code}, stderr "${res.stderr.trim()}"`);
        }
      }
      assert.deepEqual(wrong, []);
    });

    it('a command-line argument -> exit code 2; --help lists the variables and exits 0', async function () {
      const { spawnSync } = require('node:child_process');
      const { binPath } = require('../lib/server');
      const bad = spawnSync(binPath('sio-server'), ['--port', '1'], { timeout: 5000, encoding: 'utf8' });
      assert.equal(bad.status, 2);
      const help = spawnSync(binPath('sio-server'), ['--help'], { timeout: 5000, encoding: 'utf8' });
      assert.equal(help.status, 0);
      for (const v of ['PORT', 'API_PORT', 'SIO_PATH', 'CORS_ORIGINS', 'PING_INTERVAL', 'PING_TIMEOUT', 'MAX_PAYLOAD',
        'NAMESPACES', 'SUBSCRIBE_PATTERNS', 'PUBLISH_PATTERNS', 'JWT_SECRET', 'JWT_PUBLIC_KEY_FILE', 'API_TOKEN', 'API_MAX_BODY']) {
        assert.match(help.stdout, new RegExp(`^${v}\\s`, 'm'), v);
      }
    });
  });
});
