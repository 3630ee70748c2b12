'use strict';
/*
 * A mixed cluster on one real redis-server: 3 sio-server nodes and 1 Node.js
 * socket.io 4 + @socket.io/redis-adapter node (tests/ref/node-gateway.js), plus
 * an @socket.io/redis-emitter publisher. Clients on every node; broadcasts from
 * every kind of origin; requests issued from the Node side; per-room
 * subscriptions; Redis killed and restarted mid-stream; Redis over TLS.
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { freePort, startServer, stopServer, HOST } = require('../lib/server');
const { startRedis, stopRedis, killRedis, restartRedis, redisUrl } = require('../lib/redis');
const {
  sleep, eventually, startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, apiGet,
} = require('../lib/sio');

const NODE_GATEWAY = path.join(__dirname, '..', 'ref', 'node-gateway.js');

async function startNodeGateway(url) {
  const port = await freePort();
  const control = await freePort();
  const server = await startServer({
    command: process.execPath,
    args: [NODE_GATEWAY, '--port', String(port), '--control', String(control), '--redis', url],
    port,
  });
  server.control = control;
  server.url = `http://${HOST}:${port}`;
  return server;
}

/** POST to the Node node's control port. */
async function nodeControl(node, op, body = {}) {
  const res = await apiPost(node.control, body, { path: `/${op}`, timeoutMs: 8000 });
  assert.equal(res.status, 200, `${op}: ${res.body}`);
  return JSON.parse(res.body);
}

/** Recovery (on by default) appends a broadcast's offset as its last argument. */
const isOffset = (v) => typeof v === 'string' && /^\d+-\d+$/.test(v);

/** Records every event a socket receives: name -> [args], each broadcast's
 * recovery offset taken off its arguments (and kept in got.offsets). */
function recorder(socket) {
  const got = new Map();
  got.offsets = [];
  socket.onAny((event, ...args) => {
    if (args.length && isOffset(args[args.length - 1])) got.offsets.push(args.pop());
    if (!got.has(event)) got.set(event, []);
    got.get(event).push(args);
  });
  return got;
}

const b64 = (buf) => ({ $bin: Buffer.from(buf).toString('base64') });

describe('Redis cluster: 3 sio-server nodes + 1 Node socket.io node + the emitter', function () {
  this.timeout(60000);
  let redis;
  let redisCli;
  let emitter;
  let sio = [];
  let node;
  // clients[n] = [{socket, got}, {socket, got}] for node n (0..2 sio, 3 Node)
  let clients = [];

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    sio = await Promise.all([0, 1, 2].map((i) => startSioServer({
      env: { REDIS_URL: url, PUBLISH_PATTERNS: '*', NAMESPACES: '/,/tournament-*', NODE_ID: `sio${i}` },
    })));
    node = await startNodeGateway(url);
    redisCli = createClient({ url });
    redisCli.on('error', () => {});
    await redisCli.connect();
    emitter = new Emitter(redisCli);

    const urls = [...sio.map((s) => `http://${HOST}:${s.port}`), node.url];
    clients = [];
    for (let n = 0; n < urls.length; n++) {
      const pair = [];
      for (let k = 0; k < 2; k++) {
        const socket = connect(urls[n], { transports: k ? ['polling'] : ['websocket'] });
        const got = recorder(socket);
        await connected(socket);
        const rooms = k === 0 ? ['all-room', `r-${n}`] : ['all-room'];
        const res = await emitAck(socket, 'subscribe', rooms);
        assert.equal(res.ok, true);
        pair.push({ socket, got });
      }
      clients.push(pair);
    }
    // every sio node subscribed to the shared room's channel (the Node node uses a pattern)
    await eventually(async () => {
      const n = await redisCli.pubSubNumSub('socket.io#/#all-room#');
      return n['socket.io#/#all-room#'] === 3;
    }, 5000, 'per-room subscriptions of all-room');
  });

  after(async function () {
    closeAll();
    if (redisCli) await redisCli.quit().catch(() => {});
    await stopServer(node);
    for (const s of sio) await stopAlive(s);
    await stopRedis(redis);
  });

  const everyone = () => clients.flat();
  const received = (c, event) => (c.got.get(event) || []);

  it('a broadcast from each kind of origin reaches every subscribed client exactly once, binary intact', async function () {
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    // 1-3: each sio node's API (JSON)
    for (let i = 0; i < 3; i++) {
      const res = await apiPost(sio[i].apiPort, { rooms: ['all-room'], event: `api-${i}`, data: { from: i } });
      assert.equal(res.status, 202);
    }
    // 4: a client publish on a sio node (binary), everyone but the sender
    const publisher = clients[1][0];
    assert.deepEqual(await emitAck(publisher.socket, 'publish', { room: 'all-room', event: 'pub-sio', data: { bin } }), { ok: true });
    // 5: a client publish on the Node node (binary)
    const nodePublisher = clients[3][0];
    assert.deepEqual(await emitAck(nodePublisher.socket, 'publish', { room: 'all-room', event: 'pub-node', data: { bin } }), { ok: true });
    // 6: the Node server itself
    await nodeControl(node, 'emit', { rooms: ['all-room'], event: 'node-emit', args: [{ bin: b64(bin) }, 7] });
    // 7: the emitter
    emitter.to('all-room').emit('emitter', { bin }, 'x');

    await eventually(() => everyone().every((c) => received(c, 'emitter').length >= 1 && received(c, 'node-emit').length >= 1), 5000, 'deliveries');
    await sleep(300); // duplicates would arrive by now

    for (const [n, pair] of clients.entries()) {
      for (const [k, c] of pair.entries()) {
        const who = `client ${n}.${k}`;
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(received(c, `api-${i}`), [[{ from: i }]], `${who} api-${i}`);
        }
        const expectPub = c === publisher ? 0 : 1;
        assert.equal(received(c, 'pub-sio').length, expectPub, `${who} pub-sio`);
        if (expectPub) assert.ok(bin.equals(received(c, 'pub-sio')[0][0].bin), `${who} pub-sio binary`);
        const expectNodePub = c === nodePublisher ? 0 : 1;
        assert.equal(received(c, 'pub-node').length, expectNodePub, `${who} pub-node`);
        if (expectNodePub) assert.ok(bin.equals(received(c, 'pub-node')[0][0].bin), `${who} pub-node binary`);
        assert.equal(received(c, 'node-emit').length, 1, `${who} node-emit`);
        assert.ok(bin.equals(received(c, 'node-emit')[0][0].bin), `${who} node-emit binary`);
        assert.equal(received(c, 'node-emit')[0][1], 7);
        assert.equal(received(c, 'emitter').length, 1, `${who} emitter`);
        assert.ok(bin.equals(received(c, 'emitter')[0][0].bin), `${who} emitter binary`);
        assert.equal(received(c, 'emitter')[0][1], 'x');
      }
    }
  });

  it('except rooms hold across nodes, and a broadcast to everyone reaches clients of every node', async function () {
    await apiPost(sio[2].apiPort, { rooms: ['all-room'], except: ['r-0', 'r-3'], event: 'except-test', data: 1 });
    emitter.emit('to-everyone', 2);
    await eventually(() => everyone().every((c) => received(c, 'to-everyone').length === 1), 5000, 'to-everyone');
    await sleep(200);
    for (const [n, pair] of clients.entries()) {
      for (const [k, c] of pair.entries()) {
        const excluded = k === 0 && (n === 0 || n === 3);
        assert.equal(received(c, 'except-test').length, excluded ? 0 : 1, `client ${n}.${k}`);
      }
    }
  });

  it('namespaces hold: a broadcast to /tournament-7 reaches only that namespace, on every node', async function () {
    const a = connect(`http://${HOST}:${sio[2].port}/tournament-7`, { transports: ['websocket'] });
    const b = connect(`${node.url}/tournament-7`, { transports: ['websocket'] });
    const gotA = recorder(a);
    const gotB = recorder(b);
    await connected(a);
    await connected(b);
    await sleep(200); // the new namespace's channels are subscribed
    await nodeControl(node, 'emit', { nsp: '/tournament-7', event: 'bracket', args: [{ round: 2 }] });
    await apiPost(sio[0].apiPort, { namespace: '/tournament-7', event: 'bracket-api', data: 3 });
    await eventually(() => gotA.has('bracket') && gotA.has('bracket-api') && gotB.has('bracket-api'), 5000, 'tournament broadcasts');
    assert.deepEqual(gotA.get('bracket'), [[{ round: 2 }]]);
    assert.deepEqual(gotB.get('bracket-api'), [[3]]);
    await sleep(200);
    for (const c of everyone()) {
      assert.equal(received(c, 'bracket').length, 0, 'a client of "/" got a /tournament-7 broadcast');
      assert.equal(received(c, 'bracket-api').length, 0);
    }
    a.close();
    b.close();
  });

  it('fetchSockets, allRooms, socketsJoin, socketsLeave and disconnectSockets from the Node server act on sio sockets', async function () {
    const t0 = Date.now();
    const sockets = await nodeControl(node, 'fetchSockets', { rooms: ['all-room'] });
    assert.ok(Date.now() - t0 < 4000, `fetchSockets took ${Date.now() - t0} ms (a node did not answer)`);
    const ids = new Set(sockets.map((s) => s.id));
    for (const c of everyone()) assert.ok(ids.has(c.socket.id), `fetchSockets lacks ${c.socket.id}`);
    const sioSide = sockets.find((s) => s.id === clients[0][0].socket.id);
    assert.ok(sioSide.rooms.includes('r-0') && sioSide.rooms.includes('all-room'), JSON.stringify(sioSide));
    assert.equal(sioSide.address, '127.0.0.1');

    const rooms = await nodeControl(node, 'allRooms');
    for (const r of ['r-0', 'r-1', 'r-2', 'r-3', 'all-room']) assert.ok(rooms.includes(r), `allRooms lacks ${r}`);

    await nodeControl(node, 'socketsJoin', { rooms: ['r-0', 'r-1'], join: 'joined-x' });
    await eventually(async () => (await redisCli.pubSubNumSub('socket.io#/#joined-x#'))['socket.io#/#joined-x#'] === 2, 5000, 'joined-x subscriptions');
    await apiPost(sio[2].apiPort, { rooms: ['joined-x'], event: 'joined', data: 1 });
    await eventually(() => received(clients[0][0], 'joined').length === 1 && received(clients[1][0], 'joined').length === 1, 5000, 'joined');
    assert.equal(received(clients[2][0], 'joined').length, 0);

    await nodeControl(node, 'socketsLeave', { rooms: ['r-0'], leave: 'joined-x' });
    await eventually(async () => (await redisCli.pubSubNumSub('socket.io#/#joined-x#'))['socket.io#/#joined-x#'] === 1, 5000, 'joined-x left on sio0');
    await apiPost(sio[2].apiPort, { rooms: ['joined-x'], event: 'joined2', data: 1 });
    await eventually(() => received(clients[1][0], 'joined2').length === 1, 5000, 'joined2');
    await sleep(200);
    assert.equal(received(clients[0][0], 'joined2').length, 0, 'socketsLeave did not apply on sio0');

    const gone = new Promise((resolve) => clients[2][0].socket.once('disconnect', resolve));
    await nodeControl(node, 'disconnectSockets', { rooms: ['r-2'], close: false });
    assert.equal(await Promise.race([gone, sleep(5000).then(() => 'timeout')]), 'io server disconnect');
    assert.equal(clients[1][0].socket.connected, true);
  });

  it('the emitter\'s socketsJoin / disconnectSockets act on sio sockets', async function () {
    emitter.in('r-1').socketsJoin('em-room');
    await eventually(async () => (await redisCli.pubSubNumSub('socket.io#/#em-room#'))['socket.io#/#em-room#'] === 1, 5000, 'em-room joined on sio1');
    emitter.to('em-room').emit('em', 1);
    await eventually(() => received(clients[1][0], 'em').length === 1, 5000, 'em');
    const gone = new Promise((resolve) => clients[1][0].socket.once('disconnect', resolve));
    emitter.in('em-room').disconnectSockets();
    assert.equal(await Promise.race([gone, sleep(5000).then(() => 'timeout')]), 'io server disconnect');
  });

  it('broadcast with ack from the Node server collects every client\'s ack across nodes, binary included', async function () {
    for (const c of everyone()) {
      c.socket.on('ask', (x, cb) => cb({ me: c.socket.id, x, bin: Buffer.from([x, 1]) }));
    }
    const acks = await nodeControl(node, 'emitWithAck', { rooms: ['all-room'], event: 'ask', args: [5], timeout: 3000 });
    const live = everyone().filter((c) => c.socket.connected);
    assert.equal(acks.length, live.length, JSON.stringify(acks));
    assert.deepEqual(new Set(acks.map((a) => a.me)), new Set(live.map((c) => c.socket.id)));
    for (const a of acks) {
      assert.equal(a.x, 5);
      assert.deepEqual(Buffer.from(a.bin.$bin, 'base64'), Buffer.from([5, 1]));
    }
  });

  it('serverSideEmitWithAck from the Node server: each sio node answers null at once (it has no server-side handlers)', async function () {
    // Node's adapter waits for (subscribers of the request channel - 1) answers
    // and rejects on its timeout otherwise: a node that stayed silent, or two
    // answers from one node being counted, would show here
    const sent = Date.now();
    const responses = await nodeControl(node, 'serverSideEmitWithAck', { event: 'ping-servers', args: [1] });
    assert.deepEqual(responses, [null, null, null], 'one null per sio node: they are documented to answer null');
    assert.ok(Date.now() - sent < 2500, `took ${Date.now() - sent} ms: someone waited for the adapter's timeout`);
    const numsub = await redisCli.pubSubNumSub(['socket.io-request#/#']);
    assert.equal(numsub['socket.io-request#/#'], 4, 'three sio nodes and the Node server listen for requests');
  });

  it('per-room subscriptions: a node with no member of a room is not subscribed and receives none of its traffic', async function () {
    const channels = await redisCli.pubSubChannels('socket.io#/#r-*');
    assert.ok(channels.includes('socket.io#/#r-0#'));
    const numsub = await redisCli.pubSubNumSub(['socket.io#/#r-0#']);
    assert.equal(numsub['socket.io#/#r-0#'], 1, 'only sio0 has a member of r-0');
    const metric = async (i, name) => {
      const res = await apiGet(sio[i].apiPort, '/metrics');
      const m = res.body.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm'));
      return m ? Number(m[1]) : NaN;
    };
    const before = (await metric(2, 'sio_redis_received_total')) + (await metric(2, 'sio_redis_ignored_total'));
    for (let i = 0; i < 5; i++) await apiPost(sio[1].apiPort, { rooms: ['r-0'], event: 'only-r0', data: i });
    await eventually(() => received(clients[0][0], 'only-r0').length === 5, 5000, 'only-r0 on sio0');
    const after = (await metric(2, 'sio_redis_received_total')) + (await metric(2, 'sio_redis_ignored_total'));
    assert.equal(after, before, 'sio2 received traffic of a room it has no member of');
  });

  it('survives Redis being killed and restarted in the middle of a stream: resubscribes, resumes, loses no accepted broadcast', async function () {
    const listener = clients[2][1]; // polling client on sio2, in all-room
    let seq = 0;
    let streaming = true;
    const accepted = [];
    const stream = (async () => {
      while (streaming) {
        const n = seq++;
        const res = await apiPost(sio[0].apiPort, { rooms: ['all-room'], event: 'tick', data: n }).catch(() => null);
        if (res && res.status === 202) accepted.push(n);
        await sleep(40);
      }
    })();
    await sleep(600);
    await killRedis(redis);
    await sleep(800);
    const health = await apiGet(sio[0].apiPort, '/health');
    assert.equal(JSON.parse(health.body).redis, 'down');
    await restartRedis(redis);
    const restartedAt = seq;
    await eventually(async () => {
      const n = await redisCli.pubSubNumSub('socket.io#/#all-room#').catch(() => ({}));
      return n['socket.io#/#all-room#'] === 3;
    }, 8000, 'every sio node resubscribed after the restart');
    await eventually(() => received(listener, 'tick').some(([v]) => v > restartedAt + 2), 8000, 'deliveries resume on another node');
    streaming = false;
    await stream;
    const h = JSON.parse((await apiGet(sio[0].apiPort, '/health')).body);
    assert.equal(h.redis, 'up');
    // every broadcast the API accepted (202) while Redis was away was kept and
    // published when it came back, and the other node filled its gap from
    // the history: each arrives once, in order
    await eventually(() => received(listener, 'tick').length >= accepted.length, 10000, 'every accepted tick');
    await sleep(300);
    const got = received(listener, 'tick').map(([v]) => v);
    const first = got.indexOf(accepted[0]);
    assert.deepEqual(got.slice(first), accepted, 'accepted ticks: each once, in order');
    console.log(`      ticks published ${seq}, accepted ${accepted.length}, received on sio2 ${got.length - first}`);
  });
});

describe('Redis over TLS (rediss:// with a CA made by openssl)', function () {
  this.timeout(30000);
  let redis;
  let sio = [];
  before(async function () {
    redis = await startRedis({ tls: true });
    sio = await Promise.all([0, 1].map(() => startSioServer({
      env: { REDIS_URL: redisUrl(redis), REDIS_TLS_CA_FILE: redis.tls.ca },
    })));
  });
  after(async function () {
    closeAll();
    for (const s of sio) await stopAlive(s);
    await stopRedis(redis);
  });

  it('a broadcast from one node reaches a client of the other through TLS Redis', async function () {
    const socket = connect(`http://${HOST}:${sio[1].port}`, { transports: ['websocket'] });
    const got = recorder(socket);
    await connected(socket);
    await emitAck(socket, 'subscribe', 'secure-room');
    await eventually(async () => JSON.parse((await apiGet(sio[0].apiPort, '/health')).body).redis === 'up', 5000, 'redis up');
    await sleep(300);
    await apiPost(sio[0].apiPort, { rooms: ['secure-room'], event: 'secret', data: { ok: true } });
    await eventually(() => got.has('secret'), 5000, 'delivery over TLS');
    assert.deepEqual(got.get('secret'), [[{ ok: true }]]);
  });
});

describe('Redis pattern mode (REDIS_SUBSCRIBE_MODE=pattern, as the Node adapter subscribes)', function () {
  this.timeout(30000);
  let redis;
  let redisCli;
  let sio = [];
  before(async function () {
    redis = await startRedis();
    sio = await Promise.all([0, 1].map(() => startSioServer({
      env: { REDIS_URL: redisUrl(redis), REDIS_SUBSCRIBE_MODE: 'pattern' },
    })));
    redisCli = createClient({ url: redisUrl(redis) });
    redisCli.on('error', () => {});
    await redisCli.connect();
  });
  after(async function () {
    closeAll();
    if (redisCli) await redisCli.quit().catch(() => {});
    for (const s of sio) await stopAlive(s);
    await stopRedis(redis);
  });

  it('one pattern (PSUBSCRIBE prefix#/#*); room traffic reaches members on the other node and is dropped where there are none', async function () {
    const member = connect(`http://${HOST}:${sio[1].port}`, { transports: ['websocket'] });
    const outsider = connect(`http://${HOST}:${sio[1].port}`, { transports: ['websocket'] });
    const got = recorder(member);
    const gotOut = recorder(outsider);
    await connected(member);
    await connected(outsider);
    await emitAck(member, 'subscribe', 'p-room');
    // NUMPAT counts unique patterns: both nodes use the same one
    await eventually(async () => Number(await redisCli.sendCommand(['PUBSUB', 'NUMPAT'])) === 1, 5000, 'the pattern subscription');
    const channels = await redisCli.pubSubChannels('socket.io#/#p-room#');
    assert.deepEqual(channels, [], 'pattern mode must not subscribe per room');
    await apiPost(sio[0].apiPort, { rooms: ['p-room'], event: 'p', data: 1 });
    await apiPost(sio[0].apiPort, { rooms: ['nobody-here'], event: 'q', data: 2 });
    await eventually(() => got.has('p'), 5000, 'delivery in pattern mode');
    await sleep(200);
    assert.deepEqual(got.get('p'), [[1]]);
    assert.equal(gotOut.has('p'), false);
    assert.equal(got.has('q') || gotOut.has('q'), false);
    const metrics = (await apiGet(sio[1].apiPort, '/metrics')).body;
    const ignored = Number(metrics.match(/^sio_redis_ignored_total\{[^}]*\} (\S+)$/m)[1]);
    assert.ok(ignored >= 1, 'a room without a local member was not ignored');
  });
});

/** A TCP proxy to Redis that holds every chunk carrying a SUBSCRIBE for `delayMs`
 * (in order; everything else passes at once): Redis sees a node's room
 * subscription late, as a busy Redis or network might make it. */
async function subscribeDelayingProxy(redisPort, delayMs) {
  const net = require('node:net');
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, HOST);
    let chain = Promise.resolve();
    client.on('data', (chunk) => {
      const slow = chunk.includes('SUBSCRIBE');
      chain = chain.then(() => (slow ? sleep(delayMs) : null)).then(() => upstream.write(chunk));
    });
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, HOST, r));
  return { port, close: () => new Promise((r) => server.close(r)) };
}

describe('Redis, a subscription per room: a broadcast right after a room got its first member', function () {
  this.timeout(60000);
  // with recovery on, this node's own broadcasts reach its sockets through Redis
  for (const recovery of ['120000']) {
    it('reaches it: the publish waits for the SUBSCRIBE sent before it (recovery on)', async function () {
      const redis = await startRedis();
      const proxy = await subscribeDelayingProxy(redis.port, 300);
      const server = await startSioServer({ env: { REDIS_URL: `redis://${HOST}:${proxy.port}`, RECOVERY_WINDOW_MS: recovery } });
      try {
        let missed = 0;
        for (let i = 0; i < 5; i++) {
          const s = connect(server.url, { transports: ['websocket'] });
          const got = new Promise((r) => s.once('hello', r));
          await connected(s);
          // at once: Redis has not seen this node's SUBSCRIBE to prefix#/#<id># yet
          const res = await apiPost(server.apiPort, { namespace: '/', rooms: [s.id], event: 'hello', data: i });
          assert.equal(res.status, 202);
          if (await Promise.race([got.then(() => true), sleep(2000).then(() => false)]) === false) missed++;
          s.close();
        }
        assert.equal(missed, 0, `${missed} of 5 just-connected sockets missed a broadcast to their own room`);
      } finally {
        closeAll();
        await stopAlive(server);
        await proxy.close();
        await stopRedis(redis);
      }
    });
  }
});
