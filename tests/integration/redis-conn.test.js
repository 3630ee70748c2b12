'use strict';
/*
 * redis_conn (adapters/redis/redis_conn.c) against a real redis-server, through
 * the test driver build/tests/sio-redis-probe: a subscriber on channel "probe"
 * and a publisher publishing "n=<i>" every 50 ms, reporting JSON events.
 *
 * Covers: plain connection, AUTH (password, user+password) with SELECT, a wrong
 * password, kill -9 + restart on the same port, TLS (CA + IP / SNI name
 * verification), TLS with the wrong CA or name, PING timeout on a stopped
 * server, protocol errors and oversized replies from a fake server, and an
 * invalid URL. Every probe must exit 0 on SIGTERM with a clean stderr (the
 * suite is also run against the ASan build: SIO_BUILD_DIR=build-rc-asan).
 * Loopback only; each wait is bounded.
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const { binPath, freePort, HOST } = require('../lib/server');
const {
  startRedis, stopRedis, killRedis, restartRedis, pauseRedis, resumeRedis, redisUrl,
} = require('../lib/redis');

const PROBE = binPath('tests/sio-redis-probe');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SANITIZER_RE = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer/;

/* ------------------------------------------------------------------ */
/* the probe                                                          */
/* ------------------------------------------------------------------ */

const liveProbes = new Set();
process.once('exit', () => {
  for (const p of liveProbes) {
    try { p.proc.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

/** Spawns the probe; events are collected in probe.events (parsed JSON). */
function startProbe(url, args = []) {
  if (!fs.existsSync(PROBE)) throw new Error(`${PROBE} does not exist: build it first`);
  const env = { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1' };
  const proc = spawn(PROBE, [url, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const probe = { proc, events: [], stderr: '', waiters: new Set() };
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
    for (const line of lines) {
      if (!line) continue;
      const obj = JSON.parse(line);
      // redis_conn logs one JSON object per line on stdout ({"level","msg",...});
      // they join the probe's stderr text, which the tests read as "the log"
      if (obj.ev === undefined && obj.msg !== undefined) {
        if (probe.stderr.length < 200000) probe.stderr += `${line}\n`;
      } else {
        probe.events.push(obj);
      }
    }
    for (const w of probe.waiters) w();
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { if (probe.stderr.length < 200000) probe.stderr += d; });
  return probe;
}

/**
 * Resolves with the index of the first event at or after `from` matching
 * pred; rejects after ms (with the events seen and the probe's stderr).
 */
function waitFor(probe, pred, ms, what, from = 0) {
  return new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      const i = probe.events.findIndex((e, k) => k >= from && pred(e));
      if (i < 0) return;
      probe.waiters.delete(check);
      clearTimeout(timer);
      resolve(i);
    };
    timer = setTimeout(() => {
      probe.waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}\nevents: ` +
        `${JSON.stringify(probe.events.slice(from).slice(-20))}\nstderr:\n${probe.stderr.slice(-3000)}`));
    }, ms);
    probe.waiters.add(check);
    check();
  });
}

const isUp = (conn) => (e) => e.ev === 'up' && e.conn === conn;
const isDown = (conn) => (e) => e.ev === 'down' && e.conn === conn;
const isMsg = (e) => e.ev === 'msg';
const noStats = (events) => events.filter((e) => e.ev !== 'stats');
const statsOf = (probe, conn) => probe.events.find((e) => e.ev === 'stats' && e.conn === conn);
const msgN = (e) => Number(e.data.slice(2));

/** Both connections up, subscribed, and `count` messages received. */
async function waitStreaming(probe, { from = 0, ms = 5000, count = 3 } = {}) {
  await waitFor(probe, isUp('sub'), ms, 'sub up', from);
  await waitFor(probe, isUp('pub'), ms, 'pub up', from);
  let i = from;
  for (let k = 0; k < count; k++) i = await waitFor(probe, isMsg, ms, `message ${k + 1}`, i) + 1;
  return i;
}

/** SIGTERM; asserts exit code 0 and no sanitizer report. Returns stderr. */
async function stopProbe(probe) {
  if (probe.proc.exitCode === null && probe.proc.signalCode === null) probe.proc.kill('SIGTERM');
  const timer = setTimeout(() => probe.proc.kill('SIGKILL'), 5000);
  const { code, signal } = await probe.exited;
  clearTimeout(timer);
  assert.equal(signal, null, `probe killed by ${signal}\n${probe.stderr}`);
  assert.equal(code, 0, `probe exit code ${code}\n${probe.stderr}`);
  assert.doesNotMatch(probe.stderr, SANITIZER_RE);
  return probe.stderr;
}

/** Received "n=" values are increasing (ordered delivery, no duplicates). */
function assertIncreasing(events) {
  const ns = events.filter(isMsg).map(msgN);
  for (let k = 1; k < ns.length; k++) assert.ok(ns[k] > ns[k - 1], `messages out of order: ${ns}`);
}

/** Parses complete RESP arrays of bulk strings: {cmds: string[][], rest}. */
function parseCommands(buf) {
  const cmds = [];
  let pos = 0;
  for (;;) {
    const start = pos;
    const line = () => {
      const end = buf.indexOf('\r\n', pos);
      if (end < 0) return null;
      const text = buf.toString('latin1', pos, end);
      pos = end + 2;
      return text;
    };
    const head = line();
    if (head === null || head[0] !== '*') { pos = start; break; }
    const args = [];
    for (let k = Number(head.slice(1)); k > 0; k--) {
      const lenLine = line();
      if (lenLine === null) break;
      const len = Number(lenLine.slice(1));
      if (buf.length < pos + len + 2) break;
      args.push(buf.toString('latin1', pos, pos + len));
      pos += len + 2;
    }
    if (args.length !== Number(head.slice(1))) { pos = start; break; }
    cmds.push(args);
  }
  return { cmds, rest: buf.subarray(pos) };
}

/** Number of PING calls the server has seen (INFO commandstats). */
function pingCalls(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('INFO timed out')); }, 3000);
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
    sock.on('connect', () => sock.write('*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n'));
    sock.on('data', (d) => {
      data += d;
      const m = /^\$(\d+)\r\n/.exec(data);
      if (!m || data.length < m[0].length + Number(m[1])) return;
      clearTimeout(timer);
      sock.destroy();
      const calls = /cmdstat_ping:calls=(\d+)/.exec(data);
      resolve(calls ? Number(calls[1]) : 0);
    });
  });
}

/* ------------------------------------------------------------------ */
/* tests                                                              */
/* ------------------------------------------------------------------ */

describe('redis_conn (sio-redis-probe against redis-server)', function () {
  this.timeout(15000);
  const cleanup = [];
  afterEach(async function () {
    for (const p of liveProbes) { try { p.proc.kill('SIGKILL'); } catch (_) { /* gone */ } }
    while (cleanup.length) await stopRedis(cleanup.pop());
  });
  async function redis(opts) {
    const r = await startRedis(opts);
    cleanup.push(r);
    return r;
  }

  it('plain TCP: receives its own published messages, in order', async function () {
    const r = await redis();
    const probe = startProbe(redisUrl(r));
    await waitFor(probe, (e) => e.ev === 'subscribed' && e.channel === 'probe', 5000, 'subscribed');
    await waitStreaming(probe, { count: 5 });
    await stopProbe(probe);
    assert.ok(!probe.events.some((e) => e.ev === 'down'), 'no down event');
    assertIncreasing(probe.events);
    const sub = statsOf(probe, 'sub');
    const pub = statsOf(probe, 'pub');
    assert.equal(sub.connects, 1);
    assert.equal(sub.commands, 1); // SUBSCRIBE
    assert.ok(sub.replies >= 6, JSON.stringify(sub)); // confirmation + messages
    assert.equal(pub.connects, 1);
    assert.ok(pub.commands >= 5 && pub.replies <= pub.commands, JSON.stringify(pub));
  });

  it('keepalive PINGs while idle; the pongs of the subscriber are consumed', async function () {
    const r = await redis();
    const probe = startProbe(redisUrl(r), ['--ping-interval', '20', '--ping-timeout', '500']);
    await waitStreaming(probe);
    await sleep(1000);
    await stopProbe(probe);
    assert.ok(!probe.events.some((e) => e.ev === 'down'), 'no down event');
    assert.deepEqual(probe.events.filter((e) => e.ev === 'push'), []);
    const pings = await pingCalls(r.port);
    assert.ok(pings >= 10, `only ${pings} PINGs reached the server`);
  });

  it('AUTH password, AUTH user password and SELECT db (percent-encoded password)', async function () {
    const password = 'p@ss w:rd/%';
    const r = await redis({ password });
    const a = startProbe(redisUrl(r, { password, db: 3 }));
    const b = startProbe(redisUrl(r, { user: 'default', password }));
    await Promise.all([waitStreaming(a), waitStreaming(b)]);
    await Promise.all([stopProbe(a), stopProbe(b)]);
  });

  it('wrong password: never comes up, keeps retrying, no crash, no password in logs', async function () {
    const r = await redis({ password: 'right-one' });
    const probe = startProbe(redisUrl(r, { password: 'Wr0ngPassw0rd' }));
    await sleep(1500);
    const stderr = await stopProbe(probe);
    assert.deepEqual(probe.events.filter((e) => e.ev === 'up'), []);
    const failures = stderr.match(/AUTH failed: WRONGPASS/g) || [];
    assert.ok(failures.length >= 3, `expected several retries:\n${stderr}`);
    assert.ok(!stderr.includes('Wr0ngPassw0rd'), 'the password leaked into the log');
  });

  it('kill -9 and restart on the same port: down, then up for both, messages flow again', async function () {
    const r = await redis();
    const probe = startProbe(redisUrl(r));
    const streaming = await waitStreaming(probe);
    await killRedis(r);
    const downSub = await waitFor(probe, isDown('sub'), 3000, 'sub down', streaming);
    const downPub = await waitFor(probe, isDown('pub'), 3000, 'pub down', streaming);
    assert.match(probe.events[downSub].why, /closed|reset|I\/O/);
    await sleep(300);
    await restartRedis(r);
    const back = Math.max(downSub, downPub);
    const lastBefore = Math.max(...probe.events.slice(0, back).filter(isMsg).map(msgN));
    const t0 = Date.now();
    const after = await waitStreaming(probe, { from: back, ms: 3500, count: 3 });
    assert.ok(Date.now() - t0 < 3500);
    const ns = probe.events.slice(back, after).filter(isMsg).map(msgN);
    assert.ok(ns.every((n) => n > lastBefore), `old messages after the restart: ${ns}`);
    assert.equal(probe.events.filter((e) => e.ev === 'down').length, 2, 'one down per connection');
    await stopProbe(probe);
  });

  it('PING timeout on a stopped server (kill -STOP), then recovery (kill -CONT)', async function () {
    const r = await redis();
    const probe = startProbe(redisUrl(r), ['--ping-interval', '200', '--ping-timeout', '600']);
    const streaming = await waitStreaming(probe);
    pauseRedis(r);
    const t0 = Date.now();
    const downSub = await waitFor(probe, isDown('sub'), 2500, 'sub down', streaming);
    const downPub = await waitFor(probe, isDown('pub'), 2500, 'pub down', streaming);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 200 + 600 + 700, `down after ${elapsed} ms`);
    assert.match(probe.events[downSub].why, /PING/);
    resumeRedis(r);
    await waitStreaming(probe, { from: Math.max(downSub, downPub), ms: 6000 });
    await stopProbe(probe);
  });

  describe('TLS', function () {
    let r;
    before(async function () { r = await startRedis({ tls: true }); });
    after(async function () { await stopRedis(r); });

    it('rediss:// with the right CA works (IP check, and name check through --sni)', async function () {
      const byIp = startProbe(redisUrl(r), ['--ca', r.tls.ca]);
      const byName = startProbe(redisUrl(r), ['--ca', r.tls.ca, '--sni', 'localhost']);
      await Promise.all([waitStreaming(byIp), waitStreaming(byName)]);
      await Promise.all([stopProbe(byIp), stopProbe(byName)]);
    });

    it('the wrong CA or the wrong name never comes up', async function () {
      const wrongCa = startProbe(redisUrl(r), ['--ca', r.tls.wrongCa]);
      const wrongName = startProbe(redisUrl(r), ['--ca', r.tls.ca, '--sni', 'not-this-host.example']);
      await sleep(1200);
      const [e1, e2] = await Promise.all([stopProbe(wrongCa), stopProbe(wrongName)]);
      assert.deepEqual(noStats(wrongCa.events), []);
      assert.deepEqual(noStats(wrongName.events), []);
      assert.match(e1, /certificate verify failed/);
      assert.match(e2, /certificate verify failed.*hostname mismatch/);
    });

    it('plain redis:// against the TLS port never comes up', async function () {
      const probe = startProbe(`redis://${HOST}:${r.port}`, ['--ping-timeout', '500']);
      await sleep(1200);
      await stopProbe(probe);
      assert.deepEqual(noStats(probe.events), []);
    });
  });

  describe('misbehaving servers', function () {
    /** A TCP server answering every chunk it receives with `reply`. */
    async function fakeServer(reply) {
      const port = await freePort();
      const sockets = new Set();
      const srv = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
        s.on('data', () => s.write(reply));
      });
      await new Promise((res) => srv.listen(port, HOST, res));
      cleanupServers.push({ srv, sockets });
      return port;
    }
    const cleanupServers = [];
    afterEach(async function () {
      for (const { srv, sockets } of cleanupServers.splice(0)) {
        for (const s of sockets) s.destroy();
        await new Promise((res) => srv.close(res));
      }
    });

    /** A server answering each RESP command with handler(args) (a string). */
    async function fakeRedis(handler) {
      const port = await freePort();
      const sockets = new Set();
      const srv = net.createServer((s) => {
        sockets.add(s);
        let buf = Buffer.alloc(0);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
        s.on('data', (d) => {
          const { cmds, rest } = parseCommands(Buffer.concat([buf, d]));
          buf = rest;
          for (const args of cmds) s.write(handler(args.map((a, k) => (k ? a : a.toUpperCase()))));
        });
      });
      await new Promise((res) => srv.listen(port, HOST, res));
      cleanupServers.push({ srv, sockets });
      return port;
    }
    const SUBSCRIBED = '*3\r\n$9\r\nsubscribe\r\n$5\r\nprobe\r\n:1\r\n';

    it('a READONLY reply is delivered, then the connection is re-established', async function () {
      const port = await fakeRedis(([cmd]) => {
        if (cmd === 'PING') return '+PONG\r\n';
        if (cmd === 'SUBSCRIBE') return SUBSCRIBED;
        return "-READONLY You can't write against a read only replica.\r\n";
      });
      const probe = startProbe(`redis://${HOST}:${port}`);
      const up = await waitFor(probe, isUp('pub'), 3000, 'pub up');
      const failed = await waitFor(probe, (e) => e.ev === 'publish_failed', 3000, 'publish_failed', up);
      const down = await waitFor(probe, isDown('pub'), 3000, 'pub down', up);
      assert.ok(failed < down, 'the reply comes before on_down');
      assert.match(probe.events[down].why, /^READONLY /);
      await waitFor(probe, isUp('pub'), 3000, 'pub up again', down);
      await stopProbe(probe);
      assert.ok(!probe.events.some(isDown('sub')), 'the subscriber stayed up');
    });

    it('a LOADING reply to the handshake keeps the connection down and retrying', async function () {
      const port = await fakeRedis(() => '-LOADING Redis is loading the dataset in memory\r\n');
      const probe = startProbe(`redis://${HOST}:${port}`);
      await sleep(1000);
      const stderr = await stopProbe(probe);
      assert.deepEqual(noStats(probe.events), []);
      assert.ok((stderr.match(/PING failed: LOADING/g) || []).length >= 4, stderr);
    });

    it('a reply without a command is a protocol error', async function () {
      const port = await fakeRedis(([cmd]) => {
        if (cmd === 'PING') return '+PONG\r\n';
        if (cmd === 'SUBSCRIBE') return SUBSCRIBED;
        return ':1\r\n:1\r\n';
      });
      const probe = startProbe(`redis://${HOST}:${port}`);
      const down = await waitFor(probe, isDown('pub'), 3000, 'pub down');
      assert.equal(probe.events[down].why, 'protocol error: reply without a command');
      await waitFor(probe, isUp('pub'), 3000, 'pub up again', down);
      await stopProbe(probe);
      assert.ok(statsOf(probe, 'pub').protocol_errors >= 1);
    });

    it('a protocol error closes and reconnects (no crash)', async function () {
      const port = await fakeServer('@garbage\r\n');
      const probe = startProbe(`redis://${HOST}:${port}`);
      await sleep(1000);
      const stderr = await stopProbe(probe);
      assert.deepEqual(noStats(probe.events), []);
      assert.ok((stderr.match(/protocol error/g) || []).length >= 2, stderr);
      for (const conn of ['sub', 'pub']) {
        const st = statsOf(probe, conn);
        assert.ok(st.protocol_errors >= 1 && st.connects === 0, JSON.stringify(st));
      }
    });

    it('an oversized reply is refused without allocating it', async function () {
      const port = await fakeServer('*2000000000\r\n');
      const probe = startProbe(`redis://${HOST}:${port}`);
      await sleep(800);
      const stderr = await stopProbe(probe);
      assert.match(stderr, /protocol error: reply larger than/);
    });

    it('nothing listening: keeps retrying quietly, exits cleanly', async function () {
      const port = await freePort();
      const probe = startProbe(`redis://${HOST}:${port}`);
      await sleep(800);
      const stderr = await stopProbe(probe);
      assert.deepEqual(noStats(probe.events), []);
      assert.match(stderr, /"msg":"redis connect failed".*"why":"I\/O error: Connection refused"/);
    });
  });

  it('an invalid URL exits with status 2 and does not print the password', async function () {
    const probe = startProbe('redis://:Secr3tPw@host:99999');
    const { code } = await probe.exited;
    assert.equal(code, 2);
    assert.match(probe.stderr, /1\.\.65535/);
    assert.ok(!probe.stderr.includes('Secr3tPw'));
  });
});
