'use strict';
/*
 * Connection state recovery in build/sio-server (standalone: history and
 * sessions in memory), as socket.io 4.8 does it (lib/socket.ts, the adapter's
 * SessionAwareAdapter, socket.io-client's _pid / _lastOffset):
 *   - RECOVERY_WINDOW_MS (default 120000, 0 = off): CONNECT answers {sid, pid};
 *     every recoverable broadcast (API or client publish, not volatile) carries
 *     its offset as its last argument;
 *   - after a recoverable disconnect (here the client's engine.close(): "transport
 *     close" on the server) the client's CONNECT {pid, offset} restores the socket's
 *     id and rooms and replays what it missed, in order, once, before any new packet;
 *   - past the window, after a client namespace disconnect, or with any bad
 *     (pid, offset) the client gets a clean new session: new id, no rooms.
 * Every bad-input test keeps a genuine session away while the bad attempts are
 * made, then checks that session still recovers (so a server without recovery
 * fails them, and an attempt never consumes or steals another client's session).
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Manager } = require('socket.io-client');
const {
  sleep, within, startSioServer, stopAlive, connect, track, connected, emitAck, closeAll,
  apiPost, norm,
} = require('../lib/sio');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');

/* Where the sessions and the history live: each suite runs against the
 * in-memory store, and against Redis in both adapter modes. */
const STORES = [
  { name: 'in memory (standalone)' },
  { name: 'Redis, REDIS_ADAPTER=pubsub', redis: 'pubsub' },
  { name: 'Redis, REDIS_ADAPTER=streams', redis: 'streams' },
];
let store = STORES[0];

/** One sio-server (and its redis-server, for a Redis store) for the enclosing describe block. */
function useServer(env) {
  const ctx = { server: null, url: '', apiPort: 0, redis: null };
  const mode = store;
  before(async function () {
    const extra = {};
    if (mode.redis) {
      ctx.redis = await startRedis();
      Object.assign(extra, { REDIS_URL: redisUrl(ctx.redis), REDIS_ADAPTER: mode.redis });
    }
    ctx.server = await startSioServer({ env: { ...env, ...extra } });
    ctx.url = ctx.server.url;
    ctx.apiPort = ctx.server.apiPort;
  });
  after(async function () {
    closeAll();
    await stopAlive(ctx.server);
    if (ctx.redis) await stopRedis(ctx.redis);
  });
  afterEach(closeAll);
  return ctx;
}

async function until(pred, ms, what) {
  await within((async () => { while (!pred()) await sleep(10); })(), ms, what);
}

/** Records every `event` of socket (argument arrays, binaries as Buffers). */
function record(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(norm(args)));
  return got;
}

/** Records every event of socket as [event, ...args]. */
function recordAny(socket) {
  const got = [];
  socket.onAny((event, ...args) => got.push([event, ...norm(args)]));
  return got;
}

/** POST /v1/broadcast, which must be accepted. */
async function post(ctx, body) {
  const res = await apiPost(ctx.apiPort, body);
  assert.equal(res.status, 202, `broadcast refused: ${res.status} ${res.body} for ${JSON.stringify(body)}`);
}

const isOffset = (v) => typeof v === 'string' && v.length > 0;

function assertPid(s, nsp = '/') {
  assert.equal(typeof s._pid, 'string',
    `CONNECT to ${nsp} must answer {sid, pid} with recovery on (socket._pid is ${s._pid})`);
  assert.ok(s._pid.length > 0, 'empty pid');
}

/** A plain socket (no recovery-specific checks). */
async function plain(ctx, nsp = '/', opts = {}) {
  const s = connect(`${ctx.url}${nsp}`, { transports: ['websocket'], ...opts });
  await connected(s);
  return s;
}

/**
 * A connected socket with a pid, in `rooms`, that has received one broadcast
 * (to its own id room) and so holds an offset: a session that can be recovered.
 */
async function recoverable(ctx, { nsp = '/', rooms = [], opts = {}, socket } = {}) {
  const s = socket || connect(`${ctx.url}${nsp}`, { transports: ['websocket'], ...opts });
  await connected(s);
  assertPid(s, nsp);
  if (rooms.length) assert.deepEqual(await emitAck(s, 'subscribe', rooms), { ok: true, rooms });
  const primes = record(s, 'prime');
  await post(ctx, { namespace: nsp, rooms: [s.id], event: 'prime', data: 'p' });
  await until(() => primes.length === 1, 3000, 'the first broadcast');
  assert.equal(primes[0].length, 2, `a broadcast must end with its offset: ${JSON.stringify(primes[0])}`);
  assert.equal(primes[0][0], 'p');
  assert.ok(isOffset(primes[0][1]), `offset ${JSON.stringify(primes[0][1])} is not a string`);
  assert.equal(s._lastOffset, primes[0][1], 'socket.io-client tracks the last offset');
  s.primes = primes;
  return s;
}

/** Closes the Engine.IO connection under the socket(s) (a recoverable "transport close"). */
async function goAway(...sockets) {
  const gone = sockets.map((s) => within(new Promise((r) => s.once('disconnect', r)), 3000, 'disconnect'));
  const engines = new Set(sockets.map((s) => s.io.engine));
  for (const e of engines) e.close();
  await Promise.all(gone);
  for (const s of sockets) assert.equal(s.connected, false);
  await sleep(100); // away: the server has seen the transport close
}

/** Reconnects a socket that went away (its CONNECT carries {pid, offset}). */
async function comeBack(s) {
  const c = connected(s);
  s.connect();
  await c;
}

function assertRecovered(s, id, pid) {
  assert.equal(s.recovered, true, `socket.recovered is ${s.recovered}, expected true (id ${s.id}, was ${id})`);
  assert.equal(s.id, id, 'a recovered socket keeps its id');
  assert.equal(s._pid, pid, 'a recovered socket keeps its pid');
}

/**
 * Posts each body (to nsp), then a marker to s's own room; once the marker is
 * in (broadcasts are applied in order), s must have received markers only.
 */
async function assertGetsNothing(ctx, s, log, bodies, nsp = '/') {
  for (const b of bodies) await post(ctx, { namespace: nsp, ...b });
  const markers = () => log.filter((e) => e[0] === 'marker').length;
  const n = markers();
  await post(ctx, { namespace: nsp, rooms: [s.id], event: 'marker', data: n });
  await until(() => markers() === n + 1, 3000, 'the marker');
  await sleep(50);
  assert.deepEqual(log.filter((e) => e[0] !== 'marker'), [],
    `socket ${s.id} received what was not for it (after ${JSON.stringify(bodies)})`);
}

/**
 * A fresh client with `auth` must get a clean new session: connected, not the
 * victim's id nor pid, recovered false, no replay and in none of `rooms`.
 */
async function assertCleanSession(ctx, auth, victim, rooms, nsp = '/') {
  const what = `auth ${JSON.stringify(auth).slice(0, 120)} on ${nsp}`;
  const s = connect(`${ctx.url}${nsp}`, { transports: ['websocket'], auth });
  const log = recordAny(s);
  try {
    await connected(s);
  } catch (e) {
    throw new Error(`${what}: no clean session but ${e.message}`);
  }
  assertPid(s, nsp);
  assert.notEqual(s.id, victim.id, `${what}: got the id of another client`);
  assert.notEqual(s._pid, victim._pid, `${what}: got the pid of another client`);
  if (typeof auth.pid === 'string') assert.notEqual(s._pid, auth.pid, `${what}: kept the forged pid`);
  assert.equal(s.recovered, false, `${what}: recovered`);
  await assertGetsNothing(ctx, s, log, rooms.map((r) => ({ rooms: [r], event: 'leak', data: r })), nsp);
  s.disconnect();
  return s;
}

for (const mode of STORES) describe(`connection state recovery, ${mode.name}`, function () {
  this.timeout(20000);
  before(function () { store = mode; });
  store = mode; // describe bodies run now: useServer() reads it

  /* ---------------------------------------------------------------- */
  describe('RECOVERY_WINDOW_MS unset (120000)', function () {
    const ctx = useServer({ RECOVERY_WINDOW_MS: undefined, PUBLISH_PATTERNS: '*', NAMESPACES: '/,/other' });

    it('CONNECT answers {sid, pid}; recoverable broadcasts end with a string offset, volatile ones do not', async function () {
      const s = await plain(ctx);
      assertPid(s);
      const sender = await plain(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', ['live']), { ok: true, rooms: ['live'] });
      const log = recordAny(s);
      const wait = (n, what) => until(() => log.length >= n, 3000, what);
      await post(ctx, { rooms: ['live'], event: 'd', data: { x: 1 } });
      await wait(1, 'the data broadcast');
      await post(ctx, { rooms: ['live'], event: 'a', args: [1, 'two', { three: 3 }] });
      await wait(2, 'the args broadcast');
      await post(ctx, { rooms: ['live'], event: 'n' });
      await wait(3, 'the broadcast without data');
      await post(ctx, { event: 'all', data: 'everyone' }); // the whole namespace
      await wait(4, 'the namespace broadcast');
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'live', event: 'pub', data: { y: 2 } }), { ok: true });
      await wait(5, 'the client publish');
      // not a string: socket.io-client takes any string last argument for an offset
      await post(ctx, { rooms: ['live'], event: 'v', data: { volatile: true }, volatile: true });
      await wait(6, 'the volatile broadcast');
      await sleep(100);
      assert.equal(log.length, 6, JSON.stringify(log));
      assert.deepEqual(log.map((e) => e.slice(0, -1)).slice(0, 5),
        [['d', { x: 1 }], ['a', 1, 'two', { three: 3 }], ['n'], ['all', 'everyone'], ['pub', { y: 2 }]],
        `each broadcast must be its arguments then one offset: ${JSON.stringify(log)}`);
      const offsets = log.slice(0, 5).map((e) => e[e.length - 1]);
      for (const o of offsets) assert.ok(isOffset(o), `offset ${JSON.stringify(o)} is not a string`);
      assert.equal(new Set(offsets).size, 5, `offsets must be distinct: ${offsets}`);
      assert.deepEqual(log[5], ['v', { volatile: true }], 'a volatile broadcast carries no offset');
      assert.equal(s._lastOffset, offsets[4]);
    });

    it('engine close: 20 missed broadcasts replayed in order, once, same id, recovered; then live ones', async function () {
      const s = await plain(ctx);
      assertPid(s);
      assert.deepEqual(await emitAck(s, 'subscribe', ['live']), { ok: true, rooms: ['live'] });
      const got = record(s, 'tick');
      await post(ctx, { rooms: ['live'], event: 'tick', data: { seq: -1 } });
      await until(() => got.length === 1, 3000, 'the first tick');
      assert.equal(got[0].length, 2, `[data, offset] expected: ${JSON.stringify(got[0])}`);
      assert.deepEqual(got[0][0], { seq: -1 });
      assert.ok(isOffset(got[0][1]), `offset ${JSON.stringify(got[0][1])} is not a string`);
      const id = s.id;
      const pid = s._pid;

      await goAway(s);
      for (let seq = 0; seq < 20; seq++) {
        await post(ctx, { rooms: ['live'], event: 'tick', data: { seq } });
        // a volatile broadcast is not kept: never replayed
        if (seq === 9) await post(ctx, { rooms: ['live'], event: 'tick', data: { seq: 'volatile' }, volatile: true });
      }
      assert.equal(s.connected, false, 'still away after the broadcasts');

      // a new broadcast posted the moment the client is back comes after the replay
      let live;
      s.once('connect', () => {
        live = post(ctx, { rooms: ['live'], event: 'tick', data: { seq: 20 } });
        live.catch(() => {}); // awaited below
      });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length >= 22, 5000, `the replay and the live tick (got ${got.length - 1} of 21)`);
      await live;
      await sleep(200);
      const seqs = got.map((a) => a[0].seq);
      assert.deepEqual(seqs, [-1, ...Array.from({ length: 21 }, (_, i) => i)],
        'replayed in order, exactly once, without the volatile one, before the live one');
      for (const a of got) {
        assert.equal(a.length, 2, `[data, offset] expected: ${JSON.stringify(a)}`);
        assert.ok(isOffset(a[1]));
      }
      assert.equal(new Set(got.map((a) => a[1])).size, got.length, 'offsets must be distinct');
      assert.equal(s._lastOffset, got[got.length - 1][1]);
      // still in its room and reachable by id after the recovery
      await post(ctx, { rooms: [id], event: 'tick', data: { seq: 21 } });
      await until(() => got.length === 23, 3000, 'a broadcast to the recovered id');
    });

    it('automatic reconnection (reconnection: true) recovers and replays', async function () {
      const s = connect(ctx.url, {
        transports: ['websocket'], reconnection: true, reconnectionDelay: 400, reconnectionDelayMax: 400,
        randomizationFactor: 0,
      });
      await recoverable(ctx, { socket: s, rooms: ['auto'] });
      const id = s.id;
      const pid = s._pid;
      const got = record(s, 'tick');
      const back = within(new Promise((r) => s.io.once('reconnect', r)), 5000, 'the reconnection');
      await goAway(s);
      for (let seq = 0; seq < 5; seq++) await post(ctx, { rooms: ['auto'], event: 'tick', data: seq });
      await back;
      await until(() => s.connected, 3000, 'connected');
      assertRecovered(s, id, pid);
      await until(() => got.length >= 5, 3000, 'the replay');
      await sleep(100);
      assert.deepEqual(got.map((a) => a[0]), [0, 1, 2, 3, 4]);
      assert.deepEqual(s.primes.map((a) => a[0]), ['p'], 'what was received before is not replayed');
    });

    it('a recovered socket can recover again, with the same id', async function () {
      const s = await recoverable(ctx, { rooms: ['twice'] });
      const id = s.id;
      const pid = s._pid;
      const got = record(s, 'tick');
      await goAway(s);
      await post(ctx, { rooms: ['twice'], event: 'tick', data: 'a' });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length === 1, 3000, 'the first replay');
      await goAway(s);
      await post(ctx, { rooms: ['twice'], event: 'tick', data: 'b' });
      await post(ctx, { rooms: [id], event: 'tick', data: 'c' });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length >= 3, 3000, 'the second replay');
      await sleep(100);
      assert.deepEqual(got.map((a) => a[0]), ['a', 'b', 'c']);
    });

    it('binary: client publishes with Buffers missed over polling are replayed intact, in order with API broadcasts', async function () {
      const r = connect(ctx.url, { transports: ['polling'] });
      await recoverable(ctx, { socket: r, rooms: ['bin'] });
      const sender = await plain(ctx);
      const id = r.id;
      const pid = r._pid;
      const log = recordAny(r);
      const file = (i) => ({ i, bytes: Buffer.from([i, 0, 255]), parts: [Buffer.from(`a${i}`), Buffer.from([i])] });
      await goAway(r);
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'bin', event: 'file', data: file(0) }), { ok: true });
      await post(ctx, { rooms: ['bin'], event: 'text', data: 'between' });
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'bin', event: 'file', data: file(1) }), { ok: true });
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'bin', event: 'file', data: file(2) }), { ok: true });
      await comeBack(r);
      assertRecovered(r, id, pid);
      await until(() => log.length >= 4, 5000, 'the binary replay');
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'bin', event: 'file', data: file(3) }), { ok: true });
      await until(() => log.length >= 5, 3000, 'the live binary publish');
      await sleep(100);
      assert.deepEqual(log.map((e) => e.slice(0, -1)), [
        ['file', file(0)], ['text', 'between'], ['file', file(1)], ['file', file(2)], ['file', file(3)],
      ]);
      for (const e of log) assert.ok(isOffset(e[e.length - 1]), `no offset at the end of ${JSON.stringify(e)}`);
    });

    it('rooms: a broadcast to two of its rooms is replayed once; namespace-wide ones too; others not', async function () {
      const s = await recoverable(ctx, { rooms: ['a', 'b', 'c'] });
      const id = s.id;
      const pid = s._pid;
      const got = record(s, 'm');
      await goAway(s);
      await post(ctx, { rooms: ['a', 'b'], event: 'm', data: 1 });
      await post(ctx, { rooms: ['z'], event: 'm', data: 2 });
      await post(ctx, { rooms: ['c', 'z'], event: 'm', data: 3 });
      await post(ctx, { event: 'm', data: 4 });
      await post(ctx, { namespace: '/other', event: 'm', data: 5 });
      await post(ctx, { rooms: ['b'], except: ['z'], event: 'm', data: 6 });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length >= 4, 3000, 'the replay');
      await sleep(150);
      assert.deepEqual(got.map((a) => a[0]), [1, 3, 4, 6]);
      // still in a, b, c after the recovery
      await post(ctx, { rooms: ['c'], event: 'm', data: 7 });
      await until(() => got.length === 5, 3000, 'a live broadcast to a restored room');
    });

    it('rooms left before going away are not restored', async function () {
      const s = await recoverable(ctx, { rooms: ['u1', 'u2'] });
      assert.deepEqual(await emitAck(s, 'unsubscribe', ['u1']), { ok: true, rooms: ['u1'] });
      const id = s.id;
      const pid = s._pid;
      const log = recordAny(s);
      await goAway(s);
      await post(ctx, { rooms: ['u1'], event: 'u', data: 1 });
      await post(ctx, { rooms: ['u2'], event: 'u', data: 2 });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => log.length >= 1, 3000, 'the replay');
      await post(ctx, { rooms: ['u1'], event: 'u', data: 3 });
      await post(ctx, { rooms: ['u2'], event: 'u', data: 4 });
      await until(() => log.length >= 2, 3000, 'the live broadcast to u2');
      await sleep(100);
      assert.deepEqual(log.map((e) => e.slice(0, 2)), [['u', 2], ['u', 4]]);
    });

    it('50 sockets away at once each recover their own id, rooms and replay', async function () {
      const n = 50;
      const socks = [];
      for (let i = 0; i < n; i++) socks.push(await recoverable(ctx, { rooms: ['all', `own-${i}`] }));
      const before = socks.map((s) => [s.id, s._pid]);
      assert.equal(new Set(before.map((b) => b[1])).size, n, 'pids must be distinct');
      const got = socks.map((s) => record(s, 'own'));
      await goAway(...socks);
      await post(ctx, { rooms: ['all'], event: 'own', data: 'all' });
      for (let i = 0; i < n; i++) await post(ctx, { rooms: [`own-${i}`], event: 'own', data: i });
      await Promise.all(socks.map((s) => comeBack(s)));
      socks.forEach((s, i) => assertRecovered(s, ...before[i]));
      await until(() => got.every((g) => g.length >= 2), 5000, 'every replay');
      await sleep(100);
      got.forEach((g, i) => assert.deepEqual(g.map((a) => a[0]), ['all', i], `socket ${i}`));
    });

    it('except: a broadcast excluding one of its rooms (or its id) is not replayed to it', async function () {
      const e = await recoverable(ctx, { rooms: ['live', 'vip'] });
      const f = await recoverable(ctx, { rooms: ['live'] });
      const ids = [e.id, f.id];
      const pids = [e._pid, f._pid];
      const gotE = record(e, 'x');
      const gotF = record(f, 'x');
      await goAway(e, f);
      await post(ctx, { rooms: ['live'], except: ['vip'], event: 'x', data: 1 });
      await post(ctx, { rooms: ['live'], event: 'x', data: 2 });
      await post(ctx, { rooms: ['vip'], except: ['live'], event: 'x', data: 3 });
      await post(ctx, { rooms: ['live'], except: [ids[1]], event: 'x', data: 4 });
      await post(ctx, { except: ['live'], event: 'x', data: 5 });
      await comeBack(e);
      await comeBack(f);
      assertRecovered(e, ids[0], pids[0]);
      assertRecovered(f, ids[1], pids[1]);
      await until(() => gotE.length >= 2 && gotF.length >= 2, 3000, 'the replays');
      await sleep(150);
      assert.deepEqual(gotE.map((a) => a[0]), [2, 4], 'the member of vip');
      assert.deepEqual(gotF.map((a) => a[0]), [1, 2], 'the other one');
    });

    it('namespaces: each socket of a multiplexed connection gets back only its namespace\'s broadcasts', async function () {
      const m = new Manager(ctx.url, { reconnection: false, transports: ['websocket'], timeout: 5000 });
      const p = track(m.socket('/'));
      const q = track(m.socket('/other'));
      await recoverable(ctx, { socket: p, nsp: '/', rooms: ['room'] });
      await recoverable(ctx, { socket: q, nsp: '/other', rooms: ['room'] });
      assert.equal(p.io, q.io);
      const before = [[p.id, p._pid], [q.id, q._pid]];
      const gotP = record(p, 'n');
      const gotQ = record(q, 'n');
      await goAway(p, q);
      await post(ctx, { namespace: '/other', rooms: ['room'], event: 'n', data: 'o1' });
      await post(ctx, { namespace: '/', rooms: ['room'], event: 'n', data: 'r1' });
      await post(ctx, { namespace: '/other', event: 'n', data: 'o2' });
      await post(ctx, { namespace: '/', event: 'n', data: 'r2' });
      await post(ctx, { namespace: '/other', rooms: ['elsewhere'], event: 'n', data: 'o3' });
      const c = Promise.all([connected(p), connected(q)]);
      p.connect();
      q.connect();
      await c;
      assertRecovered(p, ...before[0]);
      assertRecovered(q, ...before[1]);
      await until(() => gotP.length >= 2 && gotQ.length >= 2, 3000, 'the replays');
      await sleep(150);
      assert.deepEqual(gotP.map((a) => a[0]), ['r1', 'r2'], 'the / socket');
      assert.deepEqual(gotQ.map((a) => a[0]), ['o1', 'o2'], 'the /other socket');
    });
  });

  /* ---------------------------------------------------------------- */
  describe('RECOVERY_WINDOW_MS=1000', function () {
    const ctx = useServer({ RECOVERY_WINDOW_MS: '1000' });

    it('away 200 ms: recovered', async function () {
      const s = await recoverable(ctx, { rooms: ['live'] });
      const id = s.id;
      const pid = s._pid;
      const got = record(s, 'tick');
      await goAway(s);
      await post(ctx, { rooms: ['live'], event: 'tick', data: 1 });
      await sleep(100);
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length === 1, 3000, 'the replay');
    });

    it('away 2000 ms: recovered false, a new id, no replay, in no room until it subscribes again', async function () {
      const s = await recoverable(ctx, { rooms: ['live'] });
      const id = s.id;
      const pid = s._pid;
      const log = recordAny(s);
      await goAway(s);
      await post(ctx, { rooms: ['live'], event: 'tick', data: 'missed' });
      await sleep(2000);
      await comeBack(s);
      assert.equal(s.recovered, false, 'the session expired');
      assert.notEqual(s.id, id, 'an expired session gets a new id');
      assertPid(s);
      assert.notEqual(s._pid, pid, 'an expired session gets a new pid');
      await assertGetsNothing(ctx, s, log, [{ rooms: ['live'], event: 'tick', data: 'after' }, { rooms: [id], event: 'tick', data: 'old id' }]);
      assert.deepEqual(await emitAck(s, 'subscribe', ['live']), { ok: true, rooms: ['live'] });
      await post(ctx, { rooms: ['live'], event: 'tick', data: 'subscribed' });
      await until(() => log.some((e) => e[0] === 'tick'), 3000, 'a broadcast after subscribing again');
      assert.deepEqual(log.filter((e) => e[0] === 'tick').map((e) => e[1]), ['subscribed']);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('RECOVERY_WINDOW_MS=0 (off)', function () {
    const ctx = useServer({ RECOVERY_WINDOW_MS: '0', PUBLISH_PATTERNS: '*' });

    it('CONNECT has no pid and broadcasts carry no offset', async function () {
      const s = await plain(ctx);
      const sender = await plain(ctx);
      assert.equal(s._pid, undefined, `no pid with recovery off (got ${s._pid})`);
      assert.deepEqual(await emitAck(s, 'subscribe', ['live']), { ok: true, rooms: ['live'] });
      const log = recordAny(s);
      await post(ctx, { rooms: ['live'], event: 'd', data: { x: 1 } });
      await post(ctx, { rooms: ['live'], event: 'a', args: [1, 'two'] });
      await post(ctx, { event: 'n' });
      assert.deepEqual(await emitAck(sender, 'publish', { room: 'live', event: 'pub', data: 'text' }), { ok: true });
      await until(() => log.length >= 4, 3000, 'the broadcasts');
      await sleep(100);
      assert.deepEqual(log, [['d', { x: 1 }], ['a', 1, 'two'], ['n'], ['pub', 'text']]);
      assert.equal(s._lastOffset, undefined);
    });

    it('a reconnection after an engine close is a new session', async function () {
      const s = await plain(ctx);
      assert.deepEqual(await emitAck(s, 'subscribe', ['live']), { ok: true, rooms: ['live'] });
      const id = s.id;
      const log = recordAny(s);
      await goAway(s);
      await post(ctx, { rooms: ['live'], event: 'tick', data: 'missed' });
      await comeBack(s);
      assert.ok(!s.recovered, `recovered is ${s.recovered}`);
      assert.notEqual(s.id, id);
      assert.equal(s._pid, undefined);
      await assertGetsNothing(ctx, s, log, [{ rooms: ['live'], event: 'tick', data: 'after' }]);
      // and a client sending {pid, offset} of its own still connects
      const t = await plain(ctx, '/', { auth: { pid: 'x'.repeat(20), offset: '1-0' } });
      assert.equal(t._pid, undefined);
      assert.ok(!t.recovered);
    });
  });

  /* ---------------------------------------------------------------- */
  describe('bad (pid, offset): a clean new session, never another client\'s', function () {
    const ctx = useServer({ RECOVERY_WINDOW_MS: undefined, NAMESPACES: '/,/other' });

    /** A session away (recoverable) in `rooms`, with the broadcasts it will miss. */
    async function victimAway(rooms, nsp = '/') {
      const v = await recoverable(ctx, { nsp, rooms });
      const info = { id: v.id, _pid: v._pid, offset: v._lastOffset };
      const leaks = record(v, 'leak');
      await goAway(v);
      return { v, info, leaks };
    }

    /** The victim comes back: recovered, with every 'leak' broadcast to its rooms while away. */
    async function victimBack({ v, info, leaks }, n) {
      await comeBack(v);
      assertRecovered(v, info.id, info._pid);
      await until(() => leaks.length >= n, 3000, `the victim's replay (${leaks.length} of ${n})`);
      await sleep(100);
      assert.equal(leaks.length, n, 'each missed broadcast once');
    }

    it('forged or unknown pid with a valid offset', async function () {
      const vic = await victimAway(['vroom']);
      const { info } = vic;
      const last = info._pid[info._pid.length - 1];
      const pids = [
        'x'.repeat(20),
        crypto.randomBytes(15).toString('base64'),
        info._pid.slice(0, -1) + (last === 'A' ? 'B' : 'A'),
        info._pid + 'x',
        '',
        'p'.repeat(5000),
        12345,
        null,
        { pid: info._pid },
        [info._pid],
      ];
      for (const pid of pids) await assertCleanSession(ctx, { pid, offset: info.offset }, info, ['vroom']);
      await victimBack(vic, pids.length);
    });

    it('the right pid with an offset never issued or malformed', async function () {
      const vic = await victimAway(['vroom2']);
      const { info } = vic;
      const offsets = [
        '99999999999999-0', '0', '0-0', '', 'abc', `${info.offset}x`, 'x'.repeat(5000), 123, null,
        undefined, { offset: info.offset }, [info.offset],
      ];
      for (const offset of offsets) {
        await assertCleanSession(ctx, { pid: info._pid, offset }, info, ['vroom2']);
      }
      await victimBack(vic, offsets.length);
    });

    it("the pid of a '/' socket sent to '/other' (with a '/' or an '/other' offset)", async function () {
      const y = await recoverable(ctx, { nsp: '/other', rooms: ['r'] }); // stays connected
      const yGot = record(y, 'leak');
      const vic = await victimAway(['r'], '/');
      const { info } = vic;
      await assertCleanSession(ctx, { pid: info._pid, offset: info.offset }, info, ['r'], '/other');
      await assertCleanSession(ctx, { pid: info._pid, offset: y._lastOffset }, info, ['r'], '/other');
      await until(() => yGot.length === 2, 3000, 'the /other member of r getting the two probes');
      await post(ctx, { namespace: '/', rooms: ['r'], event: 'leak', data: 'for the victim' });
      await victimBack(vic, 1);
    });

    it('a (pid, offset) already used by a recovery does not recover a second client', async function () {
      const vic = await victimAway(['ra']);
      const { v, info } = vic;
      await post(ctx, { rooms: ['ra'], event: 'leak', data: 'missed' });
      await victimBack(vic, 1);
      // a second, fresh client replays the very CONNECT the victim sent
      await assertCleanSession(ctx, { pid: info._pid, offset: info.offset }, info, ['ra']);
      assert.equal(v.connected, true, 'the recovered client is still connected');
      assert.equal(v.id, info.id);
      await until(() => vic.leaks.length === 2, 3000, 'the recovered client getting the probe of its room');
    });

    it("a connected socket's (pid, offset) gives another client nothing of it", async function () {
      const v = await recoverable(ctx, { rooms: ['rc'] });
      const leaks = record(v, 'leak');
      const info = { id: v.id, _pid: v._pid };
      await assertCleanSession(ctx, { pid: v._pid, offset: v._lastOffset }, info, ['rc']);
      assert.equal(v.connected, true);
      assert.equal(v.id, info.id);
      await until(() => leaks.length === 1, 3000, 'the genuine member getting the probe of its room');
    });

    it('a client namespace disconnect (socket.disconnect()) is not recoverable', async function () {
      const s = await recoverable(ctx, { rooms: ['rd'] });
      const id = s.id;
      const pid = s._pid;
      const log = recordAny(s);
      s.disconnect();
      await sleep(100);
      await post(ctx, { rooms: ['rd'], event: 'leak', data: 'missed' });
      await comeBack(s); // CONNECT carries the old {pid, offset}
      assert.equal(s.recovered, false);
      assert.notEqual(s.id, id);
      assert.notEqual(s._pid, pid);
      await assertGetsNothing(ctx, s, log, [{ rooms: ['rd'], event: 'leak', data: 'after' }]);
    });

    it('the server is still serving: a new client subscribes, receives, and recovers', async function () {
      const s = await recoverable(ctx, { rooms: ['end'] });
      const id = s.id;
      const pid = s._pid;
      const got = record(s, 'fin');
      await goAway(s);
      await post(ctx, { rooms: ['end'], event: 'fin', data: 1 });
      await comeBack(s);
      assertRecovered(s, id, pid);
      await until(() => got.length === 1, 3000, 'the replay');
    });
  });
});
