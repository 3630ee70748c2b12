'use strict';
/*
 * A minimal Redis client for the recovery measurements (INFO, MEMORY USAGE, XLEN,
 * KEYS on the bench's own redis-server): RESP2 over one TCP connection, replies in
 * order, every command bounded in time.
 *
 *   const r = await respConnect(port);           // 127.0.0.1
 *   await r.cmd('XLEN', 'socket.io-history#/#')  // -> 1234 (errors reject)
 *   commandStats(await r.cmd('INFO', 'commandstats'))  -> {xadd: {calls, usec, failed, rejected}}
 *   errorStats(await r.cmd('INFO', 'errorstats'))      -> {ERR: 3, NOSCRIPT: 1}
 *   infoFields(await r.cmd('INFO', 'memory'))          -> {used_memory: '…', …}
 *   r.close()
 */
const net = require('node:net');

const HOST = '127.0.0.1';

/** Parses one reply at buf[i]; returns [value, next index] or null when incomplete. */
function parse(buf, i) {
  if (i >= buf.length) return null;
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': return [Object.assign(new Error(line), { redisError: true }), next];
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let at = next;
      for (let k = 0; k < n; k++) {
        const r = parse(buf, at);
        if (!r) return null;
        out.push(r[0]);
        at = r[1];
      }
      return [out, at];
    }
    default:
      throw new Error(`resp: unexpected reply type ${JSON.stringify(type)}`);
  }
}

function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) {
    const s = Buffer.from(String(a));
    parts.push(`$${s.length}\r\n`, s, '\r\n');
  }
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

function respConnect(port, { host = HOST, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const waiting = [];
    let buf = Buffer.alloc(0);
    let dead = null;
    const fail = (e) => {
      dead = e;
      while (waiting.length) waiting.shift().reject(e);
    };
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${host}:${port}: no connection within ${timeoutMs} ms`)); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(timer); fail(e); reject(e); });
    sock.on('close', () => fail(dead || new Error('redis connection closed')));
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let at = 0;
      for (;;) {
        let r;
        try { r = parse(buf, at); } catch (e) { fail(e); sock.destroy(); return; }
        if (!r) break;
        at = r[1];
        const w = waiting.shift();
        if (!w) continue;
        clearTimeout(w.timer);
        if (r[0] instanceof Error) w.reject(r[0]); else w.resolve(r[0]);
      }
      buf = buf.subarray(at);
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.setNoDelay(true);
      resolve({
        cmd: (...args) => new Promise((res, rej) => {
          if (dead) { rej(dead); return; }
          const w = { resolve: res, reject: rej };
          w.timer = setTimeout(() => {
            const i = waiting.indexOf(w);
            if (i >= 0) waiting.splice(i, 1);
            rej(new Error(`redis: ${args[0]} got no answer within ${timeoutMs} ms`));
            sock.destroy(); /* the replies would be out of step now */
          }, timeoutMs);
          waiting.push(w);
          sock.write(encode(args));
        }),
        close: () => sock.destroy(),
      });
    });
  });
}

/** INFO text -> {field: value} (strings). */
function infoFields(text) {
  const out = {};
  for (const line of String(text).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** INFO commandstats -> {command: {calls, usec, failed, rejected}} ("script|load" kept as is). */
function commandStats(text) {
  const out = {};
  for (const [k, v] of Object.entries(infoFields(text))) {
    if (!k.startsWith('cmdstat_')) continue;
    const e = { calls: 0, usec: 0, failed: 0, rejected: 0 };
    for (const kv of v.split(',')) {
      const [a, b] = kv.split('=');
      if (a === 'calls') e.calls = Number(b);
      else if (a === 'usec') e.usec = Number(b);
      else if (a === 'failed_calls') e.failed = Number(b);
      else if (a === 'rejected_calls') e.rejected = Number(b);
    }
    out[k.slice(8)] = e;
  }
  return out;
}

/** INFO errorstats -> {ERRORCODE: count}. */
function errorStats(text) {
  const out = {};
  for (const [k, v] of Object.entries(infoFields(text))) {
    if (!k.startsWith('errorstat_')) continue;
    const m = /count=(\d+)/.exec(v);
    out[k.slice(10)] = m ? Number(m[1]) : 0;
  }
  return out;
}

/** b - a of two commandStats() (commands absent from a count from 0). */
function statsDelta(a, b) {
  const out = {};
  for (const [cmd, e] of Object.entries(b)) {
    const p = a[cmd] || { calls: 0, usec: 0, failed: 0, rejected: 0 };
    const d = { calls: e.calls - p.calls, usec: e.usec - p.usec, failed: e.failed - p.failed, rejected: e.rejected - p.rejected };
    if (d.calls || d.failed || d.rejected) out[cmd] = d;
  }
  return out;
}

module.exports = { respConnect, infoFields, commandStats, errorStats, statsDelta };
