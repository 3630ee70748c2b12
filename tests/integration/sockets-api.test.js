'use strict';
/*
 * Socket management through the HTTP API, cluster-wide: 2 sio-server nodes and
 * 1 Node.js socket.io + @socket.io/redis-adapter node (tests/ref/node-gateway.js)
 * on one real redis-server, socket.io-client clients on each.
 *   POST /v1/sockets/join | leave | disconnect, GET /v1/sockets, GET /v1/rooms
 * sio originates the Node adapter's requests (REMOTE_JOIN/LEAVE/DISCONNECT,
 * REMOTE_FETCH, ALL_ROOMS); a node that does not answer makes a GET return
 * after API_REQUEST_TIMEOUT_MS with what arrived ("complete": false). Then the
 * same endpoints standalone (this node only), the 400 / 401 / 405 answers, and
 * the 501 of REDIS_ADAPTER=streams / sharded (not implemented there).
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { createClient } = require('redis');
const { freePort, startServer, stopServer, HOST } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const {
  sleep, eventually, startSioServer, stopAlive, connect, connected, emitAck, closeAll, once, apiPost, apiGet,
} = require('../lib/sio');

const NODE_GATEWAY = path.join(__dirname, '..', 'ref', 'node-gateway.js');
const TOKEN = 'sockets-api-token';
const TIMEOUT_MS = 1500; // API_REQUEST_TIMEOUT_MS of the sio nodes
const auth = { Authorization: `Bearer ${TOKEN}` };

async function startNodeGateway(url) {
  const port = await freePort();
  const control = await freePort();
  const server = await startServer({
    command: process.execPath,
    args: [NODE_GATEWAY, '--port', String(port), '--control', String(control), '--redis', url],
    port,
  });
  server.url = `http://${HOST}:${port}`;
  return server;
}

const post = (node, op, body, opts = {}) =>
  apiPost(node.apiPort, body, { token: TOKEN, path: `/v1/sockets/${op}`, ...opts });
const get = (node, p, opts = {}) => apiGet(node.apiPort, p, { headers: auth, timeoutMs: 10000, ...opts });

/** Recovery (on by default) appends a broadcast's offset as its last argument. */
const isOffset = (v) => typeof v === 'string' && /^\d+-\d+$/.test(v);

function recorder(socket) {
  const got = [];
  socket.on('hello', (...args) => {
    if (args.length && isOffset(args[args.length - 1])) args.pop();
    got.push(args);
  });
  return got;
}

describe('HTTP API socket management: 2 sio-server nodes + 1 Node socket.io node', function () {
  this.timeout(60000);
  let redis;
  let redisCli;
  let sio = [];
  let node;
  // clients[n] = {a, b} for node n (0, 1 sio; 2 Node): a in rooms all + a, b in all + b
  let clients = [];

  before(async function () {
    redis = await startRedis();
    const url = redisUrl(redis);
    for (let i = 0; i < 2; i++) {
      sio.push(await startSioServer({
        env: { REDIS_URL: url, NODE_ID: `sio${i}`, API_TOKEN: TOKEN, API_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) },
      }));
    }
    node = await startNodeGateway(url);
    redisCli = createClient({ url });
    redisCli.on('error', () => {});
    await redisCli.connect();
    const urls = [...sio.map((s) => `http://${HOST}:${s.port}`), node.url];
    for (let n = 0; n < urls.length; n++) {
      const pair = {};
      for (const k of ['a', 'b']) {
        const socket = connect(urls[n], { auth: { data: { node: n, kind: k } } });
        const got = recorder(socket);
        await connected(socket);
        assert.equal((await emitAck(socket, 'subscribe', ['all', k, `n${n}`])).ok, true);
        pair[k] = { socket, got };
      }
      clients.push(pair);
    }
    // every node listens on the request channel (NUMSUB is how a query counts them)
    await eventually(async () => {
      const n = await redisCli.pubSubNumSub('socket.io-request#/#');
      return n['socket.io-request#/#'] === 3;
    }, 5000, 'three subscribers of the request channel');
  });

  after(async function () {
    closeAll();
    if (redisCli) await redisCli.quit().catch(() => {});
    await stopServer(node);
    for (const s of sio) await stopAlive(s);
    await stopRedis(redis);
  });

  const all = () => clients.flatMap((p) => [p.a, p.b]);
  const byId = (sockets) => new Map(sockets.map((s) => [s.id, s]));

  it('GET /v1/sockets: the sockets of all 3 nodes, with rooms, data and handshake; nodes 3', async function () {
    const res = await get(sio[0], '/v1/sockets?namespace=/');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.nodes, 3);
    assert.equal(res.json.complete, true);
    const found = byId(res.json.sockets);
    assert.equal(found.size, 6);
    clients.forEach((pair, n) => {
      for (const k of ['a', 'b']) {
        const s = found.get(pair[k].socket.id);
        assert.ok(s, `socket ${k} of node ${n}`);
        assert.deepEqual(new Set(s.rooms), new Set([s.id, 'all', k, `n${n}`]));
        // sio-server clients cannot set socket.data: {}; the Node node's round-trips
        assert.deepEqual(s.data, n < 2 ? {} : { node: n, kind: k });
        assert.equal(typeof s.handshake.address, 'string');
        assert.equal(typeof s.handshake.issued, 'number');
        assert.equal(typeof s.handshake.time, 'string');
        assert.match(s.handshake.url, /^\/socket\.io\//);
        assert.equal(s.handshake.query.EIO, '4');
        assert.deepEqual(s.handshake.auth, { data: { node: n, kind: k } });
      }
    });
    // the selection: rooms a or b, minus n1; asked of the other sio node
    const sel = await get(sio[1], '/v1/sockets?namespace=/&room=a&room=b&except=n1');
    assert.equal(sel.status, 200, sel.body);
    assert.equal(sel.json.nodes, 3);
    const ids = new Set(sel.json.sockets.map((s) => s.id));
    const want = new Set([0, 2].flatMap((n) => [clients[n].a.socket.id, clients[n].b.socket.id]));
    assert.deepEqual(ids, want);
  });

  it('GET /v1/rooms: the union of every node\'s rooms', async function () {
    const res = await get(sio[1], '/v1/rooms?namespace=/');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.nodes, 3);
    assert.equal(res.json.complete, true);
    const rooms = new Set(res.json.rooms);
    for (const r of ['all', 'a', 'b', 'n0', 'n1', 'n2']) assert.ok(rooms.has(r), `room ${r}`);
    for (const c of all()) assert.ok(rooms.has(c.socket.id), 'every socket\'s own room');
  });

  it('join: the selected sockets of all 3 nodes join the targets (except respected); a broadcast reaches them', async function () {
    const res = await post(sio[0], 'join', { namespace: '/', rooms: ['all'], except: ['b'], targets: ['t1', 't2'] });
    assert.equal(res.status, 202, res.body);
    assert.deepEqual(res.json, { ok: true });
    await eventually(async () => {
      const r = await get(sio[1], '/v1/sockets?namespace=/&room=t1');
      return r.json.sockets.length === 3 && r.json.complete;
    }, 5000, 'the a sockets in t1');
    const inT2 = await get(sio[1], '/v1/sockets?namespace=/&room=t2');
    assert.deepEqual(new Set(inT2.json.sockets.map((s) => s.id)), new Set(clients.map((p) => p.a.socket.id)));
    // per-room subscriptions of both sio nodes are up before broadcasting to the room
    await eventually(async () => {
      const n = await redisCli.pubSubNumSub('socket.io#/#t1#');
      return n['socket.io#/#t1#'] === 2;
    }, 5000, 'both sio nodes subscribed to t1');
    const b = await apiPost(sio[1].apiPort, { namespace: '/', rooms: ['t1'], event: 'hello', data: { to: 't1' } }, { token: TOKEN });
    assert.equal(b.status, 202);
    await eventually(() => clients.every((p) => p.a.got.length === 1), 5000, 'the broadcast on every a socket');
    await sleep(300);
    for (const p of clients) {
      assert.deepEqual(p.a.got, [[{ to: 't1' }]], 'exactly once');
      assert.deepEqual(p.b.got, [], 'except b');
    }
  });

  it('leave: the targets are left on all 3 nodes; a broadcast to them reaches nobody', async function () {
    const res = await post(sio[1], 'leave', { namespace: '/', targets: ['t1'] });
    assert.equal(res.status, 202, res.body);
    await eventually(async () => {
      const r = await get(sio[0], '/v1/sockets?namespace=/&room=t1');
      return r.json.sockets.length === 0 && r.json.nodes === 3;
    }, 5000, 'nobody in t1');
    const rooms = new Set((await get(sio[0], '/v1/rooms?namespace=/')).json.rooms);
    assert.ok(!rooms.has('t1') && rooms.has('t2'), 't1 gone, t2 kept');
    const b = await apiPost(sio[0].apiPort, { namespace: '/', rooms: ['t1'], event: 'hello', data: { to: 't1 again' } }, { token: TOKEN });
    assert.equal(b.status, 202);
    await sleep(500);
    for (const p of clients) assert.equal(p.a.got.length, 1, 'nothing more');
  });

  it('disconnect: exactly the selected sockets, on all 3 nodes ("io server disconnect")', async function () {
    const reasons = clients.map((p) => once(p.b.socket, 'disconnect', 5000));
    const res = await post(sio[0], 'disconnect', { namespace: '/', rooms: ['b'], close: false });
    assert.equal(res.status, 202, res.body);
    for (const r of await Promise.all(reasons)) assert.equal(r[0], 'io server disconnect');
    await sleep(300);
    for (const p of clients) assert.equal(p.a.socket.connected, true, 'the a sockets stay');
    const left = await get(sio[1], '/v1/sockets?namespace=/');
    assert.deepEqual(new Set(left.json.sockets.map((s) => s.id)), new Set(clients.map((p) => p.a.socket.id)));
  });

  it('a node that does not answer: the GET returns after API_REQUEST_TIMEOUT_MS with what arrived, complete false', async function () {
    sio[1].proc.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const res = await get(sio[0], '/v1/sockets?namespace=/');
      const took = Date.now() - t0;
      assert.equal(res.status, 200, res.body);
      assert.ok(took >= TIMEOUT_MS - 100 && took < TIMEOUT_MS + 2000, `answered after ${took} ms`);
      assert.equal(res.json.complete, false);
      assert.equal(res.json.nodes, 2);
      assert.deepEqual(new Set(res.json.sockets.map((s) => s.id)), new Set([clients[0].a.socket.id, clients[2].a.socket.id]));
      const rooms = await get(sio[0], '/v1/rooms?namespace=/');
      assert.equal(rooms.json.complete, false);
      assert.equal(rooms.json.nodes, 2);
      assert.ok(rooms.json.rooms.includes('n2') && !rooms.json.rooms.includes('n1'));
    } finally {
      sio[1].proc.kill('SIGCONT');
    }
    await eventually(async () => {
      const r = await get(sio[0], '/v1/sockets?namespace=/');
      return r.json.complete && r.json.nodes === 3;
    }, 8000, 'complete again once it runs');
  });

  it('bad requests: 400 with a reason, 401 without the token, 405 for the wrong method', async function () {
    const cases = [
      ['join', '{"namespace":', 'malformed JSON'],
      ['join', { targets: ['x'] }, 'missing namespace'],
      ['join', { namespace: '/' }, 'missing targets'],
      ['join', { namespace: '/', targets: [] }, /targets must be/],
      ['leave', { namespace: '/', targets: 'x' }, /targets must be/],
      ['join', { namespace: '/', rooms: 'a', targets: ['x'] }, /rooms and except must be arrays/],
      ['join', { namespace: '/', rooms: Array.from({ length: 1025 }, (_, i) => `r${i}`), targets: ['x'] }, /at most 1024/],
      ['disconnect', { namespace: '/', except: [1] }, /non-empty names/],
      ['disconnect', { namespace: '/', close: 'yes' }, 'close must be a boolean'],
      ['disconnect', { namespace: '/nope' }, 'unknown namespace'],
      ['disconnect', [], 'the body must be a JSON object'],
    ];
    for (const [op, body, why] of cases) {
      const res = await post(sio[0], op, body);
      assert.equal(res.status, 400, `${op} ${JSON.stringify(body).slice(0, 80)}: ${res.body}`);
      assert.equal(res.json.ok, false);
      if (why instanceof RegExp) assert.match(res.json.error, why);
      else assert.equal(res.json.error, why);
    }
    const gets = [
      ['/v1/sockets', 'missing namespace'],
      ['/v1/rooms?room=a', 'unknown query parameter'],
      ['/v1/sockets?namespace=/&namespace=/', 'namespace given twice'],
      ['/v1/sockets?namespace=/&room=', /non-empty/],
      [`/v1/sockets?namespace=/&${Array.from({ length: 1025 }, (_, i) => `room=r${i}`).join('&')}`, /at most 1024/],
      ['/v1/sockets?namespace=/a*', /pattern|unknown/],
    ];
    for (const [p, why] of gets) {
      const res = await get(sio[0], p);
      assert.equal(res.status, 400, `${p.slice(0, 80)}: ${res.body}`);
      if (why instanceof RegExp) assert.match(res.json.error, why);
      else assert.equal(res.json.error, why);
    }
    const noToken = await apiPost(sio[0].apiPort, { namespace: '/', targets: ['x'] }, { path: '/v1/sockets/join' });
    assert.equal(noToken.status, 401);
    assert.equal((await apiGet(sio[0].apiPort, '/v1/sockets?namespace=/')).status, 401);
    assert.equal((await apiGet(sio[0].apiPort, '/v1/rooms?namespace=/', { headers: { Authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await get(sio[0], '/v1/sockets/join')).status, 405);
    assert.equal((await post(sio[0], '', {}, { path: '/v1/sockets' })).status, 405);
  });

  it('REDIS_ADAPTER=streams and =sharded: 501, said plainly', async function () {
    for (const adapter of ['streams', 'sharded']) {
      const other = await startSioServer({ env: { REDIS_URL: redisUrl(redis), REDIS_ADAPTER: adapter, RECOVERY_WINDOW_MS: '0' } });
      try {
        const want = { ok: false, error: `not supported with REDIS_ADAPTER=${adapter}` };
        const g = await apiGet(other.apiPort, '/v1/sockets?namespace=/');
        assert.equal(g.status, 501, g.body);
        assert.deepEqual(g.json, want);
        assert.equal((await apiGet(other.apiPort, '/v1/rooms?namespace=/')).status, 501);
        const p = await apiPost(other.apiPort, { namespace: '/', targets: ['x'] }, { path: '/v1/sockets/join' });
        assert.equal(p.status, 501, p.body);
        assert.deepEqual(p.json, want);
      } finally {
        await stopAlive(other);
      }
    }
  });
});

describe('HTTP API socket management, standalone (this node only)', function () {
  this.timeout(30000);
  let server;
  before(async function () {
    server = await startSioServer({ env: { NAMESPACES: '/,/chat' } });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });

  it('join, GET /v1/sockets and /v1/rooms (nodes 1), leave, disconnect', async function () {
    const url = `http://${HOST}:${server.port}`;
    const x = connect(`${url}/chat`);
    const y = connect(`${url}/chat`);
    await Promise.all([connected(x), connected(y)]);
    assert.equal((await emitAck(x, 'subscribe', ['red'])).ok, true);
    let res = await apiPost(server.apiPort, { namespace: '/chat', rooms: ['red'], targets: ['vip'] }, { path: '/v1/sockets/join' });
    assert.equal(res.status, 202, res.body);
    await eventually(async () => {
      const r = await apiGet(server.apiPort, '/v1/sockets?namespace=/chat&room=vip');
      return r.json.sockets.length === 1;
    }, 3000, 'x in vip');
    res = await apiGet(server.apiPort, '/v1/sockets?namespace=/chat');
    assert.equal(res.json.nodes, 1);
    assert.equal(res.json.complete, true);
    const found = byIdOf(res.json.sockets);
    assert.deepEqual(new Set(found.get(x.id).rooms), new Set([x.id, 'red', 'vip']));
    assert.deepEqual(found.get(y.id).rooms, [y.id]);
    assert.deepEqual(found.get(y.id).data, {});
    res = await apiGet(server.apiPort, '/v1/rooms?namespace=/chat');
    assert.deepEqual(new Set(res.json.rooms), new Set([x.id, y.id, 'red', 'vip']));
    assert.equal(res.json.nodes, 1);
    res = await apiGet(server.apiPort, '/v1/sockets?namespace=/');
    assert.deepEqual(res.json, { sockets: [], nodes: 1, complete: true });

    res = await apiPost(server.apiPort, { namespace: '/chat', targets: ['vip'] }, { path: '/v1/sockets/leave' });
    assert.equal(res.status, 202);
    await eventually(async () => {
      const r = await apiGet(server.apiPort, '/v1/rooms?namespace=/chat');
      return !r.json.rooms.includes('vip');
    }, 3000, 'vip left');

    const gone = once(x, 'disconnect', 3000);
    res = await apiPost(server.apiPort, { namespace: '/chat', rooms: ['red'] }, { path: '/v1/sockets/disconnect' });
    assert.equal(res.status, 202);
    assert.equal((await gone)[0], 'io server disconnect');
    await sleep(200);
    assert.equal(y.connected, true);
    res = await apiGet(server.apiPort, '/v1/sockets?namespace=/chat');
    assert.deepEqual(res.json.sockets.map((s) => s.id), [y.id]);
  });
});

function byIdOf(sockets) {
  return new Map(sockets.map((s) => [s.id, s]));
}
