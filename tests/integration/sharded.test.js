'use strict';
/*
 * REDIS_ADAPTER=sharded (Redis 7 sharded pub/sub, wire-compatible with
 * @socket.io/redis-adapter's createShardedAdapter), on one Redis and on a real
 * Redis Cluster of 3 primaries + 3 replicas (tests/lib/redis-cluster.js):
 *   - one Redis: 2 sio nodes + 1 Node node (createShardedAdapter); every origin
 *     reaches everyone; the Node side's fetchSockets / socketsJoin /
 *     disconnectSockets / serverSideEmitWithAck / broadcast with ack complete;
 *   - a cluster: rooms whose channels live on different shards reach every node's
 *     clients, each channel subscribed on its owner only (PUBSUB SHARDCHANNELS per
 *     shard), the Node side's requests complete; a primary killed (kill -9): its
 *     replica is promoted, sio subscribes there again and deliveries resume (what
 *     was lost meanwhile is counted and printed); a slot of a live room channel
 *     migrated while publishing: deliveries go on;
 *   - TLS + AUTH on the cluster;
 *   - bad input: a seed that is not a cluster node, a node answering MOVED to
 *     everything (to itself), a shard answering errors: logged, counted in the
 *     metrics, no crash and no busy loop (CPU time bounded).
 */
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { HOST, freePort, startServer, stopServer } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const {
  startCluster, stopCluster, clusterUrl, redisCli, primaries, keySlot, ownerOf, shardChannels,
  failover, migrateSlot,
} = require('../lib/redis-cluster');
const {
  sleep, eventually, startSioServer, connect, connected, emitAck, closeAll, apiPost, apiGet, cpuTimeMs,
} = require('../lib/sio');
const { stopNow, cleanup } = require('../lib/recovery');

const NODE_GATEWAY = path.join(__dirname, '..', 'ref', 'node-sharded-gateway.js');

function startSioSharded(url, nodeId, env = {}) {
  return startSioServer({ env: { REDIS_URL: url, REDIS_ADAPTER: 'sharded', NODE_ID: nodeId, ...env } });
}

async function startNodeSharded(url, nodeId, extra = []) {
  const port = await freePort();
  let control = await freePort();
  while (control === port) control = await freePort();
  const server = await startServer({
    command: process.execPath,
    args: [NODE_GATEWAY, '--port', String(port), '--control', String(control), '--redis', url,
      '--node-id', nodeId, ...extra],
    port,
  });
  server.control = control;
  return server;
}

const nodeCall = (node, p, body) => (body === undefined
  ? apiGet(node.control, p, { timeoutMs: 8000 })
  : apiPost(node.control, body, { path: p, timeoutMs: 8000 }));

async function metrics(node) {
  const text = (await apiGet(node.apiPort, '/metrics', { timeoutMs: 3000 })).body;
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(sio_redis_[a-z_]+)\{[^}]*\} ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** A client of `port` in `rooms`, recording every `tick` as [room, n]. */
async function member(port, rooms) {
  const s = connect(`http://${HOST}:${port}`, { transports: ['websocket'], reconnection: false });
  s.got = [];
  s.on('tick', (d) => s.got.push(d));
  await connected(s);
  for (const r of rooms) await emitAck(s, 'subscribe', r);
  return s;
}

/** Rooms named room-<i> until `perShard` of them live on each primary. */
async function roomsOnEveryShard(cl, perShard) {
  const owners = new Map();
  const rooms = [];
  for (let i = 0; rooms.length < perShard * 3 && i < 500; i++) {
    const room = `room-${i}`;
    const owner = (await ownerOf(cl, `socket.io#/#${room}#`)).port;
    if ((owners.get(owner) || 0) < perShard) {
      owners.set(owner, (owners.get(owner) || 0) + 1);
      rooms.push(room);
    }
  }
  assert.equal(owners.size, 3, 'room channels on all three primaries');
  return rooms;
}

const ticks = (s, room) => s.got.filter((d) => d && d.room === room).map((d) => d.n);

/* ------------------------------------------------------------------ */
/* 1. One Redis 7                                                      */
/* ------------------------------------------------------------------ */

describe('sharded adapter on one Redis 7: 2 sio nodes + 1 Node node (createShardedAdapter)', function () {
  this.timeout(60000);
  let redis;
  let a;
  let b;
  let n;

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    // one after the other: each takes free ports, which a parallel start could pick twice
    a = await startSioSharded(url, 'sh-a');
    b = await startSioSharded(url, 'sh-b');
    n = await startNodeSharded(url, 'sh-node');
    await eventually(async () => (await metrics(a)).sio_redis_up === 1 && (await metrics(b)).sio_redis_up === 1,
      5000, 'both sio nodes up');
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => n && stopServer(n), () => stopRedis(redis)]);
  });

  it('every origin reaches the clients of every node, one room or several, once each', async function () {
    const clients = [await member(a.port, ['r1', 'r2']), await member(b.port, ['r1', 'r2']),
      await member(n.port, ['r1', 'r2'])];
    const sends = [
      () => apiPost(a.apiPort, { rooms: ['r1'], event: 'tick', data: { room: 'r1', n: 1 } }),
      () => apiPost(b.apiPort, { rooms: ['r1'], event: 'tick', data: { room: 'r1', n: 2 } }),
      () => nodeCall(n, '/', { rooms: ['r1'], event: 'tick', data: { room: 'r1', n: 3 } }),
      () => apiPost(a.apiPort, { rooms: ['r1', 'r2'], event: 'tick', data: { room: 'r1', n: 4 } }),
      () => nodeCall(n, '/', { rooms: ['r1', 'r2'], event: 'tick', data: { room: 'r1', n: 5 } }),
      () => apiPost(b.apiPort, { event: 'tick', data: { room: 'r1', n: 6 } }),
    ];
    for (const send of sends) assert.equal((await send()).status < 300, true);
    await eventually(() => clients.every((c) => ticks(c, 'r1').length >= 6), 5000, 'six broadcasts everywhere');
    await sleep(200);
    for (const c of clients) assert.deepEqual(ticks(c, 'r1').sort(), [1, 2, 3, 4, 5, 6]);
    const numsub = await redisCli({ nodes: [redis], tls: null }, redis, 'PUBSUB', 'SHARDNUMSUB', 'socket.io#/#');
    assert.match(numsub, /socket\.io#\/#\n3/, `Node's serverCount (SHARDNUMSUB) counts the three nodes: ${numsub}`);
  });

  it("the Node side's fetchSockets, socketsJoin, disconnectSockets, serverSideEmitWithAck and broadcast with ack include the sio nodes", async function () {
    closeAll(); // every client answers the broadcast with ack: only these two
    await sleep(300);
    const sa = await member(a.port, ['req']);
    const sb = await member(b.port, ['req']);
    sa.on('please-ack', (x, ack) => ack(x + 1));
    sb.on('please-ack', (x, ack) => ack(x + 2));
    const cluster = await nodeCall(n, '/cluster');
    assert.equal(cluster.status, 200, cluster.body);
    const c = cluster.json;
    const ids = c.sockets.map((s) => s.id);
    assert.ok(ids.includes(sa.id) && ids.includes(sb.id), `fetchSockets sees the sio clients: ${ids}`);
    assert.ok(c.acks.includes(8) && c.acks.includes(9), `acks of the sio clients: ${JSON.stringify(c.acks)}`);
    assert.ok(c.ms < 4000, `no timeout (${c.ms} ms)`);
    assert.equal((await nodeCall(n, '/socketsJoin', { rooms: ['req'], join: 'joined' })).status, 200);
    await sleep(300);
    await apiPost(a.apiPort, { rooms: ['joined'], event: 'tick', data: { room: 'joined', n: 1 } });
    await eventually(() => ticks(sa, 'joined').length === 1 && ticks(sb, 'joined').length === 1, 3000,
      'socketsJoin from Node applied on both sio nodes');
    const gone = new Promise((res) => sb.once('disconnect', res));
    assert.equal((await nodeCall(n, '/disconnectSockets', { rooms: ['req'], close: true })).status, 200);
    await Promise.race([gone, sleep(3000).then(() => { throw new Error('not disconnected'); })]);
  });
});

/* ------------------------------------------------------------------ */
/* 2. A Redis Cluster, 3 primaries + 3 replicas                        */
/* ------------------------------------------------------------------ */

describe('sharded adapter on a Redis Cluster (3 primaries + 3 replicas)', function () {
  this.timeout(120000);
  let cl;
  let a;
  let b;
  let n;
  let rooms;

  before(async function () {
    cl = await startCluster();
    const url = clusterUrl(cl);
    const env = { REDIS_CLUSTER: 'true', REDIS_CLUSTER_SEEDS: cl.nodes.slice(1, 3).map((x) => `${HOST}:${x.port}`).join(',') };
    a = await startSioSharded(url, 'cl-a', env);
    b = await startSioSharded(url, 'cl-b', env);
    n = await startNodeSharded(url, 'cl-node', ['--cluster', '--cluster-workarounds']);
    await eventually(async () => (await metrics(a)).sio_redis_up === 1 && (await metrics(b)).sio_redis_up === 1,
      8000, 'both sio nodes up');
    rooms = await roomsOnEveryShard(cl, 2);
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => n && stopServer(n), () => stopCluster(cl)]);
  });

  it('rooms on all three shards reach every node; each channel is subscribed on its owner only', async function () {
    const clients = [await member(a.port, rooms), await member(b.port, rooms), await member(n.port, rooms)];
    let k = 0;
    for (const room of rooms) {
      await apiPost(a.apiPort, { rooms: [room], event: 'tick', data: { room, n: ++k } });
      await apiPost(b.apiPort, { rooms: [room], event: 'tick', data: { room, n: ++k } });
      await nodeCall(n, '/', { rooms: [room], event: 'tick', data: { room, n: ++k } });
    }
    await eventually(() => clients.every((c) => c.got.length >= k), 8000, `${k} broadcasts everywhere`);
    await sleep(200);
    for (const c of clients) assert.equal(c.got.length, k, 'each broadcast once');
    const prim = await primaries(cl);
    assert.equal(prim.length, 3);
    for (const room of rooms) {
      const channel = `socket.io#/#${room}#`;
      const owner = await ownerOf(cl, channel);
      for (const p of prim) {
        const chans = await shardChannels(cl, p.node);
        assert.equal(chans.includes(channel), p.node === owner,
          `${channel} (slot ${await keySlot(cl, channel)}) on ${p.node.port}: ${p.node === owner ? 'expected' : 'not expected'}`);
      }
      const numsub = await redisCli(cl, owner, 'PUBSUB', 'SHARDNUMSUB', channel);
      assert.match(numsub, /\n3\s*$/, `three subscribers of ${channel} on its owner: ${numsub}`);
    }
    const m = await metrics(a);
    assert.equal(m.sio_redis_primaries, 3);
    assert.equal(m.sio_redis_subscriptions_pending, 0);
    closeAll();
  });

  it("the Node side's fetchSockets, socketsJoin, disconnectSockets and broadcast with ack complete across the shards", async function () {
    await sleep(300); // the clients closed before are gone: only these two answer the broadcast with ack
    const sa = await member(a.port, [rooms[0]]);
    const sb = await member(b.port, [rooms[3]]);
    sa.on('please-ack', (x, ack) => ack('a'));
    sb.on('please-ack', (x, ack) => ack('b'));
    const res = await nodeCall(n, '/cluster');
    assert.equal(res.status, 200, res.body);
    const ids = res.json.sockets.map((s) => s.id);
    assert.ok(ids.includes(sa.id) && ids.includes(sb.id), `fetchSockets: ${ids}`);
    assert.deepEqual(res.json.acks.filter((x) => x === 'a' || x === 'b').sort(), ['a', 'b']);
    assert.ok(res.json.ms < 4000, `no timeout (${res.json.ms} ms)`);
    assert.equal((await nodeCall(n, '/socketsJoin', { rooms: [rooms[0]], join: rooms[5] })).status, 200);
    await sleep(400);
    await apiPost(b.apiPort, { rooms: [rooms[5]], event: 'tick', data: { room: rooms[5], n: 1 } });
    await eventually(() => ticks(sa, rooms[5]).length === 1, 3000, 'socketsJoin from Node, then a broadcast from sio B');
    const gone = new Promise((r) => sb.once('disconnect', r));
    await nodeCall(n, '/disconnectSockets', { rooms: [rooms[3]], close: true });
    await Promise.race([gone, sleep(3000).then(() => { throw new Error('not disconnected'); })]);
    closeAll();
  });

  /** Publishes room ticks through sio A every 20 ms while `during` runs; returns what clients of B got. */
  async function publishWhile(room, during) {
    const s = await member(b.port, [room]);
    let go = true;
    let sent = 0;
    const refused = [];
    const pub = (async () => {
      while (go) {
        const r = await apiPost(a.apiPort, { rooms: [room], event: 'tick', data: { room, n: sent } }).catch((e) => ({ status: String(e) }));
        if (r.status === 202) sent++;
        else refused.push(r.status);
        await sleep(20);
      }
    })();
    await sleep(300);
    const info = await during();
    await sleep(1500);
    const after = sent;
    await eventually(() => ticks(s, room).includes(after - 1), 8000, 'the last tick');
    go = false;
    await pub;
    await sleep(300);
    const got = ticks(s, room);
    const lost = [...Array(sent).keys()].filter((i) => !got.includes(i));
    return { sent, got, lost, info, refused };
  }

  it('a primary killed (kill -9): its replica is promoted, sio subscribes there, deliveries resume', async function () {
    const room = rooms[0];
    const channel = `socket.io#/#${room}#`;
    const owner = await ownerOf(cl, channel);
    const r = await publishWhile(room, () => failover(cl, owner));
    const promoted = r.info.promoted;
    console.log(`      failover in ${r.info.ms} ms: sent ${r.sent}, delivered ${r.got.length}, lost ${r.lost.length} [${r.lost.slice(0, 5)}${r.lost.length > 5 ? '...' : ''}], refused ${r.refused.length}`);
    assert.ok((await shardChannels(cl, promoted)).includes(channel), 'the channel is subscribed on the promoted replica');
    // pub/sub keeps nothing: what reaches the new primary before B subscribed there is lost;
    // the publisher's 1 s grace after the promotion is what keeps this near 0 (without it
    // the backlog of the whole failover went into an empty channel: 60 % lost)
    assert.ok(r.lost.length <= r.sent * 0.25, `lost in the failover: ${r.lost.length} of ${r.sent}`);
    const last = r.got.slice(-20);
    assert.deepEqual(last, [...Array(20).keys()].map((i) => r.sent - 20 + i), 'the last 20 ticks, in order: deliveries resumed');
    const m = await metrics(b);
    assert.ok(m.sio_redis_resubscribed_total >= 1 || m.sio_redis_slot_map_refreshes_total >= 2, JSON.stringify(m));
    assert.equal(m.sio_redis_up, 1);
    closeAll();
  });

  it('a slot carrying a live room channel migrated while publishing: deliveries go on', async function () {
    const room = rooms[2];
    const channel = `socket.io#/#${room}#`;
    const slot = await keySlot(cl, channel);
    const from = await ownerOf(cl, channel);
    const to = (await primaries(cl)).find((p) => p.node !== from).node;
    const r = await publishWhile(room, () => migrateSlot(cl, slot, to, { pauseMsBetweenSteps: 500 }));
    console.log(`      slot ${slot} ${from.port} -> ${to.port} in ${r.info.ms} ms: sent ${r.sent}, delivered ${r.got.length}, lost ${r.lost.length} [${r.lost.slice(0, 5)}]`);
    assert.equal((await ownerOf(cl, channel)).port, to.port);
    assert.ok((await shardChannels(cl, to)).includes(channel), 'subscribed on the new owner');
    assert.ok(!(await shardChannels(cl, from)).includes(channel), 'not on the old one');
    assert.ok(r.lost.length <= Math.max(3, r.sent * 0.05), `at most a few ticks lost in the switch: ${r.lost.length}`);
    closeAll();
  });
});

/* ------------------------------------------------------------------ */
/* 3. TLS + AUTH                                                       */
/* ------------------------------------------------------------------ */

describe('sharded adapter on a Redis Cluster with TLS and AUTH', function () {
  this.timeout(60000);
  let cl;
  let a;
  let b;

  before(async function () {
    cl = await startCluster({ replicasPerPrimary: 0, password: 'p@ss w0rd', tls: true });
    const url = clusterUrl(cl, { password: 'p@ss w0rd' });
    assert.match(url, /^rediss:\/\//);
    const env = { REDIS_CLUSTER: 'true', REDIS_TLS_CA_FILE: cl.tls.ca };
    a = await startSioSharded(url, 'tls-a', env);
    b = await startSioSharded(url, 'tls-b', env);
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => stopCluster(cl)]);
  });

  it('discovers the shards through TLS with the password and delivers rooms on every shard', async function () {
    await eventually(async () => (await metrics(a)).sio_redis_up === 1 && (await metrics(b)).sio_redis_up === 1,
      8000, 'both sio nodes up');
    const rooms = await roomsOnEveryShard(cl, 1);
    const s = await member(b.port, rooms);
    for (const [i, room] of rooms.entries()) await apiPost(a.apiPort, { rooms: [room], event: 'tick', data: { room, n: i } });
    await eventually(() => s.got.length === rooms.length, 5000, 'a tick per shard');
    assert.equal((await metrics(a)).sio_redis_primaries, 3);
  });

  it('a wrong password is refused cleanly: not up, no crash', async function () {
    const bad = await startSioSharded(clusterUrl(cl, { password: 'wrong' }), 'tls-bad',
      { REDIS_CLUSTER: 'true', REDIS_TLS_CA_FILE: cl.tls.ca });
    try {
      await sleep(1500);
      assert.equal((await metrics(bad)).sio_redis_up, 0);
      assert.equal(bad.proc.exitCode, null, 'still running');
    } finally {
      await stopNow(bad);
    }
  });
});

/* ------------------------------------------------------------------ */
/* 4. Bad input                                                        */
/* ------------------------------------------------------------------ */

/** A fake Redis node speaking RESP: answer(cmdArgs) returns the raw reply. */
async function fakeRedis(answer) {
  const port = await freePort();
  const socks = new Set();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const parsed = parseCommand(buf);
        if (!parsed) break;
        buf = buf.subarray(parsed.used);
        server.commands = (server.commands || 0) + 1;
        sock.write(answer(parsed.args, port));
      }
    });
  });
  await new Promise((res) => server.listen(port, HOST, res));
  server.port = port;
  server.stop = () => { for (const s of socks) s.destroy(); return new Promise((res) => server.close(res)); };
  return server;
}

function parseCommand(buf) {
  const text = buf.toString('latin1');
  if (!text.startsWith('*')) return null;
  let at = text.indexOf('\r\n');
  if (at < 0) return null;
  const n = Number(text.slice(1, at));
  const args = [];
  at += 2;
  for (let i = 0; i < n; i++) {
    const end = text.indexOf('\r\n', at);
    if (end < 0) return null;
    const len = Number(text.slice(at + 1, end));
    if (text.length < end + 2 + len + 2) return null;
    args.push(text.slice(end + 2, end + 2 + len));
    at = end + 2 + len + 2;
  }
  return { args, used: at };
}

const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const oneShardMap = (port) => `*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n${bulk(HOST)}:${port}\r\n${bulk('fakeid')}`;

describe('sharded adapter, bad cluster input: clear logs and metrics, no crash, no busy loop', function () {
  this.timeout(60000);
  const nodes = [];

  afterEach(async function () {
    closeAll();
    await cleanup(nodes.splice(0).map((x) => () => (x.stop ? x.stop() : stopNow(x))));
  });

  async function watch(node, ms) {
    const cpu0 = cpuTimeMs(node.proc.pid);
    await sleep(ms);
    return cpuTimeMs(node.proc.pid) - cpu0;
  }

  it('a seed that is not a cluster node (cluster support disabled)', async function () {
    const redis = await startRedis();
    nodes.push({ stop: () => stopRedis(redis) });
    const s = await startSioSharded(redisUrl(redis), 'bad-seed', { REDIS_CLUSTER: 'true' });
    nodes.push(s);
    const cpu = await watch(s, 3000);
    const m = await metrics(s);
    assert.equal(m.sio_redis_up, 0);
    assert.ok(m.sio_redis_slot_map_errors_total >= 1 && m.sio_redis_slot_map_errors_total <= 10,
      `CLUSTER SLOTS retried with backoff, not in a loop: ${m.sio_redis_slot_map_errors_total}`);
    assert.ok(cpu < 500, `CPU ${cpu} ms in 3 s`);
    assert.match(s.stdout() + s.stderr(), /CLUSTER SLOTS failed.*cluster support disabled/);
  });

  it('a node answering MOVED to itself for everything (a MOVED storm)', async function () {
    const fake = await fakeRedis((args, port) => {
      const cmd = args[0].toUpperCase();
      if (cmd === 'PING') return '+PONG\r\n';
      if (cmd === 'CLUSTER') return oneShardMap(port);
      return `-MOVED 13868 ${HOST}:${port}\r\n`;
    });
    nodes.push(fake);
    const s = await startSioSharded(`redis://${HOST}:${fake.port}`, 'storm', { REDIS_CLUSTER: 'true' });
    nodes.push(s);
    const cpu = await watch(s, 3000);
    const m = await metrics(s);
    assert.equal(s.proc.exitCode, null, 'still running');
    assert.ok(m.sio_redis_moved_total >= 1, JSON.stringify(m));
    assert.ok(fake.commands < 400, `commands bounded (refreshes rate-limited): ${fake.commands} in 3 s`);
    assert.ok(cpu < 500, `CPU ${cpu} ms in 3 s`);
    const r = await apiPost(s.apiPort, { rooms: ['x'], event: 'tick', data: 1 });
    assert.ok([202, 503].includes(r.status), `the API still answers: ${r.status}`);
    assert.ok(m.sio_redis_subscriptions_pending >= 1, 'subscriptions never confirmed are reported');
  });

  it('a shard that answers errors (CLUSTERDOWN) to every command', async function () {
    const fake = await fakeRedis((args, port) => {
      const cmd = args[0].toUpperCase();
      if (cmd === 'PING') return '+PONG\r\n';
      if (cmd === 'CLUSTER') return oneShardMap(port);
      return '-CLUSTERDOWN The cluster is down\r\n';
    });
    nodes.push(fake);
    const s = await startSioSharded(`redis://${HOST}:${fake.port}`, 'down', { REDIS_CLUSTER: 'true' });
    nodes.push(s);
    await sleep(500);
    for (let i = 0; i < 5; i++) await apiPost(s.apiPort, { rooms: ['x'], event: 'tick', data: i });
    const cpu = await watch(s, 3000);
    const m = await metrics(s);
    assert.equal(s.proc.exitCode, null, 'still running');
    assert.ok(m.sio_redis_command_errors_total >= 1, JSON.stringify(m));
    assert.ok(fake.commands < 400, `commands bounded: ${fake.commands}`);
    assert.ok(cpu < 500, `CPU ${cpu} ms in 3 s`);
    assert.match(s.stdout() + s.stderr(), /redis cluster: a command could not be placed.*CLUSTERDOWN/);
  });
});

/* ------------------------------------------------------------------ */
/* 5. Classic pub/sub on a Redis Cluster, with recovery                */
/* ------------------------------------------------------------------ */

describe('pubsub adapter on a Redis Cluster, connection state recovery on', function () {
  this.timeout(90000);
  let cl;
  let a;
  let b;
  let keysOwner;

  before(async function () {
    cl = await startCluster();
    const env = { REDIS_CLUSTER: 'true' };
    a = await startSioServer({ env: { REDIS_URL: clusterUrl(cl), NODE_ID: 'ps-a', ...env } });
    b = await startSioServer({ env: { REDIS_URL: clusterUrl(cl), NODE_ID: 'ps-b', ...env } });
    keysOwner = await ownerOf(cl, '{socket.io}');
    await eventually(async () => (await metrics(a)).sio_redis_up === 1 && (await metrics(b)).sio_redis_up === 1,
      8000, 'both sio nodes up');
  });

  after(async function () {
    closeAll();
    await cleanup([() => stopNow(a), () => stopNow(b), () => stopCluster(cl)]);
  });

  it("keeps every key in the slot of {socket.io}, on that slot's primary, and delivers with offsets", async function () {
    const s = await member(b.port, ['ps']);
    await apiPost(a.apiPort, { rooms: ['ps'], event: 'tick', data: { room: 'ps', n: 0 } });
    await eventually(() => s.got.length === 1, 3000, 'a broadcast from A to a client of B');
    const slot = await keySlot(cl, '{socket.io}');
    assert.equal(await keySlot(cl, '{socket.io}-history#/#'), slot);
    assert.match(await redisCli(cl, keysOwner, 'EXISTS', '{socket.io}-history#/#'), /1/, 'the history on the owner');
    const keys = await redisCli(cl, keysOwner, 'KEYS', '{socket.io}-session#*');
    assert.ok(keys.trim().split('\n').length >= 1, `sessions on the owner: ${keys}`);
    closeAll();
  });

  it("the keys' primary killed: its replica is promoted, the nodes follow it, a connected client misses nothing and one away recovers", async function () {
    const stay = await member(b.port, ['fo']);
    const away = connect(`http://${HOST}:${b.port}`, { transports: ['websocket'], reconnection: false });
    away.got = [];
    away.on('tick', (d) => away.got.push(d.n));
    await connected(away);
    await emitAck(away, 'subscribe', 'fo');
    let go = true;
    let sent = 0;
    const pub = (async () => {
      while (go) {
        const r = await apiPost(a.apiPort, { rooms: ['fo'], event: 'tick', data: { room: 'fo', n: sent } })
          .catch(() => ({ status: 0 }));
        if (r.status === 202) sent++;
        await sleep(20);
      }
    })();
    await eventually(() => away.got.length >= 10, 3000, 'ticks before');
    away.io.engine.close(); // a transport close: recoverable
    const awayAt = away.got.length;
    await sleep(200);
    const fo = await failover(cl, keysOwner);
    await sleep(1500);
    away.connect();
    await connected(away, 8000);
    await sleep(1500);
    go = false;
    await pub;
    await eventually(() => ticks(stay, 'fo').includes(sent - 1) && away.got.includes(sent - 1), 8000, 'the last tick');
    await sleep(300);
    const got = ticks(stay, 'fo');
    const missed = [...Array(sent).keys()].filter((i) => !got.includes(i));
    const dups = got.length - new Set(got).size;
    const awayMissed = [...Array(sent).keys()].filter((i) => i >= awayAt && !away.got.includes(i));
    console.log(`      failover in ${fo.ms} ms: sent ${sent}; connected client missed ${missed.length}, ${dups} twice; `
      + `the client away recovered=${away.recovered}, missed ${awayMissed.length} [${awayMissed.slice(0, 5)}]`);
    assert.deepEqual(missed, [], 'the connected client got every tick');
    assert.ok(got.every((n, i) => i === 0 || n >= got[i - 1]), 'in order');
    assert.equal(away.recovered, true, 'the client away recovered its session');
    assert.ok(awayMissed.length <= 3, `at most the few ticks the replica had not received yet: ${awayMissed}`);
    const m = await metrics(b);
    assert.equal(m.sio_redis_up, 1);
    closeAll();
  });
});
