'use strict';
/*
 * The processes of `loadtest/bench --backend` (bench-lib/backend.js), one per role:
 *
 *   node backend-peer.js backend PORT
 *       the application backend: answers every POST {"ack":["pong"]} (sio-server's
 *       EVENT_PROXY_URL contract; the Node gateway reads the same answer), keep-alive
 *   node backend-peer.js node-gateway PORT BACKEND_URL
 *       Node socket.io 4 doing what sio-server's event proxy does, the way a Node team
 *       writes it: socket.onAny -> fetch(BACKEND_URL, JSON) -> the answer's ack
 *   node backend-peer.js client TARGET URL SOCKETS SECONDS
 *       the load: SOCKETS clients, each with one event in flight at a time (closed
 *       loop), for SECONDS after a 1 s warm-up; TARGET sio|node: socket.io-client
 *       emitWithAck("ping"); TARGET floor: the same JSON POSTed straight to the
 *       backend over keep-alive (what the backend costs without any gateway).
 *       Prints one JSON line {events, seconds, rate, p50_ms, p99_ms, errors}.
 */
const http = require('node:http');

function backend(port) {
  const body = '{"ack":["pong"]}';
  const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
    });
  });
  server.listen(port, '127.0.0.1', () => console.log('ready'));
}

function nodeGateway(port, backendUrl) {
  const { Server } = require('socket.io');
  const io = new Server(port, { transports: ['websocket'] });
  io.on('connection', (socket) => {
    socket.onAny(async (event, ...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      try {
        const res = await fetch(backendUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ type: 'event', namespace: '/', sid: socket.id, event, args }),
          signal: AbortSignal.timeout(5000),
        });
        const answer = await res.json();
        if (ack) ack(...(answer.ack || []));
      } catch (e) {
        if (ack) ack({ error: `backend: ${e.message}` });
      }
    });
  });
  console.log('ready');
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

function postFloor(agent, url) {
  const body = JSON.stringify({ type: 'event', namespace: '/', sid: 'x'.repeat(20), event: 'ping', args: [] });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function connectAll(url, n) {
  const { io } = require('socket.io-client');
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  })));
}

async function client(target, url, n, seconds) {
  let send;
  let sockets = [];
  if (target === 'floor') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: n });
    send = () => postFloor(agent, url);
  } else {
    sockets = await connectAll(url, n);
  }
  const lat = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const loop = async (i) => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      try {
        const r = sockets.length ? await sockets[i].timeout(5000).emitWithAck('ping') : await send();
        if (r && r.error) errors++;
      } catch (_) {
        errors++;
      }
      if (measuring) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  const loops = Array.from({ length: n }, (_, i) => loop(i));
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const dt = (Date.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  for (const s of sockets) s.close();
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({ events: lat.length, seconds: dt, rate: lat.length / dt, p50_ms: percentile(lat, 0.5), p99_ms: percentile(lat, 0.99), errors }));
  process.exit(0);
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'backend') backend(Number(rest[0]));
else if (role === 'node-gateway') nodeGateway(Number(rest[0]), rest[1]);
else if (role === 'client') client(rest[0], rest[1], Number(rest[2]), Number(rest[3])).catch((e) => { console.error(e); process.exit(1); });
else {
  console.error('usage: backend-peer.js backend PORT | node-gateway PORT URL | client sio|node|floor URL SOCKETS SECONDS');
  process.exit(2);
}
