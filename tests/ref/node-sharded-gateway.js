'use strict';
/*
 * A Node.js socket.io 4.8 + @socket.io/redis-adapter 8.3 node on Redis *sharded*
 * Pub/Sub (createShardedAdapter: SSUBSCRIBE / SPUBLISH, Redis >= 7.0), behaving like
 * sio-server for clients, so a mixed cluster of sio and Node nodes looks the same to them:
 *   - `subscribe` / `unsubscribe` (a room or an array) acked {ok:true, rooms:[...]};
 *     `subscribe` is acked once the adapter's SSUBSCRIBEs for the new rooms were
 *     answered (at most 3 s), so a broadcast sent after the ack reaches the socket;
 *   - `publish` {room, event, data} -> socket.to(room).emit(event, data), acked {ok:true};
 *   - no connection state recovery (the sharded ClusterAdapter does not support it).
 *
 *   node tests/ref/node-sharded-gateway.js --port P --control C --redis redis://127.0.0.1:6379
 *        [--node-id ID] [--cluster [--seeds 127.0.0.1:7000,127.0.0.1:7001,...]]
 *        [--subscription-mode dynamic|static|dynamic-private] [--ca ca.crt] [--cluster-workarounds]
 *
 *   --redis     redis[s]://[[user]:password@]host:port. Without --cluster: pub is
 *               createClient({url}) and sub pub.duplicate() (one Redis 7).
 *   --cluster   pub and sub are node-redis createCluster({rootNodes, defaults: {username,
 *               password, socket: {tls, ca}}}); the root nodes are --seeds, else the
 *               host:port of --redis (credentials and TLS always come from --redis).
 *   --subscription-mode  createShardedAdapter's subscriptionMode (default dynamic):
 *               dynamic: one channel per public room (socket.io#<nsp>#<room>#) plus
 *               socket.io#<nsp>#; static: socket.io#<nsp># only; dynamic-private:
 *               private rooms (socket ids) get their own channel too.
 *   --ca        CA certificate (PEM file) to verify a rediss:// server.
 *   --cluster-workarounds  (with --cluster; off by default, so that the node behaves as
 *               a plain node-redis 4.7 deployment does) works around two node-redis 4.7 bugs
 *               and a third problem that the adapter has on top of node-redis:
 *               - a slot migration: the old owner SUNSUBSCRIBEs its clients from the slot's
 *                 channels; the node client emits 'sharded-channel-moved' but the cluster
 *                 listens for 'server-sunsubscribe' (redis/node-redis#3311), so the channel is
 *                 dropped for good. Here each sharded Pub/Sub node client's
 *                 'sharded-channel-moved' SSUBSCRIBEs the channel again through the cluster
 *                 client (MOVED -> new slot map -> the new owner);
 *               - a failover: the slot map is learnt again only on MOVED/ASK
 *                 (redis/node-redis#2806), so the clients reconnect to the dead primary for
 *                 ever (SPUBLISHes to its shard are queued, its SSUBSCRIBEs lost,
 *                 serverCount() hangs). Here, once connection errors have lasted 1.5 s and a
 *                 seed's CLUSTER SLOTS no longer names a failing address, pub and sub are
 *                 replaced by new cluster clients (sub SSUBSCRIBEs every channel again) and
 *                 the old ones are disconnected;
 *               - the adapter's serverCount() sums PUBSUB SHARDNUMSUB over
 *                 the cluster client's `masters`, which lists a primary once per slot range
 *                 (CLUSTER SLOTS): once a migration has split a primary's range, the servers
 *                 are over-counted and every fetchSockets / serverSideEmitWithAck waits for
 *                 answers that never come (timeout). Here `masters` has each primary once.
 * Start-up: Redis first, then the adapter's subscriptions of namespace / (waited for,
 * at most 5 s), then the control port, then the Socket.IO port (tests wait for the
 * latter). Nothing is printed on stdout; errors go to stderr (a repeated one once per 5 s).
 *
 * The control port (HTTP on 127.0.0.1, JSON bodies):
 *   POST /  (or /emit)  {nsp?, room?, rooms?, except?, event, data?, args?}
 *                       io.of(nsp).to(rooms).except(except).emit(event, ...args)
 *                       (data is one argument, args a list of them); answers {"ok":true}
 *   GET  /sockets       -> [socket ids of this node] (namespace / or ?nsp=)
 *   GET  /cluster       -> {sockets: io.fetchSockets(), sse: serverSideEmitWithAck results,
 *                           acks: io.emitWithAck('please-ack', 7) results, ms}
 *   POST /fetchSockets  {nsp?, rooms?}  -> [{id, rooms, address}]
 *   POST /socketsJoin   {nsp?, rooms?, join}      POST /socketsLeave {nsp?, rooms?, leave}
 *   POST /disconnectSockets {nsp?, rooms?, close}
 *   POST /serverSideEmitWithAck {event, args}     -> responses
 *   POST /emitWithAck   {nsp?, rooms?, event, args, timeout}  -> the clients' acks
 *   GET  /allRooms      -> 501: the sharded adapter cannot list the cluster's rooms
 *   GET  /subscriptions -> {pending, failed, lastError}: the adapter's SSUBSCRIBEs, and
 *                       serverCount: what the adapter counts (null if no answer in 2 s)
 * Server-side events: 'ping-servers' is answered null (as sio nodes do), so
 * GET /cluster between Node nodes does not wait for the adapter's timeout;
 * 'serverSideEmitTest' is answered 'node-ack' (as tests/ref/node-gateway.js does).
 * Binary values are sent as {"$bin": "<base64>"} in JSON and become Buffers.
 */
const fs = require('node:fs');
const http = require('node:http');
const { Server } = require('socket.io');
const { createShardedAdapter } = require('@socket.io/redis-adapter');
const { createClient, createCluster } = require('redis');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(name);
const port = Number(arg('--port', 3000));
const controlPort = Number(arg('--control', 3010));
const redisUrl = arg('--redis', 'redis://127.0.0.1:6379');
const nodeId = arg('--node-id', `node-${process.pid}`);
const clusterMode = flag('--cluster');
const seeds = arg('--seeds');
const subscriptionMode = arg('--subscription-mode', 'dynamic');
const caFile = arg('--ca');
const workarounds = flag('--cluster-workarounds');

const lastLogged = new Map();
const logError = (what, e) => {
  const msg = `${what}: ${e && e.stack ? e.stack : e}`;
  const now = Date.now();
  if (now - (lastLogged.get(msg) || 0) < 5000) return; // a reconnect loop repeats itself
  lastLogged.set(msg, now);
  console.error(`[node-sharded-gateway ${nodeId}] ${msg}`);
};
process.on('unhandledRejection', (e) => logError('unhandled rejection', e));

if (!['dynamic', 'static', 'dynamic-private'].includes(subscriptionMode)) {
  logError('start-up', `--subscription-mode ${subscriptionMode}: dynamic, static or dynamic-private`);
  process.exit(2);
}

const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    if (typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};
const binOut = (v) => (Buffer.isBuffer(v && v.bin) ? { ...v, bin: { $bin: v.bin.toString('base64') } } : v);

const roomList = (rooms) => (Array.isArray(rooms) ? rooms : [rooms]).filter((r) => typeof r === 'string');

/** pub and sub: two cluster clients, or a client and its duplicate. */
function redisClients() {
  const u = new URL(redisUrl);
  const tls = u.protocol === 'rediss:';
  const ca = caFile ? fs.readFileSync(caFile) : undefined;
  if (!clusterMode) {
    const pub = createClient({ url: redisUrl, ...(ca ? { socket: { ca } } : {}) });
    return { pub, sub: pub.duplicate() };
  }
  const list = seeds ? seeds.split(',').map((s) => s.trim()).filter(Boolean) : [`${u.hostname}:${u.port || 6379}`];
  const rootNodes = list.map((s) => {
    const i = s.lastIndexOf(':');
    return { socket: { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) } };
  });
  const defaults = { socket: tls ? { tls: true, ...(ca ? { ca } : {}) } : {} };
  if (u.username) defaults.username = decodeURIComponent(u.username);
  if (u.password) defaults.password = decodeURIComponent(u.password);
  const make = () => createCluster({ rootNodes, defaults });
  if (!workarounds) return { pub: make(), sub: make() };
  // CLUSTER SLOTS of the first seed that answers (one connection attempt per seed)
  const probe = async () => {
    for (const root of rootNodes) {
      const c = createClient({ ...defaults, socket: { ...defaults.socket, ...root.socket, reconnectStrategy: false, connectTimeout: 1000 } });
      c.on('error', () => {});
      try {
        await c.connect();
        return await c.clusterSlots();
      } catch (_) {
        // the next seed
      } finally {
        c.disconnect().catch(() => {});
      }
    }
    return null;
  };
  return { pub: new RecoveringCluster(make, probe, 'pub'), sub: new RecoveringCluster(make, probe, 'sub') };
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|Socket closed unexpectedly|Connection timeout/;

const withTimeout = (p, ms, what) => {
  let timer;
  return Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
};

/**
 * --cluster-workarounds: what the adapter uses of a node-redis cluster client
 * (sPublish, sSubscribe, sUnsubscribe, masters for PUBSUB SHARDNUMSUB) over a cluster
 * client that resubscribes a channel moved by a slot migration and is replaced after a
 * failover (see the header). Its class name must not be "Cluster": the adapter would
 * take it for ioredis.
 */
class RecoveringCluster {
  constructor(make, probe, name) {
    this.make = make;
    this.probe = probe;
    this.name = name;
    this.client = null;
    this.channels = new Map(); // channel -> [listener, bufferMode]
    this.failing = new Map(); // "ip:port" -> time of its last connection error
    this.errorSince = 0;
    this.lastError = 0;
    this.replacing = false;
    this.closed = false;
    this.listeners = [];
    this.hooked = new WeakSet();
    this.replacements = 0;
    this.resubscribed = 0;
  }

  on(event, fn) {
    this.listeners.push([event, fn]);
    if (this.client) this.client.on(event, fn);
    return this;
  }

  attach(client) {
    for (const [event, fn] of this.listeners) client.on(event, fn);
    client.on('error', (e) => {
      if (client !== this.client || !CONNECTION_ERROR.test(String(e && (e.code || e.message)))) return;
      const now = Date.now();
      if (!this.errorSince || now - this.lastError > 3000) this.errorSince = now;
      this.lastError = now;
      if (e.address && e.port) this.failing.set(`${e.address}:${e.port}`, now);
    });
  }

  async connect() {
    this.client = this.make();
    this.attach(this.client);
    await this.client.connect();
    this.timer = setInterval(() => this.check(), 500);
    this.timer.unref();
  }

  /** A 'sharded-channel-moved' listener on every sharded Pub/Sub node client (once each). */
  hookMoved() {
    for (const node of this.client.masters) {
      const pc = node.pubSubClient;
      if (!pc) continue;
      Promise.resolve(pc).then((c) => {
        if (this.hooked.has(c)) return;
        this.hooked.add(c);
        c.on('sharded-channel-moved', (channel) => this.resubscribe(channel));
      }, () => {});
    }
  }

  resubscribe(channel, attempt = 0) {
    const entry = this.channels.get(channel);
    if (!entry || this.closed) return;
    this.client.sSubscribe(channel, entry[0], entry[1]).then(() => {
      this.resubscribed += 1;
      this.hookMoved();
    }, (e) => {
      logError(`redis ${this.name} resubscribing ${channel}`, e);
      if (attempt < 10) setTimeout(() => this.resubscribe(channel, attempt + 1), 500);
    });
  }

  check() {
    const now = Date.now();
    if (this.closed || this.replacing || !this.errorSince || now - this.lastError > 1000 || now - this.errorSince < 1500) return;
    this.replacing = true;
    this.replace().then((done) => {
      if (!done) return;
      this.errorSince = 0;
      this.failing.clear();
      this.replacements += 1;
      logError(`redis ${this.name}`, `cluster client replaced after connection errors (${this.replacements})`);
    }, (e) => {
      logError(`redis ${this.name} replacement`, e);
    }).finally(() => { this.replacing = false; });
  }

  /** false while a seed's slot map still names an address that fails (the failover is not over). */
  async replace() {
    const slots = await this.probe();
    if (!slots) return false;
    const recent = Date.now() - 1500;
    if (slots.some(({ master }) => (this.failing.get(`${master.ip}:${master.port}`) || 0) > recent)) return false;
    const next = this.make();
    this.attach(next);
    try {
      await withTimeout(next.connect(), 3000, 'connect');
      await withTimeout(Promise.all([...this.channels].map(([ch, [listener, bufferMode]]) => next.sSubscribe(ch, listener, bufferMode))),
        3000, 'SSUBSCRIBE');
    } catch (e) {
      next.disconnect().catch(() => {});
      throw e;
    }
    const old = this.client;
    this.client = next;
    this.hookMoved();
    old.disconnect().catch(() => {});
    return true;
  }

  /** One entry per primary (node-redis lists a primary once per slot range it owns). */
  get masters() { return [...new Map(this.client.masters.map((n) => [n.address, n])).values()]; }

  sPublish(channel, message) { return this.client.sPublish(channel, message); }

  sSubscribe(channel, listener, bufferMode) {
    this.channels.set(channel, [listener, bufferMode]);
    const p = this.client.sSubscribe(channel, listener, bufferMode);
    p.then(() => this.hookMoved(), () => {});
    return p;
  }

  sUnsubscribe(channel, listener, bufferMode) {
    this.channels.delete(channel);
    return this.client.sUnsubscribe(channel, listener, bufferMode);
  }

  quit() { this.closed = true; clearInterval(this.timer); return this.client.quit(); }

  disconnect() { this.closed = true; clearInterval(this.timer); return this.client.disconnect(); }
}

/**
 * The adapter does not wait for (nor catch) its SSUBSCRIBEs: every one is tracked
 * here, so the start-up and the `subscribe` ack can wait for them, and a failure is
 * logged instead of being an unhandled rejection.
 */
function trackSubscriptions(sub) {
  const state = { pending: new Set(), failed: 0, lastError: null };
  const orig = sub.sSubscribe.bind(sub);
  sub.sSubscribe = (...a) => {
    const p = Promise.resolve().then(() => orig(...a));
    state.pending.add(p);
    p.catch((e) => {
      state.failed += 1;
      state.lastError = String(e && e.message || e);
      logError(`SSUBSCRIBE ${a[0]}`, e);
    }).finally(() => state.pending.delete(p));
    return p;
  };
  state.settled = (ms) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    Promise.allSettled([...state.pending]).then(() => { clearTimeout(timer); resolve(true); });
  });
  return state;
}

let subs;

function setupNamespace(nsp) {
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (rooms, ack) => {
      const list = roomList(rooms);
      socket.join(list); // the adapter's SSUBSCRIBEs for new rooms start here (dynamic modes)
      subs.settled(3000).then(() => {
        if (typeof ack === 'function') ack({ ok: true, rooms: list });
      });
    });
    socket.on('unsubscribe', (rooms, ack) => {
      const list = roomList(rooms);
      list.forEach((r) => socket.leave(r));
      if (typeof ack === 'function') ack({ ok: true, rooms: list });
    });
    socket.on('publish', (req, ack) => {
      if (!req || typeof req.room !== 'string' || typeof req.event !== 'string') {
        if (typeof ack === 'function') ack({ ok: false, error: 'invalid publish' });
        return;
      }
      socket.to(req.room).emit(req.event, req.data);
      if (typeof ack === 'function') ack({ ok: true });
    });
    socket.on('error', (e) => logError(`socket ${socket.id}`, e));
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function main() {
  const { pub, sub } = redisClients();
  pub.on('error', (e) => logError('redis pub', e));
  sub.on('error', (e) => logError('redis sub', e));
  // node-redis (cluster): a sharded channel moved by a slot migration could not be resubscribed
  sub.on('sharded-shannel-moved-error', (e, channel) => logError(`resubscribing ${channel}`, e));
  await Promise.all([pub.connect(), sub.connect()]);
  subs = trackSubscriptions(sub);

  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createShardedAdapter(pub, sub, { subscriptionMode }),
    cors: { origin: '*' },
  });
  io.engine.on('connection_error', (e) => logError('engine connection_error', `${e.code} ${e.message}`));
  setupNamespace(io.of('/'));
  setupNamespace(io.of(/^\/tournament-\d+$/));
  io.on('serverSideEmitTest', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack('node-ack');
  });
  io.on('ping-servers', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(null);
  });
  if (!(await subs.settled(5000))) logError('start-up', 'the adapter\'s SSUBSCRIBEs are not answered after 5 s');

  const control = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      const url = new URL(req.url, 'http://x');
      let q = {};
      try { q = body ? revive(JSON.parse(body)) : {}; } catch (e) { json(res, 400, { ok: false, error: 'invalid JSON' }); return; }
      const nsp = io.of(q.nsp || url.searchParams.get('nsp') || '/');
      const rooms = roomList(q.rooms !== undefined ? q.rooms : q.room !== undefined ? q.room : []);
      const except = roomList(q.except !== undefined ? q.except : []);
      let op = nsp;
      if (rooms.length) op = op.to(rooms);
      if (except.length) op = op.except(except);
      const args = Array.isArray(q.args) ? q.args : q.data !== undefined ? [q.data] : [];
      try {
        let out = { ok: true };
        // POST / and /emit; GET /sockets and /cluster; the others with any method (as node-gateway.js)
        const route = url.pathname === '/' || url.pathname === '/emit' ? `${req.method} /emit`
          : url.pathname === '/sockets' || url.pathname === '/cluster' ? `${req.method} ${url.pathname}` : url.pathname;
        switch (route) {
          case 'POST /emit':
            if (typeof q.event !== 'string') { json(res, 400, { ok: false, error: 'event is required' }); return; }
            op.emit(q.event, ...args);
            break;
          case 'GET /sockets': out = [...nsp.sockets.keys()]; break;
          case 'GET /cluster': {
            // the adapter's requests across the cluster, each bounded by a timeout
            const t0 = Date.now();
            const sockets = await io.fetchSockets();
            const sse = await io.serverSideEmitWithAck('ping-servers', 1); // the adapter's timeout (5 s)
            const acks = await io.timeout(3000).emitWithAck('please-ack', 7);
            out = {
              sockets: sockets.map((x) => ({ id: x.id, rooms: [...x.rooms], address: x.handshake.address })),
              sse, acks: acks.map(binOut), ms: Date.now() - t0,
            };
            break;
          }
          case '/fetchSockets':
            out = (await op.fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms], address: s.handshake.address }));
            break;
          case '/socketsJoin': op.socketsJoin(q.join); break;
          case '/socketsLeave': op.socketsLeave(q.leave); break;
          case '/disconnectSockets': op.disconnectSockets(!!q.close); break;
          case '/allRooms':
            json(res, 501, { error: 'allRooms is not supported by the sharded adapter' });
            return;
          case '/serverSideEmitWithAck': out = await io.serverSideEmitWithAck(q.event, ...(q.args || [])); break;
          case '/emitWithAck':
            out = (await op.timeout(q.timeout || 3000).emitWithAck(q.event, ...(q.args || []))).map(binOut);
            break;
          case '/subscriptions': {
            // serverCount(): PUBSUB SHARDNUMSUB socket.io#<nsp># summed over the primaries the
            // pub client knows (it never answers while one of them is unreachable)
            const count = await Promise.race([nsp.adapter.serverCount(), new Promise((r) => setTimeout(() => r(null), 2000))]);
            out = { pending: subs.pending.size, failed: subs.failed, lastError: subs.lastError, serverCount: count };
            if (pub instanceof RecoveringCluster) out.workarounds = { replacements: pub.replacements + sub.replacements, resubscribed: sub.resubscribed };
            break;
          }
          default: res.writeHead(404).end(); return;
        }
        json(res, 200, out);
      } catch (e) {
        logError(`control ${req.method} ${req.url}`, e);
        json(res, 500, { error: String(e && e.message || e) });
      }
    });
  });
  // the control port first: a test waits for the Socket.IO port, then uses both;
  // a port that cannot be bound stops the start-up (exit 1)
  const listen = (server, p) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (e) => logError(`server on port ${p}`, e));
      resolve();
    });
  });
  await listen(control, controlPort);
  await listen(httpServer, port);

  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) process.exit(0); // a second SIGTERM exits at once
    stopping = true;
    const guard = setTimeout(() => { logError('shutdown', 'still running after 5 s'); process.exit(1); }, 5000);
    try {
      // io.close() SUNSUBSCRIBEs the adapter's channels (a dead shard would not answer)
      await Promise.race([io.close(), new Promise((r) => setTimeout(r, 2000))]);
    } catch (e) {
      logError('io.close', e);
    }
    control.close();
    await Promise.race([Promise.allSettled([pub.quit(), sub.quit()]), new Promise((r) => setTimeout(r, 2000))]);
    clearTimeout(guard);
    process.exit(0);
  });
}

main().catch((e) => {
  logError('start-up', e);
  process.exit(1);
});
