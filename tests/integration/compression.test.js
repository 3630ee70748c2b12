'use strict';
/*
 * Compression (README "Compression"): WebSocket permessage-deflate (RFC 7692,
 * PER_MESSAGE_DEFLATE) and gzip/deflate long-polling responses
 * (HTTP_COMPRESSION), against the real sio-server with real clients:
 *   - npm ws with perMessageDeflate (default, serverMaxWindowBits 10 and 8):
 *     the negotiated header, messages both ways above and below the
 *     threshold, RSV1 seen by a raw socket only on messages >= the threshold,
 *     messages the client compressed itself;
 *   - socket.io-client 4 over WebSocket: emit with ack, binary, a 10 KB
 *     broadcast to 20 clients compressed ONCE (sio_ws_deflate_total +1);
 *   - Chromium (playwright-core): WebSocket with deflate, polling with gzip;
 *   - engine.io-client's Fetch transport and raw HTTP requests: gzip,
 *     deflate, q-values, the threshold, no Accept-Encoding, HTTP_COMPRESSION=false;
 *   - off by default: the extension is declined, nothing compressed;
 *   - bad input: a deflate bomb (1009 at once, RSS bounded, still serving),
 *     RSV1 without negotiation, on a continuation or a control frame (1002),
 *     a corrupt stream and compressed invalid UTF-8 (1007, as ws closes them),
 *     and extension headers ws refuses (400).
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const zlib = require('node:zlib');
const WebSocket = require('ws');
const { HOST, freePort, httpRequest } = require('../lib/server');
const {
  within, eventually, startSioServer, stopAlive, connect, connected, closeAll, apiPost, apiGet,
} = require('../lib/sio');
const { frame } = require('../lib/raw');
const { startBackend, json } = require('../lib/backend');

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const PMD = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

/* ---- helpers ------------------------------------------------------------------ */

/** A backend that acks "echo" with its arguments (and attachments). */
function echoBackend(body, req, res) {
  if (body && body.type === 'event' && body.event === 'echo') {
    return json(res, { ack: body.args, attachments: body.attachments });
  }
  return json(res, {});
}

async function startServer(env, backend) {
  return startSioServer({
    env: {
      RECOVERY_WINDOW_MS: '0',
      ...(backend ? { EVENT_PROXY_URL: `${backend.url}/events`, PROXY_EVENTS: 'echo' } : {}),
      ...env,
    },
  });
}

function metricsOf(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function deflateTotal(server) {
  return metricsOf((await apiGet(server.apiPort, '/metrics')).body, 'sio_ws_deflate_total');
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/** Unmasked server frames with their reserved bits. */
function parseFrames(buf) {
  const frames = [];
  let off = 0;
  while (buf.length - off >= 2) {
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
    const b0 = buf[off];
    const payload = buf.subarray(off + hdr, off + hdr + len);
    const f = { opcode: b0 & 0xf, fin: !!(b0 & 0x80), rsv1: !!(b0 & 0x40), payload };
    if (f.opcode === 8) f.code = len >= 2 ? payload.readUInt16BE(0) : 1005;
    if (f.opcode === 1 || f.opcode === 2) {
      f.data = f.rsv1 ? inflateRaw(payload) : payload;
      if (f.opcode === 1) f.text = f.data.toString('utf8');
    }
    frames.push(f);
    off += hdr + len;
  }
  return { frames, rest: buf.subarray(off) };
}

const rawSockets = new Set();

/**
 * A WebSocket handshake by hand to the Engine.IO endpoint, offering
 * `extensions` (a Sec-WebSocket-Extensions value, or none); resolves
 * {status, head, sock, next(ms), send(opcode, payload, opts), closed} once
 * the answer's head is in (101 or not).
 */
function rawWs(port, extensions, { pathname = '/socket.io/?EIO=4&transport=websocket' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    rawSockets.add(sock);
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let head = null;
    const frames = [];
    const waiters = [];
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    const timer = setTimeout(() => reject(new Error('no answer to the upgrade')), 5000);
    const ext = extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`;
    sock.on('connect', () => sock.write(`GET ${pathname} HTTP/1.1\r\nHost: ${HOST}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      `Sec-WebSocket-Version: 13\r\n${ext}\r\n`));
    const client = {
      sock,
      closed,
      frames,
      send: (opcode, payload, opts) => sock.write(frame(opcode, payload, opts)),
      next(ms = 3000) {
        if (frames.length) return Promise.resolve(frames.shift());
        return within(new Promise((res) => waiters.push(res)), ms, 'a frame');
      },
      /** The next data frame (pings answered). */
      async nextData(ms = 3000) {
        for (;;) {
          const f = await client.next(ms);
          if (f.opcode === 1 && f.text === '2') { client.send(1, '3'); continue; }
          return f;
        }
      },
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        clearTimeout(timer);
        client.head = head;
        client.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)[1]);
        const h = /\r\nsec-websocket-extensions: ([^\r]*)/i.exec(head);
        client.extensions = h ? h[1] : undefined;
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

/** A raw client through the Socket.IO connect ("40"): ready for events. */
async function rawSio(port, extensions) {
  const c = await rawWs(port, extensions);
  assert.equal(c.status, 101, c.head);
  assert.match((await c.nextData()).text, /^0\{/);
  c.send(1, '40');
  assert.match((await c.nextData()).text, /^40\{/);
  return c;
}

/** The close code the server sends next (other frames skipped). */
async function closeCode(c, ms = 3000) {
  for (;;) {
    const f = await c.next(ms);
    if (f.opcode === 8) return f.code;
  }
}

/** An Engine.IO/Socket.IO session over npm ws with `perMessageDeflate`. */
async function wsSio(port, perMessageDeflate) {
  const ws = new WebSocket(`ws://${HOST}:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate });
  rawSockets.add(ws);
  const queue = [];
  const waiters = [];
  let upgradeHeader;
  ws.on('upgrade', (res) => { upgradeHeader = res.headers['sec-websocket-extensions']; });
  ws.on('message', (d, isBinary) => {
    const m = isBinary ? d : d.toString('utf8');
    if (m === '2') { ws.send('3'); return; }
    if (waiters.length) waiters.shift()(m); else queue.push(m);
  });
  const next = (ms = 3000) => (queue.length ? Promise.resolve(queue.shift())
    : within(new Promise((r) => waiters.push(r)), ms, 'a message'));
  await within(new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }), 5000, 'ws open');
  assert.match(await next(), /^0\{/);
  ws.send('40');
  assert.match(await next(), /^40\{/);
  let ackId = 0;
  return {
    ws,
    next,
    get extensions() { return upgradeHeader; },
    /** emit("echo", text) with an ack; resolves the ack's first argument. */
    async echo(text) {
      const id = ++ackId;
      ws.send(`42${id}${JSON.stringify(['echo', text])}`);
      const m = await next(5000);
      assert.ok(m.startsWith(`43${id}[`), `the ack of ${id}: ${String(m).slice(0, 40)}`);
      return JSON.parse(m.slice(String(id).length + 2))[0];
    },
  };
}

function closeAllRaw() {
  for (const s of rawSockets) {
    if (s instanceof WebSocket) s.terminate(); else s.destroy();
  }
  rawSockets.clear();
}

/** A polling session through the Socket.IO connect: {sid, get(headers), post(body)}. */
async function pollingSession(port) {
  const base = `/socket.io/?EIO=4&transport=polling`;
  const open = await httpRequest({ port, path: base });
  assert.equal(open.status, 200);
  const sid = JSON.parse(open.body.slice(1)).sid;
  const q = `${base}&sid=${sid}`;
  const post = (body) => httpRequest({ port, path: q, method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
  assert.equal((await post('40')).status, 200);
  const get = (headers = {}) => rawGet(port, q, headers);
  const connectAnswer = await get();
  assert.match(connectAnswer.body.toString(), /^40\{/);
  return { sid, get, post };
}

/** A GET whose body is kept as it came (Buffer), with its headers. */
function rawGet(port, p, headers) {
  return within(new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  }), 10000, `GET ${p}`);
}

/** A permessage-deflate payload inflated (the trailer added, no final block expected). */
function inflateRaw(payload, windowBits = 15) {
  return zlib.inflateRawSync(Buffer.concat([payload, TRAILER]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

const bigText = (n, seed = 'abcdefghij') => seed.repeat(Math.ceil(n / seed.length)).slice(0, n);

/* ---- permessage-deflate with npm ws -------------------------------------------------- */

describe('compression: permessage-deflate with npm ws', function () {
  this.timeout(60000);
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(echoBackend);
    server = await startServer({ PER_MESSAGE_DEFLATE: 'true' }, backend);
  });
  after(async function () {
    closeAllRaw();
    closeAll();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(closeAllRaw);

  it('perMessageDeflate: true gets both no_context_takeover parameters; messages above and below the threshold arrive intact both ways', async function () {
    const c = await wsSio(server.port, true);
    assert.equal(c.extensions, PMD);
    for (const n of [10, 1023, 1024, 5000, 300000]) {
      const text = bigText(n, `x${n}-`);
      assert.equal(await c.echo(text), text, `a ${n}-character echo`);
    }
  });

  it('serverMaxWindowBits 10: the answer names it and compressed messages inflate with that window', async function () {
    const c = await wsSio(server.port, { serverMaxWindowBits: 10 });
    assert.equal(c.extensions, `${PMD}; server_max_window_bits=10`);
    for (const n of [10, 5000]) assert.equal(await c.echo(bigText(n)), bigText(n));
    const text = crypto.randomBytes(30000).toString('hex'); // back-references far and near
    assert.equal(await c.echo(text), text);
    const raw = await rawSio(server.port, 'permessage-deflate; server_max_window_bits=10');
    raw.send(1, `421${JSON.stringify(['echo', text])}`);
    const f = await raw.nextData(5000);
    assert.ok(f.rsv1, 'compressed');
    assert.equal(f.text, `431${JSON.stringify([text])}`);
    // a 2^10 window: every distance the stream uses fits it
    assert.equal(inflateRaw(f.payload, 10).toString(), f.text);
  });

  it('serverMaxWindowBits 8: accepted (=8), and the server sends uncompressed (zlib has no 256-byte window)', async function () {
    const c = await wsSio(server.port, { serverMaxWindowBits: 8 });
    assert.equal(c.extensions, `${PMD}; server_max_window_bits=8`);
    for (const n of [10, 5000]) assert.equal(await c.echo(bigText(n)), bigText(n));
    const text = bigText(20000);
    assert.equal(await c.echo(text), text);
    const raw = await rawSio(server.port, 'permessage-deflate; server_max_window_bits=8');
    raw.send(1, `421${JSON.stringify(['echo', text])}`);
    const f = await raw.nextData(5000);
    assert.equal(f.rsv1, false, 'not compressed');
    assert.equal(f.text, `431${JSON.stringify([text])}`);
  });

  it('a raw socket sees RSV1 only on messages of at least PER_MESSAGE_DEFLATE_THRESHOLD (1024) bytes', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    assert.equal(raw.extensions, PMD);
    // the ack 43<id>["<text>"] of a one-digit id is 7 bytes more than the text
    const cases = [[100, 107], [1016, 1023], [1017, 1024], [50000, 50007]];
    let id = 0;
    for (const [n, size] of cases) {
      const text = bigText(n);
      raw.send(1, `42${++id}${JSON.stringify(['echo', text])}`);
      const f = await raw.nextData(5000);
      const expect = `43${id}${JSON.stringify([text])}`;
      assert.equal(Buffer.byteLength(expect), size);
      assert.equal(f.text, expect);
      assert.equal(f.rsv1, size >= 1024, `a ${size}-byte message: RSV1 ${size >= 1024}`);
    }
  });

  it('a broadcast to clients of windows 15, 10 and 8 is compressed once per window that can be made (+2)', async function () {
    const clients = [];
    for (const opts of [true, true, { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 8 }]) {
      clients.push(await wsSio(server.port, opts));
    }
    const before = await deflateTotal(server);
    const data = bigText(20000, 'windows ');
    const got = Promise.all(clients.map((c) => c.next(5000)));
    await apiPost(server.apiPort, { namespace: '/', event: 'w', data });
    for (const m of await got) assert.equal(m, `42${JSON.stringify(['w', data])}`);
    assert.equal(await deflateTotal(server) - before, 2, 'one twin for 15 bits, one for 10, none for 8');
  });

  it('PER_MESSAGE_DEFLATE_THRESHOLD=0 compresses even the open packet', async function () {
    const s = await startServer({ PER_MESSAGE_DEFLATE: 'true', PER_MESSAGE_DEFLATE_THRESHOLD: '0' });
    try {
      const raw = await rawWs(s.port, 'permessage-deflate');
      const f = await raw.nextData();
      assert.ok(f.rsv1);
      assert.match(f.text, /^0\{"sid"/);
    } finally {
      closeAllRaw();
      await stopAlive(s);
    }
  });

  it('messages the client compresses (threshold 0: all of them) are understood, and fragmented compressed ones too', async function () {
    const c = await wsSio(server.port, { threshold: 0 });
    assert.equal(c.extensions, PMD);
    for (const n of [1, 500, 70000]) {
      const text = bigText(n, 'é-ü-');
      assert.equal(await c.echo(text), text);
    }
    // by hand: RSV1 on the first frame only, three fragments
    const raw = await rawSio(server.port, 'permessage-deflate');
    const z = zlib.deflateRawSync(Buffer.from(`421${JSON.stringify(['echo', 'fragmented'])}`),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const a = Math.floor(z.length / 3);
    raw.send(1, z.subarray(0, a), { fin: false, rsv: 4 });
    raw.send(0, z.subarray(a, 2 * a), { fin: false });
    raw.send(0, z.subarray(2 * a), { fin: true });
    assert.equal((await raw.nextData()).text, '431["fragmented"]');
  });

  it('several offers: the first is taken; unknown extensions beside it are ignored', async function () {
    const raw = await rawWs(server.port, 'x-foo; bar="1", permessage-deflate; server_max_window_bits=12; client_max_window_bits, permessage-deflate');
    assert.equal(raw.status, 101);
    assert.equal(raw.extensions, `${PMD}; server_max_window_bits=12`);
    const quoted = await rawWs(server.port, 'permessage-deflate; server_max_window_bits="11"');
    assert.equal(quoted.extensions, `${PMD}; server_max_window_bits=11`);
    const other = await rawWs(server.port, 'x-webkit-deflate-frame');
    assert.equal(other.status, 101);
    assert.equal(other.extensions, undefined, 'nothing to accept: no header');
  });

  for (const bad of [
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; client_max_window_bits=7',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; foo',
    'permessage-deflate, permessage-deflate; bar',
    'permessage-deflate;;',
    'permessage-deflate; a="b',
    '',
  ]) {
    it(`a header ws refuses is answered 400, as ws's server does: ${JSON.stringify(bad)}`, async function () {
      const raw = await rawWs(server.port, bad);
      assert.equal(raw.status, 400, raw.head);
      await raw.closed;
    });
  }

  it('400 / declined / accepted (and the window) agree with npm ws on 400 generated headers', async function () {
    // ws's own modules, by path (its package "exports" lists none of them)
    const wsLib = path.join(path.dirname(require.resolve('ws')), 'lib');
    const { parse } = require(path.join(wsLib, 'extension.js'));
    const PerMessageDeflate = require(path.join(wsLib, 'permessage-deflate.js'));
    /** What ws's server decides (websocket-server.js: parse, then accept the offers). */
    const wsDecision = (h) => {
      try {
        const offers = parse(h);
        if (!offers['permessage-deflate']) return 'declined';
        const accepted = new PerMessageDeflate({}, true, 0).accept(offers['permessage-deflate']);
        return `accepted ${accepted.server_max_window_bits || 15}`;
      } catch (_) {
        return 'refused';
      }
    };
    const pieces = ['permessage-deflate', 'permessage-deflate', 'x-foo', 'server_max_window_bits',
      'client_max_window_bits', 'server_no_context_takeover', 'client_no_context_takeover', 'bar',
      '=', '=', '"', '\\', ';', ';', ',', ' ', '\t', '10', '8', '15', '16', '0x0a', '1e1', '9.0', 'a'];
    let seed = 42; // mulberry32: the same headers every run
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = (a) => a[Math.floor(rand() * a.length)];
    const values = ['8', '10', '15', '16', '0x0b', '1e1', '12.0', '7', '"9"', '"1\\3"', 'x'];
    const params = ['server_max_window_bits=', 'client_max_window_bits=', 'client_max_window_bits',
      'server_no_context_takeover', 'client_no_context_takeover'];
    /** An offer list of real parameter names and values, well-formed or nearly. */
    const structured = () => {
      const offers = [];
      for (let o = 1 + Math.floor(rand() * 2); o > 0; o--) {
        let offer = pick(['permessage-deflate', 'permessage-deflate', 'x-foo']);
        for (let k = Math.floor(rand() * 3); k > 0; k--) {
          const p = pick(params);
          offer += pick(['; ', ';', ' ;\t']) + p + (p.endsWith('=') ? pick(values) : '');
        }
        offers.push(offer);
      }
      return offers.join(pick([', ', ',']));
    };
    const counts = { refused: 0, declined: 0, accepted: 0 };
    for (let i = 0; i < 400; i++) {
      let h = i % 2 ? structured() : '';
      const n = i % 2 ? 0 : 1 + Math.floor(rand() * 8);
      for (let k = 0; k < n; k++) h += pieces[Math.floor(rand() * pieces.length)];
      h = h.replace(/^[ \t]+|[ \t]+$/g, ''); // HTTP drops the value's outer blanks (Node too)
      const expect = wsDecision(h);
      const raw = await rawWs(server.port, h);
      raw.sock.destroy();
      const got = raw.status === 400 ? 'refused' : raw.extensions === undefined ? 'declined'
        : `accepted ${(/server_max_window_bits=(\d+)/.exec(raw.extensions) || [0, 15])[1]}`;
      assert.equal(got, expect, `Sec-WebSocket-Extensions: ${JSON.stringify(h)}`);
      counts[expect.split(' ')[0]]++;
    }
    for (const k of Object.keys(counts)) assert.ok(counts[k] >= 20, `enough ${k} cases: ${JSON.stringify(counts)}`);
  });

  it('the plain WebSocket endpoint follows PER_MESSAGE_DEFLATE too', async function () {
    const s = await startServer({ PER_MESSAGE_DEFLATE: 'true', PLAIN_WS_PATH: '/ws' });
    try {
      const raw = await rawWs(s.port, 'permessage-deflate', { pathname: '/ws' });
      assert.equal(raw.status, 101);
      assert.equal(raw.extensions, PMD);
    } finally {
      closeAllRaw();
      await stopAlive(s);
    }
  });
});

/* ---- memory per socket ---------------------------------------------------------------------- */

describe('compression: no zlib state per socket', function () {
  this.timeout(90000);
  const N = 300;

  /** Server RSS per WebSocket client (KB) that negotiated what PER_MESSAGE_DEFLATE=`on` gives,
   * after each got a compressible 10 KB broadcast and sent a compressed message. */
  async function perSocketKb(on) {
    const server = await startServer({
      PER_MESSAGE_DEFLATE: on ? 'true' : 'false',
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1`,
    });
    try {
      const round = async (clients) => {
        const data = bigText(10240, 'per socket ');
        const got = Promise.all(clients.map((c) => c.next(10000)));
        await apiPost(server.apiPort, { namespace: '/', event: 'm', data });
        for (const m of await got) assert.equal(m, `42${JSON.stringify(['m', data])}`);
        for (const c of clients) c.ws.send(`42${JSON.stringify(['up', data])}`); // compressed by the client when on
      };
      const warm = [];
      for (let i = 0; i < 10; i++) warm.push(await wsSio(server.port, { threshold: 1024 }));
      await round(warm); // the shared streams exist from here on
      const rss0 = rssKb(server.proc.pid);
      const clients = [];
      for (let i = 0; i < N; i++) clients.push(await wsSio(server.port, { threshold: 1024 }));
      assert.equal(clients[0].extensions, on ? PMD : undefined);
      await round([...warm, ...clients]);
      await round([...warm, ...clients]);
      return (rssKb(server.proc.pid) - rss0) / N;
    } finally {
      closeAllRaw();
      await stopAlive(server);
    }
  }

  it(`RSS per WebSocket with deflate on is that of off (${N} clients; a zlib stream per socket would be 40-260 KB)`, async function () {
    const off = await perSocketKb(false);
    const on = await perSocketKb(true);
    console.log(`      per socket: ${on.toFixed(2)} KB on, ${off.toFixed(2)} KB off`);
    assert.ok(on - off < 8, `per socket: ${on.toFixed(1)} KB with deflate, ${off.toFixed(1)} KB without`);
  });
});

/* ---- socket.io-client 4 ------------------------------------------------------------------ */

describe('compression: socket.io-client 4 over WebSocket with PER_MESSAGE_DEFLATE=true', function () {
  this.timeout(60000);
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(echoBackend);
    server = await startServer({ PER_MESSAGE_DEFLATE: 'true' }, backend);
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(closeAll);

  it('connects, emits with ack (small and large), sends and gets binary', async function () {
    const socket = await connected(connect(server.url, { transports: ['websocket'] }));
    assert.deepEqual(await socket.timeout(3000).emitWithAck('echo', 'hi'), 'hi');
    const big = bigText(200000, 'socket.io ');
    assert.equal(await socket.timeout(5000).emitWithAck('echo', big), big);
    const bin = crypto.randomBytes(20000);
    const back = await socket.timeout(5000).emitWithAck('echo', bin);
    assert.ok(Buffer.isBuffer(back) && back.equals(bin), 'the binary echo');
  });

  it('a 10 KB broadcast to 20 clients: all get it, and it is compressed once (sio_ws_deflate_total +1)', async function () {
    const sockets = [];
    for (let i = 0; i < 20; i++) sockets.push(await connected(connect(server.url, { transports: ['websocket'] })));
    const before = await deflateTotal(server);
    assert.ok(Number.isFinite(before), 'sio_ws_deflate_total is exported');
    const data = bigText(10240, 'broadcast-');
    const got = Promise.all(sockets.map((s) => within(new Promise((r) => s.once('big', r)), 5000, 'the broadcast')));
    const res = await apiPost(server.apiPort, { namespace: '/', event: 'big', data });
    assert.ok(res.status >= 200 && res.status < 300, res.body);
    for (const d of await got) assert.equal(d, data);
    assert.equal(await deflateTotal(server) - before, 1, 'one compression for 20 recipients');
  });
});

/* ---- Chromium ------------------------------------------------------------------------------- */

describe('compression: Chromium (playwright-core)', function () {
  this.timeout(90000);
  const CHROMIUM = '/usr/bin/chromium';
  let browser;
  let backend;
  let server;
  let page;
  let pageServer;
  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing (scripts/install-deps.sh installs chromium)`);
      console.log(`      (skipped: ${CHROMIUM} is missing; scripts/install-deps.sh installs it)`);
      this.skip();
    }
    const { chromium } = require('playwright-core');
    const lib = fs.readFileSync(path.join(__dirname, '..', 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js'));
    const pagePort = await freePort();
    pageServer = http.createServer((req, res) => {
      if (req.url === '/socket.io.min.js') {
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        return res.end(lib);
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<!doctype html><script src="/socket.io.min.js"></script>');
    });
    await new Promise((r) => pageServer.listen(pagePort, HOST, r));
    backend = await startBackend(echoBackend);
    server = await startServer({ PER_MESSAGE_DEFLATE: 'true', CORS_ORIGINS: `http://${HOST}:${pagePort}` }, backend);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    page = await browser.newPage();
    await page.goto(`http://${HOST}:${pagePort}/`);
  });
  after(async function () {
    if (browser) await browser.close();
    if (pageServer) pageServer.close();
    if (server) await stopAlive(server);
    if (backend) await backend.close();
  });

  /** In the page: connects with `transports`, resolves once connected. */
  const connectInPage = (transports) => page.evaluate((args) => new Promise((resolve, reject) => {
    const s = window.io(args.url, { transports: args.transports, forceNew: true, reconnection: false });
    window.sock = s;
    window.got = new Promise((r) => s.once('big', r));
    s.once('connect', () => resolve(s.io.engine.transport.name));
    s.once('connect_error', (e) => reject(new Error(String(e))));
  }), { url: server.url, transports });

  it('WebSocket with permessage-deflate: a large broadcast arrives (compressed once) and a large echo comes back', async function () {
    const ws = [];
    page.on('websocket', (w) => ws.push(w));
    assert.equal(await connectInPage(['websocket']), 'websocket');
    const before = await deflateTotal(server);
    const data = bigText(100000, 'chromium ');
    const arrived = page.evaluate(() => window.got);
    await apiPost(server.apiPort, { namespace: '/', event: 'big', data });
    assert.equal(await within(arrived, 10000, 'the broadcast in Chromium'), data);
    assert.equal(await deflateTotal(server) - before, 1, 'Chromium negotiated deflate: the broadcast was compressed for it');
    const echoed = await page.evaluate((t) => window.sock.timeout(5000).emitWithAck('echo', t), data);
    assert.equal(echoed, data);
    await page.evaluate(() => window.sock.close());
  });

  it('polling: Chromium sends Accept-Encoding itself and gets gzip bodies', async function () {
    const encodings = [];
    const onResponse = (r) => {
      if (r.url().includes('transport=polling') && r.request().method() === 'GET') {
        encodings.push(r.headers()['content-encoding'] || 'identity');
      }
    };
    page.on('response', onResponse);
    assert.equal(await connectInPage(['polling']), 'polling');
    const data = bigText(50000, 'gzip me ');
    const arrived = page.evaluate(() => window.got);
    await apiPost(server.apiPort, { namespace: '/', event: 'big', data });
    assert.equal(await within(arrived, 10000, 'the broadcast over polling'), data);
    await eventually(() => encodings.includes('gzip'), 5000, 'a gzip poll response');
    assert.ok(encodings.includes('identity'), 'small answers (the handshake) are not compressed');
    page.off('response', onResponse);
    await page.evaluate(() => window.sock.close());
  });
});

/* ---- long-polling responses ------------------------------------------------------------------- */

describe('compression: long-polling responses (HTTP_COMPRESSION)', function () {
  this.timeout(60000);
  let server;
  before(async function () {
    server = await startServer({});
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });
  afterEach(closeAll);

  /** A poll answered with a broadcast of `n` characters, with `headers`. */
  async function pollWith(s, headers, n) {
    const session = await pollingSession(s.port);
    const data = bigText(n, 'poll ');
    const answer = session.get(headers);
    await eventually(async () => (await apiPost(s.apiPort, { namespace: '/', event: 'big', data })).status < 300, 3000, 'broadcast');
    const res = await answer;
    return { res, expect: `42${JSON.stringify(['big', data])}` };
  }

  const decode = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync };

  for (const [accept, encoding] of [
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['gzip, deflate, br', 'gzip'],
    ['deflate, gzip', 'deflate'],
    ['gzip;q=0.5, deflate', 'deflate'],
    ['*', 'gzip'],
    ['br;q=1, *;q=0.1', 'gzip'],
    ['gzip;q=0, deflate;q=0', undefined],
    ['identity', undefined],
    ['*;q=0', undefined],
    [undefined, undefined],
  ]) {
    it(`Accept-Encoding ${JSON.stringify(accept)} -> ${encoding || 'uncompressed'} (as npm accepts picks)`, async function () {
      const { res, expect } = await pollWith(server, accept === undefined ? {} : { 'Accept-Encoding': accept }, 5000);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], encoding);
      const body = encoding ? decode[encoding](res.body) : res.body;
      assert.equal(body.toString(), expect);
      if (encoding) assert.ok(res.body.length < body.length / 4, 'actually compressed');
    });
  }

  it('the encoding agrees with npm accepts(req).encodings(["gzip","deflate"]) on 150 generated Accept-Encoding headers', async function () {
    const accepts = require('accepts'); // what engine.io's polling.js calls (a dependency of engine.io)
    const pieces = ['gzip', 'gzip', 'deflate', 'deflate', 'br', 'identity', '*', 'GZIP', 'x-gzip',
      ';q=', ';q=', '; q=', 'q', '=', ';', ',', ', ', ' ', '0', '1', '0.5', '0.0', '1.0', 'abc', '1e-1', '-1', '.3'];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const s = await startServer({ HTTP_COMPRESSION_THRESHOLD: '100' });
    try {
      const session = await pollingSession(s.port);
      const seen = new Set();
      for (let i = 0; i < 150; i++) {
        let h = '';
        for (let k = 1 + Math.floor(rand() * 7); k > 0; k--) h += pieces[Math.floor(rand() * pieces.length)];
        h = h.replace(/^[ \t]+|[ \t]+$/g, '');
        const expect = accepts({ headers: { 'accept-encoding': h } }).encodings(['gzip', 'deflate']) || undefined;
        const data = bigText(500, `${i} `);
        const answer = session.get({ 'Accept-Encoding': h });
        await apiPost(s.apiPort, { namespace: '/', event: 'e', data });
        const res = await answer;
        assert.equal(res.headers['content-encoding'], expect, `Accept-Encoding: ${JSON.stringify(h)}`);
        const body = expect ? decode[expect](res.body) : res.body;
        assert.equal(body.toString(), `42${JSON.stringify(['e', data])}`);
        seen.add(String(expect));
      }
      assert.deepEqual([...seen].sort(), ['deflate', 'gzip', 'undefined'], 'every outcome among the cases');
    } finally {
      await stopAlive(s);
    }
  });

  it('answers under HTTP_COMPRESSION_THRESHOLD (1024) are not compressed; at it they are', async function () {
    const small = await pollWith(server, { 'Accept-Encoding': 'gzip' }, 1024 - 13);
    assert.equal(Buffer.byteLength(small.expect), 1023);
    assert.equal(small.res.headers['content-encoding'], undefined);
    assert.equal(small.res.body.toString(), small.expect);
    const at = await pollWith(server, { 'Accept-Encoding': 'gzip' }, 1024 - 12);
    assert.equal(Buffer.byteLength(at.expect), 1024);
    assert.equal(at.res.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(at.res.body).toString(), at.expect);
  });

  it('HTTP_COMPRESSION=false: never compressed', async function () {
    const s = await startServer({ HTTP_COMPRESSION: 'false' });
    try {
      const { res, expect } = await pollWith(s, { 'Accept-Encoding': 'gzip, deflate' }, 20000);
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.body.toString(), expect);
    } finally {
      await stopAlive(s);
    }
  });

  it('engine.io-client (Fetch transport: Node fetch sends Accept-Encoding and decompresses) gets large messages intact', async function () {
    const { Socket, Fetch } = require('engine.io-client');
    const seen = [];
    const realFetch = globalThis.fetch;
    const socket = new Socket(server.url, { path: '/socket.io/', transports: [Fetch] });
    // what the responses carried, seen through the fetch the transport calls
    globalThis.fetch = async (...args) => {
      const r = await realFetch(...args);
      if (String((args[1] || {}).method).toUpperCase() === 'GET') seen.push(r.headers.get('content-encoding'));
      return r;
    };
    try {
      await within(new Promise((r, j) => { socket.once('open', r); socket.once('error', j); }), 5000, 'open');
      socket.send('0'); // the Socket.IO connect, as a message
      const data = bigText(30000, 'fetch ');
      const msgs = [];
      const got = new Promise((r) => socket.on('message', (m) => { msgs.push(m); if (m.startsWith('2')) r(m); }));
      await eventually(async () => msgs.some((m) => m.startsWith('0')), 5000, 'the connect');
      await apiPost(server.apiPort, { namespace: '/', event: 'big', data });
      assert.equal(await within(got, 5000, 'the broadcast'), `2${JSON.stringify(['big', data])}`);
      assert.ok(seen.includes('gzip'), `a gzip answer among ${JSON.stringify(seen)}`);
    } finally {
      globalThis.fetch = realFetch;
      socket.close();
    }
  });

  it('WebSocket messages are never HTTP-compressed (no Content-Encoding on the upgrade, frames plain)', async function () {
    const raw = await rawWs(server.port, undefined);
    assert.equal(raw.status, 101);
    assert.doesNotMatch(raw.head, /content-encoding/i);
    closeAllRaw();
  });
});

/* ---- off by default ---------------------------------------------------------------------------- */

describe('compression: PER_MESSAGE_DEFLATE off (the default)', function () {
  this.timeout(60000);
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(echoBackend);
    server = await startServer({}, backend);
  });
  after(async function () {
    closeAllRaw();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(closeAllRaw);

  it('the extension is declined (no header) and nothing is compressed', async function () {
    const c = await wsSio(server.port, true);
    assert.equal(c.extensions, undefined);
    const before = await deflateTotal(server);
    const text = bigText(50000);
    assert.equal(await c.echo(text), text);
    const raw = await rawSio(server.port, 'permessage-deflate');
    assert.equal(raw.extensions, undefined);
    raw.send(1, `421${JSON.stringify(['echo', text])}`);
    const f = await raw.nextData(5000);
    assert.equal(f.rsv1, false);
    assert.equal(await deflateTotal(server), before, 'no compression');
  });

  it('a header ws would refuse does not matter when off (101, declined)', async function () {
    const raw = await rawWs(server.port, 'permessage-deflate; foo');
    assert.equal(raw.status, 101);
    assert.equal(raw.extensions, undefined);
  });

  it('RSV1 without negotiation: close 1002', async function () {
    const raw = await rawSio(server.port, undefined);
    raw.send(1, zlib.deflateRawSync(Buffer.from('42["x"]')), { rsv: 4 });
    assert.equal(await closeCode(raw), 1002);
  });
});

/* ---- bad input --------------------------------------------------------------------------------- */

describe('compression: bad compressed input', function () {
  this.timeout(90000);
  let backend;
  let server;
  before(async function () {
    backend = await startBackend(echoBackend);
    server = await startServer({
      PER_MESSAGE_DEFLATE: 'true',
      MAX_PAYLOAD: '2000000',
      // freed memory must come back for RSS to mean anything under ASan
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1`,
    }, backend);
  });
  after(async function () {
    closeAllRaw();
    await stopAlive(server);
    await backend.close();
  });
  afterEach(closeAllRaw);

  async function stillServes() {
    assert.ok(server.proc.exitCode === null && server.proc.signalCode === null, 'the server is alive');
    const c = await wsSio(server.port, { threshold: 0 });
    const text = bigText(5000);
    assert.equal(await c.echo(text), text);
  }

  it('a deflate bomb (1 MB on the wire, 1 GB inflated): 1009 before inflating it all, RSS bounded, still serving', async function () {
    // 64 sync-flushed pieces of 16 MB of zeros: one valid stream of 1 GB
    const piece = zlib.deflateRawSync(Buffer.alloc(16 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const bomb = Buffer.concat(Array(64).fill(piece));
    assert.ok(bomb.length < 1.5e6, `${bomb.length} bytes on the wire`);
    const raw = await rawSio(server.port, 'permessage-deflate');
    const rssBefore = rssKb(server.proc.pid);
    const wire = frame(1, bomb, { rsv: 4 });
    const t0 = Date.now();
    await new Promise((r) => raw.sock.write(wire, r));
    const sent = Date.now();
    assert.equal(await closeCode(raw, 5000), 1009);
    const ms = Date.now() - sent;
    assert.ok(ms < 1000, `refused ${ms} ms after the last byte (${sent - t0} ms to send)`);
    const grown = rssKb(server.proc.pid) - rssBefore;
    assert.ok(grown < 64 * 1024, `RSS grew by ${grown} KB`);
    await stillServes();
  });

  it('RSV1 on a continuation frame: 1002', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    const z = zlib.deflateRawSync(Buffer.from('42["x"]'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    raw.send(1, z.subarray(0, 2), { fin: false, rsv: 4 });
    raw.send(0, z.subarray(2), { fin: true, rsv: 4 });
    assert.equal(await closeCode(raw), 1002);
    await stillServes();
  });

  it('RSV1 on a control frame (ping): 1002', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    raw.send(9, Buffer.from('p'), { rsv: 4 });
    assert.equal(await closeCode(raw), 1002);
  });

  it('RSV2 stays refused with the extension on: 1002', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    raw.send(1, Buffer.from('42["x"]'), { rsv: 2 });
    assert.equal(await closeCode(raw), 1002);
  });

  it('a corrupt deflate stream: 1007 (ws closes inflate errors with 1007)', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    raw.send(1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x12]), { rsv: 4 });
    assert.equal(await closeCode(raw), 1007);
    await stillServes();
  });

  it('compressed invalid UTF-8 in a text message: 1007; the same bytes as binary are fine', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    const z = zlib.deflateRawSync(Buffer.from([0x34, 0x32, 0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    raw.send(1, z, { rsv: 4 });
    assert.equal(await closeCode(raw), 1007);
    await stillServes();
  });

  it('a compressed message that inflates past MAX_PAYLOAD but arrives in fragments: 1009', async function () {
    const raw = await rawSio(server.port, 'permessage-deflate');
    const z = zlib.deflateRawSync(Buffer.alloc(3e6, 0x61), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    raw.send(1, z.subarray(0, 100), { fin: false, rsv: 4 });
    raw.send(0, z.subarray(100), { fin: true });
    assert.equal(await closeCode(raw), 1009);
  });
});
