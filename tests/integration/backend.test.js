'use strict';
/*
 * The application backend (README "Backends"): sio-server's connect proxy
 * (CONNECT_PROXY_URL: cookie or token auth decided by the backend, rooms,
 * patterns, user and data, events to emit at once), client events handed to
 * the backend (EVENT_PROXY_URL + PROXY_EVENTS, acks from its answer, per-socket
 * order, bounded queues), lifecycle events, expiry and refresh, the worker
 * queue (EVENT_STREAM) and serverSideEmit from a Node peer. The backend is a
 * real Node HTTP server in this process; clients are socket.io-client.
 */
const assert = require('node:assert/strict');
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const { freePort } = require('../lib/server');
const {
  sleep, within, eventually, startSioServer, stopAlive, connect, connected, connectError, closeAll,
  apiPost, apiGet, jwtHS256, nowSec,
} = require('../lib/sio');
const { startRedis, stopRedis } = require('../lib/redis');
const { startBackend, json } = require('../lib/backend');

const HOST = '127.0.0.1';

/** The cookie-checking connect handler of the backgammon service. */
function cookieAuth(body, req, res) {
  if (req.url !== '/connect') return json(res, {});
  const cookie = (body && body.headers && body.headers.cookie) || '';
  if (!/session=good/.test(cookie)) {
    return json(res, { allow: false, reason: 'no session', data: { login: '/login' } });
  }
  return json(res, {
    allow: true,
    user: 'alice',
    data: { plan: 'pro' },
    rooms: ['user:alice'],
    emit: [{ event: 'welcome', args: ['hi alice'] }],
  });
}

function rssKb(pid) {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

describe('backend: connect proxy', function () {
  this.timeout(30000);
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(cookieAuth);
    server = await startSioServer({
      env: { RECOVERY_WINDOW_MS: '0', CONNECT_PROXY_URL: `${backend.url}/connect`, PROXY_TIMEOUT_MS: '1000' },
    });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(() => { closeAll(); backend.handle = cookieAuth; backend.requests.length = 0; });

  it('admits a cookie-authenticated client with its rooms, data and welcome message', async function () {
    const socket = connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: 'a=1; session=good' }, auth: { app: 'bg' } });
    const welcome = new Promise((r) => socket.on('welcome', r));
    await connected(socket);
    assert.equal(await within(welcome, 2000, 'welcome'), 'hi alice');
    const req = backend.requests.find((r) => r.path === '/connect').body;
    assert.equal(req.type, 'connect');
    assert.equal(req.namespace, '/');
    assert.equal(req.sid, socket.id);
    assert.deepEqual(req.auth, { app: 'bg' });
    assert.equal(req.headers.cookie, 'a=1; session=good');
    assert.equal(req.address, HOST);
    assert.equal(req.transport, 'websocket');
    // auto-joined room: a broadcast to it arrives
    const got = new Promise((r) => socket.on('score', r));
    const res = await apiPost(server.apiPort, { namespace: '/', rooms: ['user:alice'], event: 'score', data: 3 });
    assert.equal(res.status, 202);
    assert.equal(await within(got, 2000, 'room broadcast'), 3);
  });

  it('refuses a client without the cookie with the backend\'s reason and data', async function () {
    const err = await connectError(connect(server.url, { transports: ['websocket'] }));
    assert.equal(err.message, 'no session');
    assert.deepEqual(err.data, { login: '/login' });
  });

  it('a slow backend: connect_error "auth unavailable" within the timeout', async function () {
    backend.handle = () => {}; // never answers
    const t0 = Date.now();
    const err = await connectError(connect(server.url, { transports: ['websocket'] }), 4000);
    assert.equal(err.message, 'auth unavailable');
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
  });

  for (const [what, handle] of [
    ['not JSON', (b, q, res) => { res.writeHead(200); res.end('<html>'); }],
    ['an error status', (b, q, res) => json(res, { allow: true }, 500)],
    ['a redirect', (b, q, res) => { res.writeHead(302, { Location: '/elsewhere' }); res.end(); }],
    ['a huge answer', (b, q, res) => { res.writeHead(200); res.end(`{"allow":true,"data":{"x":"${'a'.repeat(2 << 20)}"}}`); }],
    ['malformed rooms', (b, q, res) => json(res, { allow: true, rooms: [1, 2] })],
    ['a slow-loris body', (b, q, res) => { res.writeHead(200); const t = setInterval(() => res.write(' '), 100); res.on('close', () => clearInterval(t)); }],
  ]) {
    it(`a backend answering ${what}: connect_error "auth unavailable", the server lives`, async function () {
      backend.handle = handle;
      const err = await connectError(connect(server.url, { transports: ['websocket'] }), 4000);
      assert.equal(err.message, 'auth unavailable');
      backend.handle = cookieAuth;
      await connected(connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: 'session=good' } }));
    });
  }
});

describe('backend: connect proxy unreachable', function () {
  this.timeout(20000);
  it('connect_error "auth unavailable" at once when nothing listens', async function () {
    const port = await freePort();
    const server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', CONNECT_PROXY_URL: `http://${HOST}:${port}/connect` } });
    try {
      const t0 = Date.now();
      const err = await connectError(connect(server.url, { transports: ['websocket'] }));
      assert.equal(err.message, 'auth unavailable');
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      closeAll();
      await stopAlive(server);
    }
  });
});

/** Events: `ping` answered, `echo` returns its args and attachments, `seq`
 * recorded per socket, `never` never answered. */
function eventBackend(ctx) {
  return (body, req, res) => {
    if (req.url === '/lifecycle' || (body && (body.type === 'connected' || body.type === 'disconnected'))) {
      ctx.lifecycle.push(body);
      return json(res, {});
    }
    if (!body || body.type !== 'event') return json(res, {});
    if (body.event === 'ping') return json(res, { ack: ['pong', body.user || null] });
    if (body.event === 'echo') return json(res, { ack: body.args, attachments: body.attachments });
    if (body.event === 'seq') {
      const list = ctx.seq.get(body.sid) || [];
      list.push(body.args[0]);
      ctx.seq.set(body.sid, list);
      return setTimeout(() => json(res, { ack: [body.args[0]] }), Math.random() * 3);
    }
    if (body.event === 'never') return undefined;
    return json(res, { ack: [] });
  };
}

describe('backend: client events', function () {
  this.timeout(60000);
  const ctx = { seq: new Map(), lifecycle: [] };
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(eventBackend(ctx));
    server = await startSioServer({
      env: {
        RECOVERY_WINDOW_MS: '0',
        EVENT_PROXY_URL: `${backend.url}/events`,
        PROXY_EVENTS: 'ping,echo,seq,never',
        PROXY_TIMEOUT_MS: '1500',
        PROXY_SOCKET_QUEUE: '16',
        PROXY_LIFECYCLE: 'true',
      },
    });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(closeAll);

  it('emitWithAck("ping") is answered by the backend', async function () {
    const socket = await connected(connect(server.url, { transports: ['websocket'] }));
    assert.deepEqual(await socket.timeout(3000).emitWithAck('ping'), 'pong');
    const req = backend.requests.find((r) => r.body && r.body.event === 'ping').body;
    assert.equal(req.sid, socket.id);
    assert.equal(req.namespace, '/');
    const metrics = (await apiGet(server.apiPort, '/metrics')).body;
    assert.match(metrics, /^sio_backend_requests_total\{node="[^"]*"\} [1-9]/m);
    assert.match(metrics, /^sio_backend_answered_total\{node="[^"]*"\} [1-9]/m);
    assert.match(metrics, /^sio_backend_http_inflight\{node="[^"]*"\} 0$/m);
  });

  it('binary arguments round-trip through the backend', async function () {
    const socket = await connected(connect(server.url, { transports: ['websocket'] }));
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    const ack = await new Promise((resolve, reject) => {
      socket.timeout(3000).emit('echo', { name: 'x', blob: bin }, 7, (err, ...args) => (err ? reject(err) : resolve(args)));
    });
    assert.equal(ack[0].name, 'x');
    assert.deepEqual(Buffer.from(ack[0].blob), bin);
    assert.equal(ack[1], 7);
    const req = backend.requests.find((r) => r.body && r.body.event === 'echo').body;
    assert.deepEqual(req.args[0].blob, { _placeholder: true, num: 0 });
    assert.equal(Buffer.from(req.attachments[0], 'base64').toString('hex'), bin.toString('hex'));
  });

  it('1,000 events from 100 sockets keep per-socket order', async function () {
    ctx.seq.clear();
    const sockets = await Promise.all(Array.from({ length: 100 }, () => connected(connect(server.url, { transports: ['websocket'] }))));
    const acks = [];
    for (const s of sockets) for (let i = 0; i < 10; i++) acks.push(s.timeout(10000).emitWithAck('seq', i));
    const got = await Promise.all(acks);
    assert.equal(got.length, 1000);
    for (const s of sockets) assert.deepEqual(ctx.seq.get(s.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], s.id);
  });

  it('a backend that never answers: acks get errors, memory stays bounded, other sockets go on', async function () {
    const slow = await startSioServer({
      env: {
        RECOVERY_WINDOW_MS: '0', EVENT_PROXY_URL: `${backend.url}/events`, PROXY_EVENTS: 'ping,never',
        PROXY_TIMEOUT_MS: '500', PROXY_SOCKET_QUEUE: '4',
        // freed memory must come back for RSS to mean anything under ASan
        ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1`,
      },
    });
    try {
      await neverAnswered(slow);
    } finally {
      closeAll();
      await stopAlive(slow);
    }
  });

  async function neverAnswered(server) {
    const stuck = await connected(connect(server.url, { transports: ['websocket'] }));
    const other = await connected(connect(server.url, { transports: ['websocket'] }));
    const before = rssKb(server.proc.pid);
    const payload = 'x'.repeat(20000);
    const results = [];
    for (let i = 0; i < 2000; i++) {
      results.push(new Promise((r) => stuck.timeout(15000).emit('never', payload, (err, res) => r(err ? 'timeout' : res))));
    }
    // the other socket is answered while the stuck one's queue is full
    assert.equal(await other.timeout(2000).emitWithAck('ping'), 'pong');
    const all = await Promise.all(results);
    const busy = all.filter((a) => a && a.error === 'backend busy').length;
    const timedOut = all.filter((a) => a && /backend: .*tim/i.test(a.error)).length;
    assert.ok(busy >= 1900, `busy ${busy}`); // the queue drains (500 ms a timeout) while they arrive
    assert.ok(timedOut >= 1, `timed out ${timedOut}`);
    assert.equal(all.filter((a) => a === 'timeout').length, 0, 'every event was acked');
    const grown = rssKb(server.proc.pid) - before;
    const bound = process.env.ASAN_OPTIONS ? 60000 : 30000; // ASan's shadow and redzones
    assert.ok(grown < bound, `RSS grew ${grown} kB for 2,000 x 20 kB events`);
    assert.equal(await other.timeout(2000).emitWithAck('ping'), 'pong');
  }

  it('lifecycle: connected and disconnected (with the reason) reach the backend', async function () {
    ctx.lifecycle.length = 0;
    const socket = await connected(connect(server.url, { transports: ['websocket'] }));
    const id = socket.id;
    await eventually(() => ctx.lifecycle.some((l) => l.type === 'connected' && l.sid === id), 3000, 'connected');
    socket.disconnect();
    await eventually(() => ctx.lifecycle.some((l) => l.type === 'disconnected' && l.sid === id), 3000, 'disconnected');
    const d = ctx.lifecycle.find((l) => l.type === 'disconnected' && l.sid === id);
    assert.equal(d.reason, 'client namespace disconnect');
  });
});

describe('backend: expiry and refresh', function () {
  this.timeout(30000);
  const secret = 'expiry-secret';
  let server;
  before(async function () {
    server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', JWT_SECRET: secret } });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });
  afterEach(closeAll);

  it('a token expiring in 2 s disconnects the socket at about 2 s', async function () {
    const exp = nowSec() + 2;
    const socket = connect(server.url, { transports: ['websocket'], auth: { token: jwtHS256({ sub: 'u', exp }, secret) } });
    await connected(socket);
    const expired = new Promise((r) => socket.on('expired', r));
    const gone = new Promise((r) => socket.on('disconnect', r));
    const reason = await within(gone, 5000, 'disconnect');
    assert.equal(reason, 'io server disconnect');
    assert.deepEqual(await expired, { reason: 'token expired' });
    const late = Date.now() - exp * 1000;
    assert.ok(late > -1100 && late < 1000, `disconnected ${late} ms from exp`);
  });

  it('a refresh before then keeps it', async function () {
    const socket = connect(server.url, { transports: ['websocket'], auth: { token: jwtHS256({ sub: 'u', exp: nowSec() + 2 }, secret) } });
    await connected(socket);
    const res = await socket.timeout(2000).emitWithAck('refresh', { token: jwtHS256({ sub: 'u', exp: nowSec() + 30 }, secret) });
    assert.equal(res.ok, true);
    const bad = await socket.timeout(2000).emitWithAck('refresh', { token: 'nope' });
    assert.equal(bad.ok, false);
    await sleep(3500);
    assert.ok(socket.connected, 'still connected after the first token expired');
  });
});

describe('backend: expiry from the connect proxy', function () {
  this.timeout(30000);
  it('expires_at disconnects; a refresh the proxy accepts moves it', async function () {
    const backend = await startBackend((body, req, res) => {
      if (body.type === 'connect') return json(res, { allow: true, user: body.auth.user, expires_at: nowSec() + 2 });
      if (body.type === 'refresh') return json(res, body.auth.ok ? { allow: true, expires_at: nowSec() + 30 } : { allow: false, reason: 'stale' });
      return json(res, {});
    });
    const server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', CONNECT_PROXY_URL: `${backend.url}/c` } });
    try {
      const a = await connected(connect(server.url, { transports: ['websocket'], auth: { user: 'a' } }));
      const b = await connected(connect(server.url, { transports: ['websocket'], auth: { user: 'b' } }));
      assert.deepEqual(await b.timeout(2000).emitWithAck('refresh', { ok: false }), { ok: false, error: 'stale' });
      const r = await a.timeout(2000).emitWithAck('refresh', { ok: true });
      assert.equal(r.ok, true);
      const gone = new Promise((res) => b.on('disconnect', res));
      assert.equal(await within(gone, 5000, 'b disconnected'), 'io server disconnect');
      assert.ok(a.connected, 'a, refreshed, stays');
    } finally {
      closeAll();
      await stopAlive(server);
      await backend.close();
    }
  });
});

describe('backend: worker queue (EVENT_STREAM)', function () {
  this.timeout(30000);
  let redis;
  let server;
  before(async function () {
    redis = await startRedis();
    server = await startSioServer({
      env: { RECOVERY_WINDOW_MS: '0', REDIS_URL: `redis://127.0.0.1:${redis.port}`, EVENT_STREAM: 'jobs', PROXY_EVENTS: 'transcribe', PROXY_LIFECYCLE: 'true' },
    });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
    await stopRedis(redis);
  });

  it('event -> stream -> worker -> API reply to the socket\'s room', async function () {
    const socket = await connected(connect(server.url, { transports: ['websocket'] }));
    const queued = await socket.timeout(3000).emitWithAck('transcribe', { chunk: 1 });
    assert.equal(queued.ok, true);
    assert.match(queued.id, /^\d+-\d+$/);
    const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), '--no-raw', ...args]).toString();
    const entries = execFileSync('redis-cli', ['-p', String(redis.port), 'XRANGE', 'jobs', '-', '+']).toString().split('\n');
    const payloads = entries.map((e, i) => (e === 'payload' ? JSON.parse(entries[i + 1]) : null)).filter(Boolean);
    const job = payloads.find((p) => p.type === 'event');
    assert.equal(job.type, 'event');
    assert.equal(job.event, 'transcribe');
    assert.equal(job.sid, socket.id);
    assert.deepEqual(job.args, [{ chunk: 1 }]);
    assert.ok(payloads.some((p) => p.type === 'connected' && p.sid === socket.id), cli('XLEN', 'jobs'));
    // the worker answers to the socket's own room
    const partial = new Promise((r) => socket.on('transcript', r));
    const res = await apiPost(server.apiPort, { namespace: '/', rooms: [job.sid], event: 'transcript', data: { text: 'hello', final: true } });
    assert.equal(res.status, 202);
    assert.deepEqual(await within(partial, 3000, 'transcript'), { text: 'hello', final: true });
  });
});

describe('backend: serverSideEmit from a Node peer', function () {
  this.timeout(30000);
  it('is handed to the backend, whose ack answers the Node server', async function () {
    const redis = await startRedis();
    const backend = await startBackend((body, req, res) => {
      if (body.type === 'server_side_emit') return json(res, { ack: [{ seen: body.data }] });
      return json(res, {});
    });
    const server = await startSioServer({ env: { RECOVERY_WINDOW_MS: '0', REDIS_URL: `redis://127.0.0.1:${redis.port}`, EVENT_PROXY_URL: `${backend.url}/e` } });
    const { Server } = require('socket.io');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const { createClient } = require('redis');
    const pub = createClient({ url: `redis://127.0.0.1:${redis.port}` });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    const io = new Server({ adapter: createAdapter(pub, sub) });
    try {
      await eventually(async () => Number((await pub.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io-request#/#']))[1]) >= 2, 5000, 'both subscribed');
      const answers = await io.serverSideEmitWithAck('hello', 42);
      assert.deepEqual(answers, [{ seen: ['hello', 42] }]);
    } finally {
      io.close();
      await Promise.all([pub.quit(), sub.quit()]).catch(() => {});
      await stopAlive(server);
      await backend.close();
      await stopRedis(redis);
    }
  });
});

describe('backend: examples/backend.js, end to end', function () {
  this.timeout(40000);
  const path = require('node:path');
  const { spawn } = require('node:child_process');
  const example = path.join(__dirname, '..', '..', 'examples', 'backend.js');
  const procs = [];
  function run(args, env) {
    const p = spawn(process.execPath, [example, ...args], {
      env: { ...process.env, NODE_PATH: path.join(__dirname, '..', 'node_modules'), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    procs.push(p);
    return new Promise((resolve) => p.stdout.once('data', () => resolve(p)));
  }
  after(() => { closeAll(); for (const p of procs) p.kill(); });

  it('cookie auth, welcome, ping, and a transcribe job answered by the worker', async function () {
    const redis = await startRedis();
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    const port = await freePort();
    await run([], { BACKEND_PORT: String(port) });
    const api = await freePort();
    const http1 = await startSioServer({
      apiPort: api,
      env: { RECOVERY_WINDOW_MS: '0', CONNECT_PROXY_URL: `http://${HOST}:${port}/connect`, EVENT_PROXY_URL: `http://${HOST}:${port}/events` },
    });
    const streamed = await startSioServer({
      env: { RECOVERY_WINDOW_MS: '0', REDIS_URL: redisUrl, CONNECT_PROXY_URL: `http://${HOST}:${port}/connect`, EVENT_STREAM: 'jobs', PROXY_EVENTS: 'transcribe' },
    });
    await run(['--worker'], { REDIS_URL: redisUrl, EVENT_STREAM: 'jobs', API_URL: `http://${HOST}:${streamed.apiPort}` });
    try {
      const err = await connectError(connect(http1.url, { transports: ['websocket'] }));
      assert.equal(err.message, 'no session');
      const bob = connect(http1.url, { transports: ['websocket'], extraHeaders: { cookie: 'session=bob' } });
      const welcome = new Promise((r) => bob.on('welcome', r));
      await connected(bob);
      assert.equal(await within(welcome, 2000, 'welcome'), 'hi bob');
      assert.equal(await bob.timeout(2000).emitWithAck('ping'), 'pong');
      const ann = connect(streamed.url, { transports: ['websocket'], auth: { token: 'ann' } });
      await connected(ann);
      const transcript = new Promise((r) => ann.on('transcript', r));
      const queued = await ann.timeout(3000).emitWithAck('transcribe', { chunk: 7 });
      assert.equal(queued.ok, true);
      assert.deepEqual(await within(transcript, 8000, 'transcript'), { partial: false, text: '({"chunk":7} transcribed)' });
    } finally {
      closeAll();
      await stopAlive(http1);
      await stopAlive(streamed);
      await stopRedis(redis);
    }
  });
});
