'use strict';
/*
 * A Node.js socket.io 4 + @socket.io/redis-adapter node that behaves like
 * sio-server for clients (subscribe / unsubscribe / publish with the same acks),
 * so a mixed cluster of sio and Node nodes looks the same to clients.
 *
 *   node tests/ref/node-gateway.js --port P --control C --redis redis://127.0.0.1:6379
 *        [--deflate] [--parser msgpack] [--eio3]
 * The options are socket.io's own (loadtest/bench --options measures them):
 * perMessageDeflate {threshold: 1024}, parser socket.io-msgpack-parser, allowEIO3.
 * httpCompression is socket.io's default (on, threshold 1024).
 *
 * The control port (HTTP, JSON bodies) lets tests act from the Node side:
 *   POST /emit          {nsp?, rooms?, except?, event, args}      io.to().except().emit()
 *   POST /fetchSockets  {nsp?, rooms?}  -> [{id, rooms, address}]
 *   POST /socketsJoin   {nsp?, rooms?, join}      POST /socketsLeave {nsp?, rooms?, leave}
 *   POST /disconnectSockets {nsp?, rooms?, close}  GET /allRooms?nsp=/
 *   POST /serverSideEmitWithAck {event, args}      -> responses
 *   POST /emitWithAck   {nsp?, rooms?, event, args, timeout}  -> the clients' acks
 * Binary args are sent as {"$bin": "<base64>"} in JSON and become Buffers.
 * A client's handshake auth.data (an object) becomes its socket.data.
 */
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('--port', 3000));
const controlPort = Number(arg('--control', 3010));
const redisUrl = arg('--redis', 'redis://127.0.0.1:6379');

const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    if (typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};

function setupNamespace(nsp) {
  nsp.on('connection', (socket) => {
    // a client may bring its socket.data (fetchSockets returns it)
    const { data } = socket.handshake.auth || {};
    if (data && typeof data === 'object') socket.data = data;
    socket.on('subscribe', (rooms, ack) => {
      const list = Array.isArray(rooms) ? rooms : [rooms];
      socket.join(list);
      if (typeof ack === 'function') ack({ ok: true, rooms: list });
    });
    socket.on('unsubscribe', (rooms, ack) => {
      const list = Array.isArray(rooms) ? rooms : [rooms];
      list.forEach((r) => socket.leave(r));
      if (typeof ack === 'function') ack({ ok: true, rooms: list });
    });
    socket.on('publish', (req, ack) => {
      if (!req || typeof req.room !== 'string' || typeof req.event !== 'string') {
        if (typeof ack === 'function') ack({ ok: false, error: 'invalid publish' });
        return;
      }
      socket.to(req.room).emit(req.event, req.data);
      if (typeof ack === 'function') ack({ ok: true });
    });
  });
}

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const options = { adapter: createAdapter(pub, sub), cors: { origin: '*' } };
  if (process.argv.includes('--deflate')) options.perMessageDeflate = { threshold: 1024 };
  if (arg('--parser', 'default') === 'msgpack') options.parser = require('socket.io-msgpack-parser');
  if (process.argv.includes('--eio3')) options.allowEIO3 = true;
  const io = new Server(httpServer, options);
  setupNamespace(io.of('/'));
  setupNamespace(io.of(/^\/tournament-\d+$/));
  io.on('serverSideEmitTest', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack('node-ack');
  });

  const control = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://x');
      let q = {};
      try { q = body ? revive(JSON.parse(body)) : {}; } catch (e) { res.writeHead(400).end(); return; }
      const nsp = io.of(q.nsp || url.searchParams.get('nsp') || '/');
      let op = nsp;
      if (q.rooms && q.rooms.length) op = op.to(q.rooms);
      if (q.except && q.except.length) op = op.except(q.except);
      try {
        let out = { ok: true };
        switch (url.pathname) {
          case '/emit': op.emit(q.event, ...(q.args || [])); break;
          case '/fetchSockets':
            out = (await op.fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms], address: s.handshake.address }));
            break;
          case '/socketsJoin': op.socketsJoin(q.join); break;
          case '/socketsLeave': op.socketsLeave(q.leave); break;
          case '/disconnectSockets': op.disconnectSockets(!!q.close); break;
          case '/allRooms': out = [...(await nsp.adapter.allRooms())]; break;
          case '/serverSideEmitWithAck': out = await io.serverSideEmitWithAck(q.event, ...(q.args || [])); break;
          case '/emitWithAck':
            out = (await op.timeout(q.timeout || 3000).emitWithAck(q.event, ...(q.args || [])))
              .map((v) => (Buffer.isBuffer(v && v.bin) ? { ...v, bin: { $bin: v.bin.toString('base64') } } : v));
            break;
          default: res.writeHead(404).end(); return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }));
      }
    });
  });
  await new Promise((r) => httpServer.listen(port, '127.0.0.1', r));
  await new Promise((r) => control.listen(controlPort, '127.0.0.1', r));
  process.on('SIGTERM', () => {
    io.close();
    control.close();
    Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
