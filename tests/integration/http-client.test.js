'use strict';
/*
 * http_client (adapters/redis/http_client.c, libcurl multi on libevent) against
 * real Node http / https / raw TCP servers on 127.0.0.1, through the test driver
 * build/tests/sio-http-probe: requests go in as JSON lines on its stdin, results
 * come out as JSON lines ({"id","status","error","error_text","body"}); errors
 * are negative errno values.
 *
 * Covers: a JSON round trip (method, content type, extra headers, body), a 500,
 * a 302 not followed, a body over max-response-bytes (endless chunked stream and
 * an announced Content-Length), non-HTTP garbage, a slow-loris server timing
 * out, a refused port, keep-alive reuse, max-inflight, max-queued (-ENOBUFS), a
 * queued request timing out, https with a self-signed CA (with and without
 * --ca-file), bad URLs and header lines, free with requests in flight
 * (-ECANCELED), and callbacks that post or free re-entrantly. Every probe must
 * exit 0 with a clean stderr (the suite also runs against the ASan build:
 * SIO_BUILD_DIR=build-asan). Each wait is bounded.
 */
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { binPath, freePort, HOST } = require('../lib/server');

const PROBE = binPath('tests/sio-http-probe');
const E = os.constants.errno;
const SANITIZER_RE = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ------------------------------------------------------------------ */
/* the probe                                                          */
/* ------------------------------------------------------------------ */

const liveProbes = new Set();
process.once('exit', () => {
  for (const p of liveProbes) {
    try { p.proc.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

/** Spawns the probe; every JSON line it prints lands in probe.lines. */
function startProbe(args = []) {
  if (!fs.existsSync(PROBE)) throw new Error(`${PROBE} does not exist: build it first`);
  const env = { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1' };
  const proc = spawn(PROBE, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const probe = { proc, lines: [], stderr: '', waiters: new Set() };
  liveProbes.add(probe);
  probe.exited = new Promise((res) => proc.once('exit', (code, signal) => {
    liveProbes.delete(probe);
    res({ code, signal });
  }));
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) if (line) probe.lines.push(JSON.parse(line));
    for (const w of probe.waiters) w();
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { if (probe.stderr.length < 200000) probe.stderr += d; });
  probe.send = (obj) => probe.proc.stdin.write(`${JSON.stringify(obj)}\n`);
  return probe;
}

/** Resolves with the first line matching pred; rejects after ms. */
function waitFor(probe, pred, ms, what) {
  return new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      const line = probe.lines.find(pred);
      if (!line) return;
      probe.waiters.delete(check);
      clearTimeout(timer);
      resolve(line);
    };
    timer = setTimeout(() => {
      probe.waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}\nlines: ` +
        `${JSON.stringify(probe.lines.slice(-20))}\nstderr:\n${probe.stderr.slice(-3000)}`));
    }, ms);
    probe.waiters.add(check);
    check();
  });
}

const resultOf = (probe, id, ms = 5000) => waitFor(probe, (l) => l.id === id, ms, `result ${id}`);

/** Posts and waits for the result. */
async function post(probe, req, ms = 5000) {
  probe.send({ body: '{}', timeout_ms: 3000, ...req });
  return resultOf(probe, req.id, ms);
}

/** Closes stdin (the probe waits for every result, then frees); asserts a clean exit 0. */
async function finishProbe(probe, ms = 8000) {
  probe.proc.stdin.end();
  const timer = setTimeout(() => probe.proc.kill('SIGKILL'), ms);
  const { code, signal } = await probe.exited;
  clearTimeout(timer);
  assert.equal(signal, null, `probe killed by ${signal}\n${probe.stderr}`);
  assert.equal(code, 0, `probe exit code ${code}\n${probe.stderr}`);
  assert.doesNotMatch(probe.stderr, SANITIZER_RE);
  assert.equal(probe.stderr, '', 'the library writes nothing to stderr');
}

/** Peak resident memory of a live process, in kB. */
function peakRssKb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/* ------------------------------------------------------------------ */
/* servers                                                            */
/* ------------------------------------------------------------------ */

const servers = [];

/** Listens on 127.0.0.1; tracks sockets to close them all after the test. */
async function listen(server) {
  const sockets = new Set();
  server.connections = 0;
  server.on('connection', (s) => {
    server.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', () => {});
  server.killAll = () => { for (const s of sockets) s.destroy(); };
  servers.push(server);
  await new Promise((res) => server.listen(0, HOST, res));
  return `${server instanceof https.Server ? 'https' : 'http'}://${HOST}:${server.address().port}`;
}

/** An http server calling handler(req, res, body) once the request body is in. */
function httpServer(handler, make = http.createServer, opts = {}) {
  const requests = [];
  const server = make(opts, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.requests = requests;
  return server;
}

const json = (res, status, obj) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(obj));
};

/* ------------------------------------------------------------------ */
/* tests                                                              */
/* ------------------------------------------------------------------ */

describe('http_client (sio-http-probe against Node servers)', function () {
  this.timeout(30000);
  let probe;

  afterEach(async function () {
    if (probe && probe.proc.exitCode === null && probe.proc.signalCode === null) probe.proc.kill('SIGKILL');
    probe = null;
    for (const s of servers.splice(0)) {
      s.killAll();
      await new Promise((res) => s.close(res));
    }
  });

  it('POSTs JSON with the extra headers and returns the JSON answer', async function () {
    const srv = httpServer((req, res, body) => json(res, 200, { echo: JSON.parse(body), ok: true }));
    const base = await listen(srv);
    probe = startProbe();
    const r = await post(probe, {
      id: 1, url: `${base}/hook?x=1`, body: '{"event":"connect","n":42}',
      headers: ['X-Sio-Node: n1', 'Authorization: Bearer t0k'],
    });
    assert.equal(r.status, 200);
    assert.equal(r.error, 0);
    assert.equal(r.error_text, '');
    assert.deepEqual(JSON.parse(r.body), { echo: { event: 'connect', n: 42 }, ok: true });
    assert.equal(srv.requests.length, 1);
    const q = srv.requests[0];
    assert.equal(q.method, 'POST');
    assert.equal(q.url, '/hook?x=1');
    assert.equal(q.headers['content-type'], 'application/json');
    assert.equal(q.headers['x-sio-node'], 'n1');
    assert.equal(q.headers.authorization, 'Bearer t0k');
    assert.equal(q.headers.expect, undefined);
    assert.equal(q.body, '{"event":"connect","n":42}');
    await finishProbe(probe);
  });

  it('reports a 500 as its status, with its body', async function () {
    const base = await listen(httpServer((req, res) => json(res, 500, { error: 'boom' })));
    probe = startProbe();
    const r = await post(probe, { id: 1, url: base });
    assert.equal(r.status, 500);
    assert.equal(r.error, 0);
    assert.deepEqual(JSON.parse(r.body), { error: 'boom' });
    await finishProbe(probe);
  });

  it('does not follow a 302', async function () {
    const srv = httpServer((req, res) => {
      if (req.url === '/start') {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
      } else {
        json(res, 200, { followed: true });
      }
    });
    const base = await listen(srv);
    probe = startProbe();
    const r = await post(probe, { id: 1, url: `${base}/start` });
    assert.equal(r.status, 302);
    assert.equal(r.error, 0);
    await sleep(200);
    assert.deepEqual(srv.requests.map((q) => q.url), ['/start']);
    await finishProbe(probe);
  });

  it('aborts an endless chunked body past max-response-bytes with -EMSGSIZE, memory bounded', async function () {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const base = await listen(httpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (!res.destroyed && sent < 2e9) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
      };
      pump();
    }));
    probe = startProbe(['--max-response-bytes', '100000']);
    const r = await post(probe, { id: 1, url: base });
    assert.equal(r.error, -E.EMSGSIZE);
    assert.equal(r.body, '');
    assert.match(r.error_text, /100000/);
    // a second request works (and a fresh stream is cut again)
    const r2 = await post(probe, { id: 2, url: base });
    assert.equal(r2.error, -E.EMSGSIZE);
    await sleep(300);
    const sentAfter = sent;
    await sleep(300);
    assert.equal(sent, sentAfter, 'the server is still streaming: the transfer was not aborted');
    assert.ok(sent < 64 * 1024 * 1024, `the server sent ${sent} bytes`);
    const peak = peakRssKb(probe.proc.pid);
    assert.ok(peak < 64 * 1024, `peak RSS ${peak} kB`); // ~10 MB, ~18 MB under ASan
    await finishProbe(probe);
  });

  it('refuses an announced Content-Length past max-response-bytes with -EMSGSIZE', async function () {
    const base = await listen(httpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000000' });
      res.write('{"a":');
    }));
    probe = startProbe(['--max-response-bytes', '1000']);
    const r = await post(probe, { id: 1, url: base });
    assert.equal(r.error, -E.EMSGSIZE);
    assert.equal(r.status, 200);
    await finishProbe(probe);
  });

  it('reports non-HTTP garbage as -EPROTO, and a bad status line too', async function () {
    const garbage = net.createServer((s) => {
      s.on('error', () => {});
      s.end('SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02 not http at all\r\n\r\n');
    });
    const weird = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.1 abc Nope\r\nContent-Length: 2\r\n\r\n{}'));
    });
    const g = await listen(garbage);
    const w = await listen(weird);
    probe = startProbe();
    const r1 = await post(probe, { id: 1, url: g });
    assert.equal(r1.error, -E.EPROTO, JSON.stringify(r1));
    assert.equal(r1.status, 0);
    assert.notEqual(r1.error_text, '');
    const r2 = await post(probe, { id: 2, url: w });
    assert.equal(r2.error, -E.EPROTO, JSON.stringify(r2));
    await finishProbe(probe);
  });

  it('times out a slow-loris server at about timeout_ms', async function () {
    const base = await listen(httpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => { if (!res.destroyed) res.write(' '); }, 200);
      res.on('close', () => clearInterval(t));
    }));
    probe = startProbe();
    const t0 = Date.now();
    const r = await post(probe, { id: 1, url: base, timeout_ms: 1000 }, 5000);
    const elapsed = Date.now() - t0;
    assert.equal(r.error, -E.ETIMEDOUT);
    assert.equal(r.error_text, 'timed out after 1000 ms');
    assert.equal(r.body, '');
    assert.ok(elapsed >= 950 && elapsed < 2000, `timed out after ${elapsed} ms`);
    probe.send({ cmd: 'stats' });
    const st = await waitFor(probe, (l) => l.stats, 2000, 'stats');
    assert.equal(st.stats.timeouts, 1);
    assert.equal(st.stats.failures, 1);
    await finishProbe(probe);
  });

  it('resolves a host name (localhost)', async function () {
    const base = await listen(httpServer((req, res) => json(res, 200, { host: req.headers.host })));
    probe = startProbe();
    const port = new URL(base).port;
    const r = await post(probe, { id: 1, url: `http://localhost:${port}/` });
    assert.equal(r.error, 0, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.body), { host: `localhost:${port}` });
    await finishProbe(probe);
  });

  it('reports a refused port as -ECONNREFUSED', async function () {
    const port = await freePort();
    probe = startProbe();
    const r = await post(probe, { id: 1, url: `http://${HOST}:${port}/` });
    assert.equal(r.error, -E.ECONNREFUSED);
    assert.equal(r.status, 0);
    await finishProbe(probe);
  });

  it('keeps the connection alive: 20 sequential requests over 1 TCP connection', async function () {
    const srv = httpServer((req, res, body) => json(res, 200, { got: body }));
    const base = await listen(srv);
    probe = startProbe();
    for (let i = 1; i <= 20; i++) {
      const r = await post(probe, { id: i, url: base, body: `{"i":${i}}` });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { got: `{"i":${i}}` });
    }
    assert.equal(srv.requests.length, 20);
    assert.equal(srv.connections, 1);
    await finishProbe(probe);
  });

  it('keeps at most max-inflight requests on the wire, the rest in FIFO order', async function () {
    let now = 0;
    let peak = 0;
    const order = [];
    const srv = httpServer((req, res, body) => {
      now++;
      peak = Math.max(peak, now);
      order.push(JSON.parse(body).i);
      setTimeout(() => { now--; json(res, 200, {}); }, 250);
    });
    const base = await listen(srv);
    probe = startProbe(['--max-inflight', '2']);
    for (let i = 1; i <= 6; i++) probe.send({ id: i, url: base, body: `{"i":${i}}`, timeout_ms: 5000 });
    probe.send({ cmd: 'stats' });
    const st = await waitFor(probe, (l) => l.stats, 2000, 'stats');
    assert.equal(st.stats.inflight, 2);
    assert.equal(st.stats.queued, 4);
    for (let i = 1; i <= 6; i++) assert.equal((await resultOf(probe, i)).status, 200);
    assert.equal(peak, 2);
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6]);
    await finishProbe(probe);
  });

  it('refuses past max-queued with -ENOBUFS, at once', async function () {
    const base = await listen(httpServer((req, res) => setTimeout(() => json(res, 200, {}), 300)));
    probe = startProbe(['--max-inflight', '1', '--max-queued', '2']);
    for (let i = 1; i <= 4; i++) probe.send({ id: i, url: base, body: '{}', timeout_ms: 5000 });
    const r4 = await resultOf(probe, 4);
    assert.equal(r4.error, -E.ENOBUFS);
    assert.equal(r4.sync, true);
    for (let i = 1; i <= 3; i++) assert.equal((await resultOf(probe, i)).status, 200);
    await finishProbe(probe);
  });

  it('counts the time in the queue against timeout_ms', async function () {
    const base = await listen(httpServer((req, res) => setTimeout(() => json(res, 200, {}), 1500)));
    probe = startProbe(['--max-inflight', '1']);
    const t0 = Date.now();
    probe.send({ id: 1, url: base, body: '{}', timeout_ms: 5000 });
    probe.send({ id: 2, url: base, body: '{}', timeout_ms: 400 });
    const r2 = await resultOf(probe, 2);
    const elapsed = Date.now() - t0;
    assert.equal(r2.error, -E.ETIMEDOUT);
    assert.ok(elapsed < 1200, `the queued request timed out after ${elapsed} ms`);
    assert.equal((await resultOf(probe, 1)).status, 200);
    await finishProbe(probe);
  });

  describe('https', function () {
    let dir;
    let base;

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-client-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      ], { stdio: 'ignore' });
    });
    after(function () { fs.rmSync(dir, { recursive: true, force: true }); });
    beforeEach(async function () {
      const opts = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
      base = await listen(httpServer((req, res, body) => json(res, 200, { tls: true, body }), https.createServer, opts));
    });

    it('works with --ca-file naming the self-signed certificate', async function () {
      probe = startProbe(['--ca-file', path.join(dir, 'cert.pem')]);
      const r = await post(probe, { id: 1, url: base, body: '{"s":1}' });
      assert.equal(r.error, 0, JSON.stringify(r));
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { tls: true, body: '{"s":1}' });
      await finishProbe(probe);
    });

    it('fails verification without --ca-file (system CAs only)', async function () {
      probe = startProbe();
      const r = await post(probe, { id: 1, url: base });
      assert.equal(r.error, -E.EIO, JSON.stringify(r));
      assert.equal(r.status, 0);
      assert.match(r.error_text, /certificate/i);
      await finishProbe(probe);
    });
  });

  it('refuses bad URLs and header lines with -EINVAL', async function () {
    probe = startProbe();
    const bad = ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'http://', 'not a url', '127.0.0.1:80/'];
    for (let i = 0; i < bad.length; i++) {
      const r = await post(probe, { id: i + 1, url: bad[i] });
      assert.equal(r.error, -E.EINVAL, `${bad[i]}: ${JSON.stringify(r)}`);
      assert.equal(r.sync, true);
    }
    const h = await post(probe, { id: 10, url: 'http://127.0.0.1:1/', headers: ['X-A: b\r\nX-Injected: 1'] });
    assert.equal(h.error, -E.EINVAL);
    const h2 = await post(probe, { id: 11, url: 'http://127.0.0.1:1/', headers: ['no colon'] });
    assert.equal(h2.error, -E.EINVAL);
    await finishProbe(probe);
  });

  it('free with requests in flight and queued: -ECANCELED for each, clean exit', async function () {
    const srv = httpServer(() => { /* never answers */ });
    const base = await listen(srv);
    probe = startProbe(['--max-inflight', '2']);
    for (let i = 1; i <= 4; i++) probe.send({ id: i, url: base, body: '{}', timeout_ms: 10000 });
    const deadline = Date.now() + 3000;
    while (srv.requests.length < 2 && Date.now() < deadline) await sleep(20);
    assert.equal(srv.requests.length, 2);
    probe.send({ cmd: 'free' });
    for (let i = 1; i <= 4; i++) {
      const r = await resultOf(probe, i);
      assert.equal(r.error, -E.ECANCELED);
      assert.equal(r.status, 0);
    }
    probe.send({ id: 5, url: base, body: '{}' }); // after the free: refused
    assert.equal((await resultOf(probe, 5)).error, -E.ECANCELED);
    await finishProbe(probe);
    assert.equal(probe.lines.filter((l) => l.id !== undefined).length, 5);
  });

  it('lets callbacks post and free re-entrantly', async function () {
    const srv = httpServer((req, res, body) => {
      const b = JSON.parse(body);
      if (b.slow) return; // never answers
      json(res, 200, b);
    });
    const base = await listen(srv);
    probe = startProbe();
    // a chain: 1's callback posts 2, whose callback posts 3
    probe.send({
      id: 1, url: base, body: '{"n":1}', timeout_ms: 3000,
      then: { id: 2, url: base, body: '{"n":2}', timeout_ms: 3000, then: { id: 3, url: base, body: '{"n":3}' } },
    });
    for (let i = 1; i <= 3; i++) assert.deepEqual(JSON.parse((await resultOf(probe, i)).body), { n: i });
    // 11 and 12 hang; 10's callback frees the client: they are cancelled from inside it
    probe.send({ id: 11, url: base, body: '{"slow":1}', timeout_ms: 10000 });
    probe.send({ id: 12, url: base, body: '{"slow":1}', timeout_ms: 10000 });
    const deadline = Date.now() + 3000;
    while (srv.requests.length < 5 && Date.now() < deadline) await sleep(20);
    probe.send({ id: 10, url: base, body: '{"n":10}', then: 'free' });
    assert.equal((await resultOf(probe, 10)).status, 200);
    assert.equal((await resultOf(probe, 11)).error, -E.ECANCELED);
    assert.equal((await resultOf(probe, 12)).error, -E.ECANCELED);
    await finishProbe(probe);
  });
});
