'use strict';
/*
 * Helpers for the Socket.IO integration tests (sio-*.test.js):
 *   - startSioServer({env}):   $SIO_BUILD_DIR/sio-server on free PORT and API_PORT, both
 *                              bound to 127.0.0.1 (DRAIN_SECONDS=0, LOG_LEVEL=warn);
 *                              resolves once both accept TCP
 *   - startApiTestServer(args): $SIO_BUILD_DIR/tests/sio-api-test-server --port N [args]
 *   - runSioServer(env):       run sio-server to its exit (for start-up errors)
 *   - stopAlive(server):       SIGTERM; asserts it had not died, exits 0, no sanitizer report
 *   - connect(url, opts):      a socket.io-client socket (reconnection:false,
 *                              forceNew:true, unless given)
 *   - connected(socket):       resolves on 'connect', rejects on 'connect_error'
 *   - connectError(socket):    resolves with the connect_error, rejects on 'connect'
 *   - once(emitter, event, ms):resolves with the event's arguments (an array)
 *   - emitAck(socket, ev, ...args): emitWithAck bounded by a timeout
 *   - jwtHS256 / jwtRS256:     tokens signed with node:crypto
 *   - apiPost / apiGet:        requests to the HTTP API (JSON body parsed)
 *   - rawWs(port, opts):       a raw Engine.IO websocket (ws) that answers pings
 *   - cpuTimeMs(pid):          utime+stime of a process from /proc/<pid>/stat
 * Every wait is bounded; every client made here is closed by closeAll().
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { io: ioClient } = require('socket.io-client');
const {
  HOST, REPO_ROOT, binPath, freePort, startServer, stopServer, httpRequest, tryConnect,
} = require('./server');

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

/** The arguments of the next `event` of emitter (an array), within timeoutMs. */
/** A deep copy with every binary as a Buffer, for deepEqual of received arguments. */
function norm(v) {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = norm(v[k]);
    return out;
  }
  return v;
}

/** Polls cond() (which may be async) until it is true; rejects after ms naming `what`. */
async function eventually(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

function once(emitter, event, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}


async function waitTcp(server, port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
      throw new Error(`server exited before port ${port} opened:\n${server.stderr()}`);
    }
    if (await tryConnect(port, 300)) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open within ${timeoutMs} ms`);
    await sleep(30);
  }
}

/* ------------------------------------------------------------------ */
/* servers                                                            */
/* ------------------------------------------------------------------ */

/** Environment of sio-server: loopback only, quiet, fast heartbeats unless overridden. */
function sioServerEnv(port, apiPort, env = {}) {
  return {
    PORT: String(port),
    API_PORT: String(apiPort),
    BIND_ADDR: HOST,
    API_BIND_ADDR: HOST,
    LOG_LEVEL: 'warn',
    DRAIN_SECONDS: '0',
    ...env,
  };
}

/**
 * Starts build/sio-server with `env` (on top of a clean set of its variables)
 * on free ports; resolves with {proc, port, apiPort, url, apiUrl, ...}.
 * A `port` can be given to restart on the same one.
 */
async function startSioServer({ env = {}, port, apiPort, bin = 'sio-server' } = {}) {
  const p = port || await freePort();
  let a = apiPort || await freePort();
  while (a === p) a = await freePort();
  const clean = {};
  for (const k of Object.keys(process.env)) {
    // never inherit a configuration from the developer's shell
    if (/^(PORT|API_PORT|JWT_|API_TOKEN|NAMESPACES|SUBSCRIBE_PATTERNS|PUBLISH_PATTERNS|CORS_ORIGINS|REDIS_|SIO_PATH|PING_|MAX_|PROXY_|CONNECT_PROXY_|EVENT_PROXY_URL|EVENT_STREAM|PLAIN_WS_|METRICS_EMF|ECS_|HEALTH_|PER_MESSAGE_DEFLATE|HTTP_COMPRESSION|PARSER|ALLOW_EIO3|TRANSPORTS|STICKY_COOKIE)/.test(k)) {
      clean[k] = undefined;
    }
  }
  // undefined values are left out by child_process.spawn
  const fullEnv = { ...clean, ...sioServerEnv(p, a, env) };
  const server = await startServer({ command: binPath(bin), args: [], env: fullEnv, port: p, cwd: REPO_ROOT });
  await waitTcp(server, a);
  server.apiPort = a;
  server.apiUrl = `http://${HOST}:${a}`;
  return server;
}

/** Runs sio-server with env until it exits (start-up errors); bounded. */
function runSioServer(env, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const fullEnv = { ...process.env, LOG_LEVEL: 'warn', BIND_ADDR: HOST, API_BIND_ADDR: HOST, ...env };
    for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
    const proc = spawn(binPath('sio-server'), [], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`sio-server did not exit within ${timeoutMs} ms (stdout ${stdout}, stderr ${stderr})`));
    }, timeoutMs);
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts build/tests/sio-api-test-server on a free port. */
async function startApiTestServer(extraArgs = []) {
  const port = await freePort();
  return startServer({ command: binPath('tests/sio-api-test-server'), args: ['--port', String(port), ...extraArgs], port });
}

/**
 * Stops a server and asserts it was still alive (did not crash during the
 * tests), that SIGTERM ended it cleanly (exit 0), and that no sanitizer
 * (ASan / LSan / UBSan builds) reported anything.
 */
async function stopAlive(server) {
  if (!server) return;
  const alive = server.proc.exitCode === null && server.proc.signalCode === null;
  const info = await stopServer(server);
  const stderr = server.stderr();
  assert.ok(alive, `server died during the tests (${JSON.stringify(info)}):\n${stderr}`);
  assert.ok(!/Sanitizer|runtime error:/.test(stderr), `sanitizer report:\n${stderr}`);
  assert.deepEqual(info, { code: 0, signal: null }, `unclean exit on SIGTERM:\n${stderr}`);
}

/* ------------------------------------------------------------------ */
/* clients                                                            */
/* ------------------------------------------------------------------ */

const clients = new Set();

/** A socket.io-client socket; reconnection off and a fresh Manager unless opts say otherwise. */
function connect(url, opts = {}) {
  const socket = ioClient(url, { reconnection: false, forceNew: true, timeout: 5000, ...opts });
  clients.add(socket);
  return socket;
}

/** Tracks a socket made elsewhere (e.g. manager.socket()) so closeAll() closes it. */
function track(socket) {
  clients.add(socket);
  return socket;
}

/** Resolves on 'connect'; rejects on 'connect_error' or after timeoutMs. */
function connected(socket, timeoutMs = 5000) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    const onConnect = () => { cleanup(); resolve(socket); };
    const onError = (err) => { cleanup(); reject(Object.assign(new Error(`connect_error: ${err.message}`), { cause: err, data: err.data })); };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no connect within ${timeoutMs} ms`)); }, timeoutMs);
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/** Resolves with the connect_error; rejects on 'connect' or after timeoutMs. */
function connectError(socket, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    const onConnect = () => { cleanup(); reject(new Error('connected, but a connect_error was expected')); };
    const onError = (err) => { cleanup(); resolve(err); };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no connect_error within ${timeoutMs} ms`)); }, timeoutMs);
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/** socket.emitWithAck bounded by timeoutMs; resolves with the ack's first argument. */
function emitAck(socket, event, ...args) {
  return socket.timeout(3000).emitWithAck(event, ...args);
}

/** Every argument of the ack (socket.io-client gives them to the callback). */
function emitAckAll(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(3000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}

function closeAll() {
  for (const s of clients) {
    try {
      s.io.opts.reconnection = false;
      s.io.reconnection(false);
      s.disconnect();
      s.io.engine?.close();
    } catch (_) { /* already closed */ }
  }
  clients.clear();
  closeRaw();
}

/**
 * Raw Engine.IO WebSocket (ws package) on a Socket.IO path, answering pings:
 *   wsOpen -> resolves when the WebSocket handshake is done
 *   opened -> resolves with the open packet's JSON
 *   next(ms) -> the next message other than a ping ({data, isBinary})
 *   closed -> resolves {code, reason, at}
 */
const rawSockets = new Set();
function rawWs(port, { path = '/socket.io/', autoPong = true, headers, query = '' } = {}) {
  const WebSocket = require('ws');
  const ws = new WebSocket(`ws://${HOST}:${port}${path}?EIO=4&transport=websocket${query}`, { perMessageDeflate: false, headers });
  rawSockets.add(ws);
  const queue = [];
  const waiters = [];
  let closedInfo = null;
  let openInfo = null;
  let openResolve;
  let openReject;
  const opened = new Promise((resolve, reject) => { openResolve = resolve; openReject = reject; });
  opened.catch(() => {});
  ws.on('error', (e) => openReject(e));
  // the WebSocket handshake itself (an upgrade probe gets no open packet)
  const wsOpen = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('closed before open')));
  });
  wsOpen.catch(() => {});
  ws.on('message', (raw, isBinary) => {
    const m = { data: isBinary ? raw : raw.toString('utf8'), isBinary, at: Date.now() };
    if (!isBinary && m.data === '2' && autoPong) { ws.send('3'); return; }
    if (!openInfo && !isBinary && m.data[0] === '0') {
      openInfo = JSON.parse(m.data.slice(1));
      openResolve(openInfo);
      return;
    }
    if (waiters.length) waiters.shift().resolve(m); else queue.push(m);
  });
  const closed = new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      rawSockets.delete(ws);
      closedInfo = { code, reason: reason.toString(), at: Date.now() };
      openReject(new Error(`closed (${code}) before the open packet`));
      while (waiters.length) waiters.shift().reject(new Error(`websocket closed (${code}) while waiting for a message`));
      resolve(closedInfo);
    });
  });
  function next(ms = 3000) {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closedInfo) return Promise.reject(new Error(`websocket closed (${closedInfo.code})`));
    return within(new Promise((resolve, reject) => waiters.push({ resolve, reject })), ms, 'a websocket message');
  }
  const send = (d) => { if (ws.readyState === WebSocket.OPEN) ws.send(d); };
  return { ws, wsOpen, opened, closed, next, send, get isClosed() { return closedInfo !== null; } };
}

function closeRaw() {
  for (const ws of rawSockets) ws.terminate();
  rawSockets.clear();
}

/* ------------------------------------------------------------------ */
/* JWT                                                                */
/* ------------------------------------------------------------------ */

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

function jwtHS256(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const data = `${b64url(header)}.${b64url(payload)}`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

function jwtRS256(payload, privateKeyPem, header = { alg: 'RS256', typ: 'JWT' }) {
  const data = `${b64url(header)}.${b64url(payload)}`;
  return `${data}.${crypto.sign('sha256', Buffer.from(data), privateKeyPem).toString('base64url')}`;
}

const FIXTURES = `${REPO_ROOT}/tests/unit/fixtures`;
const fixture = (name) => `${FIXTURES}/${name}`;
const readFixture = (name) => fs.readFileSync(fixture(name), 'utf8');

/* ------------------------------------------------------------------ */
/* HTTP API                                                           */
/* ------------------------------------------------------------------ */

/** POST JSON (an object is stringified, a string is sent as is); body parsed when JSON. */
async function apiPost(apiPort, body, { token, headers = {}, path = '/v1/broadcast', timeoutMs = 5000 } = {}) {
  const hdrs = { 'Content-Type': 'application/json', ...headers };
  if (token) hdrs.Authorization = `Bearer ${token}`;
  const res = await httpRequest({
    port: apiPort,
    method: 'POST',
    path,
    headers: hdrs,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    timeoutMs,
  });
  try { res.json = JSON.parse(res.body); } catch (_) { res.json = undefined; }
  return res;
}

async function apiGet(port, path, { headers = {}, timeoutMs = 5000 } = {}) {
  const res = await httpRequest({ port, path, headers, timeoutMs });
  try { res.json = JSON.parse(res.body); } catch (_) { res.json = undefined; }
  return res;
}

/* ------------------------------------------------------------------ */
/* process CPU time                                                   */
/* ------------------------------------------------------------------ */

const CLK_TCK = 100; // USER_HZ on Linux

/** utime+stime of pid in ms (Linux /proc), or NaN elsewhere. */
function cpuTimeMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch (_) {
    return NaN;
  }
}

module.exports = {
  HOST,
  sleep,
  eventually,
  norm,
  within,
  once,
  startSioServer,
  runSioServer,
  startApiTestServer,
  stopAlive,
  connect,
  track,
  connected,
  connectError,
  emitAck,
  emitAckAll,
  closeAll,
  rawWs,
  jwtHS256,
  jwtRS256,
  nowSec,
  fixture,
  readFixture,
  apiPost,
  apiGet,
  cpuTimeMs,
};
