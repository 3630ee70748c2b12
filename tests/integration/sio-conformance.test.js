'use strict';
/*
 * Socket.IO v5 conformance (the official socket.io test-suite server behaviour).
 *
 * Target: build/sio-conformance by default (via $SIO_BUILD_DIR), or the Node
 * reference (tests/ref/conformance.js, real socket.io 4.8) with SIO_TARGET=ref.
 * Server under test, path /socket.io/: pingInterval 300, pingTimeout 200,
 * maxPayload 1000000, connectTimeout 1000 ms, CORS '*'; "/" and "/custom" emit
 * "auth" with the handshake auth; on "/", "message" -> "message-back" with the
 * same arguments, "message-with-ack" acknowledged with the same arguments; any
 * other namespace gets CONNECT_ERROR {"message":"Invalid namespace"}.
 */
const assert = require('node:assert/strict');
const { Manager } = require('socket.io-client');
const {
  startTarget, startServer, stopServer, isRef, conformanceBin, httpRequest, REF_SCRIPT, HOST,
} = require('../lib/server');
const {
  sleep, within, once, connect, track, connected, connectError, closeAll, rawWs, stopAlive,
  norm,
} = require('../lib/sio');

const CONNECT_TIMEOUT = 1000;
const ID_RE = /^[A-Za-z0-9_-]{20}$/;


function useServer() {
  const ctx = { server: null, port: 0, url: '' };
  before(async function () {
    ctx.server = await startTarget();
    ctx.port = ctx.server.port;
    ctx.url = ctx.server.url;
  });
  after(async function () {
    closeAll();
    await stopAlive(ctx.server);
  });
  return ctx;
}

/** The mixed arguments of the official test suite, nested binary included. */
const mixedArgs = () => [
  1,
  '2',
  { 3: '4', 5: Buffer.from([6]) },
  [Buffer.from([7, 8]), { deep: { bin: Buffer.from('héllo') } }],
  null,
  true,
  -1.5,
  'unicode € 😀',
  Buffer.alloc(0),
];

/** Connects a client on `nsp` and returns [socket, auth it was sent back]. */
async function connectWithAuth(url, nsp, opts = {}) {
  const socket = connect(`${url}${nsp}`, opts);
  const auth = once(socket, 'auth', 5000);
  await connected(socket);
  return [socket, (await auth)[0]];
}

async function assertMessageBack(socket, args = mixedArgs()) {
  const back = once(socket, 'message-back', 5000);
  socket.emit('message', ...args);
  assert.deepEqual(norm(await back), norm(args));
}

async function assertServes(url) {
  const socket = connect(url, { transports: ['websocket'] });
  await connected(socket);
  await assertMessageBack(socket, ['still', Buffer.from([1, 2, 3])]);
  socket.disconnect();
}

describe(`Socket.IO conformance (${isRef() ? 'Node reference' : 'sio-conformance'})`, function () {
  describe('namespaces and auth', function () {
    const ctx = useServer();
    afterEach(closeAll);

    it('connects to "/" and emits "auth" with the handshake auth object', async function () {
      const auth = { token: 'abc', nested: { n: 1, list: [true, null] } };
      const [socket, got] = await connectWithAuth(ctx.url, '/', { auth });
      assert.deepEqual(got, auth);
      assert.match(socket.id, ID_RE);
      assert.equal(socket.connected, true);
    });

    it('connects to "/" without auth: "auth" is {}', async function () {
      const [, got] = await connectWithAuth(ctx.url, '/');
      assert.deepEqual(got, {});
    });

    it('connects to "/custom" and emits "auth" with the handshake auth object', async function () {
      const [socket, got] = await connectWithAuth(ctx.url, '/custom', { auth: { a: 'b' } });
      assert.deepEqual(got, { a: 'b' });
      assert.equal(socket.nsp, '/custom');
      assert.match(socket.id, ID_RE);
    });

    it('refuses any other namespace with CONNECT_ERROR "Invalid namespace"', async function () {
      const socket = connect(`${ctx.url}/random`);
      const err = await connectError(socket);
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(socket.connected, false);
    });

    it('a namespace refused on one connection leaves its other namespaces working', async function () {
      const manager = new Manager(ctx.url, { reconnection: false, transports: ['websocket'] });
      const root = track(manager.socket('/'));
      const bad = track(manager.socket('/nope'));
      const err = await connectError(bad);
      assert.equal(err.message, 'Invalid namespace');
      await connected(root);
      await assertMessageBack(root, ['after refusal']);
    });
  });

  describe('events and acks', function () {
    const ctx = useServer();
    afterEach(closeAll);

    it('"message" -> "message-back" with mixed arguments, nested binary included', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      await assertMessageBack(socket);
    });

    it('"message" without arguments -> "message-back" without arguments', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      const back = once(socket, 'message-back');
      socket.emit('message');
      assert.deepEqual(await back, []);
    });

    it('"message-back" preserves the order of many events', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/', { transports: ['websocket'] });
      const got = [];
      const done = within(new Promise((resolve) => {
        socket.on('message-back', (i, bin) => {
          got.push([i, norm(bin)]);
          if (got.length === 50) resolve();
        });
      }), 5000, '50 message-back');
      for (let i = 0; i < 50; i++) socket.emit('message', i, Buffer.from([i]));
      await done;
      assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => [i, Buffer.from([i])]));
    });

    it('"message-with-ack" is acknowledged with the same arguments', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      const args = [1, '2', { 3: [4] }, null];
      const res = await new Promise((resolve, reject) => {
        socket.timeout(3000).emit('message-with-ack', ...args, (err, ...r) => (err ? reject(err) : resolve(r)));
      });
      assert.deepEqual(res, args);
    });

    it('"message-with-ack" with binary arguments gets a binary ack', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      const args = mixedArgs();
      const res = await new Promise((resolve, reject) => {
        socket.timeout(3000).emit('message-with-ack', ...args, (err, ...r) => (err ? reject(err) : resolve(r)));
      });
      assert.deepEqual(norm(res), norm(args));
    });

    it('ten binary attachments (the limit) in one event', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      await assertMessageBack(socket, Array.from({ length: 10 }, (_, i) => Buffer.from([i, i, i])));
    });

    it('a large binary argument (500 kB) over websocket and polling', async function () {
      const big = Buffer.alloc(500000, 7);
      big[123] = 1;
      for (const transports of [['websocket'], ['polling']]) {
        const [socket] = await connectWithAuth(ctx.url, '/', { transports });
        await assertMessageBack(socket, ['big', big]);
      }
    });

    it('several acks in flight are matched to their own ids', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        socket.timeout(3000).emitWithAck('message-with-ack', i, Buffer.from([i]))));
      // emitWithAck resolves with the first argument only
      assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    });

    it('"/custom" has no "message" handler: nothing comes back there', async function () {
      const [socket] = await connectWithAuth(ctx.url, '/custom');
      let back = false;
      socket.on('message-back', () => { back = true; });
      socket.emit('message', 'x');
      // the answer to an ack on "/" proves the server processed what came before
      const [root] = await connectWithAuth(ctx.url, '/');
      assert.equal(await root.timeout(2000).emitWithAck('message-with-ack', 'sync'), 'sync');
      await sleep(100);
      assert.equal(back, false);
    });
  });

  describe('multiplexing', function () {
    const ctx = useServer();
    afterEach(closeAll);

    for (const transports of [['polling'], ['websocket']]) {
      it(`"/" and "/custom" share one Engine.IO connection (${transports[0]})`, async function () {
        const manager = new Manager(ctx.url, { reconnection: false, transports });
        const root = track(manager.socket('/', { auth: { who: 'root' } }));
        const custom = track(manager.socket('/custom', { auth: { who: 'custom' } }));
        const rootAuth = once(root, 'auth', 5000);
        const customAuth = once(custom, 'auth', 5000);
        await Promise.all([connected(root), connected(custom)]);
        assert.deepEqual((await rootAuth)[0], { who: 'root' });
        assert.deepEqual((await customAuth)[0], { who: 'custom' });
        assert.equal(root.io, custom.io);
        assert.equal(root.io.engine.transport.name, transports[0]);
        assert.notEqual(root.id, custom.id, 'each namespace socket has its own id');
        await assertMessageBack(root);
        // leaving "/custom" keeps "/" on the same connection
        const engineId = root.io.engine.id;
        custom.disconnect();
        await assertMessageBack(root, ['after /custom left']);
        assert.equal(root.io.engine.id, engineId);
        // and "/custom" can be joined again on it
        const again = track(manager.socket('/custom', { forceNew: false }));
        if (!again.connected) again.connect();
        await connected(again);
        assert.equal(again.io.engine.id, engineId);
      });
    }
  });

  describe('transports', function () {
    const ctx = useServer();
    afterEach(closeAll);

    it("polling only: connects, exchanges binary, stays on polling", async function () {
      const [socket] = await connectWithAuth(ctx.url, '/', { transports: ['polling'] });
      assert.equal(socket.io.engine.transport.name, 'polling');
      await assertMessageBack(socket);
      await sleep(700); // a few heartbeats (pingInterval 300)
      assert.equal(socket.connected, true);
      await assertMessageBack(socket, ['after heartbeats', Buffer.from([9])]);
      assert.equal(socket.io.engine.transport.name, 'polling');
    });

    it("websocket only: connects, exchanges binary, survives heartbeats", async function () {
      const [socket] = await connectWithAuth(ctx.url, '/', { transports: ['websocket'] });
      assert.equal(socket.io.engine.transport.name, 'websocket');
      await assertMessageBack(socket);
      await sleep(700);
      assert.equal(socket.connected, true);
      await assertMessageBack(socket, ['after heartbeats', Buffer.from([9])]);
    });

    it('upgrade: a polling GET that arrives after the probe is released with a noop, not held until the next ping', async function () {
      // engine.io answers a GET made during an upgrade with a noop within its
      // 100 ms check interval, so the client can pause polling and upgrade.
      // Held until the next ping, it stalls the upgrade (and every packet the
      // client buffers meanwhile) for up to pingInterval.
      const base = '/socket.io/?EIO=4&transport=polling';
      const hs = await httpRequest({ port: ctx.port, path: base });
      const { sid } = JSON.parse(hs.body.slice(1));
      const q = `${base}&sid=${encodeURIComponent(sid)}`;
      assert.equal((await httpRequest({ port: ctx.port, method: 'POST', path: q, body: '40' })).status, 200);
      const c = rawWs(ctx.port, { query: `&sid=${encodeURIComponent(sid)}` });
      await within(c.wsOpen, 3000, 'probe websocket');
      c.send('2probe');
      assert.equal((await c.next()).data, '3probe');
      const t0 = Date.now();
      const res = await httpRequest({ port: ctx.port, path: q, timeoutMs: 3000 });
      const dt = Date.now() - t0;
      const packets = res.body.split('\x1e');
      assert.equal(res.status, 200);
      // the GET may first carry what was queued (CONNECT answer, "auth"); then the noop
      if (packets[packets.length - 1] !== '6') {
        const res2 = await httpRequest({ port: ctx.port, path: q, timeoutMs: 3000 });
        packets.push(...res2.body.split('\x1e'));
      }
      const dt2 = Date.now() - t0;
      assert.ok(packets.includes('6'), `no noop on the GET during the upgrade, got ${JSON.stringify(packets)} after ${dt2} ms`);
      assert.ok(dt2 < 250, `the GET during the upgrade was held ${dt2} ms (first answer after ${dt} ms: ${JSON.stringify(res.body)})`);
      c.send('5');
      c.send('42["message","upgraded"]');
      let m;
      do m = await c.next(); while (!m.data.startsWith('42["message-back"'));
      assert.equal(m.data, '42["message-back","upgraded"]');
    });

    it('default transports: upgrades from polling to websocket and keeps working', async function () {
      const socket = connect(ctx.url);
      const upgraded = once(socket.io.engine, 'upgrade', 5000);
      await connected(socket);
      // events sent around the upgrade all arrive in order
      const got = [];
      const all = within(new Promise((resolve) => {
        socket.on('message-back', (i) => { got.push(i); if (got.length === 20) resolve(); });
      }), 5000, '20 message-back');
      for (let i = 0; i < 20; i++) socket.emit('message', i);
      const [transport] = await upgraded;
      assert.equal(transport.name, 'websocket');
      await all;
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
      await assertMessageBack(socket);
      assert.equal(socket.io.engine.transport.name, 'websocket');
    });
  });

  describe('connect timeout', function () {
    const ctx = useServer();
    afterEach(closeAll);

    it(`an Engine.IO session that never sends CONNECT is closed after ~${CONNECT_TIMEOUT} ms`, async function () {
      const c = rawWs(ctx.port);
      const open = await c.opened;
      const openedAt = Date.now();
      assert.equal(open.pingInterval, 300);
      assert.equal(open.pingTimeout, 200);
      assert.equal(open.maxPayload, 1000000);
      const closed = await within(c.closed, CONNECT_TIMEOUT + 2000, 'the connect timeout');
      const after = closed.at - openedAt;
      assert.ok(after >= CONNECT_TIMEOUT - 150 && after <= CONNECT_TIMEOUT + 1000,
        `closed after ${after} ms, expected ~${CONNECT_TIMEOUT}`);
    });

    it('a session that connected a namespace is not closed by the connect timeout', async function () {
      const c = rawWs(ctx.port);
      await c.opened;
      c.send('40');
      const m = await c.next();
      assert.match(m.data, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      await sleep(CONNECT_TIMEOUT + 500);
      assert.equal(c.isClosed, false);
      c.send('42["message","alive"]');
      let back;
      do back = await c.next(); while (!back.data.startsWith('42["message-back"'));
      assert.equal(back.data, '42["message-back","alive"]');
    });

    it('leaving the only namespace keeps the connection; the namespace can be joined again', async function () {
      const c = rawWs(ctx.port);
      await c.opened;
      c.send('40');
      const first = await c.next();
      assert.match(first.data, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      assert.equal((await c.next()).data, '42["auth",{}]');
      c.send('41');
      await sleep(CONNECT_TIMEOUT + 300); // the connect timeout does not apply any more
      assert.equal(c.isClosed, false);
      c.send('40{"again":true}');
      const second = await c.next();
      assert.match(second.data, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      assert.notEqual(second.data, first.data, 'a new socket id');
      assert.equal((await c.next()).data, '42["auth",{"again":true}]');
    });

    it('a refused namespace does not stop the connect timeout', async function () {
      const c = rawWs(ctx.port);
      await c.opened;
      const openedAt = Date.now();
      c.send('40/nope,');
      const m = await c.next();
      assert.equal(m.data, '44/nope,{"message":"Invalid namespace"}');
      const closed = await within(c.closed, CONNECT_TIMEOUT + 2000, 'the connect timeout');
      assert.ok(closed.at - openedAt <= CONNECT_TIMEOUT + 1000);
    });
  });

  describe('malformed packets over a raw websocket end the connection cleanly', function () {
    const ctx = useServer();
    afterEach(closeAll);

    /** A raw ws connected to "/" (CONNECT answered, "auth" received). */
    async function rawConnected() {
      const c = rawWs(ctx.port);
      await c.opened;
      c.send('40');
      const ok = await c.next();
      assert.match(ok.data, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      const auth = await c.next();
      assert.equal(auth.data, '42["auth",{}]');
      return c;
    }

    const cases = [
      ['unknown packet type (4 + 9)', ['49']],
      ['empty Socket.IO packet', ['4']],
      ['an event named "connect" (reserved)', ['42["connect"]']],
      ['an event named "disconnecting" (reserved)', ['42["disconnecting",1]']],
      ['an event whose payload is not an array', ['42{}']],
      ['an event with an empty array', ['42[]']],
      ['an event whose name is an object', ['42[{"a":1}]']],
      ['invalid JSON', ['42["message",']],
      ['trailing garbage after the JSON', ['42["message"]x']],
      ['a CONNECT_ERROR from the client', ['44{"message":"x"}']],
      ['a non-numeric attachment count', ['45x-["message",{"_placeholder":true,"num":0}]', Buffer.from([1])]],
      ['a placeholder out of range', ['451-["message",{"_placeholder":true,"num":1}]', Buffer.from([1])]],
      ['a placeholder with a negative num', ['451-["message",{"_placeholder":true,"num":-1}]', Buffer.from([1])]],
      ['text while binary attachments are pending', ['452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', Buffer.from([1]), '42["message"]']],
      ['too many attachments (11 > 10)', ['4511-["message"]']],
      ['a binary frame without a pending binary packet', [Buffer.from([1, 2, 3])]],
      ['a CONNECT whose auth is a string', ['40/custom,"x"']],
      ['a CONNECT whose auth is an array', ['40/custom,[1]']],
      ['an ACK whose payload is not an array', ['431{}']],
      ['a DISCONNECT with a payload', ['41{}']],
      ['an event for a namespace not connected', ['42/custom,["message"]']],
      ['a DISCONNECT for a namespace not connected', ['41/custom,']],
      ['a second CONNECT to a namespace already connected', ['40']],
    ];

    for (const [name, frames] of cases) {
      it(`${name}: ${frames.map((f) => (Buffer.isBuffer(f) ? `<binary ${f.length}>` : JSON.stringify(f))).join(' + ')}`, async function () {
        const c = await rawConnected();
        for (const f of frames) c.send(f);
        await within(c.closed, 3000, 'the server to close the connection');
        await assertServes(ctx.url);
      });
    }

    it('the server ends the connection with a WebSocket close handshake, not a dropped TCP connection', async function () {
      // RFC 6455 7.1.2: the endpoint that closes sends a Close frame; engine.io
      // sends one without a status code (the client reports 1005). A TCP
      // connection closed without a Close frame is reported as 1006.
      const c = await rawConnected();
      c.send('42{}');
      const closed = await within(c.closed, 3000, 'the server to close the connection');
      assert.ok([1000, 1005].includes(closed.code), `close code ${closed.code} (1006: no Close frame was sent)`);
    });

    it('a valid binary event after all of this still echoes', async function () {
      const c = await rawConnected();
      c.send('451-["message",{"_placeholder":true,"num":0}]');
      c.send(Buffer.from([0xde, 0xad]));
      const head = await c.next();
      assert.equal(head.data, '451-["message-back",{"_placeholder":true,"num":0}]');
      const bin = await c.next();
      assert.equal(bin.isBinary, true);
      assert.deepEqual(Buffer.from(bin.data), Buffer.from([0xde, 0xad]));
      assert.equal(c.isClosed, false);
    });
  });

  describe('reconnection after a server restart', function () {
    let server = null;
    after(async function () {
      closeAll();
      await stopAlive(server);
    });

    function startOn(port) {
      return isRef()
        ? startServer({ command: process.execPath, args: [REF_SCRIPT, '--port', String(port)], port })
        : startServer({ command: conformanceBin(), args: ['--port', String(port)], port });
    }

    it('a client with reconnection:true reconnects to a new server on the same port', async function () {
      this.timeout(15000);
      server = await startTarget();
      const { port } = server;
      const socket = connect(`http://${HOST}:${port}`, {
        reconnection: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 300,
        randomizationFactor: 0,
        auth: { v: 1 },
      });
      await connected(socket);
      const firstId = socket.id;
      await assertMessageBack(socket, ['before']);

      const disconnected = once(socket, 'disconnect', 5000);
      await stopServer(server);
      server = null;
      const [reason] = await disconnected;
      assert.ok(['transport close', 'transport error', 'ping timeout'].includes(reason), `reason ${reason}`);

      const auth = once(socket, 'auth', 10000);
      const reconnected = once(socket.io, 'reconnect', 10000);
      server = await startOn(port);
      await reconnected;
      assert.deepEqual((await auth)[0], { v: 1 });
      assert.equal(socket.connected, true);
      assert.notEqual(socket.id, firstId);
      await assertMessageBack(socket, ['after', Buffer.from([1])]);
    });
  });
});
