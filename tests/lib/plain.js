'use strict';
/*
 * Plain WebSocket clients (PLAIN_WS_PATH, README "Plain WebSocket clients") for plain-ws.test.js:
 *   - plainWs(port, {path, query, headers}): a `ws` client (no Engine.IO, no
 *     Socket.IO framing; `ws` answers the server's pings by itself):
 *       opened    resolves on 'open'; rejects on an HTTP answer other than 101
 *                 (err.statusCode), an error, or a close before the open
 *       status    resolves with 101, or the HTTP status of a refused upgrade
 *       next(ms)  the next message {isBinary, text, json, bin} (in arrival order)
 *       nextJson(ms)  the next message, which must be a JSON text frame: its value
 *       request(obj, ms)  sends obj as JSON, resolves with the next message's value
 *       send(v)   an object is sent as JSON text, a string as text, a Buffer as binary
 *       closed    resolves {code, reason, at} (the close the CLIENT saw)
 *       pings     ping frames received so far
 *       ws        the `ws` WebSocket
 *   - closeAllPlain():  terminates every plain client made here
 *   - rawCloseCode(client, ms): for a lib/raw.js rawWsConnect client, the code of
 *     the close frame the server sends (skipping other frames), or 'no close frame'
 *     when the TCP connection ends without one
 * Every wait is bounded.
 */
const WebSocket = require('ws');
const { HOST } = require('./server');
const { within } = require('./sio');

const open = new Set();

function toMessage(raw, isBinary) {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.concat(raw);
  if (isBinary) return { isBinary: true, bin: Buffer.from(buf) };
  const text = buf.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch (_) { json = undefined; }
  return { isBinary: false, text, json };
}

function plainWs(port, { path = '/ws', query = '', headers = {}, ...opts } = {}) {
  const url = `ws://${HOST}:${port}${path}${query ? (query[0] === '?' ? query : `?${query}`) : ''}`;
  const ws = new WebSocket(url, { perMessageDeflate: false, headers, handshakeTimeout: 5000, ...opts });
  open.add(ws);
  const queue = [];
  const waiters = [];
  let closedInfo = null;
  const client = { ws, url, pings: 0, messages: 0 };

  let statusResolve;
  client.status = new Promise((r) => { statusResolve = r; });
  client.opened = new Promise((resolve, reject) => {
    ws.once('open', () => { statusResolve(101); resolve(client); });
    ws.once('unexpected-response', (req, res) => {
      statusResolve(res.statusCode);
      const err = new Error(`upgrade refused: HTTP ${res.statusCode}`);
      err.statusCode = res.statusCode;
      reject(err);
      res.resume();
      req.destroy();
    });
    ws.once('error', (e) => { statusResolve(null); reject(e); });
    ws.once('close', (code) => { statusResolve(null); reject(new Error(`closed (${code}) before open`)); });
  });
  client.opened.catch(() => {});
  ws.on('error', () => {}); // reported through opened / closed

  ws.on('ping', () => { client.pings++; });
  ws.on('message', (raw, isBinary) => {
    client.messages++;
    const m = { ...toMessage(raw, isBinary), at: Date.now() };
    if (waiters.length) waiters.shift().resolve(m); else queue.push(m);
  });
  client.closed = new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      open.delete(ws);
      closedInfo = { code, reason: reason.toString(), at: Date.now() };
      while (waiters.length) waiters.shift().reject(new Error(`plain websocket closed (${code} ${closedInfo.reason}) while waiting for a message`));
      resolve(closedInfo);
    });
  });

  client.next = (ms = 3000) => {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closedInfo) return Promise.reject(new Error(`plain websocket closed (${closedInfo.code} ${closedInfo.reason})`));
    let entry;
    const p = new Promise((resolve, reject) => { entry = { resolve, reject }; waiters.push(entry); });
    return within(p, ms, 'a plain websocket message').catch((e) => {
      const i = waiters.indexOf(entry);
      if (i >= 0) waiters.splice(i, 1);
      throw e;
    });
  };
  client.nextJson = async (ms = 3000) => {
    const m = await client.next(ms);
    if (m.isBinary) throw new Error(`expected a JSON text frame, got a binary frame of ${m.bin.length} bytes (${m.bin.toString('hex').slice(0, 64)})`);
    if (m.json === undefined) throw new Error(`expected a JSON text frame, got ${JSON.stringify(m.text)}`);
    return m.json;
  };
  client.nextBinary = async (ms = 3000) => {
    const m = await client.next(ms);
    if (!m.isBinary) throw new Error(`expected a binary frame, got the text ${m.text}`);
    return m.bin;
  };
  client.send = (v) => {
    if (Buffer.isBuffer(v)) ws.send(v, { binary: true });
    else ws.send(typeof v === 'string' ? v : JSON.stringify(v));
  };
  client.request = async (obj, ms = 3000) => {
    client.send(obj);
    return client.nextJson(ms);
  };
  /** Messages received and not yet taken (for "nothing else arrived" checks). */
  client.pending = () => queue.slice();
  Object.defineProperty(client, 'isClosed', { get: () => closedInfo !== null });
  return client;
}

function closeAllPlain() {
  for (const ws of open) ws.terminate();
  open.clear();
}

/** The code of the server's close frame on a raw client (lib/raw.js), skipping other frames. */
async function rawCloseCode(client, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`no close frame within ${ms} ms`);
    // one pending next() at a time: lib/raw.js keeps a waiter that timed out
    const f = await Promise.race([client.next(left), client.closed.then(() => null)]);
    if (f && f.opcode === 8) return f.code;
    if (f === null) {
      // the connection ended: a close frame may still be among the parsed ones
      const c = client.frames.find((x) => x.opcode === 8);
      return c ? c.code : 'no close frame';
    }
  }
}

module.exports = { plainWs, closeAllPlain, rawCloseCode };
