'use strict';
/*
 * build/sio-floor (loadtest/floor), the machine's floor of loadtest/bench: two
 * floors on one redis-server, one in --mode write and one in --mode writev;
 * build/sio-bench spreads 200 clients in 10 rooms over both and publishes
 * through Redis (50 broadcasts/s for 2 s): every delivery must be accounted
 * for, over WebSocket and over long-polling. Bad input (garbage HTTP, an
 * oversized head, oversized/unmasked WebSocket frames, a bad subscribe, an
 * unknown sid) gets an error status or a close frame and a closed connection,
 * and the floor goes on serving; malformed broadcasts from Redis are skipped and
 * the next good one (the real emitter's) is the first thing a member gets. Bad arguments: usage and exit 2. SIGTERM:
 * exit 0, and each floor says it delivered.
 */
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { binPath, freePort, startServer, stopServer } = require('../lib/server');
const { runBench, resultOf } = require('../lib/bench');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const { rawHttp, statusLines, frame, rawWsConnect, closeRawSockets } = require('../lib/raw');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');

const WS_PATH = '/socket.io/?EIO=4&transport=websocket';

async function startFloor(redis, mode) {
  const port = await freePort();
  const server = await startServer({
    command: binPath('sio-floor'),
    args: ['--port', String(port), '--redis', redisUrl(redis), '--mode', mode],
    port,
    readyTimeoutMs: 5000,
  });
  return { ...server, mode };
}

/** A raw WebSocket past the open packet. */
async function wsOpen(port) {
  const c = await rawWsConnect(port, WS_PATH);
  const open = await c.next();
  assert.match(open.text, /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\[\]/);
  return c;
}

describe('sio-floor', function () {
  this.timeout(30000);
  let redis;
  let floors;
  before(async function () {
    redis = await startRedis();
    floors = [await startFloor(redis, 'write'), await startFloor(redis, 'writev')];
  });
  afterEach(() => closeRawSockets());
  after(async function () {
    for (const f of floors || []) await stopServer(f);
    await stopRedis(redis);
  });

  const benchArgs = (extra) => [
    ...floors.flatMap((f) => ['--url', `ws://127.0.0.1:${f.port}/socket.io/`]),
    '--redis', redisUrl(redis), '-c', '200', '--workers', '1', '--rooms', '10',
    '--rate', '50', '--duration', '2', '--drain', '1', '--quiet', ...extra,
  ];

  for (const transport of ['websocket', 'polling']) {
    it(`delivers every broadcast over ${transport} (a write floor and a writev floor)`, async function () {
      const run = await runBench(benchArgs(['--transport', transport]));
      const r = resultOf(run);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(r.connections.ready, 200);
      assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
      assert.equal(r.published.ok, 100);
      // each broadcast to a room reaches its 20 subscribers, half of them on each floor
      assert.equal(r.delivery.expected, 100 * 20);
      assert.equal(r.delivery.deliveries, 100 * 20);
      assert.equal(r.delivery.losses, 0);
      assert.equal(r.delivery.duplicates, 0);
      assert.equal(r.delivery.order_ok, true);
      assert.equal(r.delivery.stray, 0);
    });
  }

  it('answers garbage HTTP and oversized heads with an error and a close', async function () {
    const port = floors[0].port;
    for (const [bytes, status] of [
      ['GARBAGE\r\n\r\n', 400],
      [`GET ${WS_PATH.replace('EIO=4', 'EIO=3')} HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
      ['GET /socket.io/?EIO=4&transport=polling&sid=nosuchsession0000000 HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40', 400],
      [`GET / HTTP/1.1\r\nX: ${'a'.repeat(70000)}`, 431],
      ['POST /?EIO=4&transport=polling&sid=x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n', 413],
    ]) {
      const r = await rawHttp(port, bytes);
      assert.deepEqual(statusLines(r.data).map((l) => Number(l.split(' ')[1])), [status], JSON.stringify(bytes.slice(0, 60)));
      assert.equal(r.closed, true, 'the floor closes the connection');
    }
  });

  it('closes a WebSocket on an oversized, unmasked or unknown frame and on a bad subscribe', async function () {
    const port = floors[1].port;
    for (const [send, code] of [
      [(c) => c.write(frame(1, 'x', { len: 1 << 20 })), 1009],
      [(c) => c.write(frame(1, '40', { mask: false })), 1002],
      [(c) => c.send(2, Buffer.from([1, 2, 3])), 1003],
      [(c) => { c.send(1, '40'); c.send(1, '421["subscribe",{"rooms":1}]'); }, 1003],
      [(c) => c.send(1, '421["subscribe",["room-1"]]'), 1003], // before the namespace CONNECT
    ]) {
      const c = await wsOpen(port);
      send(c);
      let f;
      do f = await c.next(); while (f.opcode !== 8);
      assert.equal(f.code, code);
      await Promise.race([c.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('not closed')), 3000))]);
    }
  });

  it('answers CONNECT and subscribe on a raw WebSocket, and still serves after the bad input', async function () {
    for (const f of floors) {
      const c = await wsOpen(f.port);
      c.send(1, '40{"token":"ignored"}');
      assert.match((await c.next()).text, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      c.send(1, '427["subscribe",["a","b"]]');
      assert.equal((await c.next()).text, '437[{"ok":true,"rooms":["a","b"]}]');
      c.send(1, '2probe');
      assert.equal((await c.next()).text, '3probe');
      c.send(8, Buffer.from([0x03, 0xe8]));
      const close = await c.next();
      assert.equal(close.opcode, 8);
      assert.equal(close.code, 1000);
    }
  });

  it('skips malformed broadcasts from Redis (not msgpack, truncated, unused byte, huge count, wrong shape) and delivers the next', async function () {
    const pub = createClient({ url: redisUrl(redis) });
    await pub.connect();
    try {
      const channel = 'socket.io#/#mal#';
      const str = (t) => Buffer.concat([Buffer.from([0xa0 | t.length]), Buffer.from(t)]); // fixstr
      const bad = [
        Buffer.from('not msgpack at all'),
        Buffer.concat([Buffer.from([0x93]), str('emitter')]),          // truncated: 1 of 3 elements
        Buffer.from([0xc1]),                                           // a byte msgpack never uses
        Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),                   // an array of 4 G elements, none there
        Buffer.concat([Buffer.from([0x93]), str('emitter'), str('abc'), Buffer.from([0x80])]), // wrong shape
      ];
      const emitter = new Emitter(pub);
      for (const f of floors) {
        const c = await wsOpen(f.port);
        c.send(1, '40');
        await c.next();
        c.send(1, '421["subscribe",["mal"]]');
        assert.equal((await c.next()).text, '431[{"ok":true,"rooms":["mal"]}]');
        for (const b of bad) await pub.publish(channel, b);
        emitter.to('mal').emit('ok', 1); // the real emitter's format
        assert.equal((await c.next()).text, '42["ok",1]', f.mode); // nothing before it
      }
    } finally {
      await pub.quit();
    }
  });

  it('prints the usage and exits 2 on bad arguments', function () {
    for (const args of [[], ['--port', '1'], ['--port', 'x', '--redis', 'redis://127.0.0.1:1'],
      ['--port', '1', '--redis', 'http://127.0.0.1:1'], ['--port', '1', '--redis', 'redis://127.0.0.1:1', '--mode', 'fast']]) {
      const r = spawnSync(binPath('sio-floor'), args, { encoding: 'utf8', timeout: 5000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: sio-floor --port P/);
    }
  });

  it('exits 0 on SIGTERM, each floor having delivered', async function () {
    for (const f of floors) {
      const { code } = await stopServer(f);
      assert.equal(code, 0, f.stderr());
      const m = /(\d+) broadcasts, (\d+) deliveries/.exec(f.stderr());
      assert.ok(m, f.stderr());
      assert.ok(Number(m[2]) >= 2000, `${f.mode}: ${m[0]}`); // half of both runs' 4000
    }
  });
});
