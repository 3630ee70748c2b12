'use strict';
/*
 * The public C API (server/sio.h) driven through build/tests/sio-api-test-server
 * (tests/servers/api_test_server.c): namespaces (exact, pattern "/dyn-*",
 * middleware on "/guarded"), acks both ways, binary, rooms, broadcasts (rooms,
 * unions, except, all, volatile, pattern namespace) and disconnect reasons.
 * Server settings: pingInterval 300, pingTimeout 200, connectTimeout 1000, CORS *.
 */
const assert = require('node:assert/strict');
const { Manager } = require('socket.io-client');
const { httpRequest } = require('../lib/server');
const {
  sleep, within, once, startApiTestServer, stopAlive, connect, track, connected,
  connectError, emitAck, emitAckAll, closeAll, rawWs,
  norm,
} = require('../lib/sio');

const SEP = '\x1e';


describe('Socket.IO C API (sio-api-test-server)', function () {
  let server;
  let url;
  before(async function () {
    server = await startApiTestServer();
    url = server.url;
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });
  afterEach(closeAll);

  /** Connects to nsp; resolves [socket, welcome args]. */
  async function join(nsp = '/', opts = {}) {
    const socket = connect(`${url}${nsp}`, { transports: ['websocket'], ...opts });
    const welcome = once(socket, 'welcome', 5000);
    await connected(socket);
    return [socket, await welcome];
  }

  /** Every [id, reason] the server recorded for the socket id (polls "reasons" until one shows up). */
  async function reasonOf(observer, id, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await emitAck(observer, 'reasons');
      const hit = list.filter(([sid]) => sid === id).map(([, r]) => r);
      if (hit.length) return hit;
      if (Date.now() > deadline) throw new Error(`no disconnect reason recorded for ${id}: ${JSON.stringify(list)}`);
      await sleep(30);
    }
  }

  /** Collects `event` on each socket (args arrays). */
  function collect(sockets, event) {
    const got = new Map(sockets.map((s) => [s, []]));
    for (const s of sockets) s.on(event, (...args) => got.get(s).push(norm(args)));
    return got;
  }

  describe('namespaces', function () {
    it('"/" connects and gets "welcome" [nsp, id]', async function () {
      const [socket, welcome] = await join('/');
      assert.deepEqual(welcome, ['/', socket.id]);
      assert.match(socket.id, /^[A-Za-z0-9_-]{20}$/);
    });

    it('"/custom" connects and gets "welcome" ["/custom", id]', async function () {
      const [socket, welcome] = await join('/custom');
      assert.deepEqual(welcome, ['/custom', socket.id]);
    });

    it('pattern "/dyn-*": /dyn-1 and /dyn-2 both connect, each a namespace of its own', async function () {
      const [a, wa] = await join('/dyn-1');
      const [b, wb] = await join('/dyn-2');
      assert.deepEqual(wa, ['/dyn-1', a.id]);
      assert.deepEqual(wb, ['/dyn-2', b.id]);
      // a broadcast in /dyn-1 (its own namespace) does not reach /dyn-2
      const gotB = collect([b], 'only-1');
      const gotA = once(a, 'only-1');
      assert.equal(await emitAck(a, 'broadcast', { event: 'only-1', args: ['x'] }), 1);
      await gotA;
      await sleep(100);
      assert.deepEqual(gotB.get(b), []);
    });

    it('a name matching no namespace or pattern is refused ("/other", "/dyn")', async function () {
      for (const nsp of ['/other', '/dyn']) {
        const socket = connect(`${url}${nsp}`, { transports: ['websocket'] });
        const err = await connectError(socket);
        assert.equal(err.message, 'Invalid namespace', nsp);
      }
    });

    it('a broadcast with nsp "/dyn-*" reaches the sockets of every dyn namespace, only them', async function () {
      const [d1] = await join('/dyn-1');
      const [d2] = await join('/dyn-2');
      const [d3] = await join('/dyn-third');
      const [root] = await join('/');
      const [custom] = await join('/custom');
      const got = collect([d1, d2, d3, root, custom], 'dyn-news');
      const bin = Buffer.from([1, 2, 3]);
      const n = await emitAck(root, 'broadcast', { nsp: '/dyn-*', event: 'dyn-news', args: ['hello', { bin }] });
      assert.equal(n, 3);
      await within((async () => {
        while ([d1, d2, d3].some((s) => got.get(s).length === 0)) await sleep(10);
      })(), 3000, 'the dyn-news broadcast');
      for (const s of [d1, d2, d3]) assert.deepEqual(got.get(s), [['hello', { bin }]]);
      await sleep(100);
      assert.deepEqual(got.get(root), []);
      assert.deepEqual(got.get(custom), []);
    });

    it('"/guarded": the middleware refuses with "not allowed" and data {code:42}', async function () {
      const socket = connect(`${url}/guarded`, { transports: ['websocket'], auth: { pass: 'wrong' } });
      const err = await connectError(socket);
      assert.equal(err.message, 'not allowed');
      assert.deepEqual(err.data, { code: 42 });
      const noAuth = connect(`${url}/guarded`, { transports: ['websocket'] });
      const err2 = await connectError(noAuth);
      assert.equal(err2.message, 'not allowed');
      assert.deepEqual(err2.data, { code: 42 });
    });

    it('"/guarded": auth {pass:"secret"} is let in and works', async function () {
      const [socket, welcome] = await join('/guarded', { auth: { pass: 'secret' } });
      assert.deepEqual(welcome, ['/guarded', socket.id]);
      assert.deepEqual(await emitAckAll(socket, 'ack-echo', 'ok'), ['ok']);
    });

    it('a refused namespace on a multiplexed connection leaves the others working', async function () {
      const manager = new Manager(url, { reconnection: false, transports: ['websocket'] });
      const root = track(manager.socket('/'));
      const guarded = track(manager.socket('/guarded', { auth: {} }));
      const custom = track(manager.socket('/custom'));
      const err = await connectError(guarded);
      assert.equal(err.message, 'not allowed');
      await Promise.all([connected(root), connected(custom)]);
      assert.deepEqual(await emitAckAll(root, 'ack-echo', 1), [1]);
      assert.deepEqual(await emitAckAll(custom, 'ack-echo', 2), [2]);
    });
  });

  describe('events, binary and acks', function () {
    it('"echo" comes back with the same arguments, Buffers kept (nested too)', async function () {
      const [socket] = await join('/', { transports: ['polling'] });
      const args = ['a', 1, { b: Buffer.from([0, 255]) }, [Buffer.from('xyz'), null], Buffer.alloc(0)];
      const echo = once(socket, 'echo');
      socket.emit('echo', ...args);
      const got = await echo;
      assert.deepEqual(norm(got), norm(args));
      assert.ok(Buffer.isBuffer(got[2].b) || got[2].b instanceof ArrayBuffer, 'binary must stay binary');
    });

    it('client -> server ack: "ack-echo" acknowledges with the same arguments (binary too)', async function () {
      const [socket] = await join('/');
      const args = [1, 'two', { three: [3] }, Buffer.from([4, 5])];
      assert.deepEqual(norm(await emitAckAll(socket, 'ack-echo', ...args)), norm(args));
      assert.deepEqual(await emitAckAll(socket, 'ack-echo'), []);
    });

    it('client -> server acks on several namespaces of one connection are kept apart', async function () {
      const manager = new Manager(url, { reconnection: false, transports: ['websocket'] });
      const root = track(manager.socket('/'));
      const custom = track(manager.socket('/custom'));
      await Promise.all([connected(root), connected(custom)]);
      const res = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        emitAckAll(i % 2 ? root : custom, 'ack-echo', i)));
      assert.deepEqual(res, Array.from({ length: 10 }, (_, i) => [i]));
    });

    it('server -> client ack: the client\'s ack arguments come back in server-ack-result, binary included', async function () {
      const [socket] = await join('/');
      socket.on('please-ack', (...args) => {
        const cb = args.pop();
        cb('got', ...args);
      });
      const result = once(socket, 'server-ack-result', 5000);
      const bin = Buffer.from([9, 8, 7]);
      socket.emit('server-ack', { event: 'please-ack', args: [1, { bin }], timeout: 3000 });
      const [res] = await result;
      assert.deepEqual(norm(res), { ok: true, args: ['got', 1, { bin }] });
    });

    it('server -> client ack: a client that does not ack gets {ok:false} after the timeout', async function () {
      const [socket] = await join('/');
      let asked = 0;
      socket.on('ignore-me', () => { asked++; });
      const result = once(socket, 'server-ack-result', 5000);
      const t0 = Date.now();
      socket.emit('server-ack', { event: 'ignore-me', args: ['x'], timeout: 300 });
      const [res] = await result;
      const dt = Date.now() - t0;
      assert.deepEqual(res, { ok: false });
      assert.equal(asked, 1);
      assert.ok(dt >= 250 && dt < 2000, `timed out after ${dt} ms, expected ~300`);
    });

    it('server -> client ack: a late ack after the timeout is ignored', async function () {
      const [socket] = await join('/');
      socket.on('slow', (cb) => setTimeout(() => cb('late'), 400));
      const results = [];
      socket.on('server-ack-result', (r) => results.push(r));
      socket.emit('server-ack', { event: 'slow', args: [], timeout: 150 });
      await sleep(700);
      assert.deepEqual(results, [{ ok: false }]);
      assert.deepEqual(await emitAckAll(socket, 'ack-echo', 'alive'), ['alive']);
    });

    it('server -> client acks: several in flight are matched to their ids', async function () {
      const [socket] = await join('/');
      socket.on('q', (n, cb) => setTimeout(() => cb(n * 10), (5 - n) * 20));
      const results = [];
      const all = within(new Promise((resolve) => {
        socket.on('server-ack-result', (r) => { results.push(r); if (results.length === 5) resolve(); });
      }), 3000, '5 server-ack-result');
      for (let n = 0; n < 5; n++) socket.emit('server-ack', { event: 'q', args: [n], timeout: 2000 });
      await all;
      assert.deepEqual(results.map((r) => r.args[0]).sort((a, b) => a - b), [0, 10, 20, 30, 40]);
      assert.ok(results.every((r) => r.ok === true));
    });

    it('a socket that disconnects with a server ack pending does not break the server', async function () {
      const [socket] = await join('/');
      socket.on('never', () => {});
      socket.emit('server-ack', { event: 'never', args: [], timeout: 200 });
      await sleep(50);
      socket.disconnect();
      await sleep(300);
      const [other] = await join('/');
      assert.deepEqual(await emitAckAll(other, 'ack-echo', 'fine'), ['fine']);
    });
  });

  describe('rooms', function () {
    const sorted = (a) => [...a].sort();

    it('join / leave / rooms, the own id room included', async function () {
      const [socket] = await join('/');
      assert.deepEqual(await emitAck(socket, 'rooms'), [socket.id]);
      assert.deepEqual(sorted(await emitAck(socket, 'join', 'a')), sorted([socket.id, 'a']));
      assert.deepEqual(sorted(await emitAck(socket, 'join', ['b', 'c', 'a'])), sorted([socket.id, 'a', 'b', 'c']));
      assert.deepEqual(sorted(await emitAck(socket, 'leave', 'b')), sorted([socket.id, 'a', 'c']));
      assert.deepEqual(sorted(await emitAck(socket, 'leave', 'not-joined')), sorted([socket.id, 'a', 'c']));
      assert.deepEqual(sorted(await emitAck(socket, 'rooms')), sorted([socket.id, 'a', 'c']));
    });

    it('rooms are per namespace', async function () {
      const manager = new Manager(url, { reconnection: false, transports: ['websocket'] });
      const root = track(manager.socket('/'));
      const custom = track(manager.socket('/custom'));
      await Promise.all([connected(root), connected(custom)]);
      await emitAck(root, 'join', 'shared-name');
      const got = collect([root, custom], 'in-room');
      assert.equal(await emitAck(custom, 'broadcast', { rooms: ['shared-name'], event: 'in-room', args: [] }), 0);
      assert.equal(await emitAck(root, 'broadcast', { rooms: ['shared-name'], event: 'in-room', args: [1] }), 1);
      await within((async () => { while (!got.get(root).length) await sleep(10); })(), 2000, 'in-room');
      assert.deepEqual(got.get(custom), []);
    });

    it('a room left by its last member is gone: broadcasting to it reaches nobody', async function () {
      const [a] = await join('/');
      const [b] = await join('/');
      await emitAck(a, 'join', 'ephemeral');
      assert.equal(await emitAck(b, 'broadcast', { rooms: ['ephemeral'], event: 'e', args: [] }), 1);
      await emitAck(a, 'leave', 'ephemeral');
      assert.equal(await emitAck(b, 'broadcast', { rooms: ['ephemeral'], event: 'e', args: [] }), 0);
    });

    it('a disconnected socket leaves every room', async function () {
      const [a] = await join('/');
      const [b] = await join('/');
      await emitAck(a, 'join', ['r1', 'r2']);
      assert.equal(await emitAck(b, 'broadcast', { rooms: ['r1', 'r2'], event: 'e', args: [] }), 1);
      const { id } = a;
      a.disconnect();
      await reasonOf(b, id);
      assert.equal(await emitAck(b, 'broadcast', { rooms: ['r1', 'r2'], event: 'e', args: [] }), 0);
      assert.equal(await emitAck(b, 'broadcast', { rooms: [id], event: 'e', args: [] }), 0);
    });
  });

  describe('broadcast', function () {
    /** n sockets on "/", each in the rooms given by roomsOf(i). */
    async function crowd(n, roomsOf = () => []) {
      const sockets = [];
      for (let i = 0; i < n; i++) {
        const [s] = await join('/');
        const rooms = roomsOf(i);
        if (rooms.length) await emitAck(s, 'join', rooms);
        sockets.push(s);
      }
      return sockets;
    }

    async function settle(got, expectCounts, ms = 2000) {
      await within((async () => {
        for (;;) {
          if ([...expectCounts].every(([s, n]) => got.get(s).length >= n)) return;
          await sleep(10);
        }
      })(), ms, 'the broadcast to arrive');
      await sleep(100); // nothing more must follow
    }

    it('to a union of rooms: a socket in two targeted rooms receives once', async function () {
      // 0: a   1: b   2: a+b   3: c   4: none
      const s = await crowd(5, (i) => [['a'], ['b'], ['a', 'b'], ['c'], []][i]);
      const [sender] = await join('/');
      const got = collect([...s, sender], 'u');
      const n = await emitAck(sender, 'broadcast', { rooms: ['a', 'b'], event: 'u', args: ['x'] });
      assert.equal(n, 3);
      await settle(got, [[s[0], 1], [s[1], 1], [s[2], 1]]);
      assert.deepEqual(got.get(s[0]), [['x']]);
      assert.deepEqual(got.get(s[1]), [['x']]);
      assert.deepEqual(got.get(s[2]), [['x']], 'member of both rooms must receive exactly once');
      assert.deepEqual(got.get(s[3]), []);
      assert.deepEqual(got.get(s[4]), []);
      assert.deepEqual(got.get(sender), []);
    });

    it('with except rooms: members of any except room are skipped', async function () {
      // 0: a   1: a+x   2: a+y   3: b   4: b+x
      const s = await crowd(5, (i) => [['a'], ['a', 'x'], ['a', 'y'], ['b'], ['b', 'x']][i]);
      const [sender] = await join('/');
      const got = collect([...s, sender], 'ex');
      const n = await emitAck(sender, 'broadcast', { rooms: ['a', 'b'], except: ['x', 'y'], event: 'ex', args: [] });
      assert.equal(n, 2);
      await settle(got, [[s[0], 1], [s[3], 1]]);
      assert.equal(got.get(s[0]).length, 1);
      assert.equal(got.get(s[3]).length, 1);
      for (const i of [1, 2, 4]) assert.deepEqual(got.get(s[i]), [], `socket ${i} is in an except room`);
    });

    it('to everyone in the namespace; except the sender\'s own id room (socket.broadcast)', async function () {
      const s = await crowd(3);
      const [sender] = await join('/');
      const got = collect([...s, sender], 'all');
      const n = await emitAck(sender, 'broadcast', { event: 'all', args: [1, 'two'] });
      assert.ok(n >= 4, `every socket of "/" (at least 4), got ${n}`);
      await settle(got, [...s, sender].map((x) => [x, 1]));
      for (const x of [...s, sender]) assert.deepEqual(got.get(x), [[1, 'two']]);
      const n2 = await emitAck(sender, 'broadcast', { event: 'all', args: [2], except: [sender.id] });
      assert.equal(n2, n - 1);
      await settle(got, s.map((x) => [x, 2]));
      assert.deepEqual(got.get(sender), [[1, 'two']]);
    });

    it('to everyone with except rooms only', async function () {
      const s = await crowd(3, (i) => (i === 1 ? ['quiet'] : []));
      const got = collect(s, 'eo');
      await emitAck(s[0], 'broadcast', { event: 'eo', args: [], except: ['quiet'] });
      await settle(got, [[s[0], 1], [s[2], 1]]);
      assert.deepEqual(got.get(s[1]), []);
    });

    it('binary arguments reach every recipient intact', async function () {
      const s = await crowd(3, () => ['bin']);
      const got = collect(s, 'b');
      const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
      assert.equal(await emitAck(s[0], 'broadcast', { rooms: ['bin'], event: 'b', args: [{ payload }, 'tail'] }), 3);
      await settle(got, s.map((x) => [x, 1]));
      for (const x of s) assert.deepEqual(got.get(x), [[{ payload }, 'tail']]);
    });

    it('to a room nobody is in: 0 recipients', async function () {
      const [sender] = await join('/');
      assert.equal(await emitAck(sender, 'broadcast', { rooms: ['nobody-here'], event: 'x', args: [] }), 0);
    });

    it('to a socket id room reaches only that socket', async function () {
      const s = await crowd(3);
      const got = collect(s, 'dm');
      assert.equal(await emitAck(s[0], 'broadcast', { rooms: [s[2].id], event: 'dm', args: ['psst'] }), 1);
      await settle(got, [[s[2], 1]]);
      assert.deepEqual(got.get(s[2]), [['psst']]);
      assert.deepEqual(got.get(s[1]), []);
    });
  });

  describe('volatile broadcast', function () {
    /** A raw polling session connected to "/": {sid, id, get(), post(body)}. */
    async function rawPolling() {
      const port = server.port;
      const base = '/socket.io/?EIO=4&transport=polling';
      const hs = await httpRequest({ port, path: base });
      assert.equal(hs.status, 200);
      const { sid } = JSON.parse(hs.body.slice(1));
      const q = `${base}&sid=${encodeURIComponent(sid)}`;
      const post = (body) => httpRequest({ port, method: 'POST', path: q, body, headers: { 'Content-Type': 'text/plain' } });
      const get = (timeoutMs = 3000) => httpRequest({ port, path: q, timeoutMs });
      assert.equal((await post('40')).status, 200);
      // the CONNECT answer and "welcome" (maybe in two polls)
      let packets = [];
      while (!packets.some((p) => p.startsWith('42["welcome"'))) {
        const res = await get();
        assert.equal(res.status, 200);
        packets = packets.concat(res.body.split(SEP));
      }
      const connectPacket = packets.find((p) => p.startsWith('40'));
      const { sid: id } = JSON.parse(connectPacket.slice(2));
      return { sid, id, get, post };
    }

    it('is dropped for a polling client without a held GET; delivered to a websocket client', async function () {
      const [ws] = await join('/', { transports: ['websocket'] });
      const poll = await rawPolling();
      const got = collect([ws], 'vol');
      // the polling session is not polling right now: the volatile packet is dropped for it
      const n = await emitAck(ws, 'broadcast', { event: 'vol', args: ['v1'], volatile: true, rooms: [ws.id, poll.id] });
      assert.equal(n, 1, 'only the websocket client can take a volatile packet now');
      // a normal broadcast is queued for it
      const n2 = await emitAck(ws, 'broadcast', { event: 'nonvol', args: ['n1'], rooms: [poll.id] });
      assert.equal(n2, 1);
      const res = await poll.get();
      const packets = res.body.split(SEP).filter((p) => p !== '2');
      assert.deepEqual(packets, ['42["nonvol","n1"]']);
      await within((async () => { while (!got.get(ws).length) await sleep(10); })(), 2000, 'vol on websocket');
      assert.deepEqual(got.get(ws), [['v1']]);
      await poll.post('1');
    });

    it('reaches a polling client whose GET is held', async function () {
      const [ws] = await join('/', { transports: ['websocket'] });
      const poll = await rawPolling();
      const held = poll.get(3000);
      await sleep(100); // the GET is now parked on the server
      const n = await emitAck(ws, 'broadcast', { event: 'vol', args: ['held'], volatile: true, rooms: [poll.id] });
      assert.equal(n, 1);
      const res = await held;
      assert.deepEqual(res.body.split(SEP).filter((p) => p !== '2'), ['42["vol","held"]']);
      await poll.post('1');
    });
  });

  describe('disconnect reasons', function () {
    for (const transports of [['websocket'], ['polling']]) {
      it(`client socket.disconnect() -> "client namespace disconnect" (${transports[0]})`, async function () {
        const [observer] = await join('/');
        const [socket] = await join('/', { transports });
        const { id } = socket;
        const reason = once(socket, 'disconnect');
        socket.disconnect();
        assert.equal((await reason)[0], 'io client disconnect');
        assert.deepEqual(await reasonOf(observer, id), ['client namespace disconnect']);
      });
    }

    it('client leaves one namespace of a multiplexed connection -> "client namespace disconnect", the other stays', async function () {
      const [observer] = await join('/custom');
      const manager = new Manager(url, { reconnection: false, transports: ['websocket'] });
      const root = track(manager.socket('/'));
      const custom = track(manager.socket('/custom'));
      await Promise.all([connected(root), connected(custom)]);
      const { id } = custom;
      custom.disconnect();
      assert.deepEqual(await reasonOf(observer, id), ['client namespace disconnect']);
      assert.deepEqual(await emitAckAll(root, 'ack-echo', 'still'), ['still']);
    });

    for (const transports of [['websocket'], ['polling']]) {
      it(`disconnect-me {close:false} -> "server namespace disconnect"; client sees "io server disconnect" (${transports[0]})`, async function () {
        const [observer] = await join('/');
        const manager = new Manager(url, { reconnection: false, transports });
        const socket = track(manager.socket('/'));
        const custom = track(manager.socket('/custom'));
        await Promise.all([connected(socket), connected(custom)]);
        const { id } = socket;
        const reason = once(socket, 'disconnect');
        socket.emit('disconnect-me', { close: false });
        assert.equal((await reason)[0], 'io server disconnect');
        assert.deepEqual(await reasonOf(observer, id), ['server namespace disconnect']);
        // only the namespace was left: the connection and "/custom" remain
        assert.equal(custom.connected, true);
        assert.deepEqual(await emitAckAll(custom, 'ack-echo', 'still here'), ['still here']);
      });

      it(`disconnect-me {close:true} -> "forced server close"; client sees "transport close" (${transports[0]})`, async function () {
        const [observer] = await join('/');
        const manager = new Manager(url, { reconnection: false, transports });
        const socket = track(manager.socket('/'));
        const custom = track(manager.socket('/custom'));
        await Promise.all([connected(socket), connected(custom)]);
        const ids = [socket.id, custom.id];
        const reason = once(socket, 'disconnect');
        const reasonCustom = once(custom, 'disconnect');
        socket.emit('disconnect-me', { close: true });
        assert.equal((await reason)[0], 'transport close');
        assert.equal((await reasonCustom)[0], 'transport close');
        assert.deepEqual(await reasonOf(observer, ids[0]), ['forced server close']);
        const observerCustom = (await join('/custom'))[0];
        assert.deepEqual(await reasonOf(observerCustom, ids[1]), ['forced server close']);
      });
    }

    for (const transports of [['websocket'], ['polling']]) {
      it(`the client closing the Engine.IO connection -> "transport close" (${transports[0]})`, async function () {
        const [observer] = await join('/');
        const manager = new Manager(url, { reconnection: false, transports });
        const root = track(manager.socket('/'));
        const custom = track(manager.socket('/custom'));
        await Promise.all([connected(root), connected(custom)]);
        const ids = [root.id, custom.id];
        manager.engine.close();
        assert.deepEqual(await reasonOf(observer, ids[0]), ['transport close']);
        const [observerCustom] = await join('/custom');
        assert.deepEqual(await reasonOf(observerCustom, ids[1]), ['transport close']);
      });
    }

    it('a malformed packet ends every socket of the connection with a disconnect reason', async function () {
      const [observer] = await join('/');
      const c = rawWs(server.port);
      await c.opened;
      c.send('40');
      const ids = [];
      const first = await c.next();
      ids.push(JSON.parse(first.data.slice(2)).sid);
      c.send('40/custom,');
      let m;
      do m = await c.next(); while (!m.data.startsWith('40/custom,'));
      ids.push(JSON.parse(m.data.slice('40/custom,'.length)).sid);
      c.send('42["echo"'); // invalid JSON
      await within(c.closed, 3000, 'the server to close the connection');
      // socket.io names it "forced close" (Client.onerror closes the connection); sio.h "parse error"
      assert.ok(['parse error', 'forced close'].includes((await reasonOf(observer, ids[0]))[0]));
      const [observerCustom] = await join('/custom');
      assert.ok(['parse error', 'forced close'].includes((await reasonOf(observerCustom, ids[1]))[0]));
    });

    it('a client that stops answering pings -> "ping timeout"', async function () {
      const [observer] = await join('/');
      const c = rawWs(server.port, { autoPong: false });
      await c.opened;
      c.send('40');
      const ok = await c.next();
      const { sid: id } = JSON.parse(ok.data.slice(2));
      await within(c.closed, 3000, 'the ping timeout');
      assert.deepEqual(await reasonOf(observer, id), ['ping timeout']);
    });
  });
});

describe('Socket.IO C API with connection state recovery (sio_config.recovery_window_ms)', function () {
  let server;
  before(async function () {
    server = await startApiTestServer(['--recovery-ms', '5000']);
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });

  it('an engine close and back: sio_socket_recovered() is 1, rooms and socket.data restored, the missed broadcast replayed with its offset', async function () {
    const socket = connect(server.url, { transports: ['websocket'], reconnection: false });
    await connected(socket);
    const id = socket.id;
    assert.equal(typeof socket._pid, 'string', 'CONNECT answered {sid, pid}');
    await emitAck(socket, 'join', 'r1');
    assert.equal(await emitAck(socket, 'set-data', { user: 7 }), true);
    const before = await emitAck(socket, 'state');
    assert.equal(before.recovered, false);
    assert.deepEqual(before.data, { user: 7 });
    const got = [];
    socket.on('news', (...args) => got.push(args));
    const sender = connect(server.url, { transports: ['websocket'] });
    await connected(sender);
    sender.emit('broadcast', { rooms: ['r1'], event: 'news', args: [1] });
    await within((async () => { while (got.length < 1) await sleep(10); })(), 3000, 'the first broadcast');
    socket.io.engine.close();
    await within((async () => { while (socket.connected) await sleep(10); })(), 3000, 'the disconnect');
    sender.emit('broadcast', { rooms: ['r1'], event: 'news', args: [2] });
    await sleep(200);
    socket.connect();
    await connected(socket);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    await within((async () => { while (got.length < 2) await sleep(10); })(), 3000, 'the replay');
    assert.deepEqual(got.map((a) => a[0]), [1, 2]);
    for (const a of got) assert.match(a[a.length - 1], /^\d+-\d+$/, 'the offset is the last argument');
    const after = await emitAck(socket, 'state');
    assert.equal(after.recovered, true);
    assert.deepEqual(after.data, { user: 7 });
    assert.ok(after.rooms.includes('r1') && after.rooms.includes(id), JSON.stringify(after.rooms));
  });
});
