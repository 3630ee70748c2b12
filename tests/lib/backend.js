'use strict';
/*
 * An application backend on loopback for the suites that test sio-server's
 * proxies (backend.test.js, plain-ws.test.js): a Node HTTP server whose answer
 * to each POST is `ctx.handle(body, req, res)`; every request is recorded.
 *   startBackend(handle) -> {url, port, requests, connections, sockets, close()}
 *   json(res, obj, status)  a JSON answer with its Content-Length
 */
const http = require('node:http');
const { HOST, freePort } = require('./server');

/** A backend whose answer to each POST is `ctx.handle(body, req, res)`. */
async function startBackend(handle) {
  const ctx = { handle, requests: [], connections: 0, sockets: new Set() };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch (_) { body = null; }
      ctx.requests.push({ path: req.url, headers: req.headers, body });
      ctx.handle(body, req, res);
    });
  });
  server.on('connection', (s) => { ctx.connections++; ctx.sockets.add(s); s.on('close', () => ctx.sockets.delete(s)); });
  const port = await freePort();
  await new Promise((r) => server.listen(port, HOST, r));
  ctx.url = `http://${HOST}:${port}`;
  ctx.port = port;
  ctx.close = () => new Promise((r) => { for (const s of ctx.sockets) s.destroy(); server.close(r); });
  return ctx;
}

function json(res, obj, status = 200) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

module.exports = { startBackend, json };
