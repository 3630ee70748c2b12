'use strict';
/*
 * Issue 18's options together, with real clients: each is tested alone in its own file
 * (compression, msgpack, eio3); here they meet on one server.
 *   - PARSER=msgpack + PER_MESSAGE_DEFLATE: socket.io-client 4 with
 *     socket.io-msgpack-parser (it offers permessage-deflate itself): a 10 KB broadcast
 *     to 10 clients arrives intact, rendered in msgpack once and compressed once;
 *   - PARSER=auto + PER_MESSAGE_DEFLATE: a default and a msgpack client in one room: one
 *     rendering per format, each compressed once (2 compressions, not 2 x clients);
 *   - ALLOW_EIO3 + PER_MESSAGE_DEFLATE: socket.io-client 2 (engine.io-client 3 offers
 *     deflate too) and 4 in one room share the compressed text frame (one compression),
 *     and a binary publish reaches both (v3 attachments go uncompressed); a room of v2
 *     clients alone gets compressed frames (socket.io-client 2 negotiates deflate);
 *   - ALLOW_EIO3 + HTTP_COMPRESSION: a raw v3 polling session asking for gzip gets its
 *     `<length>:<packet>` payload gzip-encoded.
 */
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const msgpackParser = require('socket.io-msgpack-parser');
const ioV2 = require('socket.io-client-v2');
const { httpRequest } = require('../lib/server');
const {
  sleep, within, startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, apiGet, norm,
} = require('../lib/sio');

const BIG = 'x'.repeat(10000);

function useServer(env) {
  const ctx = { server: null, v2: [] };
  before(async function () {
    ctx.server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', ...env } });
  });
  after(async function () {
    await stopAlive(ctx.server);
  });
  afterEach(function () {
    closeAll();
    for (const s of ctx.v2) s.close();
    ctx.v2 = [];
  });
  return ctx;
}

async function metric(ctx, name) {
  const text = (await apiGet(ctx.server.apiPort, '/metrics')).body;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} on /metrics`);
  return Number(m[1]);
}

async function broadcast(ctx, body) {
  const res = await apiPost(ctx.server.apiPort, body);
  assert.equal(res.status, 202, `broadcast refused: ${res.status} ${res.body}`);
}

/** A socket.io-client 4 socket subscribed to `room`, recording `event`. */
async function v4(ctx, room, opts = {}) {
  const s = connect(ctx.server.url, { transports: ['websocket'], ...opts });
  await connected(s);
  assert.deepEqual(await emitAck(s, 'subscribe', room), { ok: true, rooms: [room] });
  s.got = [];
  s.on('big', (...args) => s.got.push(norm(args)));
  return s;
}

/** A socket.io-client 2 socket (WebSocket only) subscribed to `room`, recording `event`. */
async function v2(ctx, room) {
  const s = ioV2(ctx.server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  ctx.v2.push(s);
  await within(new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }), 5000, 'v2 connect');
  const ack = await within(new Promise((resolve) => s.emit('subscribe', room, resolve)), 3000, 'v2 subscribe');
  assert.deepEqual(ack, { ok: true, rooms: [room] });
  s.got = [];
  s.on('big', (...args) => s.got.push(norm(args)));
  return s;
}

async function allGot(sockets, n, what) {
  await within((async () => { while (!sockets.every((s) => s.got.length >= n)) await sleep(10); })(), 5000, what);
}

describe('PARSER=msgpack with PER_MESSAGE_DEFLATE', function () {
  this.timeout(30000);
  const ctx = useServer({ PARSER: 'msgpack', PER_MESSAGE_DEFLATE: 'true' });

  it('a 10 KB broadcast to 10 msgpack clients: intact, rendered once, compressed once', async function () {
    const socks = [];
    for (let i = 0; i < 10; i++) socks.push(await v4(ctx, 'mp', { parser: msgpackParser }));
    const [renders, deflates] = [await metric(ctx, 'sio_msgpack_encodes_total'), await metric(ctx, 'sio_ws_deflate_total')];
    await broadcast(ctx, { rooms: ['mp'], event: 'big', data: { text: BIG } });
    await allGot(socks, 1, 'the broadcast');
    for (const s of socks) assert.deepEqual(s.got, [[{ text: BIG }]]);
    assert.equal(await metric(ctx, 'sio_msgpack_encodes_total') - renders, 1);
    assert.equal(await metric(ctx, 'sio_ws_deflate_total') - deflates, 1);
  });
});

describe('PARSER=auto with PER_MESSAGE_DEFLATE', function () {
  this.timeout(30000);
  const ctx = useServer({ PARSER: 'auto', PER_MESSAGE_DEFLATE: 'true' });

  it('default and msgpack clients in one room: each format rendered and compressed once', async function () {
    const socks = [];
    for (let i = 0; i < 5; i++) socks.push(await v4(ctx, 'mixed'), await v4(ctx, 'mixed', { parser: msgpackParser }));
    const deflates = await metric(ctx, 'sio_ws_deflate_total');
    await broadcast(ctx, { rooms: ['mixed'], event: 'big', data: BIG });
    await allGot(socks, 1, 'the broadcast');
    for (const s of socks) assert.deepEqual(s.got, [[BIG]]);
    assert.equal(await metric(ctx, 'sio_ws_deflate_total') - deflates, 2, 'one compression per format');
  });
});

describe('ALLOW_EIO3 with PER_MESSAGE_DEFLATE and HTTP_COMPRESSION', function () {
  this.timeout(30000);
  const ctx = useServer({ ALLOW_EIO3: 'true', PER_MESSAGE_DEFLATE: 'true', PUBLISH_PATTERNS: 'both' });

  it('v2 and v4 clients share one compressed text frame; a binary broadcast reaches both', async function () {
    const socks = [];
    for (let i = 0; i < 5; i++) socks.push(await v2(ctx, 'both'), await v4(ctx, 'both'));
    const deflates = await metric(ctx, 'sio_ws_deflate_total');
    await broadcast(ctx, { rooms: ['both'], event: 'big', data: BIG });
    await allGot(socks, 1, 'the text broadcast');
    for (const s of socks) assert.deepEqual(s.got, [[BIG]]);
    assert.equal(await metric(ctx, 'sio_ws_deflate_total') - deflates, 1, 'the same frame for v2 and v4');
    const bin = Buffer.alloc(5000, 7);
    assert.deepEqual(await emitAck(socks[1], 'publish', { room: 'both', event: 'big', data: bin }), { ok: true });
    const others = socks.filter((s) => s !== socks[1]); // a publish is not sent back to its sender
    await allGot(others, 2, 'the binary broadcast');
    for (const s of others) assert.deepEqual(s.got[1], [bin]);
  });

  it('socket.io-client 2 negotiates permessage-deflate: a room of v2 clients only gets compressed frames', async function () {
    const socks = [await v2(ctx, 'v2only'), await v2(ctx, 'v2only'), await v2(ctx, 'v2only')];
    const deflates = await metric(ctx, 'sio_ws_deflate_total');
    await broadcast(ctx, { rooms: ['v2only'], event: 'big', data: `v2${BIG}` });
    await allGot(socks, 1, 'the broadcast');
    for (const s of socks) assert.deepEqual(s.got, [[`v2${BIG}`]]);
    assert.equal(await metric(ctx, 'sio_ws_deflate_total') - deflates, 1);
  });

  it('a v3 polling answer is gzip-encoded for a client that asks, in v3 framing', async function () {
    const base = '/socket.io/?EIO=3&transport=polling&b64=1';
    const open = await httpRequest({ port: ctx.server.port, path: base });
    assert.equal(open.status, 200);
    assert.match(open.body, /2:40$/); // the open packet, then the implicit "/" connect
    const sid = /"sid":"([^"]+)"/.exec(open.body)[1];
    const q = `${base}&sid=${sid}`;
    const poll = httpRequest({ port: ctx.server.port, path: q, headers: { 'Accept-Encoding': 'gzip' } });
    await sleep(100);
    await broadcast(ctx, { event: 'big', data: `é${BIG}` });
    const res = await poll;
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    const body = zlib.gunzipSync(res.raw).toString('utf8');
    const packet = `42["big","é${BIG}"]`;
    assert.equal(body, `${packet.length}:${packet}`);
  });
});
