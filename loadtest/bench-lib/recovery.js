'use strict';
/*
 * loadtest/bench --recovery: what connection state recovery (RECOVERY_WINDOW_MS)
 * costs and how fast it recovers. Three phases, sio-server only, loopback only:
 *
 *   cpu        recovery ON vs OFF side by side, alternating (OFF, ON, then ON, OFF, …),
 *              each run on a fresh setup: standalone (no Redis), 1 node and 2 nodes on one
 *              redis-server. sio-bench clients in rooms, broadcasts through node 1's HTTP
 *              API at a fixed rate. Over a window of the steady publishing period: the
 *              edge thread's CPU (the main thread) and the whole process's CPU per
 *              delivery, Redis's CPU (taskstats run time and /proc/<pid>/stat ticks) and
 *              INFO commandstats (calls, usec per command) per broadcast.
 *   history    memory of the history at 1,000 broadcasts/s: Redis MEMORY USAGE and XLEN
 *              of the stream socket.io-history#/# once the window is full (with --quick a
 *              10 s window, extrapolated to the 120,000 entries of the default 120 s), and
 *              the standalone in-memory store: RSS growth of one node with a short window,
 *              against the same traffic with recovery off.
 *   reconnect  2,000 socket.io-client clients (2 worker processes) connected through
 *              haproxy (the deployed config, tests/lib/haproxy.js) to node A of 2, all in one
 *              room, broadcasts to it through node B's API at 10/s; kill -9 of node A; every
 *              client reconnects through haproxy to node B. Per client: time from the cut
 *              until it is connected with socket.recovered === true and holds every broadcast
 *              sent before that connect; then, after the publisher stops, whether it got every
 *              broadcast exactly once, in order.
 *
 * Every phase returns plain data for recovery-report.js. Every wait is bounded.
 */
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const {
  HOST, CLK_TCK, spawnTracked, stopProc, freePorts, waitPort, sleep, cpuTicks, rssKb, systemBusy, childrenOf,
  socketCount, httpGet, cleanEnv } = require('./proc');
const { startRedis, PREFIX } = require('./cluster');
const { runSioBench, deliveriesAt } = require('./siobench');
const { taskstats, taskstatsAvailable } = require('./metrics');
const { respConnect, commandStats, errorStats, statsDelta, infoFields } = require('./resp');

const HISTORY_KEY = `${PREFIX}-history#/#`;
const log = (msg) => console.error(`bench: ${msg}`);

/* ---- setups: nodes with the API on, Redis or not ---------------------------- */


async function health(node) {
  const r = await httpGet(node.apiPort, '/health');
  try { return JSON.parse(r.body); } catch (_) { return null; }
}

async function startNode(ctx, { index, redisUrl, windowMs, env = {}, tag = '' }) {
  const [port, apiPort] = await freePorts(2);
  const name = `sio-server#${tag}${index}`;
  const p = spawnTracked(name, ctx.sioServer, [], {
    env: {
      ...cleanEnv(),
      PORT: String(port), API_PORT: String(apiPort), BIND_ADDR: HOST, API_BIND_ADDR: HOST,
      REDIS_URL: redisUrl || undefined, REDIS_ADAPTER: redisUrl ? 'pubsub' : undefined, REDIS_PREFIX: PREFIX,
      LOG_LEVEL: 'warn', DRAIN_SECONDS: '0',
      NODE_ID: `bench-rec-${tag}${index}`, RECOVERY_WINDOW_MS: String(windowMs), ...env,
    },
    logFile: path.join(ctx.tmp, `recovery-${name.replace('#', '-')}-${port}.log`),
  });
  await waitPort(port, 15000, p);
  await waitPort(apiPort, 15000, p);
  const node = { p, pid: p.pid, port, apiPort, index, url: `ws://${HOST}:${port}/socket.io/`, api: `http://${HOST}:${apiPort}` };
  if (redisUrl) { /* both Redis connections up (and the scripts loaded) before traffic */
    const end = Date.now() + 10000;
    let h = null;
    while (Date.now() < end) {
      h = await health(node);
      if (h && h.redis === 'up') break;
      await sleep(100);
    }
    if (!h || h.redis !== 'up') throw new Error(`${name}: Redis not up within 10 s (health ${JSON.stringify(h)})`);
  }
  return node;
}

/** {redis|null, nodes, stop()} */
async function startSetup(ctx, { nodes = 1, redis = true, windowMs, env = {}, tag = '' }) {
  const s = { redis: null, nodes: [], windowMs, tag };
  s.stop = async () => {
    await Promise.all(s.nodes.map((n) => stopProc(n.p, 5000)));
    if (s.redis) {
      await stopProc(s.redis.p, 3000);
      fs.rmSync(s.redis.dir, { recursive: true, force: true });
    }
  };
  try {
    if (redis) s.redis = await startRedis(ctx);
    for (let i = 1; i <= nodes; i++) s.nodes.push(await startNode(ctx, { index: i, redisUrl: s.redis && s.redis.url, windowMs, env, tag }));
    await sleep(500);
    for (const n of s.nodes) if (n.p.exit) throw new Error(`${n.p.name} exited at start: ${n.p.stderr.slice(-2000)}`);
  } catch (e) {
    await s.stop();
    throw e;
  }
  return s;
}

/* ---- CPU snapshots ----------------------------------------------------------- */

/** Run time (s) of a process or thread: taskstats when there, else /proc ticks. */
function runOf(ts, ticks) {
  if (ts) return ts.run_ns / 1e9;
  return ticks ? (ticks.utime + ticks.stime) / CLK_TCK : NaN;
}

function mainThreadTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { utime: Number(f[11]), stime: Number(f[12]) };
  } catch (_) {
    return null;
  }
}

async function redisStats(resp) {
  if (!resp) return null;
  try {
    const [cs, es] = await Promise.all([resp.cmd('INFO', 'commandstats'), resp.cmd('INFO', 'errorstats')]);
    return { cmds: commandStats(cs), errors: errorStats(es) };
  } catch (e) {
    return { error: e.message };
  }
}

/**
 * CPU of the setup's processes (taskstats, else /proc), the machine's busy time, then
 * Redis's commandstats, taken one right after the other: the taskstats helper answers
 * in well under a millisecond once it runs (warmTaskstats() starts it beforehand; its
 * first start takes a few hundred ms, which would skew a window's first end).
 */
async function snap(setup, benchPid, resp) {
  const bpids = benchPid ? [benchPid, ...childrenOf(benchPid)] : [];
  const tokens = [...setup.nodes.flatMap((n) => [String(n.pid), `t${n.pid}`]),
    ...(setup.redis ? [String(setup.redis.pid)] : []), ...bpids.map(String)];
  const ts = await taskstats(tokens);
  const t = Date.now();
  const sys = systemBusy();
  const self = process.cpuUsage();
  const nodeTicks = setup.nodes.map((n) => ({ proc: cpuTicks(n.pid), main: mainThreadTicks(n.pid) }));
  const redisTicks = setup.redis ? cpuTicks(setup.redis.pid) : null;
  const benchTicks = bpids.map((p) => cpuTicks(p));
  const rs = await redisStats(resp);
  return {
    t,
    sys,
    self,
    nodes: setup.nodes.map((n, i) => ({
      proc: runOf(ts[String(n.pid)], nodeTicks[i].proc),
      main: runOf(ts[`t${n.pid}`], nodeTicks[i].main),
      rss_kb: rssKb(n.pid),
    })),
    redis: setup.redis ? runOf(ts[String(setup.redis.pid)], redisTicks) : null,
    redis_ticks: redisTicks ? (redisTicks.utime + redisTicks.stime) / CLK_TCK : null,
    bench: bpids.map((p, i) => ({ pid: p, run: runOf(ts[String(p)], benchTicks[i]) })),
    redis_stats: rs,
  };
}

/** Starts the taskstats helper (a no-op when it runs or taskstats is unavailable). */
async function warmTaskstats() {
  if (taskstatsAvailable()) await taskstats([String(process.pid)]);
}

/* Our own commands to Redis, left out of the counts */
const OWN = new Set(['info', 'memory|usage', 'xlen', 'scan', 'dbsize', 'ping', 'keys', 'memory', 'object|encoding', 'xinfo|stream', 'config|get']);

function snapDelta(a, b) {
  const wall = (b.t - a.t) / 1000;
  const sum = (arr) => arr.reduce((s, x) => s + x, 0);
  const edge = sum(b.nodes.map((n, i) => n.main - a.nodes[i].main));
  const proc = sum(b.nodes.map((n, i) => n.proc - a.nodes[i].proc));
  const redis = a.redis !== null ? b.redis - a.redis : null;
  const redisTicks = a.redis_ticks !== null ? b.redis_ticks - a.redis_ticks : null;
  let bench = 0;
  for (const x of b.bench) {
    const y = a.bench.find((z) => z.pid === x.pid);
    if (Number.isFinite(x.run)) bench += x.run - (y && Number.isFinite(y.run) ? y.run : 0);
  }
  const self = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  const busy = (b.sys.busy - a.sys.busy) / CLK_TCK;
  let cmds = null;
  let errors = null;
  if (a.redis_stats && b.redis_stats && !a.redis_stats.error && !b.redis_stats.error) {
    cmds = statsDelta(a.redis_stats.cmds, b.redis_stats.cmds);
    for (const k of Object.keys(cmds)) if (OWN.has(k)) delete cmds[k];
    errors = {};
    for (const [k, v] of Object.entries(b.redis_stats.errors)) {
      const d = v - (a.redis_stats.errors[k] || 0);
      if (d) errors[k] = d;
    }
  }
  return {
    wall, edge, proc, cluster_threads: proc - edge, redis, redis_ticks: redisTicks, bench, self, busy,
    other: Math.max(0, busy - proc - (redis || 0) - bench - self),
    per_node: b.nodes.map((n, i) => ({ edge: n.main - a.nodes[i].main, proc: n.proc - a.nodes[i].proc })),
    cmds, errors,
  };
}

/** Resolves after ms with fn()'s value (errors become {error}). */
function at(ms, fn) {
  return new Promise((resolve) => {
    setTimeout(async () => {
      try { resolve(await fn()); } catch (e) { resolve({ error: e.message }); }
    }, Math.max(0, ms));
  });
}

/** CPU used by everything but these setups and this script over ms (cores). */
async function otherLoad(setups, ms = 1000) {
  const pids = [].concat(setups).flatMap((s) => [...s.nodes.map((n) => n.pid), ...(s.redis ? [s.redis.pid] : [])]);
  const mine = () => {
    let t = 0;
    for (const pid of pids) {
      const c = cpuTicks(pid);
      if (c) t += c.utime + c.stime;
    }
    return t / CLK_TCK;
  };
  const s0 = systemBusy();
  const m0 = mine();
  const p0 = process.cpuUsage();
  await sleep(ms);
  const s1 = systemBusy();
  const m1 = mine();
  const p1 = process.cpuUsage(p0);
  return Math.max(0, (s1.busy - s0.busy) / CLK_TCK - (m1 - m0) - (p1.user + p1.system) / 1e6) / (ms / 1000);
}

/** Waits (45 s at most) until other jobs use less than `limit` cores; returns the last reading. */
async function waitQuiet(setups, limit = 0.15, maxMs = 45000) {
  const end = Date.now() + maxMs;
  let other = await otherLoad(setups);
  while (other > limit && Date.now() < end) other = await otherLoad(setups);
  if (other > limit) log(`recovery: the machine is busy (other jobs: ${other.toFixed(2)} cores); going on`);
  return other;
}

const urls = (setup) => setup.nodes.flatMap((n) => ['--url', n.url]);

function latencyOf(r) {
  const l = r.latency_us || {};
  return { p50_ms: l.p50 / 1000, p99_ms: l.p99 / 1000, max_ms: l.max / 1000 };
}

function keptUp(r) {
  return r.delivery.losses === 0 && r.latency_us && r.latency_us.p99 < 1e6 && r.published &&
    r.published.ok === r.published.planned && r.published.max_backlog <= Math.max(10, r.published.planned / 100);
}

/* ---- 1. CPU: recovery ON vs OFF --------------------------------------------- */

const CONFIGS = {
  standalone: { nodes: 1, redis: false, label: 'standalone (1 node, in-memory history)' },
  '1node': { nodes: 1, redis: true, label: '1 node + Redis' },
  '2nodes': { nodes: 2, redis: true, label: '2 nodes + Redis' },
};

/** One side's numbers over the common window. */
function sideOf(config, mode, rep, P, setup, run, a, b, d, other, otherBefore) {
  const C = CONFIGS[config];
  const r = run.result;
  const rate = P.deliveriesPerS / (P.clients / P.rooms);
  const kept = keptUp(r);
  const secs = r.published.secs || P.duration;
  const deliveries = kept ? (r.delivery.deliveries / secs) * d.wall : deliveriesAt(run.progress, b.t) - deliveriesAt(run.progress, a.t);
  const broadcasts = (kept ? r.published.ok / secs : rate) * d.wall;
  return {
    config, mode, rep, nodes: C.nodes, redis: C.redis, window_ms: mode === 'on' ? P.windowMs : 0,
    clients: P.clients, rooms: P.rooms, broadcasts_per_s: rate,
    ready: r.connections.ready, losses: r.delivery.losses, duplicates: r.delivery.duplicates, order_ok: r.delivery.order_ok,
    published_ok: r.published.ok, published_failed: r.published.failed, planned: r.published.planned,
    kept_up: kept, ...latencyOf(r),
    window_s: d.wall, deliveries, broadcasts,
    edge_s: d.edge, proc_s: d.proc, cluster_s: d.cluster_threads, redis_s: d.redis, redis_ticks_s: d.redis_ticks,
    bench_cores: d.bench / d.wall, other_cores: other, other_before: otherBefore,
    per_node: d.per_node, cmds: d.cmds, redis_errors: d.errors,
    api_errors: r.published.errors,
  };
}

/**
 * One pair: recovery OFF and ON at the same time, on two setups side by side (each
 * with its own redis-server where there is one, its own nodes and its own sio-bench),
 * so that both see the same machine: this VM's speed drifts by ±10 % from one run
 * to the next (the load generator's own CPU per delivery moves with the servers'),
 * which sequential runs could not tell from the effect of recovery. The CPU window
 * is the same stretch of time for both: from `skip` s after the later of the two
 * started publishing to 0.5 s before the earlier one stops. The two snapshots at
 * each end are taken back to back, in an order that alternates.
 */
async function cpuPair(ctx, config, P, rep, { aa = false } = {}) {
  const C = CONFIGS[config];
  const order = rep % 2 ? ['off', 'on'] : ['on', 'off'];
  const setups = {};
  const resp = {};
  /* aa: both sides OFF ('on' is a second OFF): what the method reads when nothing differs */
  const windowOf = (mode) => (mode === 'on' && !aa ? P.windowMs : 0);
  try {
    for (const mode of order) {
      setups[mode] = await startSetup(ctx, { nodes: C.nodes, redis: C.redis, windowMs: windowOf(mode), tag: `${aa && mode === 'on' ? 'off2' : mode}-` });
    }
    const otherBefore = await waitQuiet(order.map((m) => setups[m]));
    for (const mode of order) resp[mode] = setups[mode].redis ? await respConnect(setups[mode].redis.port) : null;
    const rate = P.deliveriesPerS / (P.clients / P.rooms);
    const t0 = {};
    const pids = {};
    let fired = null;
    const both = new Promise((r) => { fired = r; });
    const runs = order.map((mode) => runSioBench(ctx, [...urls(setups[mode]), '-c', String(P.clients), '--workers', '2',
      '--rooms', String(P.rooms), '--rate', String(rate), '--duration', String(P.duration), '--drain', '3',
      '--api', setups[mode].nodes[0].api, '--ramp-timeout', '60'], {
      label: `recovery cpu ${config} ${aa && mode === 'on' ? 'off (2nd)' : mode}`,
      onMain: (t, m, pid) => {
        t0[mode] = t;
        pids[mode] = pid;
        if (t0.on && t0.off) fired();
      },
    }));
    const snapBoth = async () => {
      const out = {};
      for (const mode of order) out[mode] = await snap(setups[mode], pids[mode], resp[mode]); /* order alternates by pair */
      return out;
    };
    const win = both.then(() => {
      const start = Math.max(t0.on, t0.off) + P.skip * 1000;
      const end = Math.min(t0.on, t0.off) + (P.duration - 0.5) * 1000;
      if (end - start < 2000) return { error: `the two runs started publishing ${Math.abs(t0.on - t0.off)} ms apart: no common window` };
      return Promise.all([at(start - Date.now(), snapBoth), at(end - Date.now(), snapBoth)]);
    });
    const done = await Promise.all(runs.map((p) => p.catch((e) => ({ error: e.message }))));
    const failed = done.find((x) => x.error);
    if (failed) throw new Error(failed.error);
    if (!(t0.on && t0.off)) throw new Error('a sio-bench run never started publishing');
    const w = await win;
    if (w.error) throw new Error(w.error);
    const [A, B] = w;
    for (const mode of order) {
      if (!A[mode] || !B[mode] || A[mode].error || B[mode].error) throw new Error(`no CPU window (${mode})`);
      if (!setups[mode].nodes.every((n) => !n.p.exit)) throw new Error(`a node exited during the run (${mode})`);
    }
    const d = { on: snapDelta(A.on, B.on), off: snapDelta(A.off, B.off) };
    /* the machine's busy time minus both sides' processes and this script */
    const busy = d.on.busy;
    const mine = ['on', 'off'].reduce((x, m) => x + d[m].proc + (d[m].redis || 0) + d[m].bench, 0) + d.on.self;
    const other = Math.max(0, busy - mine) / d.on.wall;
    const out = {};
    for (const mode of order) {
      out[mode] = sideOf(config, mode, rep, P, setups[mode], done[order.indexOf(mode)], A[mode], B[mode], d[mode], other, otherBefore);
      out[mode].window_ms = windowOf(mode);
    }
    const us = (x) => (x.edge_s * 1e6) / x.deliveries;
    log(`recovery:   ${config} ${aa ? 'A/A pair (OFF vs OFF)' : 'pair'} ${rep}: edge OFF ${us(out.off).toFixed(3)}, ${aa ? 'OFF' : 'ON'} ${us(out.on).toFixed(3)} µs/delivery (ratio ${(us(out.on) / us(out.off)).toFixed(3)}); ` +
      `process ratio ${((out.on.proc_s / out.on.deliveries) / (out.off.proc_s / out.off.deliveries)).toFixed(3)}; ` +
      `redis ${C.redis ? `${((out.off.redis_s * 1e6) / out.off.broadcasts).toFixed(1)} → ${((out.on.redis_s * 1e6) / out.on.broadcasts).toFixed(1)} µs/broadcast` : '-'}; ` +
      `p99 ${out.off.p99_ms.toFixed(2)} / ${out.on.p99_ms.toFixed(2)} ms; losses ${out.off.losses} / ${out.on.losses}; window ${out.on.window_s.toFixed(1)} s; other jobs ${other.toFixed(2)} cores`);
    return out;
  } finally {
    for (const m of Object.keys(resp)) if (resp[m]) resp[m].close();
    await Promise.all(Object.values(setups).map((x) => x.stop()));
  }
}

/** Sums of the runs of one (config, mode). */
function pool(runs) {
  const good = runs.filter((r) => r && !r.error && r.deliveries > 0);
  if (!good.length) return { error: (runs.find((r) => r && r.error) || {}).error || 'no run', runs };
  const sum = (k) => good.reduce((s, r) => s + (r[k] || 0), 0);
  const deliveries = sum('deliveries');
  const broadcasts = sum('broadcasts');
  const cmds = {};
  let cmdsOk = true;
  const errors = {};
  for (const r of good) {
    if (!r.cmds) { cmdsOk = false; continue; }
    for (const [k, v] of Object.entries(r.cmds)) {
      const e = cmds[k] || (cmds[k] = { calls: 0, usec: 0, failed: 0, rejected: 0 });
      e.calls += v.calls; e.usec += v.usec; e.failed += v.failed; e.rejected += v.rejected;
    }
    for (const [k, v] of Object.entries(r.redis_errors || {})) errors[k] = (errors[k] || 0) + v;
  }
  const redis = good[0].redis;
  const wall = sum('window_s');
  return {
    runs: good.length,
    deliveries, broadcasts, window_s: wall,
    edge_us: (sum('edge_s') * 1e6) / deliveries,
    proc_us: (sum('proc_s') * 1e6) / deliveries,
    cluster_us: (sum('cluster_s') * 1e6) / deliveries,
    edge_cores: sum('edge_s') / wall,
    proc_cores: sum('proc_s') / wall,
    redis_us_per_broadcast: redis ? (sum('redis_s') * 1e6) / broadcasts : null,
    redis_ticks_us_per_broadcast: redis ? (sum('redis_ticks_s') * 1e6) / broadcasts : null,
    redis_cores: redis ? sum('redis_s') / wall : null,
    cmds: redis && cmdsOk ? cmds : null,
    redis_calls_per_broadcast: redis && cmdsOk ? Object.values(cmds).reduce((s, e) => s + e.calls, 0) / broadcasts : null,
    redis_usec_per_broadcast: redis && cmdsOk ? Object.values(cmds).reduce((s, e) => s + e.usec, 0) / broadcasts : null,
    redis_errors: errors,
    other_cores: good.reduce((s, r) => s + r.other_cores * r.window_s, 0) / wall,
    bench_cores: good.reduce((s, r) => s + r.bench_cores * r.window_s, 0) / wall,
    p50_ms: good.map((r) => r.p50_ms),
    p99_ms: good.map((r) => r.p99_ms),
    losses: sum('losses'),
    each_edge_us: good.map((r) => (r.edge_s * 1e6) / r.deliveries),
    each_proc_us: good.map((r) => (r.proc_s * 1e6) / r.deliveries),
    all_kept_up: good.every((r) => r.kept_up),
    api_failed: sum('published_failed'),
  };
}

async function phaseCpu(ctx) {
  await warmTaskstats();
  const P = ctx.params.recovery.cpu;
  const runs = [];
  const pairs = [];
  for (const config of P.configs) {
    for (let rep = 1; rep <= P.repeats; rep++) {
      log(`recovery: cpu ${CONFIGS[config].label}, pair ${rep} of ${P.repeats} (OFF and ON at once): ${P.clients} clients in ${P.rooms} rooms on each side, ${P.deliveriesPerS / (P.clients / P.rooms)} broadcasts/s through the API, ${P.duration}s`);
      try {
        const pr = await cpuPair(ctx, config, P, rep);
        runs.push(pr.off, pr.on);
        pairs.push({ config, rep, edge_ratio: (pr.on.edge_s / pr.on.deliveries) / (pr.off.edge_s / pr.off.deliveries),
          proc_ratio: (pr.on.proc_s / pr.on.deliveries) / (pr.off.proc_s / pr.off.deliveries), other_cores: pr.on.other_cores });
      } catch (e) {
        log(`recovery: cpu ${config} pair ${rep} failed: ${e.message}`);
        runs.push({ config, mode: 'off', rep, error: e.message.split('\n')[0] }, { config, mode: 'on', rep, error: e.message.split('\n')[0] });
      }
    }
  }
  /* the floor of the method: pairs where both sides are OFF */
  const aa = [];
  for (let rep = 1; rep <= (P.aaPairs || 0); rep++) {
    log(`recovery: cpu ${CONFIGS[P.aaConfig].label}, A/A pair ${rep} of ${P.aaPairs} (OFF and OFF at once)`);
    try {
      const pr = await cpuPair(ctx, P.aaConfig, P, rep, { aa: true });
      aa.push({ rep, edge_ratio: (pr.on.edge_s / pr.on.deliveries) / (pr.off.edge_s / pr.off.deliveries),
        proc_ratio: (pr.on.proc_s / pr.on.deliveries) / (pr.off.proc_s / pr.off.deliveries),
        redis_ratio: pr.on.redis_s !== null ? (pr.on.redis_s / pr.on.broadcasts) / (pr.off.redis_s / pr.off.broadcasts) : null,
        edge_us: [(pr.off.edge_s * 1e6) / pr.off.deliveries, (pr.on.edge_s * 1e6) / pr.on.deliveries], other_cores: pr.on.other_cores });
    } catch (e) {
      log(`recovery: A/A pair ${rep} failed: ${e.message}`);
      aa.push({ rep, error: e.message.split('\n')[0] });
    }
  }
  const out = { params: P, runs, pairs, aa, configs: {} };
  for (const config of P.configs) {
    const off = pool(runs.filter((r) => r.config === config && r.mode === 'off'));
    const on = pool(runs.filter((r) => r.config === config && r.mode === 'on'));
    const pr = pairs.filter((x) => x.config === config);
    out.configs[config] = { label: CONFIGS[config].label, nodes: CONFIGS[config].nodes, redis: CONFIGS[config].redis, off, on,
      pair_edge_ratios: pr.map((x) => x.edge_ratio), pair_proc_ratios: pr.map((x) => x.proc_ratio) };
  }
  return out;
}

/* ---- 2. memory of the history ---------------------------------------------- */

async function redisHistory(ctx, P) {
  const setup = await startSetup(ctx, { nodes: 1, redis: true, windowMs: P.redisWindowMs });
  let resp = null;
  try {
    resp = await respConnect(setup.redis.port);
    const used0 = Number(infoFields(await resp.cmd('INFO', 'memory')).used_memory);
    const duration = P.redisWindowMs / 1000 + P.extraS;
    const samples = [];
    let sampler = null;
    let win = null;
    let t0 = null;
    const sample = async () => {
      const t = Date.now();
      const [xlen, usage, mem] = await Promise.all([
        resp.cmd('XLEN', HISTORY_KEY), resp.cmd('MEMORY', 'USAGE', HISTORY_KEY, 'SAMPLES', '0'), resp.cmd('INFO', 'memory')]);
      samples.push({ t_s: (t - t0) / 1000, xlen, usage_bytes: usage, used_memory: Number(infoFields(mem).used_memory) });
    };
    log(`recovery: history in Redis: 1 node, RECOVERY_WINDOW_MS=${P.redisWindowMs}, ${P.rate} broadcasts/s for ${duration}s (${P.clients} clients in ${P.rooms} rooms)`);
    const run = await runSioBench(ctx, [...urls(setup), '-c', String(P.clients), '--workers', '1',
      '--rooms', String(P.rooms), '--rate', String(P.rate), '--duration', String(duration), '--drain', '3',
      '--api', setup.nodes[0].api, '--ramp-timeout', '60'], {
      label: 'recovery history redis',
      timeoutMs: (duration + 100) * 1000,
      onMain: (t, m, pid) => {
        t0 = t;
        sampler = setInterval(() => { sample().catch(() => {}); }, P.sampleMs);
        /* Redis CPU per broadcast once the window is full (MINID trimming at work) */
        const from = P.redisWindowMs + 1000;
        const len = duration * 1000 - 500 - from;
        if (len >= 2000) {
          win = Promise.all([at(from, () => snap(setup, pid, resp)), at(from + len, () => snap(setup, pid, resp))]);
        }
      },
    });
    clearInterval(sampler);
    await sleep(200);
    await sample(); /* publishing has stopped: the stream as the last XADD left it */
    const final = samples[samples.length - 1];
    const r = run.result;
    const expectedEntries = P.rate * (P.redisWindowMs / 1000);
    /* a session key, for scale */
    let sessionBytes = null;
    let sessionKeys = null;
    try {
      const [, keys] = await resp.cmd('SCAN', '0', 'MATCH', `${PREFIX}-session#*`, 'COUNT', '1000');
      if (keys && keys.length) sessionBytes = await resp.cmd('MEMORY', 'USAGE', keys[0], 'SAMPLES', '0');
      sessionKeys = (await resp.cmd('DBSIZE')) - 1;
    } catch (_) { /* left out */ }
    let trim = null;
    if (win) {
      const [a, b] = await win;
      if (a && b && !a.error && !b.error) {
        const d = snapDelta(a, b);
        const bc = (r.published.ok / (r.published.secs || duration)) * d.wall;
        trim = {
          window_s: d.wall, broadcasts: bc, redis_us_per_broadcast: (d.redis * 1e6) / bc,
          redis_ticks_us_per_broadcast: (d.redis_ticks * 1e6) / bc, cmds: d.cmds, errors: d.errors,
          calls_per_broadcast: d.cmds ? Object.values(d.cmds).reduce((s, e) => s + e.calls, 0) / bc : null,
          usec_per_broadcast: d.cmds ? Object.values(d.cmds).reduce((s, e) => s + e.usec, 0) / bc : null,
        };
      }
    }
    const perEntry = final && final.xlen ? final.usage_bytes / final.xlen : null;
    return {
      window_ms: P.redisWindowMs,
      rate: P.rate,
      duration_s: duration,
      clients: P.clients,
      rooms: P.rooms,
      published_ok: r.published.ok,
      published_failed: r.published.failed,
      achieved_rate: r.published.ok / (r.published.secs || duration),
      losses: r.delivery.losses,
      expected_entries: expectedEntries,
      xlen: final ? final.xlen : null,
      usage_bytes: final ? final.usage_bytes : null,
      bytes_per_entry: perEntry,
      extrapolated_entries: P.fullEntries,
      extrapolated_bytes: perEntry ? perEntry * P.fullEntries : null,
      extrapolated: P.redisWindowMs / 1000 * P.rate !== P.fullEntries,
      used_memory_growth: final ? final.used_memory - used0 : null,
      session_key_bytes: sessionBytes,
      session_keys: sessionKeys,
      samples,
      trim,
    };
  } finally {
    if (resp) resp.close();
    await setup.stop();
  }
}

async function standaloneRss(ctx, P, windowMs) {
  const setup = await startSetup(ctx, { nodes: 1, redis: false, windowMs });
  try {
    const node = setup.nodes[0];
    const duration = P.memWindowMs / 1000 + P.extraS;
    const samples = [];
    let sampler = null;
    let t0 = null;
    let rss0 = null;
    log(`recovery: in-memory history: standalone node, RECOVERY_WINDOW_MS=${windowMs}, ${P.rate} broadcasts/s for ${duration}s`);
    const run = await runSioBench(ctx, [...urls(setup), '-c', String(P.clients), '--workers', '1',
      '--rooms', String(P.rooms), '--rate', String(P.rate), '--duration', String(duration), '--drain', '3',
      '--api', node.api, '--ramp-timeout', '60'], {
      label: `recovery history memory ${windowMs}`,
      timeoutMs: (duration + 100) * 1000,
      onMain: (t) => {
        t0 = t;
        rss0 = rssKb(node.pid);
        sampler = setInterval(() => samples.push({ t_s: (Date.now() - t0) / 1000, rss_kb: rssKb(node.pid) }), P.sampleMs);
      },
    });
    clearInterval(sampler);
    /* the last sample taken while publishing */
    const during = samples.filter((s) => s.t_s <= duration - 0.05);
    const final = during[during.length - 1] || samples[samples.length - 1];
    const atWindow = during.filter((s) => s.t_s <= P.memWindowMs / 1000).pop();
    const r = run.result;
    return {
      window_ms: windowMs,
      rate: P.rate,
      duration_s: duration,
      published_ok: r.published.ok,
      achieved_rate: r.published.ok / (r.published.secs || duration),
      losses: r.delivery.losses,
      rss_before_kb: rss0,
      rss_end_kb: final ? final.rss_kb : null,
      rss_at_window_kb: atWindow ? atWindow.rss_kb : null,
      growth_kb: final && rss0 ? final.rss_kb - rss0 : null,
      max_rss_kb: samples.reduce((m, s) => Math.max(m, s.rss_kb || 0), 0),
      samples,
    };
  } finally {
    await setup.stop();
  }
}

async function phaseHistory(ctx) {
  await warmTaskstats();
  const otherBefore = await waitQuiet([]);
  const P = ctx.params.recovery.history;
  const out = { params: P, other_before: otherBefore };
  try { out.redis = await redisHistory(ctx, P); } catch (e) { log(`recovery: history in Redis failed: ${e.message}`); out.redis = { error: e.message.split('\n')[0] }; }
  const pair = {};
  for (const mode of ['off', 'on']) {
    try { pair[mode] = await standaloneRss(ctx, P, mode === 'on' ? P.memWindowMs : 0); } catch (e) {
      log(`recovery: in-memory history (${mode}) failed: ${e.message}`);
      pair[mode] = { error: e.message.split('\n')[0] };
    }
  }
  out.memory = pair;
  if (pair.on && pair.off && !pair.on.error && !pair.off.error) {
    const held = Math.min(P.rate * (P.memWindowMs / 1000), P.maxPackets);
    const kb = pair.on.growth_kb - pair.off.growth_kb;
    out.memory.history_kb = kb;
    out.memory.entries_held = held;
    out.memory.bytes_per_entry = (kb * 1024) / held;
    out.memory.full_entries = P.fullEntries;
    out.memory.max_packets = P.maxPackets;
    out.memory.extrapolated_bytes = out.memory.bytes_per_entry * Math.min(P.fullEntries, P.maxPackets);
  }
  return out;
}

/* ---- 3. reconnect: 2,000 clients move at once ------------------------------- */

function haproxyLib(ctx) {
  return require(path.join(ctx.root, 'tests', 'lib', 'haproxy.js'));
}

function statsCommand(sockPath, cmd, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    let data = '';
    const sock = net.connect({ path: sockPath });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`haproxy: "${cmd}" timed out`)); }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.end(`${cmd}\n`));
    sock.on('data', (d) => { data += d; });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); resolve(data); });
  });
}

async function serverStates(lb) {
  const csv = await statsCommand(lb.statsSocket, 'show stat');
  const lines = csv.split('\n').filter(Boolean);
  const header = lines[0].replace(/^# /, '').split(',');
  const out = {};
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[header.indexOf('pxname')] !== lb.backend) continue;
    const sv = f[header.indexOf('svname')];
    if (sv !== 'FRONTEND' && sv !== 'BACKEND') out[sv] = f[header.indexOf('status')];
  }
  return out;
}

async function waitStates(lb, want, ms) {
  const end = Date.now() + ms;
  let last = {};
  while (Date.now() < end) {
    try { last = await serverStates(lb); } catch (_) { /* not up yet */ }
    if (Object.entries(want).every(([n, s]) => last[n] === s)) return last;
    await sleep(100);
  }
  throw new Error(`haproxy: servers did not reach ${JSON.stringify(want)} within ${ms} ms (now ${JSON.stringify(last)})`);
}

async function startLb(ctx, ports) {
  const { renderConfig, parseSections, haproxyAvailable } = haproxyLib(ctx);
  if (!haproxyAvailable()) throw new Error('haproxy not found (needed for the reconnect phase)');
  const [port] = await freePorts(1);
  const dir = fs.mkdtempSync(path.join(ctx.tmp, 'haproxy-'));
  const statsSocket = path.join(dir, 'admin.sock');
  const text = renderConfig({ ports, listenPort: port, statsSocket });
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, text);
  const backend = parseSections(text).find((s) => s.kind === 'backend' && s.lines.some((l) => /^\s*server\s/.test(l))).name;
  const p = spawnTracked('haproxy', process.env.HAPROXY_BIN || 'haproxy', ['-db', '-f', cfg], { logFile: path.join(ctx.tmp, 'haproxy.log') });
  await waitPort(port, 8000, p);
  const lb = { p, pid: p.pid, port, statsSocket, backend, dir, url: `http://${HOST}:${port}` };
  await waitStates(lb, Object.fromEntries(ports.map((_, i) => [`sio${i + 1}`, 'UP'])), 10000);
  return lb;
}

/** A worker process of recovery-clients.js: send(cmd) and next(type, ms). */
function startWorker(ctx, i) {
  const queue = [];
  const waiters = [];
  const w = {};
  w.p = spawnTracked(`recovery-clients#${i}`, ctx.nodeBin, [path.join(__dirname, 'recovery-clients.js')], {
    stdin: true,
    cwd: ctx.root,
    logFile: path.join(ctx.tmp, `recovery-clients-${i}.log`),
    onStdoutLine: (line) => {
      let m;
      try { m = JSON.parse(line); } catch (_) { return; }
      const k = waiters.findIndex((x) => x.type === m.type || m.type === 'error');
      if (k >= 0) {
        const x = waiters.splice(k, 1)[0];
        clearTimeout(x.timer);
        if (m.type === 'error') x.reject(new Error(`recovery-clients#${i}: ${m.error}`)); else x.resolve(m);
      } else queue.push(m);
    },
  });
  w.send = (o) => { if (!w.p.exit) w.p.proc.stdin.write(`${JSON.stringify(o)}\n`); };
  w.next = (type, ms) => {
    const k = queue.findIndex((m) => m.type === type);
    if (k >= 0) return Promise.resolve(queue.splice(k, 1)[0]);
    return new Promise((resolve, reject) => {
      const x = { type, resolve, reject };
      x.timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(x), 1);
        reject(new Error(`recovery-clients#${i}: no "${type}" within ${ms} ms${w.p.exit ? ` (exited ${JSON.stringify(w.p.exit)}: ${w.p.stderr.slice(-500)})` : ''}`));
      }, ms);
      waiters.push(x);
    });
  };
  w.ask = (o, type, ms) => { const r = w.next(type, ms); w.send(o); return r; };
  return w;
}

/** Posts {rooms:[room], event, data: seq} to the API, one at a time, every intervalMs. */
function startPublisher(apiPort, { room, event, intervalMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const pub = { next: 0, accepted: [], rejected: [], errors: [], running: true };
  const post = (body) => new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: HOST, port: apiPort, method: 'POST', path: '/v1/broadcast', agent, timeout: 3000,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', (e) => resolve({ status: 0, error: e.message }));
    req.end(data);
  });
  pub.done = (async () => {
    let due = Date.now();
    while (pub.running) {
      const seq = pub.next++;
      const t = Date.now();
      const res = await post({ namespace: '/', rooms: [room], event, data: seq });
      if (res.status === 202) pub.accepted.push([seq, t]);
      else if (res.status) pub.rejected.push({ seq, status: res.status, body: res.body.slice(0, 200) });
      else pub.errors.push({ seq, error: res.error });
      due += intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait); else due = Date.now();
    }
  })();
  pub.stop = async () => { pub.running = false; await pub.done; agent.destroy(); };
  return pub;
}

/** Run time (s) of node B (process and edge thread), Redis, haproxy, the client workers, this script; busy time. */
async function cpuOfParts({ B, redis, lb, workers }) {
  const t = Date.now();
  const sys = systemBusy();
  const self = process.cpuUsage();
  const wp = workers.map((w) => w.p.pid);
  const ts = await taskstats([String(B.pid), `t${B.pid}`, String(redis.pid), String(lb.pid), ...wp.map(String)]);
  return {
    t,
    busy: sys.busy / CLK_TCK,
    self: (self.user + self.system) / 1e6,
    node_b: runOf(ts[String(B.pid)], cpuTicks(B.pid)),
    node_b_edge: runOf(ts[`t${B.pid}`], mainThreadTicks(B.pid)),
    redis: runOf(ts[String(redis.pid)], cpuTicks(redis.pid)),
    haproxy: runOf(ts[String(lb.pid)], cpuTicks(lb.pid)),
    clients: wp.reduce((s, p) => s + runOf(ts[String(p)], cpuTicks(p)), 0),
  };
}

function quantiles(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, p50: null, p99: null, max: null, min: null };
  const q = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  return { n: v.length, min: v[0], p50: q(0.5), p90: q(0.9), p99: q(0.99), max: v[v.length - 1] };
}

async function phaseReconnect(ctx) {
  await warmTaskstats();
  const otherBefore = await waitQuiet([]);
  const P = ctx.params.recovery.reconnect;
  let setup = null;
  let lb = null;
  const workers = [];
  let pub = null;
  let resp = null;
  try {
    setup = await startSetup(ctx, { nodes: 2, redis: true, windowMs: P.windowMs });
    const [A, B] = setup.nodes;
    lb = await startLb(ctx, setup.nodes.map((n) => n.port));
    /* every client on node A: node B out of the rotation while they connect */
    await statsCommand(lb.statsSocket, `set server ${lb.backend}/sio2 state maint`);
    await waitStates(lb, { sio2: 'MAINT' }, 5000);
    for (let i = 0; i < P.workers; i++) workers.push(startWorker(ctx, i + 1));
    const per = Math.ceil(P.clients / P.workers);
    log(`recovery: reconnect: ${P.clients} socket.io clients (${P.workers} processes, ${P.batch} at a time, transports ${P.transports.join(',')}) through haproxy to node A`);
    const t0 = Date.now();
    const conn = await Promise.all(workers.map((w, i) => w.ask({
      cmd: 'connect', url: lb.url, n: Math.min(per, P.clients - i * per), batch: P.batch, room: P.room, event: P.event,
      transports: P.transports,
    }, 'connected', 15000 * Math.ceil(per / P.batch) + 10000)));
    const ready = conn.reduce((s, c) => s + c.ready, 0);
    const connectMs = Date.now() - t0;
    const errs = conn.flatMap((c) => c.errors);
    log(`recovery:   ${ready} of ${P.clients} connected and subscribed in ${(connectMs / 1000).toFixed(1)} s${errs.length ? ` (errors: ${errs.join('; ')})` : ''}`);
    if (ready !== P.clients) throw new Error(`only ${ready} of ${P.clients} clients connected and subscribed (${errs.join('; ')})`);
    await sleep(500);
    const onA = (await health(A)) || {};
    const onB = (await health(B)) || {};
    await statsCommand(lb.statsSocket, `set server ${lb.backend}/sio2 state ready`);
    await waitStates(lb, { sio1: 'UP', sio2: 'UP' }, 15000);

    pub = startPublisher(B.apiPort, { room: P.room, event: P.event, intervalMs: 1000 / P.rate });
    await sleep(P.beforeMs);
    await Promise.all(workers.map((w) => w.ask({ cmd: 'mark' }, 'marked', 5000)));
    resp = await respConnect(setup.redis.port);
    const parts = { B, redis: setup.redis, lb, workers };
    const statsBefore = await redisStats(resp);
    const cpuBefore = await cpuOfParts(parts);

    /* the cut */
    const cut = Date.now();
    A.p.proc.kill('SIGKILL');
    log(`recovery:   kill -9 of node A (${onA.connections} connections) at ${new Date(cut).toISOString()}, broadcasts at ${P.rate}/s through node B's API`);
    let allCaught = null;
    /* when haproxy's health checks mark node A down (10 s at most) */
    const sio1Down = (async () => {
      while (Date.now() < cut + 10000) {
        try { const st = await serverStates(lb); if (st.sio1 && !/^UP/.test(st.sio1)) return Date.now() - cut; } catch (_) { /* again */ }
        await sleep(100);
      }
      return null;
    })();
    const timeline = [];
    const deadline = cut + P.boundMs;
    while (Date.now() < deadline) {
      await sleep(250);
      const pubs = pub.accepted.slice();
      const st = await Promise.all(workers.map((w) => w.ask({ cmd: 'status', pubs }, 'status', 10000)));
      const sum = (k) => st.reduce((s, x) => s + x[k], 0);
      const row = { t_ms: Date.now() - cut, moved: sum('moved'), back: sum('back'), recovered: sum('recovered'), caught: sum('caught'), connected: sum('connected') };
      timeline.push(row);
      if (row.moved >= P.clients && row.caught >= P.clients) { allCaught = row.t_ms; break; }
    }
    const last = timeline[timeline.length - 1] || {};
    log(`recovery:   ${allCaught !== null ? `all ${P.clients} recovered and caught up ${allCaught} ms after the cut` : `after ${P.boundMs} ms: ${last.recovered} recovered, ${last.caught} caught up, ${last.back} back of ${last.moved} moved`}`);
    const cpuAfter = await cpuOfParts(parts);
    const cpu = {};
    for (const k of Object.keys(cpuAfter)) cpu[k] = cpuAfter[k] - cpuBefore[k];
    cpu.wall_s = (cpuAfter.t - cpuBefore.t) / 1000;
    delete cpu.t;
    cpu.other = Math.max(0, cpu.busy - cpu.node_b - cpu.redis - cpu.haproxy - cpu.clients - cpu.self);
    const statsAfter = await redisStats(resp);
    const downMs = await sio1Down;

    await sleep(P.afterMs); /* broadcasts keep flowing to the moved clients */
    await pub.stop();
    await sleep(P.drainMs);
    const pubs = pub.accepted.slice();
    const reports = await Promise.all(workers.map((w) => w.ask({ cmd: 'report', cut, pubs }, 'report', 30000)));
    const clients = reports.flatMap((r) => r.clients);
    let cmds = null;
    let errors = null;
    if (statsBefore && statsAfter && !statsBefore.error && !statsAfter.error) {
      cmds = statsDelta(statsBefore.cmds, statsAfter.cmds);
      for (const k of Object.keys(cmds)) if (OWN.has(k)) delete cmds[k];
      errors = {};
      for (const [k, v] of Object.entries(statsAfter.errors)) { const d = v - (statsBefore.errors[k] || 0); if (d) errors[k] = d; }
    }
    const moved = clients.filter((c) => c.moved);
    const complete = (c) => c.missed === 0 && c.duplicates === 0 && c.out_of_order === 0 && c.unexpected === 0;
    const recovered = moved.filter((c) => c.recovered && c.same_id && c.connected);
    const notRecovered = moved.filter((c) => !(c.recovered && c.same_id && c.connected));
    const failReasons = new Map();
    for (const c of notRecovered) {
      const why = !c.reconnects ? `never reconnected${c.errors.length ? ` (${c.errors[0]})` : ''}` : !c.recovered ? 'reconnected with a new session (recovered false)' : !c.same_id ? 'recovered with another id' : 'disconnected again';
      failReasons.set(why, (failReasons.get(why) || 0) + 1);
    }
    const diff = (a, b) => (a !== null && b !== null ? a - b : null);
    const out = {
      clients: P.clients, workers: P.workers, rate: P.rate, window_ms: P.windowMs, transports: P.transports,
      other_before: otherBefore,
      connect_s: connectMs / 1000,
      on_a_before: onA.connections, on_b_before: onB.connections,
      published: pubs.length, rejected: pub.rejected.length, publish_errors: pub.errors.length,
      rejected_sample: pub.rejected.slice(0, 3), publish_errors_sample: pub.errors.slice(0, 3),
      moved: moved.length,
      stayed_reconnected: clients.filter((c) => !c.moved && c.reconnects > 0).length,
      recovered: recovered.length,
      not_recovered: notRecovered.length,
      not_recovered_reasons: Object.fromEntries(failReasons),
      recovered_complete: recovered.filter(complete).length,
      incomplete: moved.filter((c) => !complete(c)).length,
      missed_total: clients.reduce((s, c) => s + c.missed, 0),
      duplicates_total: clients.reduce((s, c) => s + c.duplicates, 0),
      out_of_order_total: clients.reduce((s, c) => s + c.out_of_order, 0),
      incomplete_sample: moved.filter((c) => !complete(c)).slice(0, 3).map((c) => ({ missed: c.missed, missed_sample: c.missed_sample, duplicates: c.duplicates, out_of_order: c.out_of_order, recovered: c.recovered })),
      caught_within_bound: moved.filter((c) => c.t_caught !== null && c.t_caught <= P.boundMs).length,
      all_caught_ms: allCaught,
      bound_ms: P.boundMs,
      recovery_ms: quantiles(recovered.map((c) => c.t_caught)),
      disconnect_ms: quantiles(moved.map((c) => c.t_disconnect)),
      first_attempt_ms: quantiles(moved.map((c) => c.t_first_attempt)),
      connect_ms: quantiles(recovered.map((c) => c.t_connect)),
      attempt_to_connect_ms: quantiles(recovered.map((c) => diff(c.t_connect, c.t_first_attempt))),
      attempt_to_open_ms: quantiles(recovered.map((c) => diff(c.t_open, c.t_first_attempt))),
      open_to_connect_ms: quantiles(recovered.map((c) => diff(c.t_connect, c.t_open))),
      connect_to_caught_ms: quantiles(recovered.map((c) => diff(c.t_caught, c.t_connect))),
      replayed: quantiles(recovered.map((c) => c.replayed)),
      more_than_one_attempt: moved.filter((c) => c.attempts > 1).length,
      attempts_max: moved.reduce((m, c) => Math.max(m, c.attempts), 0),
      disconnect_reasons: moved.reduce((m, c) => { m[c.disconnect_reason] = (m[c.disconnect_reason] || 0) + 1; return m; }, {}),
      haproxy_sio1_down_ms: downMs,
      cpu,
      node_b_connections_after: ((await health(B)) || {}).connections,
      cmds, redis_errors: errors,
      timeline: timeline.filter((_, i) => i % 2 === 0 || i === timeline.length - 1),
    };
    return out;
  } finally {
    if (pub) await pub.stop().catch(() => {});
    if (resp) resp.close();
    await Promise.all(workers.map(async (w) => { w.send({ cmd: 'close' }); await Promise.race([w.p.exited, sleep(3000)]); await stopProc(w.p, 2000); }));
    if (lb) { await stopProc(lb.p, 2000); fs.rmSync(lb.dir, { recursive: true, force: true }); }
    if (setup) await setup.stop();
  }
}

/* ---- parameters ------------------------------------------------------------ */

function recoveryParams(quick) {
  return {
    cpu: {
      configs: ['standalone', '1node', '2nodes'],
      clients: 2000,
      rooms: 20,
      deliveriesPerS: 20000,
      duration: quick ? 10 : 15,
      skip: 2,
      repeats: quick ? 4 : 8,
      windowMs: 120000,
      aaConfig: '2nodes',
      aaPairs: quick ? 2 : 4,
    },
    history: {
      rate: 1000,
      clients: 200,
      rooms: 20,
      redisWindowMs: quick ? 10000 : 120000,
      memWindowMs: 10000,
      extraS: quick ? 4 : 5,
      sampleMs: 1000,
      fullEntries: 120000,
      maxPackets: 100000, /* RECOVERY_MAX_PACKETS default */
    },
    reconnect: {
      clients: 2000,
      workers: 2,
      batch: 100,
      transports: ['websocket'],
      room: 'recovery',
      event: 'tick',
      rate: 10,
      windowMs: 120000,
      beforeMs: 3000,
      boundMs: 30000,
      afterMs: 1000,
      drainMs: 2000,
    },
  };
}

const RECOVERY_PHASES = ['cpu', 'history', 'reconnect'];
const phases = { cpu: phaseCpu, history: phaseHistory, reconnect: phaseReconnect };

module.exports = { recoveryParams, RECOVERY_PHASES, phases, quantiles, HISTORY_KEY, taskstatsAvailable, socketCount };
