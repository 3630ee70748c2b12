#!/usr/bin/env node
'use strict';
/*
 * Node reference implementation of the sio conformance server.
 *
 * It behaves the way build/sio-conformance must behave, so that the
 * integration tests in tests/integration/ can be validated against the real
 * engine.io 6.x / socket.io 4.x before (and while) the C server is written.
 *
 *   node tests/ref/conformance.js --port N [--host 127.0.0.1]
 *
 * Engine.IO (path /engine.io/): pingInterval 300, pingTimeout 200,
 * maxHttpBufferSize 1000000, CORS origin '*', cookie io=<sid>; every message
 * (text or binary) is echoed back to its sender.
 */
const http = require('node:http');
const { Server: EngineServer } = require('engine.io');

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(next());
    else if (a.startsWith('--port=')) opts.port = Number(a.slice(7));
    else if (a === '--host') opts.host = next();
    else if (a.startsWith('--host=')) opts.host = a.slice(7);
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error('--port must be an integer in 0..65535');
  }
  return opts;
}

// Shared Engine.IO settings (the C binary uses the same values).
const ENGINE_OPTS = Object.freeze({
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1000000,
  cors: { origin: '*' },
  cookie: { name: 'io', path: '/', httpOnly: true, sameSite: 'lax' },
});

/* ------------------------------------------------------------------ */
/* Engine.IO echo on /engine.io/                                      */
/* ------------------------------------------------------------------ */
function attachEngineIO(httpServer) {
  const engine = new EngineServer({ ...ENGINE_OPTS });
  engine.attach(httpServer, { path: '/engine.io/' });
  engine.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });
  return engine;
}

/* ------------------------------------------------------------------ */
/* Socket.IO on /socket.io/                                           */
/* ------------------------------------------------------------------ */
// Placeholder: the Socket.IO reference (namespaces, acks, rooms, ...) is
// attached here by attachSocketIO(httpServer). It must use its own path
// ('/socket.io/') so it does not collide with the Engine.IO echo above.
// Note: engine.io's attach() ends upgrade requests for other paths after 1 s
// unless something has written to the socket by then; Socket.IO answers its
// own upgrades immediately, so both can share httpServer.
function attachSocketIO(httpServer) {
  // The official socket.io test-suite server: pingInterval 300, pingTimeout 200,
  // maxPayload 1000000, connectTimeout 1000 ms, CORS '*'. Namespaces other than
  // "/" and "/custom" are refused by socket.io itself ("Invalid namespace").
  const { Server: SocketIOServer } = require('socket.io');
  const io = new SocketIOServer(httpServer, {
    path: '/socket.io/',
    pingInterval: 300,
    pingTimeout: 200,
    maxHttpBufferSize: 1000000,
    connectTimeout: 1000,
    cors: { origin: '*' },
    serveClient: false,
  });
  io.of('/').on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth);
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
  });
  io.of('/custom').on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth);
  });
  return io;
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`conformance.js: ${e.message}\n`);
    process.exit(2);
  }

  const httpServer = http.createServer((req, res) => {
    // Requests not intercepted by engine.io / socket.io.
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found');
  });

  const engine = attachEngineIO(httpServer);
  attachSocketIO(httpServer);

  httpServer.on('error', (err) => {
    process.stderr.write(`conformance.js: ${err.message}\n`);
    process.exit(1);
  });
  httpServer.listen(opts.port, opts.host, () => {
    const { port } = httpServer.address();
    process.stdout.write(`listening on ${opts.host}:${port}\n`);
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    engine.close();
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
