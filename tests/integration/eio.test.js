'use strict';
/*
 * Engine.IO v4 integration tests.
 *
 * Target: the C binary build/sio-conformance by default, or the Node reference
 * (tests/ref/conformance.js, real engine.io 6.x) with SIO_TARGET=ref.
 * Server configuration under test (both targets): path /engine.io/,
 * pingInterval 300, pingTimeout 200, maxPayload 1000000, CORS origin '*',
 * cookie io=<sid>; Path=/; HttpOnly; SameSite=Lax; every message is echoed.
 *
 * A few assertions describe deliberate differences of the C server from the
 * reference; they are guarded by `isRef()` and commented where they appear.
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const WebSocket = require('ws');
const { Socket: EioClient } = require('engine.io-client');
const { startTarget, stopServer, httpRequest, isRef, HOST } = require('../lib/server');

const EIO_PATH = '/engine.io/';
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1000000;
const SEP = '\x1e';
const SID_RE = /^[A-Za-z0-9_-]{20}$/;

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects if `promise` does not settle within ms. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts one server for the enclosing describe block; fails if it dies meanwhile. */
function useServer() {
  const ctx = { server: null, port: 0 };
  before(async function () {
    ctx.server = await startTarget();
    ctx.port = ctx.server.port;
  });
  after(async function () {
    if (!ctx.server) return;
    const { proc } = ctx.server;
    const alive = proc.exitCode === null && proc.signalCode === null;
    const info = await stopServer(ctx.server);
    assert.ok(alive, `server died during the tests (${JSON.stringify(info)}):\n${ctx.server.stderr()}`);
  });
  return ctx;
}

function eioPath(params) {
  return `${EIO_PATH}?${new URLSearchParams({ EIO: '4', ...params })}`;
}
const pollPath = (sid) => eioPath({ transport: 'polling', sid });

/** Polling handshake; returns {res, open, sid}. */
async function handshake(port, headers = {}) {
  const res = await httpRequest({ port, path: eioPath({ transport: 'polling' }), headers });
  assert.equal(res.status, 200, `handshake failed: ${res.status} ${res.body}`);
  assert.equal(res.body[0], '0', `handshake body must start with an open packet: ${res.body}`);
  const open = JSON.parse(res.body.slice(1));
  return { res, open, sid: open.sid };
}

const get = (port, sid, timeoutMs = 5000) => httpRequest({ port, path: pollPath(sid), timeoutMs });

function post(port, sid, body, timeoutMs = 5000) {
  return httpRequest({
    port,
    method: 'POST',
    path: pollPath(sid),
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    body,
    timeoutMs,
  });
}

/**
 * Polls until `count` packets other than ping/noop arrived; answers pings with
 * pongs so that slow steps do not kill the session.
 */
async function pollPackets(port, sid, count, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  const out = [];
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`only got ${out.length}/${count} packets: ${JSON.stringify(out)}`);
    const res = await get(port, sid, left);
    assert.equal(res.status, 200, `poll failed: ${res.status} ${res.body}`);
    for (const p of res.body.split(SEP)) {
      if (p === '2') {
        const pong = await post(port, sid, '3');
        assert.equal(pong.status, 200);
      } else if (p !== '6') {
        out.push(p);
      }
    }
  }
  return out;
}

function assertEioError(res, code, message) {
  assert.equal(res.status, 400, `expected 400, got ${res.status} ${res.body}`);
  assert.equal(res.body, JSON.stringify({ code, message }));
  assert.equal(res.headers['content-type'], 'application/json');
}

async function assertSidUnknown(port, sid) {
  assertEioError(await get(port, sid), 1, 'Session ID unknown');
}

/**
 * Raw WebSocket client with a message queue.
 *   next(ms)   -> next {data, isBinary, at} (text as string, binary as Buffer)
 *   opened     -> resolves on 'open', rejects on error / non-101 response
 *   closed     -> resolves {code, reason, at} on 'close'
 * With autoPong, server pings ('2') are answered with '3' and recorded in
 * `pings` (timestamps) instead of being queued.
 */
const openSockets = new Set();
function wsClient(port, params = {}, { autoPong = false, headers } = {}) {
  const url = `ws://${HOST}:${port}${eioPath({ transport: 'websocket', ...params })}`;
  const ws = new WebSocket(url, { perMessageDeflate: false, headers });
  openSockets.add(ws);
  const queue = [];
  const waiters = [];
  const pings = [];
  const messages = [];
  let closedInfo = null;
  let unexpected = null;

  ws.on('message', (raw, isBinary) => {
    const m = { data: isBinary ? raw : raw.toString('utf8'), isBinary, at: Date.now() };
    messages.push(m);
    if (autoPong && !isBinary && m.data === '2') {
      pings.push(m.at);
      ws.send('3');
      return;
    }
    if (waiters.length) waiters.shift().resolve(m);
    else queue.push(m);
  });
  ws.on('error', () => { /* surfaced through opened/closed */ });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        unexpected = { status: res.statusCode, headers: res.headers, body };
        reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), unexpected));
        ws.terminate();
      });
    });
  });
  opened.catch(() => {});
  const closed = new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      openSockets.delete(ws);
      closedInfo = { code, reason: reason.toString(), at: Date.now() };
      while (waiters.length) waiters.shift().reject(new Error(`websocket closed (${code}) while waiting for a message`));
      resolve(closedInfo);
    });
  });

  function next(ms = 3000) {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closedInfo) return Promise.reject(new Error(`websocket closed (${closedInfo.code})`));
    return within(new Promise((resolve, reject) => waiters.push({ resolve, reject })), ms, 'a websocket message');
  }

  return {
    ws, opened, closed, next, pings, messages,
    get unexpected() { return unexpected; },
    send: (d) => ws.send(d),
  };
}

function cleanupSockets() {
  for (const ws of openSockets) ws.terminate();
  openSockets.clear();
}

/* engine.io-client helpers */
const openClients = new Set();
function eioClient(port, opts = {}) {
  const socket = new EioClient(`http://${HOST}:${port}`, { path: EIO_PATH, ...opts });
  openClients.add(socket);
  socket.on('close', () => openClients.delete(socket));
  return socket;
}

function waitOpen(socket, ms = 5000) {
  return within(new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
  }), ms, 'engine.io-client open');
}

function collectMessages(socket, n, ms = 5000) {
  return within(new Promise((resolve, reject) => {
    const got = [];
    const onClose = (reason, desc) => {
      socket.off('message', onMsg);
      reject(new Error(`session closed (${reason}${desc ? `: ${desc.message || desc}` : ''}) ` +
        `on ${socket.transport ? socket.transport.name : '?'} after ${got.length}/${n} messages`));
    };
    const onMsg = (m) => {
      got.push(m);
      if (got.length === n) {
        socket.off('message', onMsg);
        socket.off('close', onClose);
        resolve(got);
      }
    };
    socket.on('message', onMsg);
    socket.once('close', onClose);
  }), ms, `${n} echoed messages`);
}

function closeClients() {
  for (const s of openClients) s.close();
  openClients.clear();
}

/** engine.io-client hands binary messages over as Buffer in Node; accept ArrayBuffer(View) too. */
function asBuffer(m) {
  if (Buffer.isBuffer(m)) return m;
  if (m instanceof ArrayBuffer) return Buffer.from(m);
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

/* ------------------------------------------------------------------ */
/* 1. engine.io-client                                                */
/* ------------------------------------------------------------------ */

describe('Engine.IO: engine.io-client 6.x', function () {
  const ctx = useServer();
  afterEach(closeClients);

  const payloads = () => [
    'first',
    Buffer.from([0, 1, 2, 253, 254, 255]),
    'second with unicode: héllo € 😀',
    Buffer.alloc(0),
    'x'.repeat(5000),
    Buffer.from('binary-ish text'),
    'last',
  ];

  async function echoRoundTrip(socket) {
    const sent = payloads();
    const got = collectMessages(socket, sent.length);
    for (const p of sent) socket.send(p);
    const received = await got;
    assert.equal(received.length, sent.length);
    sent.forEach((s, i) => {
      if (typeof s === 'string') {
        assert.equal(typeof received[i], 'string', `message ${i} should be text`);
        assert.equal(received[i], s, `message ${i} out of order or corrupted`);
      } else {
        assert.notEqual(typeof received[i], 'string', `message ${i} should be binary`);
        assert.deepEqual(asBuffer(received[i]), s, `binary message ${i} corrupted`);
      }
    });
  }

  it("transports ['polling'] only: opens, echoes text and binary in order", async function () {
    const socket = eioClient(ctx.port, { transports: ['polling'] });
    await waitOpen(socket);
    assert.equal(socket.transport.name, 'polling');
    assert.match(socket.id, SID_RE);
    await echoRoundTrip(socket);
    assert.equal(socket.transport.name, 'polling');
  });

  it("transports ['websocket'] only: opens, echoes text and binary in order", async function () {
    const socket = eioClient(ctx.port, { transports: ['websocket'] });
    await waitOpen(socket);
    assert.equal(socket.transport.name, 'websocket');
    assert.match(socket.id, SID_RE);
    await echoRoundTrip(socket);
  });

  it('default transports: starts with polling and upgrades to websocket', async function () {
    const socket = eioClient(ctx.port);
    const upgraded = within(new Promise((resolve) => socket.once('upgrade', resolve)), 5000, 'upgrade');
    await waitOpen(socket);
    assert.equal(socket.transport.name, 'polling', 'first transport should be polling');
    const sid = socket.id;
    const t = await upgraded;
    assert.equal(t.name, 'websocket');
    assert.equal(socket.transport.name, 'websocket');
    assert.equal(socket.id, sid, 'the session id must survive the upgrade');
    await echoRoundTrip(socket);
  });

  it('messages sent before the upgrade completes are all echoed in order', async function () {
    const socket = eioClient(ctx.port);
    await waitOpen(socket);
    const upgraded = within(new Promise((resolve) => socket.once('upgrade', resolve)), 5000, 'upgrade');
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    const got = collectMessages(socket, sent.length);
    for (const m of sent) socket.send(m);
    await upgraded;
    assert.deepEqual(await got, sent);
  });

  it('the session stays open across several heartbeats (client answers pings)', async function () {
    const socket = eioClient(ctx.port, { transports: ['websocket'] });
    await waitOpen(socket);
    let closed = false;
    socket.on('close', () => { closed = true; });
    let pings = 0;
    socket.on('ping', () => { pings++; });
    await sleep(4 * PING_INTERVAL);
    assert.equal(closed, false);
    assert.ok(pings >= 2, `expected >= 2 pings in ${4 * PING_INTERVAL} ms, got ${pings}`);
    const got = collectMessages(socket, 1);
    socket.send('still-alive');
    assert.deepEqual(await got, ['still-alive']);
  });
});

/* ------------------------------------------------------------------ */
/* 2. Handshake                                                        */
/* ------------------------------------------------------------------ */

describe('Engine.IO: polling handshake', function () {
  const ctx = useServer();

  it('GET ?EIO=4&transport=polling returns the open packet', async function () {
    const res = await httpRequest({ port: ctx.port, path: eioPath({ transport: 'polling' }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.ok(res.body.startsWith('0{'), `body: ${res.body}`);
    assert.equal(Number(res.headers['content-length']), res.raw.length);
    const open = JSON.parse(res.body.slice(1));
    assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
    assert.match(open.sid, SID_RE);
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
    assert.equal(open.maxPayload, MAX_PAYLOAD);
  });

  it('sets the io cookie to the sid', async function () {
    const { res, sid } = await handshake(ctx.port);
    const cookies = res.headers['set-cookie'];
    assert.ok(Array.isArray(cookies), 'Set-Cookie header missing');
    assert.deepEqual(cookies, [`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
  });

  it('every handshake creates a distinct sid', async function () {
    const sids = new Set();
    for (let i = 0; i < 20; i++) sids.add((await handshake(ctx.port)).sid);
    assert.equal(sids.size, 20);
  });

  it('answers a CORS request with Access-Control-Allow-Origin: *', async function () {
    const { res } = await handshake(ctx.port, { Origin: 'http://example.com' });
    assert.equal(res.headers['access-control-allow-origin'], '*');
    // origin '*' => no credentials, no Vary: Origin (reference: cors package)
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('ignores a query string with extra parameters (t=..., b64)', async function () {
    const res = await httpRequest({ port: ctx.port, path: `${eioPath({ transport: 'polling' })}&t=PzDn3x1&foo=bar` });
    assert.equal(res.status, 200);
    assert.ok(res.body.startsWith('0{'));
  });
});

/* ------------------------------------------------------------------ */
/* 3. HTTP errors, CORS preflight                                     */
/* ------------------------------------------------------------------ */

describe('Engine.IO: HTTP error responses', function () {
  const ctx = useServer();

  it('unknown transport -> 400 code 0', async function () {
    const res = await httpRequest({ port: ctx.port, path: eioPath({ transport: 'foo' }) });
    assertEioError(res, 0, 'Transport unknown');
  });

  it('missing transport -> 400 code 0', async function () {
    const res = await httpRequest({ port: ctx.port, path: `${EIO_PATH}?EIO=4` });
    assertEioError(res, 0, 'Transport unknown');
  });

  it('unknown sid (GET and POST) -> 400 code 1', async function () {
    assertEioError(await get(ctx.port, 'AAAAAAAAAAAAAAAAAAAA'), 1, 'Session ID unknown');
    assertEioError(await post(ctx.port, 'AAAAAAAAAAAAAAAAAAAA', '4hi'), 1, 'Session ID unknown');
  });

  it('POST handshake (no sid) -> 400 code 2', async function () {
    const res = await httpRequest({ port: ctx.port, method: 'POST', path: eioPath({ transport: 'polling' }), body: '4x' });
    assertEioError(res, 2, 'Bad handshake method');
  });

  it('transport=websocket without Upgrade and without sid -> 400 code 3', async function () {
    const res = await httpRequest({ port: ctx.port, path: eioPath({ transport: 'websocket' }) });
    assertEioError(res, 3, 'Bad request');
  });

  it('EIO=3 -> 400 code 5', async function () {
    const res = await httpRequest({ port: ctx.port, path: `${EIO_PATH}?EIO=3&transport=polling` });
    assertEioError(res, 5, 'Unsupported protocol version');
  });

  it('missing EIO -> 400 code 5', async function () {
    const res = await httpRequest({ port: ctx.port, path: `${EIO_PATH}?transport=polling` });
    assertEioError(res, 5, 'Unsupported protocol version');
  });

  it('error responses carry Access-Control-Allow-Origin: * for an Origin request', async function () {
    const res = await httpRequest({
      port: ctx.port,
      path: pollPath('AAAAAAAAAAAAAAAAAAAA'),
      headers: { Origin: 'http://example.com' },
    });
    assertEioError(res, 1, 'Session ID unknown');
    assert.equal(res.headers['access-control-allow-origin'], '*');
  });

  it('CORS preflight OPTIONS is answered 204 even for an unknown sid', async function () {
    const res = await httpRequest({
      port: ctx.port,
      method: 'OPTIONS',
      path: pollPath('AAAAAAAAAAAAAAAAAAAA'),
      headers: {
        Origin: 'http://example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const methods = (res.headers['access-control-allow-methods'] || '').split(',').map((m) => m.trim());
    for (const m of ['GET', 'POST']) assert.ok(methods.includes(m), `Allow-Methods lacks ${m}: ${methods}`);
    // the requested headers are reflected (cors package behaviour)
    assert.match(res.headers['access-control-allow-headers'] || '', /content-type/i);
  });

  it('WebSocket upgrade with an unknown sid is refused with HTTP 400', async function () {
    const c = wsClient(ctx.port, { sid: 'AAAAAAAAAAAAAAAAAAAA' });
    await assert.rejects(within(c.opened, 3000, 'ws refusal'));
    await within(c.closed, 3000, 'ws close');
    assert.ok(c.unexpected, 'expected a non-101 HTTP response');
    assert.equal(c.unexpected.status, 400);
    // reference (engine.io abortUpgrade): text/html body with the bare message
    assert.equal(c.unexpected.body, 'Session ID unknown');
    assert.equal(c.messages.length, 0);
  });
});

/* ------------------------------------------------------------------ */
/* 4. Polling semantics                                                */
/* ------------------------------------------------------------------ */

describe('Engine.IO: long-polling semantics', function () {
  const ctx = useServer();

  it('POST 4hello -> 200 ok; the held GET returns 4hello', async function () {
    const { sid } = await handshake(ctx.port);
    let settled = false;
    const held = get(ctx.port, sid).finally(() => { settled = true; });
    await sleep(80);
    assert.equal(settled, false, 'GET with nothing to send must be held open');
    const p = await post(ctx.port, sid, '4hello');
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
    const res = await within(held, 2000, 'held GET');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(res.body, '4hello');
  });

  it('buffered packets are joined with \\x1e, binary as b<base64>', async function () {
    const { sid } = await handshake(ctx.port);
    // no GET pending: the three echoes must be buffered and delivered together
    const p = await post(ctx.port, sid, ['4a', '4b€', 'bAQID/w=='].join(SEP));
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
    const res = await get(ctx.port, sid);
    assert.equal(res.status, 200);
    const packets = res.body.split(SEP).filter((x) => x !== '2');
    assert.deepEqual(packets, ['4a', '4b€', 'bAQID/w==']);
    assert.equal(Number(res.headers['content-length']), res.raw.length, 'Content-Length must count bytes');
  });

  it('echoes UTF-8 text and binary individually, in order', async function () {
    const { sid } = await handshake(ctx.port);
    const sent = ['4héllo wörld 😀', `b${Buffer.from([0, 255, 128, 7]).toString('base64')}`, '4', '4last'];
    for (const s of sent) assert.equal((await post(ctx.port, sid, s)).body, 'ok');
    assert.deepEqual(await pollPackets(ctx.port, sid, sent.length), sent);
  });

  it('a second concurrent GET -> 400 and the session is closed', async function () {
    const { sid } = await handshake(ctx.port);
    const first = get(ctx.port, sid);
    await sleep(80);
    const second = await get(ctx.port, sid);
    assert.equal(second.status, 400);
    const firstRes = await within(first, 2000, 'first GET to be released');
    assert.equal(firstRes.status, 200);
    // reference: the pending GET is released with a close packet
    assert.equal(firstRes.body, '1');
    await assertSidUnknown(ctx.port, sid);
  });

  it('POST of packet 1 (close) ends the session and releases the held GET', async function () {
    const { sid } = await handshake(ctx.port);
    const held = get(ctx.port, sid);
    await sleep(80);
    const p = await post(ctx.port, sid, '1');
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
    const h = await within(held, 2000, 'held GET to be released');
    assert.equal(h.status, 200);
    // reference: noop '6' (the client asked to close, no close packet is sent back)
    assert.equal(h.body, '6');
    await assertSidUnknown(ctx.port, sid);
    assertEioError(await post(ctx.port, sid, '4x'), 1, 'Session ID unknown');
  });

  it('POST just under maxPayload is accepted and echoed intact', async function () {
    const { sid } = await handshake(ctx.port);
    const msg = `4${'y'.repeat(998999)}`; // 999,000 bytes
    const p = await post(ctx.port, sid, msg, 10000);
    assert.equal(p.status, 200);
    assert.equal(p.body, 'ok');
    const [echo] = await pollPackets(ctx.port, sid, 1, 10000);
    assert.equal(echo.length, msg.length);
    assert.ok(echo === msg, 'echo differs from the sent message');
  });

  it('POST over maxPayload -> 413', async function () {
    const { sid } = await handshake(ctx.port);
    const p = await post(ctx.port, sid, `4${'z'.repeat(1000099)}`, 10000); // 1,000,100 bytes
    assert.equal(p.status, 413);
    if (!isRef()) {
      // sio-specific: the C server closes the session after a 413. engine.io
      // (the reference) keeps the session open, so this is skipped for ref.
      await assertSidUnknown(ctx.port, sid);
    }
  });
});

/* ------------------------------------------------------------------ */
/* 5. WebSocket (raw ws)                                               */
/* ------------------------------------------------------------------ */

describe('Engine.IO: raw WebSocket', function () {
  const ctx = useServer();
  afterEach(cleanupSockets);

  it('direct websocket receives the open packet', async function () {
    const c = wsClient(ctx.port);
    await within(c.opened, 3000, 'ws open');
    const m = await c.next();
    assert.equal(m.isBinary, false);
    assert.ok(m.data.startsWith('0{'), m.data);
    const open = JSON.parse(m.data.slice(1));
    assert.match(open.sid, SID_RE);
    assert.deepEqual(open.upgrades, []);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
    assert.equal(open.maxPayload, MAX_PAYLOAD);
  });

  it('echoes text frames and binary frames', async function () {
    const c = wsClient(ctx.port);
    await within(c.opened, 3000, 'ws open');
    assert.ok((await c.next()).data.startsWith('0{'));
    c.send('4abc');
    let m = await c.next();
    assert.deepEqual({ data: m.data, isBinary: m.isBinary }, { data: '4abc', isBinary: false });
    const bin = Buffer.from([0, 1, 2, 3, 250, 255]);
    c.send(bin);
    m = await c.next();
    assert.equal(m.isBinary, true);
    assert.deepEqual(m.data, bin);
    c.send('4héllo 😀');
    m = await c.next();
    assert.equal(m.data, '4héllo 😀');
    // several in a row keep their order
    const many = Array.from({ length: 20 }, (_, i) => `4n${i}`);
    for (const x of many) c.send(x);
    const got = [];
    for (let i = 0; i < many.length; i++) got.push((await c.next()).data);
    assert.deepEqual(got, many);
  });

  it('upgrade from polling: 2probe/3probe, noop on the held GET, 5, then polling is refused', async function () {
    const { sid } = await handshake(ctx.port);
    const held = get(ctx.port, sid);
    await sleep(30);
    const c = wsClient(ctx.port, { sid });
    await within(c.opened, 3000, 'ws open');
    c.send('2probe');
    const probe = await c.next();
    assert.deepEqual({ data: probe.data, isBinary: probe.isBinary }, { data: '3probe', isBinary: false });
    // the server forces the pending poll to return (noop) so the client can upgrade
    const h = await within(held, 2000, 'held GET to be released during the upgrade');
    assert.equal(h.status, 200);
    assert.equal(h.body, '6');
    c.send('5');
    c.send('4after-upgrade');
    const echo = await c.next();
    assert.equal(echo.data, '4after-upgrade');

    // polling with that sid is now a transport mismatch
    assertEioError(await get(ctx.port, sid), 3, 'Bad request');
    assertEioError(await post(ctx.port, sid, '4x'), 3, 'Bad request');

    // a second websocket for the same sid gets no open packet and is closed
    const c2 = wsClient(ctx.port, { sid });
    const closed2 = await within(c2.closed, 3000, 'second websocket to be closed');
    assert.equal(c2.messages.length, 0, `second websocket got messages: ${JSON.stringify(c2.messages)}`);
    if (isRef()) {
      // engine.io completes the WebSocket handshake, then closes without a status (1005)
      assert.equal(closed2.code, 1005);
    }

    // the upgraded session is unaffected
    c.send(Buffer.from([9, 8, 7]));
    const b = await c.next();
    assert.equal(b.isBinary, true);
    assert.deepEqual(b.data, Buffer.from([9, 8, 7]));
  });

  it('polling keeps working while an upgrade is in progress, then the websocket takes over', async function () {
    const { sid } = await handshake(ctx.port);
    const c = wsClient(ctx.port, { sid });
    await within(c.opened, 3000, 'ws open');
    c.send('2probe');
    assert.equal((await c.next()).data, '3probe');
    // while upgrading, polling is still the active transport
    assert.equal((await post(ctx.port, sid, '4during')).body, 'ok');
    const packets = await pollPackets(ctx.port, sid, 1);
    assert.deepEqual(packets, ['4during']);
    c.send('5');
    c.send('4ws');
    assert.equal((await c.next()).data, '4ws');
  });
});

/* ------------------------------------------------------------------ */
/* 6. Heartbeat                                                        */
/* ------------------------------------------------------------------ */

describe('Engine.IO: heartbeat', function () {
  const ctx = useServer();
  afterEach(cleanupSockets);

  it('websocket: pings every ~pingInterval; answering keeps the session alive for > 1.5 s', async function () {
    const c = wsClient(ctx.port, {}, { autoPong: true });
    await within(c.opened, 3000, 'ws open');
    const open = await c.next();
    assert.ok(open.data.startsWith('0{'));
    await sleep(1700);
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'session was closed despite pongs');
    assert.ok(c.pings.length >= 4, `expected >= 4 pings in 1.7 s, got ${c.pings.length}`);
    assert.ok(c.pings.length <= 8, `too many pings in 1.7 s: ${c.pings.length}`);
    const first = c.pings[0] - open.at;
    assert.ok(first >= 200 && first <= 700, `first ping after ${first} ms`);
    for (let i = 1; i < c.pings.length; i++) {
      const d = c.pings[i] - c.pings[i - 1];
      assert.ok(d >= 200 && d <= 700, `ping interval ${d} ms`);
    }
    c.send('4alive');
    assert.equal((await c.next()).data, '4alive');
  });

  it('websocket: a client that does not answer pings is closed within pingInterval + pingTimeout', async function () {
    const c = wsClient(ctx.port);
    await within(c.opened, 3000, 'ws open');
    const open = await c.next();
    assert.ok(open.data.startsWith('0{'));
    const closed = await within(c.closed, 3000, 'server to close the silent client');
    const dt = closed.at - open.at;
    assert.ok(dt >= 400 && dt <= 1500, `closed after ${dt} ms (expected ~${PING_INTERVAL + PING_TIMEOUT})`);
    assert.ok(c.messages.some((m) => m.data === '2'), 'a ping must be sent before the timeout');
  });

  it('polling: the held GET returns 2; pong keeps the session; silence closes it', async function () {
    const { sid } = await handshake(ctx.port);
    const t0 = Date.now();
    let res = await get(ctx.port, sid);
    const dt1 = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.equal(res.body, '2');
    assert.ok(dt1 >= 200 && dt1 <= 1000, `first ping after ${dt1} ms`);

    assert.equal((await post(ctx.port, sid, '3')).body, 'ok');
    const t1 = Date.now();
    res = await get(ctx.port, sid);
    const dt2 = Date.now() - t1;
    assert.equal(res.body, '2', 'second ping expected after the pong');
    assert.ok(dt2 >= 200 && dt2 <= 1000, `second ping after ${dt2} ms`);

    // do not answer: the held GET is released with a close packet, then the sid is gone
    const t2 = Date.now();
    res = await get(ctx.port, sid, 3000);
    const dt3 = Date.now() - t2;
    assert.equal(res.status, 200);
    assert.equal(res.body, '1');
    assert.ok(dt3 <= 1000, `ping timeout took ${dt3} ms`);
    await assertSidUnknown(ctx.port, sid);
  });

  it('polling: a session whose client stops polling disappears', async function () {
    const { sid } = await handshake(ctx.port);
    await sleep(PING_INTERVAL + PING_TIMEOUT + 500);
    await assertSidUnknown(ctx.port, sid);
  });
});

/* ------------------------------------------------------------------ */
/* 7. Payload limits over WebSocket                                    */
/* ------------------------------------------------------------------ */

describe('Engine.IO: websocket payload limits', function () {
  const ctx = useServer();
  afterEach(cleanupSockets);

  it('a text message just under maxPayload is echoed intact', async function () {
    const c = wsClient(ctx.port, {}, { autoPong: true });
    await within(c.opened, 3000, 'ws open');
    assert.ok((await c.next()).data.startsWith('0{'));
    const msg = `4${'q'.repeat(998999)}`; // 999,000 bytes
    c.send(msg);
    const m = await c.next(10000);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.length, msg.length);
    assert.ok(m.data === msg, 'echo differs');
  });

  it('a binary message just under maxPayload is echoed intact', async function () {
    const c = wsClient(ctx.port, {}, { autoPong: true });
    await within(c.opened, 3000, 'ws open');
    assert.ok((await c.next()).data.startsWith('0{'));
    const buf = Buffer.alloc(999000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 31) & 0xff;
    c.send(buf);
    const m = await c.next(10000);
    assert.equal(m.isBinary, true);
    assert.ok(buf.equals(m.data), 'binary echo differs');
  });

  it('a message over maxPayload closes the connection without echo', async function () {
    const c = wsClient(ctx.port, {}, { autoPong: true });
    await within(c.opened, 3000, 'ws open');
    assert.ok((await c.next()).data.startsWith('0{'));
    c.send(`4${'o'.repeat(1000099)}`); // 1,000,100 bytes
    const closed = await within(c.closed, 5000, 'close after oversize message');
    const echoes = c.messages.filter((m) => !m.isBinary && m.data.startsWith('4'));
    assert.equal(echoes.length, 0, 'oversize message must not be echoed');
    if (isRef()) {
      // ws (engine.io) closes with 1009 "Message Too Big"
      assert.equal(closed.code, 1009);
    }
    // C target: 1009 is expected, but any close without an echo is accepted
    // (e.g. 1006 when the server drops the TCP connection after the close frame)
  });
});

/* ------------------------------------------------------------------ */
/* 8. Many concurrent sessions                                         */
/* ------------------------------------------------------------------ */

describe('Engine.IO: many (200) concurrent engine.io-client sessions', function () {
  const ctx = useServer();
  let agent = null;
  afterEach(function () {
    closeClients();
    if (agent) agent.destroy();
    agent = null;
  });

  it('every session gets its own echo', async function () {
    this.timeout(40000);
    // SIO_EIO_SESSIONS lowers N on a machine too slow for 200 sessions
    // heartbeating every 300 ms (default and requirement: 200)
    const N = Number(process.env.SIO_EIO_SESSIONS) || 200;
    const BATCH = 50;
    const kinds = [['polling'], ['websocket'], undefined];
    // With pingInterval 300 / pingTimeout 200, a busy machine can stall a few
    // sessions past the heartbeat deadline (the heartbeat itself is tested
    // strictly above). Such a session is replaced by a fresh one, at most
    // MAX_ATTEMPTS times per client and MAX_LOST times in total: a server that
    // cannot keep concurrent sessions alive loses far more and fails.
    const MAX_ATTEMPTS = 3;
    const MAX_LOST = N / 4;
    const HEARTBEAT_LOSS = ['ping timeout', 'transport close', 'transport error'];
    // One keep-alive agent for every client: far fewer TCP connections than
    // engine.io-client's default (agent:false, one connection per poll), which
    // keeps 200 heartbeating sessions affordable and exercises keep-alive on
    // the server. The other tests use one connection per request.
    agent = new http.Agent({ keepAlive: true });
    const lost = [];

    async function openSession(i) {
      const transports = kinds[i % kinds.length];
      const socket = eioClient(ctx.port, { agent, ...(transports ? { transports } : {}) });
      socket.closedReason = null;
      socket.once('close', (reason) => { socket.closedReason = reason; });
      await waitOpen(socket, 15000);
      return socket;
    }

    async function echo(socket, i) {
      if (socket.closedReason) throw new Error(`session ${i} closed (${socket.closedReason}) before sending`);
      const mine = `client-${i}-${socket.id}-${Math.random().toString(36).slice(2)}`;
      const got = collectMessages(socket, 1, 15000);
      if (i % 2 === 0) {
        socket.send(mine);
        assert.deepEqual(await got, [mine], `client ${i} did not get its own text message`);
      } else {
        socket.send(Buffer.from(mine));
        const [bin] = await got;
        assert.deepEqual(asBuffer(bin), Buffer.from(mine), `client ${i} did not get its own binary message`);
      }
      return socket.id;
    }

    async function echoWithReplacement(i, socket) {
      for (let attempt = 1; ; attempt++) {
        try {
          if (!socket) socket = await openSession(i);
          return await echo(socket, i);
        } catch (err) {
          const reason = socket && socket.closedReason;
          if (!HEARTBEAT_LOSS.includes(reason) || attempt >= MAX_ATTEMPTS) throw err;
          lost.push(`${i}:${reason}`);
          if (lost.length > MAX_LOST) throw new Error(`too many sessions lost: ${lost.join(' ')}`);
          socket.close();
          socket = null;
        }
      }
    }

    // phase 1: open all N sessions (in batches, to avoid a 200-handshake spike)
    const sockets = [];
    await within((async () => {
      for (let b = 0; b < N; b += BATCH) {
        const ids = Array.from({ length: Math.min(BATCH, N - b) }, (_, k) => b + k);
        sockets.push(...await Promise.all(ids.map(openSession)));
      }
    })(), 25000, `${N} sessions to open`);
    const openAtOnce = sockets.filter((s) => s.readyState === 'open').length;
    assert.ok(openAtOnce >= N - MAX_LOST, `only ${openAtOnce}/${N} sessions open at the same time`);

    // phase 2: every session sends a unique message (text or binary) at once
    const sids = await within(Promise.all(sockets.map((s, i) => echoWithReplacement(i, s))), 30000, `${N} echoes`);
    assert.equal(new Set(sids).size, N, 'sids must be unique');
    if (lost.length) {
      console.warn(`      note: ${lost.length} session(s) lost to heartbeat timeouts and replaced: ${lost.join(' ')}`);
    }
  });
});
