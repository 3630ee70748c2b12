'use strict';
/*
 * Raw-socket clients for the hostile-input tests (hardening.test.js), where
 * a well-behaved client library cannot send what is needed:
 *   - rawHttp(port, bytes, {ms, until}):  one TCP connection; writes `bytes`
 *     (string or Buffer), collects everything until the server closes, `ms`
 *     pass, or what came matches `until`; resolves {data (latin1 string),
 *     closed (by the server), ms}
 *   - statusLines(data):           the HTTP status lines found in a byte stream
 *   - rawWsConnect(port, path, {headers}):  a WebSocket handshake by hand;
 *     resolves a client that writes frames of its own making and parses the
 *     server's frames: {sock, send(opcode, payload, {mask, fin, rsv}), write(buf),
 *     frames (array), next(ms), closed (promise of {at})}
 *   - frame(opcode, payload, {mask, fin, len}):  a client frame as bytes
 * Every wait is bounded; sockets are destroyed by closeRawSockets().
 */
const crypto = require('node:crypto');
const net = require('node:net');
const { HOST } = require('./server');

const open = new Set();

function track(sock) {
  open.add(sock);
  sock.on('close', () => open.delete(sock));
  return sock;
}

function closeRawSockets() {
  for (const s of open) s.destroy();
  open.clear();
}

function rawHttp(port, bytes, { ms = 3000, until } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = track(net.connect(port, HOST));
    let data = '';
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      data += d.toString('latin1');
      if (until && until.test(data)) finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('error', () => finish(true));
  });
}

const statusLines = (data) => data.match(/HTTP\/1\.1 \d{3}[^\r\n]*/g) || [];

/** A client frame: masked unless {mask:false}; `len` overrides the announced length. */
function frame(opcode, payload = Buffer.alloc(0), { mask = true, fin = true, rsv = 0, len } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = len === undefined ? BigInt(body.length) : BigInt(len);
  let head;
  if (n < 126n) head = Buffer.from([0, Number(n)]);
  else if (n <= 0xffffn) {
    head = Buffer.alloc(4);
    head[1] = 126;
    head.writeUInt16BE(Number(n), 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(n, 2);
  }
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, body]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(body);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([head, key, masked]);
}

/** Parses unmasked server frames from `buf`; returns {frames, rest}. */
function parseFrames(buf) {
  const frames = [];
  let off = 0;
  while (buf.length - off >= 2) {
    const b0 = buf[off];
    let len = buf[off + 1] & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (buf.length - off < 4) break;
      len = buf.readUInt16BE(off + 2);
      hdr = 4;
    } else if (len === 127) {
      if (buf.length - off < 10) break;
      len = Number(buf.readBigUInt64BE(off + 2));
      hdr = 10;
    }
    if (buf.length - off < hdr + len) break;
    const payload = buf.subarray(off + hdr, off + hdr + len);
    const f = { opcode: b0 & 0xf, fin: !!(b0 & 0x80), payload };
    if (f.opcode === 8) f.code = len >= 2 ? payload.readUInt16BE(0) : 1005;
    if (f.opcode === 1) f.text = payload.toString('utf8');
    frames.push(f);
    off += hdr + len;
  }
  return { frames, rest: buf.subarray(off) };
}

function rawWsConnect(port, path, { headers = {}, ms = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = track(net.connect(port, HOST));
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const frames = [];
    const waiters = [];
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    const timer = setTimeout(() => reject(new Error('no 101 within the time')), ms);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`));
    const client = {
      sock,
      frames,
      closed,
      write: (b) => sock.write(b),
      send: (opcode, payload, opts) => sock.write(frame(opcode, payload, opts)),
      next(wait = 3000) {
        if (frames.length) return Promise.resolve(frames.shift());
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error('no frame within the time')), wait);
          waiters.push((f) => { clearTimeout(t); res(f); });
        });
      },
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        if (!/^HTTP\/1\.1 101/.test(head)) {
          clearTimeout(timer);
          reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        clearTimeout(timer);
        resolve(client);
      }
      const { frames: got, rest } = parseFrames(buf);
      buf = rest;
      for (const f of got) {
        if (waiters.length) waiters.shift()(f); else frames.push(f);
      }
    });
    sock.on('close', () => closedResolve({ at: Date.now() }));
    sock.on('error', () => {});
  });
}

module.exports = { rawHttp, statusLines, frame, rawWsConnect, closeRawSockets };
