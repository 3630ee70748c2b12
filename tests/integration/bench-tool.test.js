'use strict';
/*
 * build/sio-bench (loadtest/bench-tool) against build/sio-server: a short run
 * (200 websocket clients with a JWT in 10 rooms over 2 worker processes, 200
 * broadcasts/s for 3 s through the HTTP API) must account for every delivery
 * in its RESULT line; a refused token, an unreachable URL and bad arguments
 * must fail with a clear message and the documented exit code. With --plain-path
 * the same run with plain WebSocket clients (PLAIN_WS_PATH) accounts for every
 * delivery and answers the server's ping frames; a bad token is a refusal (close
 * 1008). --size N pads the broadcasts so that a client receives packets of about
 * N bytes (1 KB and 16 KB, WebSocket and polling). Its protocol options (--deflate,
 * --parser msgpack, --eio 3, --accept-encoding) deliver every broadcast against Node
 * socket.io with the same option (tests/ref/node-gateway.js), and against sio-server
 * with it. loadtest/bench --help documents
 * its connection state recovery, sharded pub/sub, plain WebSocket and cost curves
 * modes and the floor, and bad combinations exit 2 (the benchmark itself is not run
 * here: it is not a CI test).
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { binPath, freePort, REPO_ROOT } = require('../lib/server');
const { runBench, resultOf } = require('../lib/bench');
const { startSioServer, stopAlive, jwtHS256, nowSec } = require('../lib/sio');
const { startServer, stopServer } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');

const NODE_GATEWAY = path.join(__dirname, '..', 'ref', 'node-gateway.js');

const SECRET = 'bench-tool-test-secret';

describe('sio-bench load generator', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    server = await startSioServer({ env: { JWT_SECRET: SECRET } });
  });
  after(async function () {
    await stopAlive(server);
  });

  it('accounts for every delivery of a short run (2 workers, 200 clients, 10 rooms)', async function () {
    const token = jwtHS256({ sub: 'bench', exp: nowSec() + 600 }, SECRET);
    const run = await runBench([
      '--url', `ws://127.0.0.1:${server.port}/socket.io/`, '--api', server.apiUrl,
      '-c', '200', '--workers', '2', '--rooms', '10', '--dist', 'one', '--token', token,
      '--rate', '200', '--duration', '3', '--drain', '3', '--quiet',
    ]);
    const r = resultOf(run);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(r.connections.ready, 200);
    assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
    assert.equal(r.published.ok, 600);
    assert.equal(r.published.failed, 0);
    // each broadcast to a room reaches its 20 subscribers
    assert.equal(r.delivery.subscriptions, 200);
    assert.equal(r.delivery.expected, 600 * 20);
    assert.equal(r.delivery.deliveries, 600 * 20);
    assert.equal(r.delivery.losses, 0);
    assert.equal(r.delivery.duplicates, 0);
    assert.equal(r.delivery.out_of_order, 0);
    assert.equal(r.delivery.order_ok, true);
    assert.equal(r.latency_us.count, 600 * 20);
    for (const k of ['p50', 'p90', 'p99', 'p999', 'max']) assert.ok(r.latency_us[k] > 0, `latency ${k}`);
    assert.ok(r.latency_us.p50 <= r.latency_us.p99 && r.latency_us.p99 <= r.latency_us.max);
    assert.equal(r.bench.workers_reported, 2);
    assert.match(run.stdout, /latency \(ms\)\s+p50/);
  });

  it('subscribes past 64 rooms in several requests, ready once each is acknowledged (--dist k:100)', async function () {
    const token = jwtHS256({ sub: 'bench', exp: nowSec() + 600 }, SECRET);
    const run = await runBench([
      '--url', `ws://127.0.0.1:${server.port}/socket.io/`, '--api', server.apiUrl,
      '-c', '20', '--rooms', '150', '--dist', 'k:100', '--token', token,
      '--rate', '150', '--duration', '2', '--drain', '3', '--quiet',
    ]);
    const r = resultOf(run);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(r.connections.ready, 20);
    assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
    // 100 subscriptions per client: rooms past the first request's 64 count too
    assert.equal(r.delivery.subscriptions, 20 * 100);
    assert.ok(r.delivery.expected > 0);
    assert.equal(r.delivery.deliveries, r.delivery.expected);
    assert.equal(r.delivery.losses, 0);
  });

  it('pads each broadcast to --size bytes (1 KB and 16 KB packets, WebSocket and polling)', async function () {
    const token = jwtHS256({ sub: 'bench', exp: nowSec() + 600 }, SECRET);
    for (const size of [1000, 16384]) {
      const run = await runBench([
        '--url', `ws://127.0.0.1:${server.port}/socket.io/`, '--api', server.apiUrl, '--token', token,
        '-c', '40', '--rooms', '2', '--rate', '20', '--duration', '2', '--drain', '2', '--size', String(size), '--quiet',
      ]);
      const r = resultOf(run);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
      assert.equal(r.delivery.expected, 40 * 20);
      assert.equal(r.delivery.deliveries, 40 * 20);
      assert.equal(r.delivery.losses, 0);
      // bytes received per delivery: the packet (N), its frame header (2-4 bytes), a
      // recovery offset the server may append, and the handshakes spread over 800 deliveries
      const per = r.bench.bytes_in / r.delivery.deliveries;
      assert.ok(per >= size && per < size + 80, `--size ${size}: ${per.toFixed(1)} bytes received per delivery`);
    }
    // long-polling: 16 KB packets in HTTP responses
    const poll = await runBench(['--url', `http://127.0.0.1:${server.port}/socket.io/`, '--transport', 'polling', '--api', server.apiUrl,
      '--token', token, '-c', '10', '--rooms', '1', '--rate', '10', '--duration', '1', '--drain', '2', '--size', '16384', '--quiet']);
    const p = resultOf(poll);
    assert.equal(poll.code, 0, poll.stderr);
    assert.equal(p.errors.total, 0, JSON.stringify(p.errors));
    assert.equal(p.delivery.deliveries, 10 * 10);
    assert.equal(p.delivery.losses, 0);
    assert.ok(p.bench.bytes_in / p.delivery.deliveries >= 16384);
  });

  it('reports a refused CONNECT (bad token) and exits 1', async function () {
    const run = await runBench(['--url', `ws://127.0.0.1:${server.port}/`, '-c', '5', '--token', 'not-a-jwt', '--quiet']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no client could connect: namespace CONNECT refused/);
    assert.equal(resultOf(run).errors.namespace, 5);
  });

  it('exits 1 with a clear message when the URL is unreachable', async function () {
    const port = await freePort(); // nothing listens there
    const run = await runBench(['--url', `ws://127.0.0.1:${port}/socket.io/`, '-c', '5', '--workers', '2', '--quiet']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`no client could connect: connect to 127\\.0\\.0\\.1:${port}: Connection refused`));
  });

  it('prints the usage and exits 2 on bad arguments', async function () {
    for (const [args, why] of [
      [['--url', 'ws://127.0.0.1:1/', '-c', 'nope'], /bad value for --connections: 'nope'/],
      [['--url', 'ftp://127.0.0.1/'], /URL must start with ws:\/\/ or http:\/\//],
      [['-c', '10'], /at least one --url is needed/],
      [['--url', 'ws://127.0.0.1:1/', '-c', '40000'], /a worker may hold at most 19000 .*use --workers 3 or more/],
      [['--url', 'ws://127.0.0.1:1/', '--rate', '10'], /--rate needs --rooms/],
      [['--url', 'ws://127.0.0.1:1/', '--plain-path', 'ws'], /bad --plain-path \(must start with '\/'/],
      [['--url', 'ws://127.0.0.1:1/', '--plain-path', '/ws', '--transport', 'polling'], /--plain-path is a WebSocket endpoint: not with --transport polling/],
      [['--url', 'ws://127.0.0.1:1/', '--size', '2000000'], /bad value for --size: '2000000'/],
      [['--self-test', '--size', '1000'], /--self-test takes no --url, --rate or --size/],
    ]) {
      const run = await runBench(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, why);
      assert.match(run.stderr, /usage: sio-bench/);
    }
  });
});

describe('sio-bench plain WebSocket clients (--plain-path)', function () {
  this.timeout(20000);
  let server;
  before(async function () {
    // pings every 300 ms: a client that did not answer them would be closed within the run
    server = await startSioServer({ env: { JWT_SECRET: SECRET, PLAIN_WS_PATH: '/ws', PING_INTERVAL: '300', PING_TIMEOUT: '300' } });
  });
  after(async function () {
    await stopAlive(server);
  });

  it('accounts for every delivery of a short run and answers the server\'s ping frames', async function () {
    const token = jwtHS256({ sub: 'bench', exp: nowSec() + 600 }, SECRET);
    const run = await runBench([
      '--url', `ws://127.0.0.1:${server.port}/`, '--plain-path', '/ws', '--api', server.apiUrl,
      '-c', '200', '--workers', '2', '--rooms', '10', '--token', token,
      '--rate', '200', '--duration', '3', '--drain', '3', '--quiet',
    ]);
    const r = resultOf(run);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(r.protocol, 'plain');
    assert.equal(r.connections.ready, 200);
    assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
    assert.equal(r.published.ok, 600);
    assert.equal(r.delivery.expected, 600 * 20);
    assert.equal(r.delivery.deliveries, 600 * 20);
    assert.equal(r.delivery.losses, 0);
    assert.equal(r.delivery.duplicates, 0);
    assert.equal(r.delivery.order_ok, true);
    assert.equal(r.delivery.other_events, 0);
    assert.equal(r.latency_us.count, 600 * 20);
    assert.ok(r.latency_us.p50 > 0 && r.latency_us.p50 <= r.latency_us.p99);
    assert.ok(r.connections.pings >= 200, `pings answered: ${r.connections.pings}`);
    assert.match(run.stdout, /200 connections \(plain websocket \/ws\)/);
  });

  it('counts a refused token (close 1008) as a refusal and exits 1', async function () {
    // with rooms: a plain client is ready at the subscribe reply (the server sends nothing on admission)
    const run = await runBench(['--url', `ws://127.0.0.1:${server.port}/`, '--plain-path', '/ws', '-c', '5', '--rooms', '2', '--token', 'not-a-jwt', '--quiet']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no client could connect: the server closed the WebSocket \(code 1008/);
    assert.equal(resultOf(run).errors.namespace, 5);
  });
});

/*
 * The protocol options (loadtest/bench --options) against the Node reference
 * (tests/ref/node-gateway.js with socket.io's own options): every delivery arrives
 * and is read through the option; compressed messages / responses are counted.
 * (The same options against sio-server: the "against sio-server" block below.)
 */
async function startNodeRef(redisUrl, args) {
  const port = await freePort();
  const control = await freePort();
  const server = await startServer({
    command: process.execPath,
    args: [NODE_GATEWAY, '--port', String(port), '--control', String(control), '--redis', redisUrl, ...args],
    port,
  });
  server.port = port;
  return server;
}

const OPTION_CASES = [
  { name: 'permessage-deflate', node: ['--deflate'], sio: { PER_MESSAGE_DEFLATE: 'true' }, bench: ['--deflate'], compressed: 'each' },
  { name: 'msgpack parser', node: ['--parser', 'msgpack'], sio: { PARSER: 'msgpack' }, bench: ['--parser', 'msgpack'] },
  { name: 'msgpack parser over polling', node: ['--parser', 'msgpack'], sio: { PARSER: 'msgpack' }, bench: ['--parser', 'msgpack', '--transport', 'polling'] },
  { name: 'Engine.IO v3', node: ['--eio3'], sio: { ALLOW_EIO3: 'true' }, bench: ['--eio', '3'] },
  { name: 'gzip polling', node: [], sio: {}, bench: ['--transport', 'polling', '--accept-encoding', 'gzip'], compressed: 'some' },
  { name: 'deflate polling', node: [], sio: {}, bench: ['--transport', 'polling', '--accept-encoding', 'deflate'], compressed: 'some' },
];

/** 20 clients in 2 rooms, 20 broadcasts/s of 2 KB for 2 s through Redis: all 400 delivered. */
async function optionRun(port, redisUrl, c) {
  const run = await runBench(['--url', `ws://127.0.0.1:${port}/socket.io/`, '--redis', redisUrl, '-c', '20', '--rooms', '2',
    '--rate', '20', '--duration', '2', '--drain', '3', '--size', '2048', '--quiet', ...c.bench]);
  const r = resultOf(run);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
  assert.equal(r.connections.ready, 20);
  assert.equal(r.delivery.expected, 40 * 10);
  assert.equal(r.delivery.deliveries, 40 * 10, c.name);
  assert.equal(r.delivery.losses, 0);
  // each 2 KB message is compressed; a polling response may carry several deliveries
  if (c.compressed === 'each') assert.ok(r.delivery.compressed >= 40 * 10, `${c.name}: ${r.delivery.compressed} compressed`);
  else if (c.compressed) assert.ok(r.delivery.compressed > 0, `${c.name}: nothing compressed`);
  else assert.equal(r.delivery.compressed, 0);
  return r;
}

describe('sio-bench protocol options against Node socket.io (tests/ref/node-gateway.js)', function () {
  this.timeout(60000);
  let redis;
  before(async function () { redis = await startRedis(); });
  after(async function () { await stopRedis(redis); });
  for (const c of OPTION_CASES) {
    it(`${c.name}: ${c.bench.join(' ')}`, async function () {
      const node = await startNodeRef(redisUrl(redis), c.node);
      try {
        await optionRun(node.port, redisUrl(redis), c);
      } finally {
        await stopServer(node);
      }
    });
  }
  it('refuses option combinations it cannot run (exit 2)', async function () {
    for (const args of [['--deflate', '--transport', 'polling'], ['--accept-encoding', 'gzip'], ['--eio', '3', '--transport', 'polling'],
      ['--parser', 'json'], ['--eio', '5'], ['--accept-encoding', 'br', '--transport', 'polling']]) {
      const run = await runBench(['--url', 'ws://127.0.0.1:9/socket.io/', ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
  });
});

describe('sio-bench protocol options against sio-server with the same option', function () {
  this.timeout(60000);
  let redis;
  before(async function () { redis = await startRedis(); });
  after(async function () { await stopRedis(redis); });
  for (const c of OPTION_CASES) {
    it(`${c.name}: ${Object.entries(c.sio).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}`, async function () {
      const server = await startSioServer({ env: { REDIS_URL: redisUrl(redis), ...c.sio } });
      try {
        await optionRun(server.port, redisUrl(redis), c);
      } finally {
        await stopAlive(server);
      }
    });
  }
});

describe('loadtest/bench --help', function () {
  it('documents the recovery mode and its phases', function () {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--help'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /loadtest\/bench --recovery \[--quick\]/);
    assert.match(r.stdout, /--recovery\s+the connection state recovery measurements/);
    for (const phase of ['cpu', 'history', 'reconnect']) assert.match(r.stdout, new RegExp(`^  ${phase}\\s`, 'm'));
    assert.match(r.stdout, /with --recovery, of cpu,history,reconnect/);
  });

  it('documents the sharded mode and its topologies', function () {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--help'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /loadtest\/bench --sharded \[--quick\]/);
    assert.match(r.stdout, /--sharded\s+the sharded pub\/sub and Redis Cluster measurements/);
    for (const phase of ['pubsub', 'sharded', 'cluster', 'node1', 'node']) assert.match(r.stdout, new RegExp(`^  ${phase}\\s`, 'm'));
    assert.match(r.stdout, /with --sharded, of pubsub,sharded,cluster,node1,node/);
  });

  it('documents the plain WebSocket mode and its phases', function () {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--help'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /loadtest\/bench --plain \[--quick\]/);
    assert.match(r.stdout, /--plain\s+the plain WebSocket client measurements/);
    assert.match(r.stdout, /"Plain WebSocket clients" section/);
    for (const phase of ['rss', 'traffic', 'pairs']) assert.match(r.stdout, new RegExp(`^  ${phase}\\s`, 'm'));
    assert.match(r.stdout, /with --plain, of rss,traffic,pairs/);
  });

  it('documents the protocol options mode and its cases', function () {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--help'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /loadtest\/bench --options \[--quick\]/);
    assert.match(r.stdout, /with --options, of ws,deflate,msgpack,eio3,polling,gzip/);
    const bad = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--options', '--plain'], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--options is a run of its own/);
  });

  it('documents the cost curves mode, its curves and the floor', function () {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), '--help'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /loadtest\/bench --curves \[--quick\]/);
    assert.match(r.stdout, /--curves\s+the cost curves/);
    assert.match(r.stdout, /"Cost\s+curves" section/);
    for (const axis of ['conns', 'room', 'rps', 'size', 'nodes', 'polling']) assert.match(r.stdout, new RegExp(`^  ${axis}\\s`, 'm'));
    assert.match(r.stdout, /with --curves, of conns,room,rps,size,nodes,polling/);
    assert.match(r.stdout, /build\/sio-floor/);
    assert.match(r.stdout, /--only sio\|node\|floor/);
  });

  it('refuses --sharded with --recovery, an unknown topology (exit 2) or --only (exit 1)', function () {
    for (const [args, why, code] of [
      [['--sharded', '--recovery'], /--recovery and --sharded are two separate runs/, 2],
      [['--sharded', '--phases', 'cluster,nope'], /unknown phase nope \(with --sharded\)/, 2],
      [['--sharded', '--only', 'sio'], /--only does not apply to --sharded/, 1],
      [['--backend', '--recovery'], /--backend is a run of its own/, 2],
      [['--plain', '--sharded'], /--plain is a run of its own/, 2],
      [['--plain', '--backend'], /--plain is a run of its own/, 2],
      [['--plain', '--phases', 'traffic,nope'], /unknown phase nope \(with --plain\)/, 2],
      [['--plain', '--only', 'sio'], /--only does not apply to --plain/, 1],
      [['--curves', '--plain'], /--curves is a run of its own/, 2],
      [['--curves', '--phases', 'room,nope'], /unknown phase nope \(with --curves\)/, 2],
      [['--only', 'nope'], /--only takes sio, node or floor/, 1],
    ]) {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'loadtest', 'bench'), ...args], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
  });
});
