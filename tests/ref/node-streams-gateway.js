'use strict';
/*
 * A Node.js socket.io 4.8 + @socket.io/redis-streams-adapter 0.3 node with
 * connection state recovery, behaving like sio-server (REDIS_ADAPTER=streams) for
 * clients, so a mixed cluster of sio and Node nodes looks the same to them:
 *   - `subscribe` / `unsubscribe` (a room or an array) acked {ok:true, rooms:[...]};
 *   - connectionStateRecovery {maxDisconnectionDuration: 120000, skipMiddlewares: true}:
 *     every broadcast ends with its stream entry id, sessions are `sio:session:<pid>`;
 *   - the Engine.IO handshake sets `io=<sid>; Path=/; HttpOnly; SameSite=Lax`, like
 *     sio-server, for the load balancer's cookie stickiness (deploy/haproxy/haproxy.cfg);
 *   - GET /health on the Socket.IO port: 200 {"status":"ok",...}, 503 "draining" after
 *     SIGTERM (the load balancer's health check);
 *   - SIGTERM: new handshakes are refused, io.close() disconnects every socket with
 *     "server shutting down" (the adapter then SETs each session, without waiting), the
 *     process waits for Redis to have run those SETs, and exits 0.
 *
 *   node tests/ref/node-streams-gateway.js --port P --control C --redis redis://127.0.0.1:6379
 *
 * The control port (HTTP on 127.0.0.1, JSON bodies):
 *   POST /  (or /emit)  {room?, rooms?, event, data?, args?}  io.to(rooms).emit(event, ...args)
 *                       (data is one argument, args a list of them); answers {"ok":true}
 *   GET  /sockets       -> [socket ids of this node] (namespace /)
 *   GET  /cluster       -> {sockets: io.fetchSockets(), sse: serverSideEmitWithAck results,
 *                           acks: io.emitWithAck('please-ack', 7) results, ms}
 * Binary values are sent as {"$bin": "<base64>"} in JSON and become Buffers.
 * Errors go to stderr.
 */
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-streams-adapter');
const { createClient } = require('redis');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('--port', 3000));
const controlPort = Number(arg('--control', 3010));
const redisUrl = arg('--redis', 'redis://127.0.0.1:6379');
const nodeId = arg('--node-id', `node-${process.pid}`);

const logError = (what, e) => console.error(`[node-streams-gateway ${nodeId}] ${what}: ${e && e.stack ? e.stack : e}`);
process.on('unhandledRejection', (e) => logError('unhandled rejection', e));

const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    if (typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};

const roomList = (rooms) => (Array.isArray(rooms) ? rooms : [rooms]).filter((r) => typeof r === 'string');

let closing = false;

function setupNamespace(nsp) {
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (rooms, ack) => {
      const list = roomList(rooms);
      socket.join(list);
      if (typeof ack === 'function') ack({ ok: true, rooms: list });
    });
    socket.on('unsubscribe', (rooms, ack) => {
      const list = roomList(rooms);
      list.forEach((r) => socket.leave(r));
      if (typeof ack === 'function') ack({ ok: true, rooms: list });
    });
    socket.on('error', (e) => logError(`socket ${socket.id}`, e));
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function main() {
  const redis = createClient({ url: redisUrl });
  redis.on('error', (e) => logError('redis', e));
  await redis.connect();

  // the Socket.IO port also answers the load balancer's health check
  const httpServer = http.createServer((req, res) => {
    if (req.url === '/health') {
      json(res, closing ? 503 : 200, { status: closing ? 'draining' : 'ok', sockets: io.of('/').sockets.size, node: nodeId });
      return;
    }
    res.writeHead(404).end();
  });
  const io = new Server(httpServer, {
    adapter: createAdapter(redis),
    connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true },
    cookie: { name: 'io', path: '/', httpOnly: true, sameSite: 'lax' },
    cors: { origin: '*' },
    // after SIGTERM no new session starts here (the client retries elsewhere)
    allowRequest: (req, cb) => cb(closing ? 'shutting down' : null, !closing),
  });
  io.engine.on('connection_error', (e) => {
    if (!closing) logError('engine connection_error', `${e.code} ${e.message}`);
  });
  setupNamespace(io.of('/'));

  const control = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      try {
        if (req.method === 'GET' && url.pathname === '/sockets') {
          json(res, 200, [...io.of('/').sockets.keys()]);
          return;
        }
        if (req.method === 'GET' && url.pathname === '/cluster') {
          // the adapter's requests across the cluster, each bounded by a timeout
          const t0 = Date.now();
          (async () => {
            const sockets = await io.fetchSockets();
            const sse = await io.serverSideEmitWithAck('ping-servers', 1); // the adapter's timeout (5 s)
            const acks = await io.timeout(3000).emitWithAck('please-ack', 7);
            return {
              sockets: sockets.map((x) => ({ id: x.id, rooms: [...x.rooms], address: x.handshake.address })),
              sse, acks, ms: Date.now() - t0,
            };
          })().then((r) => json(res, 200, r), (e) => json(res, 500, { error: String(e && e.message || e) }));
          return;
        }
        if (req.method !== 'POST' || (url.pathname !== '/' && url.pathname !== '/emit')) {
          res.writeHead(404).end();
          return;
        }
        const q = body ? revive(JSON.parse(body)) : {};
        if (typeof q.event !== 'string') { json(res, 400, { ok: false, error: 'event is required' }); return; }
        const rooms = roomList(q.rooms !== undefined ? q.rooms : q.room !== undefined ? q.room : []);
        const args = Array.isArray(q.args) ? q.args : q.data !== undefined ? [q.data] : [];
        (rooms.length ? io.to(rooms) : io).emit(q.event, ...args);
        json(res, 200, { ok: true });
      } catch (e) {
        logError(`control ${req.method} ${req.url}`, e);
        json(res, 400, { ok: false, error: e.message });
      }
    });
  });
  // the control port first: a test waits for the Socket.IO port, then uses both;
  // a port that cannot be bound stops the start-up (exit 1)
  const listen = (server, p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (e) => logError(`server on port ${p}`, e));
      resolve();
    });
  });
  await listen(control, controlPort);
  await listen(httpServer, port);

  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) process.exit(0); // a second SIGTERM exits at once
    stopping = true;
    closing = true;
    const guard = setTimeout(() => { logError('shutdown', 'still running after 8 s'); process.exit(1); }, 8000);
    try {
      // every socket gets "server shutting down": the adapter SETs its session
      // (persistSession does not wait for the reply)
      await Promise.race([io.close(), new Promise((r) => setTimeout(r, 3000))]);
    } catch (e) {
      logError('io.close', e);
    }
    control.close();
    try {
      // commands of one connection run in order: once this PING is answered, Redis
      // has run every SET queued before it
      await redis.ping();
      await redis.quit();
    } catch (e) {
      logError('redis at shutdown', e);
    }
    clearTimeout(guard);
    process.exit(0);
  });
}

main().catch((e) => {
  logError('start-up', e);
  process.exit(1);
});
