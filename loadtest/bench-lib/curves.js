'use strict';
/*
 * loadtest/bench --curves: the cost curves. Server CPU per delivery of sio, Node and the
 * floor (sio-floor --mode write) on the same fan-out, one thing changed at a time from a
 * common workload, at one fixed deliveries rate for every point (so that every point
 * measures the same amount of work, and Node keeps up at each):
 *
 *   base     2 nodes, 10,000 WebSocket clients (5,000 per node) in rooms of 100, one room
 *            per client, ~100-byte packets (sio-bench --size 100), 10,000 deliveries/s
 *            published straight to Redis in the @socket.io/redis-emitter format
 *   conns    connections per node: 1,000, 5,000, 15,000 (rooms of 100)
 *   room     room size: 1, 10, 100, 1,000, 10,000 members (10,000 clients; room size 1 is
 *            10,000 broadcasts/s through Redis, room size 10,000 one broadcast a second)
 *   rps      rooms per socket: 1, 10, 100 (--dist k:K, rooms of 100 on average; sio-bench
 *            subscribes past 64 rooms, the most one subscribe request may name, in several)
 *   size     packet size: 100 B, 1 KB, 16 KB (sio-bench --size)
 *   nodes    1, 2, 3, 4 nodes on one Redis (10,000 clients in all): a fresh cluster each
 *   polling  2,000 clients: WebSocket vs long-polling (2 sockets per client): a fresh
 *            cluster for polling
 *
 * Every point runs for each kind back to back (sio, Node, floor), so the three see the
 * same machine. One cluster per kind serves every point that changes only the clients
 * or rooms (conns, room, rps, size); nodes and polling start fresh clusters. A point
 * that appears on several curves (the base) is run once per kind. TLS is off: on AWS the
 * ALB terminates TLS, and none of the three servers does TLS.
 *
 *   runCurves(opt, ctx, facts)   measures, prints, writes the "Cost curves" section of
 *                                RESULTS.md and the plots (loadtest/results/curves-*.png)
 */
const fs = require('node:fs');
const path = require('node:path');
const { startCluster } = require('./cluster');
const { fixedRun, waitIdle } = require('./phases');
const { rssKb, sleep } = require('./proc');
const plot = require('./plot');
const { cpuSourceText } = require('./metrics');

const AXES = ['conns', 'room', 'rps', 'size', 'nodes', 'polling'];
const KINDS = ['sio', 'node', 'floor'];
const log = (msg) => console.error(`bench: ${msg}`);

function curvesParams(quick) {
  return {
    deliveriesPerS: 10000,
    duration: quick ? 5.5 : 10, /* s of publishing per point */
    skip: 1.5,                  /* the CPU window starts this long after publishing starts */
    drain: 3,
    warmup: 3,                  /* s at the base rate on each fresh cluster, 200 clients, not measured */
    /* --quick: a warm-up run on the main clusters only; on the fresh clusters of the nodes and
     * polling points the CPU window starts later instead (skip + freshSkip) */
    freshWarmup: !quick,
    freshSkip: quick ? 1.5 : 0,
    rssSettleMs: 1000,          /* RSS is read this long after publishing started */
    quietMaxMs: quick ? 0 : 5000, /* wait for a quiet machine before each point (--quick: no) */
    base: { nodes: 2, clients: 10000, perRoom: 100, k: 1, size: 100, transport: 'websocket' },
    points: {
      conns: [1000, 5000, 15000],
      room: quick ? [1, 100, 10000] : [1, 10, 100, 1000, 10000],
      rps: quick ? [1, 100] : [1, 10, 100],
      size: quick ? [100, 16384] : [100, 1024, 16384],
      nodes: quick ? [1, 2, 4] : [1, 2, 3, 4],
      polling: ['websocket', 'polling'],
    },
    pollClients: 2000,
    dropped: quick ? 'room sizes 10 and 1,000, 10 rooms per socket, 1 KB packets, 3 nodes; 5.5 s of publishing per point (a 3.5 s CPU window) instead of 10 s (8 s); ' +
      'no warm-up run on the fresh clusters of the nodes and polling points (their CPU window starts 1.5 s later instead, a 2 s window); no wait for a quiet machine before a point' : null,
  };
}

/* ---- the points ------------------------------------------------------------ */

/** The workload of a point: the base with one thing changed. */
function specOf(P, axis, x) {
  const s = { ...P.base };
  if (axis === 'conns') s.clients = x * s.nodes;
  else if (axis === 'room') s.perRoom = x;
  else if (axis === 'rps') s.k = x;
  else if (axis === 'size') s.size = x;
  else if (axis === 'nodes') s.nodes = x;
  else if (axis === 'polling') { s.clients = P.pollClients; s.transport = x; }
  return s;
}

const specKey = (s) => `${s.nodes}n/${s.clients}c/${s.perRoom}m/k${s.k}/${s.size}B/${s.transport}`;

/** Points that need a cluster of their own (not the 2-node WebSocket one of the kind). */
const needsFresh = (s, P) => s.nodes !== P.base.nodes || s.transport !== 'websocket';

/** The sio-bench workload of a spec: rooms, members per room, extra options. */
function workloadOf(s) {
  const rooms = Math.max(1, Math.round((s.clients * s.k) / s.perRoom));
  const benchArgs = ['--size', String(s.size)];
  if (s.k > 1) benchArgs.push('--dist', `k:${s.k}`);
  if (s.transport === 'polling') benchArgs.push('--transport', 'polling');
  /* a worker holds at most 19,000 sockets, polling clients use 2 */
  const perWorker = s.transport === 'polling' ? 9000 : 18000;
  const workers = Math.max(2, Math.ceil(s.clients / perWorker));
  return { rooms, perRoom: (s.clients * s.k) / rooms, benchArgs, workers };
}

/* ---- running ----------------------------------------------------------------- */

/**
 * A fresh cluster, warmed up (main: always; else when P.freshWarmup), with its RSS
 * before the first point's clients (after the warm-up: what the warm-up grew, JIT code,
 * heap and buffer pools, is not a cost per connection).
 */
async function freshCluster(ctx, kind, nodes, main) {
  const P = ctx.params.curves;
  const cluster = await startCluster(ctx, kind, nodes);
  cluster.warm = main || P.freshWarmup;
  if (P.warmup > 0 && cluster.warm) {
    try {
      /* few clients (200 in 2 rooms of 100), so that what they leave behind in the
       * allocators is small next to the first point's clients */
      await fixedRun(ctx, cluster, { clients: 200, rooms: 2, deliveriesPerS: P.deliveriesPerS, duration: P.warmup, drain: 2,
        label: `${kind} curves warm-up`, skip: 0.5, quietMaxMs: P.quietMaxMs, benchArgs: ['--size', String(P.base.size)] });
    } catch (e) { log(`curves: ${kind} warm-up failed: ${e.message}`); }
    await waitIdle(cluster, 5000);
  }
  cluster.rssBase = cluster.nodes.map((n) => rssKb(n.pid));
  return cluster;
}

/** One point on a cluster: the fixed-rate run, CPU window, RSS during the run. */
async function runPoint(ctx, cluster, kind, spec, label) {
  const P = ctx.params.curves;
  const W = workloadOf(spec);
  let rss = null;
  const r = await fixedRun(ctx, cluster, {
    clients: spec.clients, rooms: W.rooms, perRoom: W.perRoom, deliveriesPerS: P.deliveriesPerS, duration: P.duration,
    drain: P.drain, label, skip: P.skip + (cluster.warm ? 0 : P.freshSkip), benchArgs: W.benchArgs, workers: W.workers, rampTimeout: 150, quietMaxMs: P.quietMaxMs,
    onMain: () => {
      rss = sleep(P.rssSettleMs).then(() => cluster.nodes.map((n) => rssKb(n.pid)));
    },
  });
  const during = rss ? await rss : null;
  const sum = (a) => (a ? a.reduce((x, y) => x + (y || 0), 0) : null);
  const c = r.cpu || {};
  const kept = !!r.cpu && r.cpu.deliveries_from && r.cpu.deliveries_from.startsWith('steady');
  return {
    kind, spec, rooms: W.rooms, per_room: W.perRoom, broadcasts_per_s: r.broadcasts_per_s,
    ready: r.ready, errors: r.errors, losses: r.losses, kept_up: kept, pass: r.pass,
    us_per_delivery: c.us_per_delivery, user_us: c.user_us_per_delivery, sys_us: c.sys_us_per_delivery,
    delivery_rate: c.delivery_rate, achieved_deliveries_per_s: r.achieved_deliveries_per_s,
    frames_per_segment: c.frames_per_segment, other_cores: c.other_cores, bench_cores: c.bench_cores, redis_cores: c.redis_cores,
    window_s: c.window_s, warm: cluster.warm, window_broadcasts: r.window_broadcasts, cpu_error: c.error,
    p50_ms: r.latency && r.latency.p50_ms, p99_ms: r.latency && r.latency.p99_ms,
    bytes_per_delivery: r.result && r.result.delivery.deliveries ? r.result.bench.bytes_in / r.result.delivery.deliveries : null,
    rss_kb: during,
    /* (RSS with the clients - RSS of the cluster before its first point) / clients */
    rss_kb_per_connection: during && cluster.rssBase && r.ready ? (sum(during) - sum(cluster.rssBase)) / r.ready : null,
  };
}

function brief(p) {
  const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
  return `${f(p.us_per_delivery)} µs per delivery (${f(p.user_us)} user + ${f(p.sys_us)} system), ${f(p.delivery_rate, 0)} deliveries/s, p99 ${f(p.p99_ms)} ms` +
    `${p.losses ? `, ${p.losses} lost` : ''}${p.kept_up ? '' : ', did not keep up'}${p.rss_kb_per_connection !== null && p.rss_kb_per_connection !== undefined ? `, ${f(p.rss_kb_per_connection)} KB per connection` : ''}`;
}

async function measure(ctx, opt) {
  const P = ctx.params.curves;
  const kinds = opt.only ? [opt.only] : KINDS;
  const axes = opt.phases;
  const res = { params: P, kinds, axes, points: {}, runs: {} };
  const cache = Object.fromEntries(kinds.map((k) => [k, new Map()]));
  const main = {};
  const stopMain = async () => { await Promise.all(Object.values(main).map((c) => c.stop())); for (const k of Object.keys(main)) delete main[k]; };
  /* the order: the conns points first (ascending) on the fresh main clusters, so that the
   * RSS they read is not inflated by memory kept from a larger earlier run */
  try {
    for (const axis of axes) {
      res.points[axis] = [];
      for (const x of P.points[axis]) {
        const spec = specOf(P, axis, x);
        const key = specKey(spec);
        res.points[axis].push({ x, key });
        for (const kind of kinds) {
          if (cache[kind].has(key)) continue;
          const label = `${kind} ${axis}=${x}`;
          log(`curves: ${axis} ${x}: ${kind} (${spec.nodes} nodes, ${spec.clients} ${spec.transport} clients, rooms of ${spec.perRoom}, ${spec.k} per client, ${spec.size} B, ${P.deliveriesPerS} deliveries/s)`);
          let r;
          try {
            if (needsFresh(spec, P)) {
              const cluster = await freshCluster(ctx, kind, spec.nodes, false);
              try { r = await runPoint(ctx, cluster, kind, spec, label); } finally { await cluster.stop(); }
            } else {
              if (!main[kind]) main[kind] = await freshCluster(ctx, kind, P.base.nodes, true);
              r = await runPoint(ctx, main[kind], kind, spec, label);
              await waitIdle(main[kind], 5000);
              if (!main[kind].alive()) {
                log(`curves: a ${kind} server or Redis exited: a fresh cluster for the next point`);
                await main[kind].stop();
                delete main[kind];
              }
            }
            log(`curves:   ${brief(r)}`);
          } catch (e) {
            log(`curves: ${label} failed: ${e.message.split('\n')[0]}`);
            r = { kind, spec, error: e.message.split('\n')[0] };
          }
          cache[kind].set(key, r);
        }
      }
    }
  } finally {
    await stopMain();
  }
  for (const kind of kinds) res.runs[kind] = Object.fromEntries(cache[kind]);
  return res;
}

async function runCurves(opt, ctx, facts) {
  const report = require('./curves-report'); /* (it requires this file: loaded once both are defined) */
  const started = Date.now();
  ctx.params = { curves: curvesParams(opt.quick) };
  const outDir = path.join(path.dirname(opt.out), 'results');
  const gnuplot = plot.available(); /* (loadtest/bench said so when it is missing) */
  log(`curves ${opt.quick ? 'quick' : 'full'} run, axes ${opt.phases.join(', ')}, ${ctx.params.curves.deliveriesPerS} deliveries/s per point, logs in ${ctx.tmp}`);
  const res = await measure(ctx, opt);
  const meta = {
    command: ['loadtest/bench', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    wallMin: ((Date.now() - started) / 60000).toFixed(1),
    mode: opt.quick ? 'quick' : 'full',
    facts,
    cpuSource: cpuSourceText(ctx),
    plots: {},
    plotNote: null,
  };
  if (opt.write && gnuplot) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const axis of res.axes) {
      const file = path.join(outDir, `curves-${axis}.png`);
      try {
        await plot.render(report.plotSpec(res, axis), file, ctx.tmp);
        meta.plots[axis] = path.relative(path.dirname(opt.out), file).split(path.sep).join('/');
      } catch (e) {
        log(`curves: the plot of ${axis} failed: ${e.message}`);
      }
    }
  } else if (opt.write) {
    meta.plotNote = `No plots: gnuplot was not found when this ran (${plot.INSTALL}).`;
  }
  console.log(report.terminal(res));
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(res, null, 1));
  if (opt.write) {
    let text = '';
    try { text = fs.readFileSync(opt.out, 'utf8'); } catch (_) { /* a new file */ }
    fs.writeFileSync(opt.out, report.SECTION.splice(text, report.markdown(res, meta)));
    log(`wrote the curves section of ${opt.out}${Object.keys(meta.plots).length ? ` and ${Object.keys(meta.plots).length} plot(s) in ${outDir}` : ''} (${meta.wallMin} min)`);
  }
  return res;
}

module.exports = { runCurves, curvesParams, AXES, specOf, specKey, workloadOf };
