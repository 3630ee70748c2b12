'use strict';
/*
 * loadtest/bench --sharded: the same fan-out through classic pub/sub on 1 Redis, sharded
 * pub/sub (SSUBSCRIBE / SPUBLISH) on 1 Redis and sharded pub/sub on a Redis Cluster of 3
 * shards (3 primaries, no replicas), and, for comparison, Node socket.io 4 with
 * createShardedAdapter (tests/ref/node-sharded-gateway.js) on the same cluster. One
 * topology at a time, each on fresh Redis processes:
 *
 *   pubsub    2 sio nodes, REDIS_ADAPTER=pubsub, 1 redis-server (the baseline)
 *   sharded   2 sio nodes, REDIS_ADAPTER=sharded, 1 redis-server
 *   cluster   2 sio nodes, REDIS_ADAPTER=sharded REDIS_CLUSTER=true, REDIS_URL = one node
 *             of a 3-shard Redis Cluster (sio discovers the slot map)
 *   node      2 Node socket.io nodes, createShardedAdapter over node-redis createCluster,
 *             the same 3-shard cluster kind (full run: also node1, on 1 redis-server)
 *
 * Workload, the same for each: sio-bench clients spread round-robin over the 2 nodes, each
 * in one of 300 rooms picked at random (--dist k:1, so every room has members on both nodes
 * and the rooms' channels spread over the shards' slots); broadcasts to the rooms
 * (round-robin over the 300) through node 1's HTTP API (sio: POST /v1/broadcast; Node: the
 * gateway's POST /emit), stamped with the publish time, at increasing rates until a step
 * fails (p99 >= 50 ms, a loss, an API failure or a publisher that fell behind), then
 * bisected. Per step: latency (publish -> client receipt), deliveries, and over a window of
 * the steady publishing period the CPU of every Redis process (utime + stime from
 * /proc/<pid>/stat, and taskstats run time), of the nodes, of sio-bench and of the rest of
 * the machine; INFO commandstats of each shard (SPUBLISH / PUBLISH per shard); the shard
 * channels each shard holds (PUBSUB SHARDCHANNELS / PUBSUB CHANNELS).
 *
 * Every process is tracked by proc.js (stopped at the end, on errors and signals, and
 * with the bench by a parent-death signal). Every wait is bounded.
 */
const fs = require('node:fs');
const path = require('node:path');
const {
  HOST, CLK_TCK, spawnTracked, stopProc, freePorts, waitPort, sleep, cpuTicks, systemBusy, childrenOf, httpGet, cleanEnv } = require('./proc');
const { startRedis, PREFIX } = require('./cluster');
const { runSioBench, deliveriesAt } = require('./siobench');
const { taskstats, taskstatsAvailable } = require('./metrics');
const { respConnect, commandStats, statsDelta, infoFields } = require('./resp');

const log = (msg) => console.error(`bench: ${msg}`);

const TOPOLOGIES = {
  pubsub: { kind: 'sio', adapter: 'pubsub', shards: 1, label: 'sio, pubsub, 1 Redis (baseline)' },
  sharded: { kind: 'sio', adapter: 'sharded', shards: 1, label: 'sio, sharded, 1 Redis' },
  cluster: { kind: 'sio', adapter: 'sharded', shards: 3, label: 'sio, sharded, 3-shard cluster' },
  node1: { kind: 'node', adapter: 'sharded', shards: 1, label: 'Node, sharded, 1 Redis' },
  node: { kind: 'node', adapter: 'sharded', shards: 3, label: 'Node, sharded, 3-shard cluster' },
};
const SHARDED_PHASES = Object.keys(TOPOLOGIES);


/* ---- Redis: 1 server or a cluster of N primaries ----------------------------- */

async function clusterInfo(port) {
  let r = null;
  try {
    r = await respConnect(port, { timeoutMs: 2000 });
    return infoFields(await r.cmd('CLUSTER', 'INFO'));
  } catch (e) {
    return { error: e.message };
  } finally {
    if (r) r.close();
  }
}

/**
 * N redis-server processes with cluster-enabled on loopback (each its own data port and
 * cluster bus port, --cluster-port: the default bus port, port + 10000, may be taken by
 * another job), `redis-cli --cluster create` (no replicas), then until every node says
 * cluster_state:ok with all 16,384 slots assigned and knows the N nodes (15 s at most).
 */
async function startRedisCluster(ctx, shards) {
  const dir = fs.mkdtempSync(path.join(ctx.tmp, 'redis-cluster-'));
  const c = { nodes: [], dir, shards };
  c.stop = async () => {
    await Promise.all(c.nodes.map((n) => stopProc(n.p, 3000)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  try {
    for (let i = 0; i < shards; i++) {
      const [port, bus] = await freePorts(2);
      const ndir = path.join(dir, `node-${i + 1}`);
      fs.mkdirSync(ndir);
      const p = spawnTracked(`redis-cluster#${i + 1}`, ctx.redisBin, [
        '--bind', HOST, '--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus),
        '--cluster-config-file', path.join(ndir, 'nodes.conf'), '--save', '', '--appendonly', 'no', '--dir', ndir,
        '--daemonize', 'no', '--loglevel', 'warning', '--maxclients', '1000',
      ], { logFile: path.join(ctx.tmp, `redis-cluster-${i + 1}-${port}.log`) });
      c.nodes.push({ p, pid: p.pid, port, bus, dir: ndir });
    }
    for (const n of c.nodes) await waitPort(n.port, 5000, n.p);
    const cli = spawnTracked('redis-cli --cluster create', ctx.redisCli, [
      '--cluster', 'create', ...c.nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes',
    ], { logFile: path.join(ctx.tmp, 'redis-cluster-create.log') });
    const guard = setTimeout(() => stopProc(cli, 1000), 20000);
    const ex = await cli.exited;
    clearTimeout(guard);
    if (ex.code !== 0) throw new Error(`redis-cli --cluster create exited ${JSON.stringify(ex)}:\n${(cli.stdout + cli.stderr).slice(-1500)}`);
    const end = Date.now() + 15000;
    let last = '';
    for (;;) {
      const infos = await Promise.all(c.nodes.map((n) => clusterInfo(n.port)));
      const bad = infos.findIndex((x) => x.error || x.cluster_state !== 'ok' || Number(x.cluster_slots_assigned) !== 16384 ||
        Number(x.cluster_known_nodes) !== shards);
      if (bad < 0) break;
      const x = infos[bad];
      last = `:${c.nodes[bad].port}: ${x.error || `cluster_state:${x.cluster_state} slots_assigned:${x.cluster_slots_assigned} known_nodes:${x.cluster_known_nodes}`}`;
      if (Date.now() > end) throw new Error(`Redis Cluster not ok within 15 s (${last})`);
      await sleep(100);
    }
    /* the slots each primary owns */
    const r = await respConnect(c.nodes[0].port);
    try {
      const slots = await r.cmd('CLUSTER', 'SLOTS');
      for (const n of c.nodes) {
        n.slots = slots.filter((s) => Number(s[2][1]) === n.port).reduce((a, s) => a + Number(s[1]) - Number(s[0]) + 1, 0);
      }
    } finally {
      r.close();
    }
    c.url = `redis://${HOST}:${c.nodes[0].port}`;
    c.seeds = c.nodes.map((n) => `${HOST}:${n.port}`).join(',');
    c.startMs = Date.now() - t0;
    for (const n of c.nodes) if (n.p.exit) throw new Error(`${n.p.name} exited: ${n.p.stderr.slice(-1000)}`);
    return c;
  } catch (e) {
    await c.stop();
    throw e;
  }
}

/** {nodes: [{p, pid, port, slots}], url, seeds, stop()}: 1 redis-server or a cluster. */
async function startRedisSet(ctx, shards) {
  if (shards > 1) return startRedisCluster(ctx, shards);
  const r = await startRedis(ctx);
  return {
    nodes: [{ p: r.p, pid: r.pid, port: r.port, slots: null, dir: r.dir }],
    url: r.url,
    seeds: `${HOST}:${r.port}`,
    shards: 1,
    startMs: null,
    stop: async () => { await stopProc(r.p, 3000); fs.rmSync(r.dir, { recursive: true, force: true }); },
  };
}

/* ---- the nodes ---------------------------------------------------------------- */

async function startSioNode(ctx, topo, redis, index) {
  const [port, apiPort] = await freePorts(2);
  const name = `sio-server#${topo.name}-${index}`;
  const logFile = path.join(ctx.tmp, `sharded-${topo.name}-sio-${index}-${port}.log`);
  const p = spawnTracked(name, ctx.sioServer, [], {
    env: {
      ...cleanEnv(),
      PORT: String(port), API_PORT: String(apiPort), BIND_ADDR: HOST, API_BIND_ADDR: HOST,
      REDIS_URL: redis.url, REDIS_ADAPTER: topo.adapter, REDIS_CLUSTER: topo.shards > 1 ? 'true' : undefined,
      REDIS_PREFIX: PREFIX, RECOVERY_WINDOW_MS: '0', LOG_LEVEL: 'warn', DRAIN_SECONDS: '0',
      NODE_ID: `bench-${topo.name}-${index}`,
    },
    logFile,
  });
  await waitPort(port, 15000, p);
  await waitPort(apiPort, 15000, p);
  const node = { p, pid: p.pid, port, apiPort, index, logFile, url: `ws://${HOST}:${port}/socket.io/`, api: `http://${HOST}:${apiPort}/v1/broadcast` };
  /* every Redis connection up (every shard with a cluster) before traffic */
  const end = Date.now() + 10000;
  let h = null;
  while (Date.now() < end) {
    const r = await httpGet(apiPort, '/health');
    try { h = JSON.parse(r.body); } catch (_) { h = null; }
    if (h && h.redis === 'up') break;
    await sleep(100);
  }
  if (!h || h.redis !== 'up') throw new Error(`${name}: Redis not up within 10 s (health ${JSON.stringify(h)})`);
  return node;
}

async function startNodeNode(ctx, topo, redis, index) {
  const [port, control] = await freePorts(2);
  const name = `node-sharded-gateway#${topo.name}-${index}`;
  const logFile = path.join(ctx.tmp, `sharded-${topo.name}-node-${index}-${port}.log`);
  const args = [ctx.nodeShardedGateway, '--port', String(port), '--control', String(control), '--redis', redis.url,
    '--node-id', `bench-${topo.name}-${index}`];
  if (topo.shards > 1) args.push('--cluster', '--seeds', redis.seeds);
  const p = spawnTracked(name, ctx.nodeBin, args, { logFile, cwd: ctx.root });
  await waitPort(port, 20000, p);
  return { p, pid: p.pid, port, apiPort: control, index, logFile, url: `ws://${HOST}:${port}/socket.io/`, api: `http://${HOST}:${control}/emit` };
}

/** Fresh Redis (1 server or a cluster), 2 nodes of the topology's kind; stop() ends all. */
async function startTopology(ctx, name) {
  const topo = { name, ...TOPOLOGIES[name], redis: null, nodes: [], resp: [] };
  topo.stop = async () => {
    for (const r of topo.resp) r.close();
    await Promise.all(topo.nodes.map((n) => stopProc(n.p, 5000)));
    if (topo.redis) await topo.redis.stop();
  };
  try {
    topo.redis = await startRedisSet(ctx, topo.shards);
    for (let i = 1; i <= ctx.params.sharded.nodes; i++) {
      topo.nodes.push(await (topo.kind === 'sio' ? startSioNode : startNodeNode)(ctx, topo, topo.redis, i));
    }
    await sleep(500);
    for (const n of topo.nodes) if (n.p.exit) throw new Error(`${n.p.name} exited at start: ${n.p.stderr.slice(-2000)}`);
    for (const n of topo.redis.nodes) topo.resp.push(await respConnect(n.port));
  } catch (e) {
    await topo.stop();
    throw e;
  }
  topo.alive = () => topo.nodes.every((n) => !n.p.exit) && topo.redis.nodes.every((n) => !n.p.exit);
  return topo;
}

/* ---- measurements -------------------------------------------------------------- */

function ticksOf(pid) {
  const c = cpuTicks(pid);
  return c ? (c.utime + c.stime) / CLK_TCK : NaN;
}

/** Voluntary context switches of a process's main thread: for redis-server, about its event loop's wake-ups. */
function wakeups(pid) {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch (_) {
    return NaN;
  }
}

/** Our own commands to Redis, left out of the counts */
const OWN = new Set(['info', 'cluster|info', 'cluster|slots', 'cluster|nodes', 'pubsub|shardchannels', 'pubsub|channels', 'pubsub|numpat', 'ping']);

/**
 * CPU of every process of the topology and sio-bench (taskstats run time and /proc
 * ticks), the machine's busy time, this script's CPU, then INFO commandstats of each
 * Redis process.
 */
async function snap(topo, benchPid) {
  const bpids = benchPid ? [benchPid, ...childrenOf(benchPid)] : [];
  const rpids = topo.redis.nodes.map((n) => n.pid);
  const npids = topo.nodes.map((n) => n.pid);
  const ts = await taskstats([...rpids, ...npids, ...bpids].map(String));
  const t = Date.now();
  const sys = systemBusy();
  const self = process.cpuUsage();
  const run = (pid) => (ts[String(pid)] ? ts[String(pid)].run_ns / 1e9 : ticksOf(pid));
  const redis = rpids.map((pid) => ({ ticks: ticksOf(pid), run: run(pid), wakeups: wakeups(pid) }));
  const nodes = npids.map((pid) => ({ ticks: ticksOf(pid), run: run(pid) }));
  const bench = bpids.map((pid) => ({ pid, run: run(pid) }));
  const stats = await Promise.all(topo.resp.map(async (r) => {
    try { return commandStats(await r.cmd('INFO', 'commandstats')); } catch (e) { return null; }
  }));
  return { t, sys, self, redis, nodes, bench, stats };
}

function snapDelta(a, b) {
  const wall = (b.t - a.t) / 1000;
  const redis = b.redis.map((x, i) => ({ ticks_s: x.ticks - a.redis[i].ticks, run_s: x.run - a.redis[i].run, wakeups: x.wakeups - a.redis[i].wakeups }));
  const nodes = b.nodes.map((x, i) => x.run - a.nodes[i].run);
  let bench = 0;
  for (const x of b.bench) {
    const y = a.bench.find((z) => z.pid === x.pid);
    if (Number.isFinite(x.run)) bench += x.run - (y && Number.isFinite(y.run) ? y.run : 0);
  }
  const self = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  const busy = (b.sys.busy - a.sys.busy) / CLK_TCK;
  const redisRun = redis.reduce((s, x) => s + x.run_s, 0);
  const nodesRun = nodes.reduce((s, x) => s + x, 0);
  const cmds = b.stats.map((s, i) => {
    if (!s || !a.stats[i]) return null;
    const d = statsDelta(a.stats[i], s);
    for (const k of Object.keys(d)) if (OWN.has(k)) delete d[k];
    return d;
  });
  return {
    wall, redis, nodes, bench, self, busy, cmds,
    other: Math.max(0, busy - redisRun - nodesRun - bench - self),
  };
}

/** The shard channels (sharded) or channels (pubsub) each Redis process holds now. */
async function channelCounts(topo) {
  return Promise.all(topo.resp.map(async (r) => {
    try {
      const list = await r.cmd('PUBSUB', topo.adapter === 'sharded' ? 'SHARDCHANNELS' : 'CHANNELS');
      return { all: list.length, rooms: list.filter((c) => /#room-\d+#$/.test(c)).length };
    } catch (e) {
      return { error: e.message };
    }
  }));
}

/** CPU used by everything but this topology and this script over ms (cores). */
async function otherLoad(topo, ms = 1000) {
  const pids = [...topo.nodes.map((n) => n.pid), ...topo.redis.nodes.map((n) => n.pid)];
  const mine = () => pids.reduce((s, pid) => s + (ticksOf(pid) || 0), 0);
  const s0 = systemBusy();
  const m0 = mine();
  const p0 = process.cpuUsage();
  await sleep(ms);
  const s1 = systemBusy();
  const m1 = mine();
  const p1 = process.cpuUsage(p0);
  return Math.max(0, (s1.busy - s0.busy) / CLK_TCK - (m1 - m0) - (p1.user + p1.system) / 1e6) / (ms / 1000);
}

/** Waits (bounded) until other jobs use less than `limit` cores; returns the last reading. */
async function waitQuiet(topo, maxMs, limit = 0.15) {
  const end = Date.now() + maxMs;
  let other = await otherLoad(topo);
  while (other > limit && Date.now() < end) other = await otherLoad(topo);
  if (other > limit) log(`sharded: ${topo.name}: the machine is busy (other jobs: ${other.toFixed(2)} cores); going on`);
  return other;
}

/** Resolves after ms with fn()'s value (errors become {error}). */
function at(ms, fn) {
  return new Promise((resolve) => {
    setTimeout(async () => {
      try { resolve(await fn()); } catch (e) { resolve({ error: e.message }); }
    }, Math.max(0, ms));
  });
}

/** A step passes when every client connected, p99 < 50 ms, nothing was lost and every broadcast was published on time. */
function verdict(r, clients) {
  const why = [];
  if (r.connections.ready !== clients) why.push(`${r.connections.ready} of ${clients} connected`);
  if (r.errors.total) why.push(`${r.errors.total} client errors`);
  if (!(r.latency_us && r.latency_us.count > 0 && r.latency_us.p99 < 50000)) why.push(`p99 ${r.latency_us ? (r.latency_us.p99 / 1000).toFixed(1) : '?'} ms`);
  if (r.delivery.losses) why.push(`${r.delivery.losses} lost`);
  if (r.delivery.duplicates || r.delivery.order_ok === false) why.push('duplicates or out of order');
  const pub = r.published;
  if (!pub || pub.failed) why.push(`${pub ? pub.failed : '?'} API broadcasts failed`);
  else if (pub.ok < pub.planned || pub.max_backlog > Math.max(10, pub.planned / 100)) why.push(`publisher behind (${pub.ok} of ${pub.planned}, backlog up to ${pub.max_backlog})`);
  return why;
}

/** API connections of sio-bench for a rate: its HTTP publisher does ~250 requests/s per connection here. */
const apiConns = (rate) => Math.min(1000, Math.max(16, Math.ceil(rate / 100)));

/** One step: sio-bench at `rate` broadcasts/s, with a CPU window inside the publishing period. */
async function stepRun(ctx, topo, rate, { duration, drain, skip, label, quietMs }) {
  const P = ctx.params.sharded;
  const otherBefore = await waitQuiet(topo, quietMs);
  let win = null;
  const winLen = Math.max(1, duration - 0.5 - skip);
  const args = [...topo.nodes.flatMap((n) => ['--url', n.url]), '-c', String(P.clients), '--workers', String(P.workers),
    '--rooms', String(P.rooms), '--dist', P.dist, '--rate', String(rate), '--duration', String(duration),
    '--drain', String(drain), '--api', topo.nodes[0].api, '--api-conns', String(apiConns(rate)), '--ramp-timeout', '60'];
  const run = await runSioBench(ctx, args, {
    label,
    onMain: (t0, mode, pid) => {
      const a = at(skip * 1000, async () => ({ s: await snap(topo, pid), ch: await channelCounts(topo) }));
      const b = at((skip + winLen) * 1000, () => snap(topo, pid));
      win = Promise.all([a, b]);
    },
  });
  const [wa, wb] = win ? await win : [null, null];
  const r = run.result;
  const why = verdict(r, P.clients);
  const secs = (r.published && r.published.secs) || duration;
  const kept = why.length === 0 || (r.delivery.losses === 0 && r.published && r.published.ok === r.published.planned && r.latency_us.p99 < 1e6);
  const out = {
    rate, duration_s: duration, api_conns: apiConns(rate),
    pass: why.length === 0, why,
    other_before: otherBefore,
    ready: r.connections.ready, client_errors: r.errors.total, client_error_messages: r.errors.messages,
    subscriptions: r.delivery.subscriptions,
    published_ok: r.published ? r.published.ok : null, planned: r.published ? r.published.planned : null,
    published_failed: r.published ? r.published.failed : null, max_backlog: r.published ? r.published.max_backlog : null,
    api_errors: r.published ? r.published.errors : null,
    deliveries: r.delivery.deliveries, expected: r.delivery.expected, losses: r.delivery.losses,
    duplicates: r.delivery.duplicates, order_ok: r.delivery.order_ok,
    deliveries_per_s: r.delivery.deliveries / secs,
    broadcasts_per_s: r.published ? r.published.ok / secs : null,
    p50_ms: r.latency_us.p50 / 1000, p90_ms: r.latency_us.p90 / 1000, p99_ms: r.latency_us.p99 / 1000,
    p999_ms: r.latency_us.p999 / 1000, max_ms: r.latency_us.max / 1000,
    bench_cpu_s: r.bench.cpu_s,
  };
  if (!wa || wa.error || !wb || wb.error || !wa.s) {
    out.cpu = { error: (wa && wa.error) || (wb && wb.error) || 'no CPU window' };
    return out;
  }
  const d = snapDelta(wa.s, wb);
  const deliveries = kept ? (r.delivery.deliveries / secs) * d.wall : deliveriesAt(run.progress, wb.t) - deliveriesAt(run.progress, wa.s.t);
  const broadcasts = (kept ? r.published.ok / secs : rate) * d.wall;
  const published = d.cmds.map((c) => (c ? ((c.spublish && c.spublish.calls) || 0) + ((c.publish && c.publish.calls) || 0) : null));
  out.cpu = {
    window_s: d.wall, deliveries, broadcasts,
    deliveries_from: kept ? 'steady rate' : 'sio-bench progress (interpolated)',
    redis: d.redis.map((x, i) => ({
      port: topo.redis.nodes[i].port,
      ticks_s: x.ticks_s, run_s: x.run_s,
      cores: x.ticks_s / d.wall,
      run_cores: x.run_s / d.wall,
      wakeups_per_s: x.wakeups / d.wall,
      published: published[i],
      cmds: d.cmds[i],
    })),
    redis_ticks_s: d.redis.reduce((s, x) => s + x.ticks_s, 0),
    redis_run_s: d.redis.reduce((s, x) => s + x.run_s, 0),
    nodes_s: d.nodes,
    nodes_cores: d.nodes.reduce((s, x) => s + x, 0) / d.wall,
    bench_cores: d.bench / d.wall,
    self_cores: d.self / d.wall,
    other_cores: d.other / d.wall,
  };
  out.channels = wa.ch;
  return out;
}

/** Warnings and errors in a node's log: sio logs JSON lines; the Node gateway plain lines on stderr. */
function logSummary(node, kind) {
  let text = '';
  try { text = fs.readFileSync(node.logFile, 'utf8'); } catch (_) { return { lines: 0, by_level: {}, samples: [] }; }
  const byLevel = {};
  const msgs = new Map();
  let lines = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let level = 'stderr';
    let msg = line.slice(0, 200);
    if (kind === 'sio') {
      try {
        const o = JSON.parse(line);
        level = o.level || '?';
        msg = `${o.msg}${o.error ? `: ${o.error}` : ''}${o.reason ? ` (${o.reason})` : ''}`;
      } catch (_) { level = 'text'; }
    }
    if (kind === 'sio' && (level === 'info' || level === 'debug')) continue;
    lines++;
    byLevel[level] = (byLevel[level] || 0) + 1;
    const key = `${level}: ${msg}`;
    msgs.set(key, (msgs.get(key) || 0) + 1);
  }
  const samples = [...msgs].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([m, c]) => `${m} (×${c})`);
  return { lines, by_level: byLevel, samples };
}

const roundRate = (x) => (x >= 2000 ? Math.round(x / 500) * 500 : Math.round(x / 100) * 100);

async function phaseTopology(ctx, name) {
  const P = ctx.params.sharded;
  const t0 = Date.now();
  const topo = await startTopology(ctx, name);
  const out = {
    name, label: topo.label, kind: topo.kind, adapter: topo.adapter, shards: topo.shards,
    redis: topo.redis.nodes.map((n) => ({ port: n.port, slots: n.slots })),
    cluster_start_ms: topo.redis.startMs,
    steps: [], max_pass: null, min_fail: null,
  };
  const stepOpts = { duration: P.stepDuration, drain: P.stepDrain, skip: P.skip, quietMs: P.quietMs };
  try {
    /* the floor: Redis with the nodes connected, no clients, no broadcasts */
    if (P.idleS) {
      const a = await snap(topo, null);
      await sleep(P.idleS * 1000);
      const d = snapDelta(a, await snap(topo, null));
      out.idle = {
        window_s: d.wall,
        redis: d.redis.map((x) => ({ cores: x.ticks_s / d.wall, run_cores: x.run_s / d.wall, wakeups_per_s: x.wakeups / d.wall })),
        nodes_cores: d.nodes.reduce((x, y) => x + y, 0) / d.wall,
        other_cores: d.other / d.wall,
      };
    }
    if (P.warmup) {
      log(`sharded: ${name}: warm-up, ${P.warmup.duration} s at ${P.warmup.rate} broadcasts/s (not measured)`);
      try {
        await stepRun(ctx, topo, P.warmup.rate, { ...stepOpts, duration: P.warmup.duration, drain: 1, skip: 0.5, quietMs: 0, label: `${name} warm-up` });
      } catch (e) { log(`sharded: ${name}: warm-up failed: ${e.message}`); }
    }
    const deadline = Date.now() + P.budgetS * 1000;
    const tested = new Map();
    const step = async (rate, why) => {
      if (tested.has(rate)) return tested.get(rate);
      log(`sharded: ${name}: ${rate} broadcasts/s (${rate * P.clients / P.rooms} deliveries/s; ${why})`);
      const once = async () => {
        try {
          return await stepRun(ctx, topo, rate, { ...stepOpts, label: `${name} ${rate}/s` });
        } catch (e) {
          return { rate, pass: false, why: [e.message.split('\n')[0]], error: e.message.split('\n')[0] };
        }
      };
      /* the machine is shared: a failed step runs again (once in the full run, and up to
       * twice more when other jobs used more than 0.15 cores during it); the last counts */
      const earlier = [];
      let r = await once();
      for (;;) {
        if (r.pass || Date.now() > deadline || !topo.alive()) break;
        const other = r.cpu && Number.isFinite(r.cpu.other_cores) ? r.cpu.other_cores : 0;
        if (!((P.retryFailed && earlier.length < 1) || (other > 0.15 && earlier.length < P.disturbedRetries))) break;
        earlier.push({ p50_ms: r.p50_ms, p99_ms: r.p99_ms, why: r.why, other_cores: other });
        log(`sharded: ${name}:   failed (${r.why.join(', ')}; other jobs ${other.toFixed(2)} cores): once more`);
        r = await once();
      }
      if (earlier.length) r.earlier_attempts = earlier;
      r.search = why;
      tested.set(rate, r);
      out.steps.push(r);
      const c = r.cpu && !r.cpu.error ? r.cpu : null;
      log(`sharded: ${name}:   p50 ${Number.isFinite(r.p50_ms) ? r.p50_ms.toFixed(2) : '-'} ms, p99 ${Number.isFinite(r.p99_ms) ? r.p99_ms.toFixed(2) : '-'} ms, ` +
        `${Number.isFinite(r.deliveries_per_s) ? Math.round(r.deliveries_per_s) : '-'} deliveries/s, ${r.pass ? 'pass' : `fail (${r.why.join(', ')})`}` +
        `${c ? `; Redis ${c.redis.map((x) => x.cores.toFixed(3)).join(' + ')} cores, nodes ${c.nodes_cores.toFixed(2)}, sio-bench ${c.bench_cores.toFixed(2)}, other ${c.other_cores.toFixed(2)}` : ''}`);
      if (!topo.alive()) throw new Error(`${name}: a process exited: ${[...topo.nodes, ...topo.redis.nodes].filter((n) => n.p.exit).map((n) => `${n.p.name} ${JSON.stringify(n.p.exit)}`).join(', ')}`);
      return r;
    };
    let lo = null;
    let hi = null;
    for (const rate of P.ladder) {
      if (Date.now() > deadline) break;
      const r = await step(rate, 'up');
      if (r.pass) lo = rate; else { hi = rate; break; }
    }
    if (lo === null && hi !== null) {
      for (let rate = roundRate(hi / 2); rate >= P.minRate && Date.now() < deadline; rate = roundRate(rate / 2)) {
        const r = await step(rate, 'down');
        if (r.pass) { lo = rate; break; }
        hi = rate;
      }
    }
    for (let i = 0; i < P.bisect && lo !== null && hi !== null && Date.now() < deadline; i++) {
      const mid = roundRate((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      const r = await step(mid, 'bisect');
      if (r.pass) lo = mid; else hi = mid;
    }
    out.max_pass = lo;
    out.min_fail = hi;
    out.budget_exhausted = Date.now() > deadline;
    out.steps.sort((a, b) => a.rate - b.rate);
    return out;
  } finally {
    out.logs = topo.nodes.map((n) => logSummary(n, topo.kind));
    out.exits = [...topo.nodes, ...topo.redis.nodes].filter((n) => n.p.exit).map((n) => `${n.p.name}: ${JSON.stringify(n.p.exit)}`);
    await topo.stop();
    out.wall_s = (Date.now() - t0) / 1000;
  }
}

function shardedParams(quick) {
  return {
    nodes: 2,
    clients: 3000,
    workers: 2,
    rooms: 300,
    dist: 'k:1',
    warmup: { rate: 1000, duration: 2 },
    /* broadcasts/s; each broadcast reaches clients / rooms = 10 sockets */
    ladder: quick ? [1000, 2000, 4000, 6000, 8000, 11000, 15000, 20000]
      : [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 15000, 20000],
    refRate: 1000, /* the latency every topology is compared at */
    minRate: 100,
    bisect: quick ? 1 : 2,
    stepDuration: quick ? 4 : 8,
    stepDrain: quick ? 2 : 3,
    skip: quick ? 1 : 2,
    quietMs: quick ? 5000 : 20000,
    budgetS: quick ? 40 : 150,
    retryFailed: !quick,
    disturbedRetries: quick ? 1 : 2,
    idleS: 2,
    topologies: quick ? ['pubsub', 'sharded', 'cluster', 'node'] : ['pubsub', 'sharded', 'cluster', 'node1', 'node'],
  };
}

async function warmTaskstats() {
  if (taskstatsAvailable()) await taskstats([String(process.pid)]);
}

module.exports = { shardedParams, SHARDED_PHASES, TOPOLOGIES, phaseTopology, warmTaskstats, startRedisCluster };
