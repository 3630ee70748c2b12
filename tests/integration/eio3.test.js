/* eio3: Socket.IO 2.x clients (Engine.IO v3) beside v4 ones, ALLOW_EIO3.
 *
 * Real socket.io-client 2.5.0 (socket.io-client-v2) over polling, WebSocket
 * and the upgrade: "/" (connected by the server at the handshake, the query's
 * token as auth) and /chat (CONNECT "/chat?token=..."), acks, binary both ways
 * (with and without forceBase64), broadcasts from /v1/broadcast and from
 * @socket.io/redis-emitter reaching v2 and v4 clients of one room, CONNECT_ERROR
 * as v2 sees it, heartbeats (the client pings), disconnect. (socket.io-client 2
 * in Node.js has no XHR2, so its polling always asks for b64=1: the binary
 * polling framing is exercised by the raw requests below.) Raw HTTP and ws:
 * the v3 framings both ways (text with UTF-16 lengths, binary with 0xFF, b64),
 * the heartbeat of a session that never pings, and bad input (400 / close,
 * the server serving on). Without ALLOW_EIO3 a v3 handshake gets 400 code 5. */
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const ioV2 = require('socket.io-client-v2');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { HOST, httpRequest } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const {
  sleep, within, eventually, norm, startSioServer, stopAlive, connect, connected, emitAck, closeAll,
  apiPost, apiGet, jwtHS256,
} = require('../lib/sio');

const SECRET = 'eio3-secret';
const token = () => jwtHS256({ sub: 'v2-user' }, SECRET);

/* ---- socket.io-client 2 ------------------------------------------------------------ */

const v2Clients = new Set();
function v2(url, opts = {}) {
  const s = ioV2(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  v2Clients.add(s);
  return s;
}

/** Resolves on 'connect'; rejects on 'error' (a CONNECT_ERROR), 'connect_error' or a timeout. */
function v2Connected(s, ms = 5000) {
  if (s.connected) return Promise.resolve(s);
  return within(new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(Object.assign(new Error(`error: ${JSON.stringify(e)}`), { data: e })));
    s.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message || e}`)));
  }), ms, 'the v2 connect');
}

/** What a v2 socket gets as 'error' (CONNECT_ERROR data) before connecting. */
function v2Error(s, ms = 5000) {
  return within(new Promise((resolve, reject) => {
    s.once('connect', () => reject(new Error('connected, an error was expected')));
    s.once('error', resolve);
  }), ms, 'the v2 error');
}

function v2Ack(s, event, ...args) {
  return within(new Promise((resolve) => s.emit(event, ...args, (...res) => resolve(res))), 3000, `the ack of ${event}`);
}

function record(s, event) {
  const got = [];
  s.on(event, (...args) => got.push(norm(args)));
  return got;
}

function closeV2() {
  for (const s of v2Clients) s.close();
  v2Clients.clear();
}

/* ---- raw HTTP and ws --------------------------------------------------------------- */

async function rawGet(srv, query, headers = {}) {
  return httpRequest({ port: srv.port, path: `/socket.io/?EIO=3&transport=polling${query}`, headers });
}

async function rawPost(srv, sid, body, contentType = 'text/plain;charset=UTF-8') {
  return httpRequest({
    port: srv.port, method: 'POST', path: `/socket.io/?EIO=3&transport=polling&sid=${sid}`,
    headers: { 'Content-Type': contentType }, body,
  });
}

/** Text framing: every "<len>:<packet>" of a v3 body (lengths in UTF-16 units, as JS strings). */
function textPackets(body) {
  const out = [];
  let i = 0;
  while (i < body.length) {
    const colon = body.indexOf(':', i);
    assert.ok(colon > i, `a length prefix at ${i} in ${JSON.stringify(body)}`);
    const n = Number(body.slice(i, colon));
    out.push(body.slice(colon + 1, colon + 1 + n));
    assert.equal(out[out.length - 1].length, n, `packet ${out.length} of ${JSON.stringify(body)}`);
    i = colon + 1 + n;
  }
  return out;
}

/** Binary framing: [{string} or {binary: Buffer}] of a v3 octet-stream body. */
function binaryPackets(raw) {
  const out = [];
  let i = 0;
  while (i < raw.length) {
    const kind = raw[i++];
    let digits = '';
    while (raw[i] !== 0xff) digits += String(raw[i++]);
    i++;
    const n = Number(digits);
    const bytes = raw.subarray(i, i + n);
    out.push(kind === 0 ? { string: bytes.toString('utf8') } : { binary: Buffer.from(bytes) });
    i += n;
  }
  return out;
}

/** A raw v3 polling session: its sid and the packets of the handshake answer. */
async function rawSession(srv, query = '') {
  const r = await rawGet(srv, `${query}&token=${token()}`);
  assert.equal(r.status, 200, r.body);
  const packets = textPackets(r.body);
  const open = JSON.parse(packets[0].slice(1));
  return { sid: open.sid, open, packets };
}

/** Polls until a packet matching `pred` arrives; returns every answer's packets. */
async function pollUntil(srv, sid, pred, { binary = false } = {}) {
  const seen = [];
  for (let i = 0; i < 10; i++) {
    const r = await rawGet(srv, `&sid=${sid}`);
    assert.equal(r.status, 200, r.body);
    const packets = r.headers['content-type'] === 'application/octet-stream' ? binaryPackets(r.raw) : textPackets(r.body);
    seen.push({ contentType: r.headers['content-type'], packets });
    if (packets.some(pred)) return seen;
    if (!binary && r.headers['content-type'] === 'application/octet-stream') return seen;
  }
  throw new Error(`not seen in 10 polls: ${JSON.stringify(seen)}`);
}

const rawWsSet = new Set();
function rawV3Ws(srv, query = '') {
  const ws = new WebSocket(`ws://${HOST}:${srv.port}/socket.io/?EIO=3&transport=websocket${query}`, { perMessageDeflate: false });
  rawWsSet.add(ws);
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = { data: isBinary ? Buffer.from(data) : data.toString('utf8'), isBinary };
    if (waiters.length) waiters.shift()(m); else queue.push(m);
  });
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  const next = (ms = 3000) => (queue.length ? Promise.resolve(queue.shift())
    : within(new Promise((resolve) => waiters.push(resolve)), ms, 'a ws message'));
  const opened = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { ws, next, closed, opened };
}

function closeRawWs() {
  for (const ws of rawWsSet) ws.terminate();
  rawWsSet.clear();
}

function cleanup() {
  closeV2();
  closeAll();
  closeRawWs();
}

/* ======================================================================== */

describe('Engine.IO v3 / socket.io-client 2 (ALLOW_EIO3=true)', function () {
  this.timeout(30000);
  let redis;
  let srv;
  let pub;
  let emitter;
  before(async function () {
    redis = await startRedis();
    srv = await startSioServer({
      env: {
        ALLOW_EIO3: 'true', NAMESPACES: '/,/chat', JWT_SECRET: SECRET, SUBSCRIBE_PATTERNS: '*',
        PUBLISH_PATTERNS: 'chat-*', REDIS_URL: redisUrl(redis), RECOVERY_WINDOW_MS: '0',
      },
    });
    pub = createClient({ url: redisUrl(redis) });
    pub.on('error', () => {});
    await pub.connect();
    emitter = new Emitter(pub);
  });
  after(async function () {
    cleanup();
    if (pub) await pub.quit().catch(() => {});
    await stopAlive(srv);
    await stopRedis(redis);
  });
  afterEach(cleanup);

  const modes = [
    ['polling', { transports: ['polling'] }],
    ['polling, forceBase64', { transports: ['polling'], forceBase64: true }],
    ['websocket', { transports: ['websocket'] }],
    ['polling -> websocket upgrade', { transports: ['polling', 'websocket'] }],
  ];

  /** sio_sockets{namespace} from /metrics. */
  async function socketsIn(nsp) {
    const res = await apiGet(srv.apiPort, '/metrics');
    const line = res.body.split('\n').find((l) => l.startsWith('sio_sockets{') && l.includes(`namespace="${nsp}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function v2Client(opts, nsp = '/') {
    const s = v2(`${srv.url}${nsp === '/' ? '' : nsp}`, { query: { token: token() }, ...opts });
    await v2Connected(s);
    if (opts.transports.length === 2) {
      const engine = s.io.engine;
      if (engine.transport.name !== 'websocket') await within(new Promise((r) => engine.once('upgrade', r)), 5000, 'the upgrade');
    }
    return s;
  }

  for (const [name, opts] of modes) {
    describe(name, function () {
      it('connects "/" with the query token, acks an emit, connects /chat (CONNECT "/chat?token=")', async function () {
        const s = await v2Client(opts);
        assert.equal(s.io.engine.transport.name, opts.transports.length === 2 ? 'websocket' : opts.transports[0]);
        assert.deepEqual(await v2Ack(s, 'subscribe', 'news'), [{ ok: true, rooms: ['news'] }]);
        const chat = s.io.socket('/chat', { query: `token=${token()}` });
        v2Clients.add(chat); // opens itself (autoConnect): a second open() would send a second CONNECT
        await v2Connected(chat);
        assert.deepEqual(await v2Ack(chat, 'subscribe', 'room-in-chat'), [{ ok: true, rooms: ['room-in-chat'] }]);
        // one Engine.IO session carries both
        assert.equal(s.io.engine.id, chat.io.engine.id);
      });

      it('binary both ways: a publish with Buffers reaches another v2 client and a v4 client', async function () {
        const sender = await v2Client(opts);
        const r2 = await v2Client(opts);
        const r4 = await connected(connect(srv.url, { transports: ['websocket'], auth: { token: token() } }));
        assert.deepEqual(await v2Ack(r2, 'subscribe', 'chat-bin'), [{ ok: true, rooms: ['chat-bin'] }]);
        assert.deepEqual(await emitAck(r4, 'subscribe', 'chat-bin'), { ok: true, rooms: ['chat-bin'] });
        const got2 = record(r2, 'file');
        const got4 = record(r4, 'file');
        const data = { name: 'f', bytes: Buffer.from([0, 1, 2, 255]), parts: [Buffer.from('a'), Buffer.alloc(3000, 7)] };
        assert.deepEqual(await v2Ack(sender, 'publish', { room: 'chat-bin', event: 'file', data }), [{ ok: true }]);
        await eventually(() => got2.length === 1 && got4.length === 1, 3000, 'the binary publish');
        assert.deepEqual(got2, [[data]]);
        assert.deepEqual(got4, [[data]]);
      });

      it('disconnect: /chat alone ("41/chat,"), then "/" (the session ends): the server counts them out', async function () {
        const s = await v2Client(opts);
        const chat = s.io.socket('/chat', { query: `token=${token()}` });
        v2Clients.add(chat);
        await v2Connected(chat);
        const root0 = await socketsIn('/');
        const chat0 = await socketsIn('/chat');
        chat.close();
        await eventually(async () => (await socketsIn('/chat')) === chat0 - 1, 3000, 'the /chat socket gone');
        assert.equal(await socketsIn('/'), root0, '"/" stays connected');
        assert.ok(s.connected);
        const disconnected = new Promise((r) => s.once('disconnect', r));
        s.close();
        assert.equal(await within(disconnected, 3000, 'disconnect'), 'io client disconnect');
        await eventually(async () => (await socketsIn('/')) === root0 - 1, 3000, 'the "/" socket gone');
      });
    });
  }

  it('broadcasts from /v1/broadcast and from the redis emitter reach v2 (polling, b64, ws) and v4 clients of one room', async function () {
    const clients = [];
    for (const [, opts] of modes) clients.push(await v2Client(opts));
    const v4 = await connected(connect(srv.url, { transports: ['websocket'], auth: { token: token() } }));
    const v4p = await connected(connect(srv.url, { transports: ['polling'], auth: { token: token() } }));
    for (const s of clients) assert.deepEqual(await v2Ack(s, 'subscribe', 'scores'), [{ ok: true, rooms: ['scores'] }]);
    for (const s of [v4, v4p]) assert.deepEqual(await emitAck(s, 'subscribe', 'scores'), { ok: true, rooms: ['scores'] });
    const all = [...clients, v4, v4p];
    const got = all.map((s) => record(s, 'score'));
    const res = await apiPost(srv.apiPort, { rooms: ['scores'], event: 'score', data: { home: 1, away: 'é😀' } });
    assert.equal(res.status, 202, res.body);
    await eventually(() => got.every((g) => g.length === 1), 3000, 'the API broadcast everywhere');
    emitter.to('scores').emit('score', { home: 2 }, Buffer.from([9, 8, 7]));
    await eventually(() => got.every((g) => g.length === 2), 3000, 'the emitter broadcast everywhere');
    for (const g of got) assert.deepEqual(g, [[{ home: 1, away: 'é😀' }], [{ home: 2 }, Buffer.from([9, 8, 7])]]);
  });

  it('CONNECT_ERROR as v2 sees it: the middleware\'s data (no token), a bare string (unknown namespace)', async function () {
    const s = v2(srv.url, { transports: ['websocket'] });
    const err = await v2Error(s);
    assert.equal(typeof err.reason, 'string', JSON.stringify(err));
    assert.match(err.reason, /missing/i);
    const ok = await v2Client({ transports: ['websocket'] });
    const nope = ok.io.socket('/nope');
    v2Clients.add(nope);
    assert.equal(await v2Error(nope), 'Invalid namespace');
    // the CONNECT_ERROR on the wire is 44/nope,"Invalid namespace"
    const raw = rawV3Ws(srv, `&token=${token()}`);
    assert.equal((await raw.next()).data[0], '0');
    assert.equal((await raw.next()).data, '40');
    raw.ws.send('40/nope?x=1,');
    assert.equal((await raw.next()).data, '44/nope,"Invalid namespace"');
    // the CONNECT's query is the namespace's auth: a bad token there is refused, a good one admitted
    raw.ws.send('40/chat?token=bad,');
    const refused = (await raw.next()).data;
    assert.ok(refused.startsWith('44/chat,{"reason":'), refused);
    raw.ws.send('40/chat?token=' + encodeURIComponent(token()) + ',');
    assert.equal((await raw.next()).data, '40/chat,');
  });

  it('raw polling, text framing: "/" is connected at the handshake ("40"), a ping is answered "3", UTF-16 lengths', async function () {
    const { sid, open, packets } = await rawSession(srv, '&b64=1');
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(typeof open.pingInterval, 'number');
    let all = packets.slice(1);
    if (!all.includes('40')) all = all.concat(...(await pollUntil(srv, sid, (p) => p === '40')).map((a) => a.packets));
    assert.ok(all.includes('40'), JSON.stringify(all));
    // a ping, and an emit with ack whose answer holds an emoji (UTF-16 length 2 each)
    const room = 'é😀';
    const body = `1:2${`421["subscribe","${room}"]`.length}:421["subscribe","${room}"]`;
    assert.equal((await rawPost(srv, sid, body)).body, 'ok');
    const seen = await pollUntil(srv, sid, (p) => p.startsWith('431'));
    const flat = seen.flatMap((a) => a.packets);
    assert.ok(flat.includes('3'), JSON.stringify(flat));
    assert.deepEqual(JSON.parse(flat.find((p) => p.startsWith('431')).slice(3)), [{ ok: true, rooms: [room] }]);
  });

  it('raw polling: a binary packet goes out in the binary framing (octet-stream), or as b4<base64> with b64=1', async function () {
    for (const b64 of [false, true]) {
      const { sid } = await rawSession(srv, b64 ? '&b64=1' : '');
      const room = `bin-${b64}`;
      await rawPost(srv, sid, `${`421["subscribe","${room}"]`.length}:421["subscribe","${room}"]`);
      await pollUntil(srv, sid, (p) => (p.string || p).startsWith?.('431') ?? false, { binary: true });
      emitter.to(room).emit('b', Buffer.from([1, 2, 3]));
      const r = await rawGet(srv, `&sid=${sid}`);
      if (b64) {
        assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
        assert.deepEqual(textPackets(r.body), ['451-["b",{"_placeholder":true,"num":0}]', 'b4AQID']);
      } else {
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        const event = '451-["b",{"_placeholder":true,"num":0}]';
        const expect = Buffer.concat([
          Buffer.from([0, ...[...String(event.length)].map(Number), 0xff]), Buffer.from(event),
          Buffer.from([1, 4, 0xff, 4, 1, 2, 3]),
        ]);
        assert.deepEqual(r.raw, expect);
      }
    }
  });

  it('raw polling: a POST in the binary framing (octet-stream) is decoded, binary attachment included', async function () {
    const r4 = await connected(connect(srv.url, { transports: ['websocket'], auth: { token: token() } }));
    assert.deepEqual(await emitAck(r4, 'subscribe', 'chat-raw'), { ok: true, rooms: ['chat-raw'] });
    const got = record(r4, 'f');
    const { sid } = await rawSession(srv);
    const event = '451-1["publish",{"room":"chat-raw","event":"f","data":{"_placeholder":true,"num":0}}]';
    const digits = (n) => [...String(n)].map(Number);
    const body = Buffer.concat([
      Buffer.from([0, 1, 0xff]), Buffer.from('2'),
      Buffer.from([0, ...digits(event.length), 0xff]), Buffer.from(event),
      Buffer.from([1, 6, 0xff, 4]), Buffer.from([5, 6, 7, 8, 9]),
    ]);
    const res = await rawPost(srv, sid, body, 'application/octet-stream');
    assert.equal(res.status, 200, res.body);
    await eventually(() => got.length === 1, 3000, 'the published binary');
    assert.deepEqual(got, [[Buffer.from([5, 6, 7, 8, 9])]]);
    const flat = (await pollUntil(srv, sid, (p) => p.startsWith('431'))).flatMap((a) => a.packets);
    assert.ok(flat.includes('3'), JSON.stringify(flat));
  });

  it('raw ws: a binary message is 0x04 + the bytes both ways', async function () {
    const raw = rawV3Ws(srv, `&token=${token()}`);
    assert.equal((await raw.next()).data[0], '0');
    assert.equal((await raw.next()).data, '40');
    raw.ws.send('421["subscribe","ws-bin"]');
    assert.equal((await raw.next()).data, '431[{"ok":true,"rooms":["ws-bin"]}]');
    emitter.to('ws-bin').emit('b', Buffer.from([1, 2, 3]));
    assert.equal((await raw.next()).data, '451-["b",{"_placeholder":true,"num":0}]');
    const bin = await raw.next();
    assert.equal(bin.isBinary, true);
    assert.deepEqual(bin.data, Buffer.from([4, 1, 2, 3]));
    // in: publish with an attachment
    const r4 = await connected(connect(srv.url, { transports: ['websocket'], auth: { token: token() } }));
    await emitAck(r4, 'subscribe', 'chat-ws');
    const got = record(r4, 'g');
    raw.ws.send('451-2["publish",{"room":"chat-ws","event":"g","data":{"_placeholder":true,"num":0}}]');
    raw.ws.send(Buffer.from([4, 0xaa, 0xbb]));
    assert.equal((await raw.next()).data, '432[{"ok":true}]');
    await eventually(() => got.length === 1, 3000, 'the binary publish');
    assert.deepEqual(got, [[Buffer.from([0xaa, 0xbb])]]);
    // a ping is answered with a pong
    raw.ws.send('2');
    assert.equal((await raw.next()).data, '3');
  });

  describe('bad input: 400 or a close, the server serving on', function () {
    const texts = [
      ['a non-digit length', 'x:4a'],
      ['a length past the body', '9:4a'],
      ['a missing ":"', '24a'],
      ['a zero length', '0:'],
      ['an over-long digit run', '00000000001:4'],
      ['a length splitting a surrogate pair', '2:4😀'],
      ['a bad packet type', '1:9'],
    ];
    for (const [what, body] of texts) {
      it(`text framing: ${what} -> 400, the session ends`, async function () {
        const { sid } = await rawSession(srv);
        const r = await rawPost(srv, sid, body);
        assert.equal(r.status, 400);
        const again = await rawGet(srv, `&sid=${sid}`);
        assert.equal(again.status, 400);
        assert.deepEqual(JSON.parse(again.body), { code: 1, message: 'Session ID unknown' });
      });
    }
    const binaries = [
      ['no 0xFF', Buffer.from([0, 1, 2])],
      ['a kind other than 0/1', Buffer.from([2, 1, 0xff, 0x34])],
      ['a digit above 9', Buffer.from([0, 10, 0xff, 0x34])],
      ['a length past the body', Buffer.from([0, 9, 0xff, 0x34])],
      ['an over-long digit run', Buffer.from([0, ...Array(11).fill(1), 0xff, 0x34])],
      ['a binary packet of another type', Buffer.from([1, 2, 0xff, 2, 0])],
    ];
    for (const [what, body] of binaries) {
      it(`binary framing: ${what} -> 400, the session ends`, async function () {
        const { sid } = await rawSession(srv);
        const r = await rawPost(srv, sid, body, 'application/octet-stream');
        assert.equal(r.status, 400);
        assert.equal((await rawGet(srv, `&sid=${sid}`)).status, 400);
      });
    }
    for (const [what, msg] of [['without its type byte', Buffer.alloc(0)], ['with type byte 2', Buffer.from([2, 1])]]) {
      it(`ws: a binary message ${what} -> closed`, async function () {
        const raw = rawV3Ws(srv, `&token=${token()}`);
        await raw.opened;
        raw.ws.send(msg);
        await within(raw.closed, 3000, 'the close');
      });
    }
    it('JSONP (j=) is refused with 400; EIO=4 requests on a v3 sid are refused; then a v2 client still connects', async function () {
      const r = await rawGet(srv, '&j=0');
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).code, 3);
      const { sid } = await rawSession(srv);
      const mismatch = await httpRequest({ port: srv.port, path: `/socket.io/?EIO=4&transport=polling&sid=${sid}` });
      assert.equal(mismatch.status, 400);
      assert.equal(JSON.parse(mismatch.body).code, 3);
      const s = await v2Client({ transports: ['polling'] });
      assert.deepEqual(await v2Ack(s, 'subscribe', 'still'), [{ ok: true, rooms: ['still'] }]);
    });
  });
});

describe('Engine.IO v3 heartbeat (PING_INTERVAL=300, PING_TIMEOUT=300)', function () {
  this.timeout(20000);
  let srv;
  before(async function () {
    // recovery on (the default): offered to v4 clients, not to v2 ones
    srv = await startSioServer({ env: { ALLOW_EIO3: 'true', PING_INTERVAL: '300', PING_TIMEOUT: '300', RECOVERY_WINDOW_MS: undefined } });
  });
  after(async function () {
    cleanup();
    await stopAlive(srv);
  });
  afterEach(cleanup);

  for (const transports of [['polling'], ['websocket']]) {
    it(`a v2 client over ${transports[0]} pings, gets pongs, and stays connected 2 s`, async function () {
      const s = v2(srv.url, { transports });
      await v2Connected(s);
      let pongs = 0;
      let gone = null;
      s.io.engine.on('pong', () => { pongs++; });
      s.on('disconnect', (why) => { gone = why; });
      await sleep(2000);
      assert.equal(gone, null, `disconnected: ${gone}`);
      assert.ok(s.connected);
      assert.ok(pongs >= 4, `only ${pongs} pongs in 2 s at a 300 ms interval`);
    });
  }

  it('connection state recovery is not offered to v2 clients: a bare "40" (a v4 client gets sid and pid)', async function () {
    const raw = rawV3Ws(srv);
    assert.equal((await raw.next()).data[0], '0');
    assert.equal((await raw.next()).data, '40');
    const v4 = await connected(connect(srv.url, { transports: ['websocket'] }));
    assert.equal(typeof v4._pid, 'string', 'the v4 client was offered recovery');
  });

  it('a raw v3 polling session that never pings is closed after interval + timeout ("1:1"), then unknown', async function () {
    const r = await rawGet(srv, '');
    const open = JSON.parse(textPackets(r.body)[0].slice(1));
    const t0 = Date.now();
    const seen = [];
    for (let i = 0; i < 10; i++) {
      const p = await rawGet(srv, `&sid=${open.sid}`);
      if (p.status !== 200) break;
      seen.push(...textPackets(p.body));
      if (seen.includes('1')) break;
    }
    const elapsed = Date.now() - t0;
    assert.ok(seen.includes('1'), `no close packet: ${JSON.stringify(seen)}`);
    assert.ok(!seen.includes('2'), 'the server must not ping a v3 session');
    assert.ok(elapsed >= 450 && elapsed < 3000, `closed after ${elapsed} ms`);
    const after = await rawGet(srv, `&sid=${open.sid}`);
    assert.equal(after.status, 400);
  });
});

describe('Engine.IO v3 without ALLOW_EIO3', function () {
  this.timeout(20000);
  let srv;
  before(async function () {
    srv = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0' } });
  });
  after(async function () {
    cleanup();
    await stopAlive(srv);
  });
  afterEach(cleanup);

  it('a v3 handshake gets 400 {"code":5}; over WebSocket too; the v2 client fails to connect', async function () {
    const r = await rawGet(srv, '');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { code: 5, message: 'Unsupported protocol version' });
    const ws = rawV3Ws(srv);
    const refused = await within(new Promise((resolve) => ws.ws.once('unexpected-response', (req, res) => resolve(res.statusCode))), 3000, 'the refusal');
    assert.equal(refused, 400);
    const s = v2(srv.url, { transports: ['polling'] });
    await within(new Promise((resolve) => s.once('connect_error', resolve)), 5000, 'connect_error');
    assert.equal(s.connected, false);
  });
});
