'use strict';
/*
 * loadtest/bench --plain: what a delivery costs the server when it goes to a plain
 * WebSocket client (sio-server's PLAIN_WS_PATH: no Engine.IO / Socket.IO framing, the
 * text {"event":"bench","data":{...}}) next to one to a Socket.IO client, with the main
 * bench's fan-out: 2 sio-server nodes on one fresh redis-server, 2,000 sio-bench clients
 * in 20 rooms of 100, 200 broadcasts/s straight to Redis (20,000 deliveries/s), the CPU
 * window of the main bench's 20k/s run. Both kinds of client run against the same
 * servers (PLAIN_WS_PATH=/ws on every node), alternately, in ABBA order so that a slow
 * drift of the machine hits both alike; the CPU of the runs of a kind is pooled.
 *
 *   rss      per kind, a fresh cluster: RSS per idle connection, and the servers' CPU
 *            with those clients connected and nothing published (the idle floor)
 *   traffic  one cluster: a warm-up of each kind, then the runs (sio-bench --redis,
 *            plain clients with --plain-path /ws)
 *   pairs    both kinds AT THE SAME TIME, each on a fresh cluster of its own, over one
 *            common CPU window (the way --recovery measures ON vs OFF): both see the same
 *            machine, so the ratio does not move with the VM's drift; then A/A pairs
 *            (Socket.IO on both sides): what a pair reads when nothing differs
 *
 *   runPlain(opt, ctx, facts)   measures, prints, and writes the "Plain WebSocket
 *                               clients" section of RESULTS.md (between its markers;
 *                               the rest of the file is left as it is)
 */
const fs = require('node:fs');
const { startCluster } = require('./cluster');
const { runSioBench } = require('./siobench');
const { snapshot, delta, sockets, cpuSourceText } = require('./metrics');
const { rssKb, sleep, CLK_TCK } = require('./proc');
const { fixedRun, pooled, waitIdle, waitQuiet, windowSummary, latencyOf } = require('./phases');
const { startPerf, samplesByThread } = require('./perf');
const { section, f, n0, ratio, mdTable, textTable, ok } = require('./md');

const PLAIN_PATH = '/ws';
const PLAIN_PHASES = ['rss', 'traffic', 'pairs'];
const SECTION = section('plain', 'written by loadtest/bench --plain; the rest of the file is left as it is');
const SERVER_ENV = { PLAIN_WS_PATH: PLAIN_PATH };
const KINDS = {
  sio: { label: 'Socket.IO clients', benchArgs: [], what: 'Engine.IO v4 / Socket.IO v5 over WebSocket at /socket.io/: `42["bench",{...}]`' },
  plain: { label: 'plain clients', benchArgs: ['--plain-path', PLAIN_PATH], what: `plain WebSocket at ${PLAIN_PATH}: \`{"event":"bench","data":{...}}\`, keepalive by ping frames` },
};

const log = (msg) => console.error(`bench: ${msg}`);

function plainParams(quick) {
  return {
    rss: { clients: quick ? 4000 : 10000, workers: 2, rooms: 100, hold: quick ? 6 : 8, settleMs: quick ? 3000 : 4000, idleMs: 2000 },
    traffic: {
      clients: 2000,
      rooms: 20,
      deliveriesPerS: 20000,
      duration: quick ? 8 : 15,
      drain: 5,
      warmup: 4,
      skip: 2,
      order: quick ? ['sio', 'plain', 'plain', 'sio'] : ['sio', 'plain', 'plain', 'sio', 'sio', 'plain', 'plain', 'sio'],
    },
    pairs: { clients: 2000, rooms: 20, deliveriesPerS: 20000, duration: quick ? 8 : 12, drain: 3, skip: 2, pairs: quick ? 2 : 4, aaPairs: quick ? 1 : 2 },
  };
}

/** Whether build/sio-server knows PLAIN_WS_PATH (its --help lists its variables). */
function serverHasPlain(ctx) {
  try {
    const out = require('node:child_process').execFileSync(ctx.sioServer, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return /PLAIN_WS_PATH/.test(out);
  } catch (e) {
    return /PLAIN_WS_PATH/.test(`${e.stdout || ''}${e.stderr || ''}`);
  }
}

/* ---- the nodes' warnings and errors (LOG_LEVEL=warn: JSON lines) ------------- */

function logSizes(cluster) {
  return cluster.nodes.map((n) => { try { return fs.statSync(n.logFile).size; } catch (_) { return 0; } });
}

/** Distinct messages the nodes logged since `sizes` (counts), at most 8. */
function logSince(cluster, sizes) {
  const out = new Map();
  cluster.nodes.forEach((n, i) => {
    let text = '';
    try {
      const fd = fs.openSync(n.logFile, 'r');
      const len = fs.fstatSync(fd).size - sizes[i];
      if (len > 0) {
        const buf = Buffer.alloc(Math.min(len, 1 << 20));
        fs.readSync(fd, buf, 0, buf.length, sizes[i]);
        text = buf.toString('utf8');
      }
      fs.closeSync(fd);
    } catch (_) { /* no log */ }
    for (const line of text.split('\n').filter(Boolean)) {
      let key = line.slice(0, 200);
      try {
        const j = JSON.parse(line);
        key = `${j.level || '?'}: ${j.msg || j.message || line}`.slice(0, 200);
      } catch (_) { /* not JSON */ }
      if (out.size < 8 || out.has(key)) out.set(key, (out.get(key) || 0) + 1);
    }
  });
  return [...out].map(([message, count]) => ({ message, count }));
}

/* ---- rss: RSS per idle connection and the idle floor, a fresh cluster per kind --- */

async function rssRun(ctx, kind) {
  const P = ctx.params.plain.rss;
  const cluster = await startCluster(ctx, 'sio', 2, SERVER_ENV);
  try {
    await sleep(1000);
    const before = cluster.nodes.map((n) => rssKb(n.pid));
    let sample = null;
    const run = await runSioBench(ctx, [...cluster.nodes.flatMap((n) => ['--url', n.url]), '-c', String(P.clients),
      '--workers', String(P.workers), '--rooms', String(P.rooms), '--duration', String(P.hold), '--ramp-timeout', '120',
      ...KINDS[kind].benchArgs], {
      label: `${kind} rss`,
      onMain: (t0, mode, pid) => {
        sample = (async () => {
          await sleep(P.settleMs);
          const a = await snapshot(cluster, pid);
          const s = { rss: cluster.nodes.map((n) => rssKb(n.pid)), sockets: sockets(cluster) };
          await sleep(P.idleMs);
          const b = await snapshot(cluster, pid);
          return { ...s, idle: delta(a, b) };
        })().catch((e) => ({ error: e.message }));
      },
    });
    const s = await sample;
    if (!s || s.error) throw new Error(`no RSS sample: ${s && s.error}`);
    const r = run.result;
    const ready = r.connections.ready;
    const sum = (a) => a.reduce((x, y) => x + (y || 0), 0);
    return {
      clients: P.clients,
      ready,
      errors: r.errors.total,
      error_messages: r.errors.messages,
      rooms: P.rooms,
      rss_before_kb: before,
      rss_after_kb: s.rss,
      sockets_per_node: s.sockets,
      kb_per_connection: ready ? (sum(s.rss) - sum(before)) / ready : null,
      connect_rate: r.connections.rate_per_s,
      idle_s: s.idle.wall,
      idle_cores: s.idle.total / s.idle.wall,
      idle_us_per_connection_s: ready ? (s.idle.total * 1e6) / s.idle.wall / ready : null,
      pings: r.connections.pings,
      result: r,
    };
  } finally {
    await cluster.stop();
  }
}

/* ---- traffic: the 20k/s fan-out, the kinds alternately on one cluster ------------ */

function threadSplit(cpu) {
  if (!cpu || !cpu.threads || !cpu.deliveries) return null;
  const us = (ts) => (ts.reduce((s, t) => s + t.user + t.sys, 0) * 1e6) / cpu.deliveries;
  return { main_us: us(cpu.threads.filter((t) => t.main)), other_us: us(cpu.threads.filter((t) => !t.main)) };
}

async function traffic(ctx) {
  const P = ctx.params.plain.traffic;
  const cluster = await startCluster(ctx, 'sio', 2, SERVER_ENV);
  const runs = { sio: [], plain: [] };
  const shape = { clients: P.clients, rooms: P.rooms, deliveriesPerS: P.deliveriesPerS };
  try {
    for (const kind of Object.keys(KINDS)) {
      log(`plain: warm-up, ${KINDS[kind].label}, ${P.warmup}s at ${P.deliveriesPerS} deliveries/s`);
      try {
        await fixedRun(ctx, cluster, { ...shape, duration: P.warmup, drain: 3, label: `${kind} warm-up`, skip: 1, benchArgs: KINDS[kind].benchArgs });
      } catch (e) { log(`plain: warm-up (${kind}) failed: ${e.message}`); }
      await waitIdle(cluster);
    }
    for (let i = 0; i < P.order.length; i++) {
      const kind = P.order[i];
      const nth = runs[kind].length + 1;
      log(`plain: run ${i + 1} of ${P.order.length}: ${KINDS[kind].label} (${P.clients} clients, ${P.rooms} rooms, ${P.deliveriesPerS} deliveries/s, ${P.duration}s)`);
      const sizes = logSizes(cluster);
      let r;
      try {
        r = await fixedRun(ctx, cluster, { ...shape, duration: P.duration, drain: P.drain, label: `${kind} run ${nth}`,
          skip: P.skip, profile: nth === 1, benchArgs: KINDS[kind].benchArgs });
        const R = r.result;
        r.bytes_per_delivery = R.delivery.deliveries ? R.bench.bytes_in / R.delivery.deliveries : null;
        r.other_events = R.delivery.other_events;
        r.stray = R.delivery.stray;
        r.error_messages = R.errors.messages;
        r.pings = R.connections.pings;
        r.threads_us = threadSplit(r.cpu);
      } catch (e) {
        log(`plain: ${kind} run ${nth} failed: ${e.message}`);
        r = { error: e.message.split('\n')[0] };
      }
      r.order = i + 1;
      r.server_log = logSince(cluster, sizes);
      runs[kind].push(r);
      const c = r.cpu;
      log(`plain:   ${c && ok(c.us_per_delivery) ? `${c.us_per_delivery.toFixed(2)} µs per delivery` : 'no CPU window'}, p50 ${r.latency ? f(r.latency.p50_ms) : '–'} ms, p99 ${r.latency ? f(r.latency.p99_ms) : '–'} ms, losses ${r.losses === undefined ? '–' : r.losses}`);
      await waitIdle(cluster);
      if (!cluster.alive()) throw new Error('a server or Redis exited during the runs');
    }
  } finally {
    await cluster.stop();
  }
  const out = {};
  for (const kind of Object.keys(KINDS)) {
    const p = pooled(runs[kind]);
    if (p.cpu && !p.cpu.error) p.threads_us = threadSplit(p.cpu);
    out[kind] = { pooled: p, runs: runs[kind] };
  }
  return out;
}

/* ---- pairs: both kinds at the same time, each on its own cluster ------------------ */

/** Snapshots of every side, back to back, in `order`. */
async function snapSides(clusters, pids, order) {
  const out = [];
  for (const i of order) out[i] = await snapshot(clusters[i], pids[i]);
  return out;
}

/**
 * One pair: kinds[0] on cluster 0 and kinds[1] on cluster 1, publishing at the same
 * time; the CPU window is the same stretch for both (from `skip` s after the later one
 * started publishing to 0.5 s before the earlier one stops), one perf run over it.
 */
async function pairRun(ctx, kinds, rep) {
  const P = ctx.params.plain.pairs;
  const order = rep % 2 ? [1, 0] : [0, 1];
  const clusters = [];
  try {
    for (const i of order) clusters[i] = await startCluster(ctx, 'sio', 2, SERVER_ENV);
    const otherBefore = await waitQuiet(ctx, clusters[0], 0.15, 45000);
    const rate = P.deliveriesPerS / (P.clients / P.rooms);
    const t0 = [];
    const pids = [];
    let fired = null;
    const both = new Promise((r) => { fired = r; });
    const runs = order.map((i) => runSioBench(ctx, [...clusters[i].nodes.flatMap((n) => ['--url', n.url]), '-c', String(P.clients),
      '--workers', '2', '--rooms', String(P.rooms), '--rate', String(rate), '--duration', String(P.duration), '--drain', String(P.drain),
      '--redis', clusters[i].redis.url, '--ramp-timeout', '60', ...KINDS[kinds[i]].benchArgs], {
      label: `pair ${rep} ${kinds[i]}${kinds[0] === kinds[1] ? ` (side ${i + 1})` : ''}`,
      onMain: (t, m, pid) => {
        t0[i] = t;
        pids[i] = pid;
        if (t0[0] && t0[1]) fired();
      },
    }).catch((e) => ({ error: e.message })));
    const win = both.then(async () => {
      const start = Math.max(...t0) + P.skip * 1000;
      const end = Math.min(...t0) + (P.duration - 0.5) * 1000;
      if (end - start < 2000) return { error: `the two runs started publishing ${Math.abs(t0[0] - t0[1])} ms apart: no common window` };
      await sleep(start - Date.now());
      const perfRun = ctx.perf ? startPerf(ctx.tmp, (end - start) / 1000) : null;
      const a = await snapSides(clusters, pids, order);
      await sleep(end - Date.now());
      const b = await snapSides(clusters, pids, order);
      let samples = null;
      if (perfRun) {
        await perfRun.done;
        samples = await samplesByThread(perfRun.file);
        if (!ctx.keepLogs) fs.rmSync(perfRun.file, { force: true });
      }
      return { a, b, samples };
    });
    const done = [];
    for (const [k, i] of order.entries()) done[i] = await runs[k];
    const failed = done.find((x) => x.error);
    if (failed) throw new Error(failed.error);
    if (!(t0[0] && t0[1])) throw new Error('a sio-bench run never started publishing');
    const w = await win;
    if (w.error) throw new Error(w.error);
    if (!clusters.every((c) => c.alive())) throw new Error('a server or Redis exited during the pair');
    const sides = [0, 1].map((i) => {
      const r = done[i].result;
      const secs = r.published.secs || P.duration;
      const kept = r.delivery.losses === 0 && r.published.ok === r.published.planned;
      const cpu = windowSummary({ a: w.a[i], b: w.b[i], samples: w.samples }, done[i].progress, kept ? r.delivery.deliveries / secs : null);
      return { kind: kinds[i], cpu, latency: latencyOf(r), losses: r.delivery.losses, errors: r.errors.total, error_messages: r.errors.messages, bytes_per_delivery: r.delivery.deliveries ? r.bench.bytes_in / r.delivery.deliveries : null };
    });
    /* the machine's busy time minus both sides (servers, Redis, sio-bench) and this script */
    const d = sides.map((x) => x.cpu);
    const busy = (w.b[0].sys.busy - w.a[0].sys.busy) / CLK_TCK;
    const mine = d.reduce((x, c) => x + (c.cpu_user_s + c.cpu_sys_s) + (c.redis_cores + c.bench_cores) * c.window_s, 0) + d[0].self_cores * d[0].window_s;
    const other = Math.max(0, busy - mine) / d[0].window_s;
    const ratioUs = sides[1].cpu.us_per_delivery / sides[0].cpu.us_per_delivery;
    log(`plain:   pair ${rep} (${kinds.join(' vs ')}): ${f(sides[0].cpu.us_per_delivery)} vs ${f(sides[1].cpu.us_per_delivery)} µs per delivery (ratio ${f(ratioUs, 3)}), ` +
      `p99 ${f(sides[0].latency.p99_ms)} / ${f(sides[1].latency.p99_ms)} ms, window ${f(d[0].window_s, 1)} s, other jobs ${f(other)} cores`);
    return { rep, kinds, sides, ratio: ratioUs, other_cores: other, other_before: otherBefore, window_s: d[0].window_s };
  } finally {
    await Promise.all(clusters.filter(Boolean).map((c) => c.stop()));
  }
}

/** Sum of CPU ÷ sum of deliveries over the sides of one kind. */
function poolSides(list) {
  const good = list.filter((x) => x && x.cpu && !x.cpu.error && x.cpu.deliveries > 0);
  if (!good.length) return null;
  const sum = (k) => good.reduce((s, x) => s + x.cpu[k], 0);
  const n = sum('deliveries');
  return {
    us_per_delivery: ((sum('cpu_user_s') + sum('cpu_sys_s')) * 1e6) / n,
    user_us_per_delivery: (sum('cpu_user_s') * 1e6) / n,
    sys_us_per_delivery: (sum('cpu_sys_s') * 1e6) / n,
    delivery_rate: n / sum('window_s'),
    sides: good.length,
  };
}

async function pairs(ctx) {
  const P = ctx.params.plain.pairs;
  const out = { pairs: [], aa: [] };
  for (let rep = 1; rep <= P.pairs + P.aaPairs; rep++) {
    const aa = rep > P.pairs;
    const kinds = aa ? ['sio', 'sio'] : ['sio', 'plain'];
    log(`plain: ${aa ? 'A/A pair' : 'pair'} ${rep} of ${P.pairs + P.aaPairs}: ${kinds.map((k) => KINDS[k].label).join(' and ')} at the same time, each on its own cluster`);
    try {
      (aa ? out.aa : out.pairs).push(await pairRun(ctx, kinds, rep));
    } catch (e) {
      log(`plain: pair ${rep} failed: ${e.message}`);
      (aa ? out.aa : out.pairs).push({ rep, kinds, error: e.message.split('\n')[0] });
    }
  }
  const ok2 = (x) => !x.error;
  out.sio = poolSides(out.pairs.filter(ok2).map((x) => x.sides[0]));
  out.plain = poolSides(out.pairs.filter(ok2).map((x) => x.sides[1]));
  out.ratio = out.sio && out.plain ? out.plain.us_per_delivery / out.sio.us_per_delivery : null;
  return out;
}

/* ---- report ---------------------------------------------------------------------- */

const get = (o, p) => p.split('.').reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), o);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Runs of a kind that have a CPU window. */
const goodRuns = (res, kind) => ((res.traffic && res.traffic[kind] && res.traffic[kind].runs) || []).filter((r) => r.cpu && !r.cpu.error && ok(r.cpu.us_per_delivery));

/** max / min µs per delivery over the runs of a kind: what the method cannot tell apart. */
function spread(res, kind) {
  const us = goodRuns(res, kind).map((r) => r.cpu.us_per_delivery);
  return us.length > 1 ? Math.max(...us) / Math.min(...us) : null;
}

function rows(res) {
  const R = [];
  const T = res.traffic || {};
  const val = (kind, p) => num(get(T[kind] && T[kind].pooled, p));
  const both = (label, a, b, d = 2, showRatio = true) => R.push([label, f(a, d), f(b, d), showRatio ? f(ratio(b, a), 3) : '']);
  const line = (label, p, d = 2, showRatio = true) => both(label, val('sio', p), val('plain', p), d, showRatio);
  const each = (label, fn, d = 2) => {
    const cell = (kind) => ((T[kind] && T[kind].runs) || []).map((r) => f(fn(r), d)).join(' / ');
    R.push([label, cell('sio'), cell('plain'), '']);
  };
  const sect = (label) => R.push([`**${label}**`, '', '', '']);
  const P = res.params.traffic;
  sect(`Fan-out at ${n0(P.deliveriesPerS)} deliveries/s (${n0(P.clients)} clients, ${P.rooms} rooms of ${n0(P.clients / P.rooms)}, one event per socket at a time)`);
  line('server CPU per delivery, µs (user + system)', 'cpu.us_per_delivery');
  each('  each run, in the order run (pooled above)', (r) => r.cpu && r.cpu.us_per_delivery);
  line('  user µs per delivery', 'cpu.user_us_per_delivery');
  line('  system µs per delivery', 'cpu.sys_us_per_delivery');
  line('  main threads (fan-out, framing, socket writes), µs', 'threads_us.main_us');
  line('  other threads (cluster thread: Redis, decoding), µs', 'threads_us.other_us');
  line('  server CPU, cores (2 nodes)', 'cpu.cpu_cores', 3);
  line('  deliveries/s in the CPU windows', 'cpu.delivery_rate', 0, false);
  line('  frames per TCP data segment to clients', 'cpu.frames_per_segment');
  each('  bytes received per delivery (frames, headers, pings)', (r) => r.bytes_per_delivery, 1);
  each('  latency p50, ms (each run)', (r) => r.latency && r.latency.p50_ms);
  each('  latency p99, ms (each run)', (r) => r.latency && r.latency.p99_ms);
  each('  losses (each run)', (r) => r.losses, 0);
  each('  client errors (each run)', (r) => r.errors, 0);
  each('  other jobs on the machine, cores (each run)', (r) => r.cpu && r.cpu.other_cores, 2);
  const PR = res.pairs;
  if (PR && !PR.error) {
    const Q = res.params.pairs;
    const good = PR.pairs.filter((x) => !x.error);
    const aa = PR.aa.filter((x) => !x.error);
    const side = (x, i, fn, d = 2) => f(fn(x.sides[i]), d);
    sect(`Side by side: both kinds at the same time, each on a cluster of its own (${good.length} pairs of ${Q.duration} s, the same CPU window for both)`);
    both('server CPU per delivery, µs (user + system), pooled over the pairs', get(PR, 'sio.us_per_delivery'), get(PR, 'plain.us_per_delivery'));
    both('  user µs per delivery', get(PR, 'sio.user_us_per_delivery'), get(PR, 'plain.user_us_per_delivery'));
    both('  system µs per delivery', get(PR, 'sio.sys_us_per_delivery'), get(PR, 'plain.sys_us_per_delivery'));
    R.push(['  each pair, µs per delivery (ratio: plain ÷ Socket.IO)', good.map((x) => side(x, 0, (y) => y.cpu.us_per_delivery)).join(' / '),
      good.map((x) => side(x, 1, (y) => y.cpu.us_per_delivery)).join(' / '), good.map((x) => f(x.ratio, 3)).join(' / ')]);
    R.push(['  latency p50, ms (each pair)', good.map((x) => side(x, 0, (y) => y.latency.p50_ms)).join(' / '), good.map((x) => side(x, 1, (y) => y.latency.p50_ms)).join(' / '), '']);
    R.push(['  latency p99, ms (each pair)', good.map((x) => side(x, 0, (y) => y.latency.p99_ms)).join(' / '), good.map((x) => side(x, 1, (y) => y.latency.p99_ms)).join(' / '), '']);
    R.push(['  losses, client errors (each pair)', good.map((x) => `${n0(x.sides[0].losses)}, ${n0(x.sides[0].errors)}`).join(' / '),
      good.map((x) => `${n0(x.sides[1].losses)}, ${n0(x.sides[1].errors)}`).join(' / '), '']);
    R.push(['  other jobs on the machine, cores (each pair)', good.map((x) => f(x.other_cores)).join(' / '), '', '']);
    R.push([`method floor: A/A pairs, Socket.IO on both sides (ratio: side 2 ÷ side 1)`, aa.map((x) => side(x, 0, (y) => y.cpu.us_per_delivery)).join(' / '),
      aa.map((x) => side(x, 1, (y) => y.cpu.us_per_delivery)).join(' / '), aa.map((x) => f(x.ratio, 3)).join(' / ')]);
  }
  const S = res.rss || {};
  const rs = (kind, p) => num(get(S[kind], p));
  const C = res.params.rss;
  sect(`Memory and the idle floor (a fresh cluster per kind, ${n0(C.clients)} idle clients in ${C.rooms} rooms)`);
  both('RSS per idle connection, KB', rs('sio', 'kb_per_connection'), rs('plain', 'kb_per_connection'));
  both('  connections held (2 nodes)', rs('sio', 'ready'), rs('plain', 'ready'), 0, false);
  both(`idle floor: server CPU with the clients connected, nothing published, cores (${C.idleMs / 1000} s)`, rs('sio', 'idle_cores'), rs('plain', 'idle_cores'), 4);
  both('  of it per connection, µs of CPU per second', rs('sio', 'idle_us_per_connection_s'), rs('plain', 'idle_us_per_connection_s'), 3);
  both('  that floor as µs per delivery at the fan-out rate', ok(rs('sio', 'idle_cores')) ? (rs('sio', 'idle_cores') * 1e6) / P.deliveriesPerS : null,
    ok(rs('plain', 'idle_cores')) ? (rs('plain', 'idle_cores') * 1e6) / P.deliveriesPerS : null, 3, false);
  both('method floor: spread of the runs of one kind (max ÷ min µs per delivery)', spread(res, 'sio'), spread(res, 'plain'), 3, false);
  return R;
}

const HEADER = ['', 'Socket.IO clients', 'plain clients', 'plain / Socket.IO'];

/** Sentences: the comparison against the method's floor, problems seen. */
function findings(res) {
  const L = [];
  const PR = res.pairs;
  if (PR && !PR.error && ok(PR.ratio)) {
    const rs = PR.pairs.filter((x) => !x.error).map((x) => x.ratio);
    const aa = PR.aa.filter((x) => !x.error).map((x) => x.ratio);
    const floor = aa.length ? Math.max(...aa.map((x) => Math.abs(x - 1))) : null;
    const beyond = floor !== null && rs.every((x) => Math.abs(x - 1) > floor && Math.sign(x - 1) === Math.sign(PR.ratio - 1));
    L.push(`Side by side (the same machine for both), a delivery to a plain client cost the servers ${f(PR.plain.us_per_delivery)} µs against ${f(PR.sio.us_per_delivery)} µs to a Socket.IO client: ` +
      `${f(PR.ratio, 3)}× (each pair: ${rs.map((x) => f(x, 3)).join(', ')}). ` +
      (floor === null ? 'No A/A pair completed, so the method\'s floor is unknown.'
        : `The A/A pairs (nothing differs) read ${aa.map((x) => f(x, 3)).join(', ')}: ${beyond ? `every pair lies further from 1 than that (±${f(floor * 100, 1)} %), on the same side, so the difference is measurable` : `not every pair lies further from 1 than that (±${f(floor * 100, 1)} %), so the difference is within what the method can tell apart`}.`));
  }
  const T = res.traffic || {};
  const us = (k) => num(get(T[k] && T[k].pooled, 'cpu.us_per_delivery'));
  const a = us('sio');
  const b = us('plain');
  if (ok(a) && ok(b)) {
    const r = b / a;
    const noise = Math.max(spread(res, 'sio') || 1, spread(res, 'plain') || 1);
    const sio = goodRuns(res, 'sio').map((x) => x.cpu.us_per_delivery);
    const pl = goodRuns(res, 'plain').map((x) => x.cpu.us_per_delivery);
    const apart = sio.length && pl.length && (Math.max(...pl) < Math.min(...sio) || Math.min(...pl) > Math.max(...sio));
    L.push(`One kind after the other (ABBA), a delivery to a plain client cost the servers ${f(b)} µs against ${f(a)} µs to a Socket.IO client: ${f(r, 3)}× (${r < 1 ? '-' : '+'}${f(Math.abs(r - 1) * 100, 1)} %). ` +
      `Runs of the same kind differed by up to ${f((noise - 1) * 100, 1)} %; ${apart ? 'every plain run is on one side of every Socket.IO run' : 'the runs of the two kinds overlap, so the difference is within what this machine can tell apart'}.`);
  }
  for (const kind of Object.keys(KINDS)) {
    for (const r of (T[kind] && T[kind].runs) || []) {
      const where = `${KINDS[kind].label}, run ${r.order}`;
      if (r.error) L.push(`${where}: failed: ${r.error}`);
      if (r.losses > 0) L.push(`${where}: ${n0(r.losses)} deliveries lost.`);
      if (r.errors > 0) L.push(`${where}: client errors: ${(r.error_messages || []).map((m) => `${m.count} × ${m.message}`).join('; ')}.`);
      if (r.stray > 0) L.push(`${where}: ${n0(r.stray)} deliveries for a room the client is not in.`);
      if (r.other_events > 0) L.push(`${where}: ${n0(r.other_events)} messages that were neither a bench delivery nor the subscribe reply.`);
      if (r.server_log && r.server_log.length) L.push(`${where}: the nodes logged ${r.server_log.map((m) => `${m.count} × "${m.message}"`).join('; ')}.`);
    }
    for (const x of (PR && !PR.error ? [...PR.pairs, ...PR.aa] : [])) {
      if (x.error) { if (kind === 'sio') L.push(`pair ${x.rep} (${x.kinds.join(' vs ')}): failed: ${x.error}`); continue; }
      x.sides.forEach((y, i) => {
        if (y.kind !== kind) return;
        if (y.losses > 0) L.push(`pair ${x.rep}, ${KINDS[kind].label} (side ${i + 1}): ${n0(y.losses)} deliveries lost.`);
        if (y.errors > 0) L.push(`pair ${x.rep}, ${KINDS[kind].label} (side ${i + 1}): client errors: ${(y.error_messages || []).map((m) => `${m.count} × ${m.message}`).join('; ')}.`);
      });
    }
    const s = res.rss && res.rss[kind];
    if (s && s.error) L.push(`${KINDS[kind].label}, memory run: failed: ${s.error}`);
    if (s && s.errors > 0) L.push(`${KINDS[kind].label}, memory run: client errors: ${(s.error_messages || []).map((m) => `${m.count} × ${m.message}`).join('; ')}.`);
  }
  return L;
}

/** The first run's perf profile of a kind: by binary, and the top user-space symbols. */
function profileLines(res, kind) {
  const prof = get(res.traffic && res.traffic[kind], 'pooled.cpu.profile');
  if (!prof || !prof.samples) return [];
  const bin = prof.dsos.slice(0, 6).map((d) => `${d.dso} ${f(d.pct, 1)} %`).join(', ');
  const user = prof.symbols.filter((x) => !x.kernel).slice(0, 8).map((x) => [f(x.pct), x.dso, `\`${x.sym}\``]);
  return [`${KINDS[kind].label}, first run: ${n0(prof.samples)} samples of the 2 servers; by binary: ${bin}.`, '',
    ...(user.length ? [mdTable(['%', 'binary', 'user-space symbol (self time)'], user, ['---:', '---', '---']), ''] : [])];
}

function markdown(res, meta) {
  const P = res.params.traffic;
  const C = res.params.rss;
  const order = P.order.map((k) => (k === 'sio' ? 'S' : 'P')).join('');
  const L = [SECTION.BEGIN, '## Plain WebSocket clients', '',
    `\`${meta.command}\`, ${meta.date}, ${meta.wallMin} min (${meta.mode} run).`, '',
    'The fan-out of the main bench\'s 20k/s run (section 1 of "Every number") delivered to two kinds of client:', ''];
  for (const k of Object.keys(KINDS)) L.push(`- **${KINDS[k].label}**: ${KINDS[k].what}`);
  L.push('',
    `Both kinds against the same servers: 2 sio-server nodes with \`PLAIN_WS_PATH=${PLAIN_PATH}\` on one fresh redis-server, ` +
    `${n0(P.clients)} sio-bench clients (2 worker processes) in ${P.rooms} rooms of ${n0(P.clients / P.rooms)}, spread round-robin over the nodes, ` +
    `${n0(P.deliveriesPerS / (P.clients / P.rooms))} broadcasts/s round-robin over the rooms straight to Redis (\`sio-bench --redis\`, the \`@socket.io/redis-emitter\` format): ` +
    `${n0(P.deliveriesPerS)} deliveries/s for ${P.duration} s per run, after a ${P.warmup} s warm-up of each kind (not measured). ` +
    `The runs alternate in the order ${order} (S Socket.IO, P plain), so that a slow drift of the machine hits both kinds alike; each first waits for a quiet machine. ` +
    `CPU window and CPU time as in the main bench: from ${P.skip} s after publishing starts to 0.5 s before it ends; ${meta.cpuSource}; ` +
    'server CPU per delivery = CPU of the 2 server processes ÷ the deliveries in the window; the CPU of the runs of a kind is pooled (sum ÷ sum). ' +
    `Memory: per kind a fresh cluster, ${n0(C.clients)} idle clients in ${C.rooms} rooms, (RSS of both nodes with the clients − before) ÷ clients, as in the main bench's "RSS per idle connection".`, '',
    `**Side by side.** Run after run this VM's speed drifts (by ±10 % and more; see "Connection state recovery"), which sequential runs cannot tell from a small difference. ` +
    `So the same fan-out also runs as pairs, the way \`--recovery\` measures ON vs OFF: Socket.IO clients and plain clients **at the same time**, each kind on a fresh cluster of its own ` +
    `(2 nodes with \`PLAIN_WS_PATH=${PLAIN_PATH}\`, its own redis-server, its own sio-bench), ${n0(res.params.pairs.clients)} clients each, ${n0(res.params.pairs.deliveriesPerS)} deliveries/s each, ` +
    `${res.params.pairs.duration} s; the CPU window is the same stretch of time for both (from ${res.params.pairs.skip} s after the later side started publishing to 0.5 s before the earlier one stops), ` +
    'which side starts first alternates, and the CPU is pooled over the pairs. Then A/A pairs with Socket.IO clients on both sides show what a pair reads when nothing differs.', '',
    '**Floors.** The main bench has no floor for its fan-out, so these are given here: the idle floor (the servers\' CPU with the clients connected and nothing published: ' +
    'keepalive and timers, what does not follow the deliveries) and the method floors (how far sequential runs of the same kind differ, and what the A/A pairs read: a difference between the kinds smaller than that is noise).', '',
    mdTable(HEADER, rows(res)), '');
  for (const x of findings(res)) L.push(`- ${x}`);
  if (meta.notes.length) L.push('', ...meta.notes.map((x) => `- ${x}`));
  L.push('', ...meta.facts.map(([k, v]) => `- ${k}: ${v}`));
  const prof = [...profileLines(res, 'sio'), ...profileLines(res, 'plain')];
  if (prof.length) L.push('', '### Where the CPU goes (perf, self time, share of the servers\' samples)', '', ...prof);
  L.push(SECTION.END);
  return L.join('\n');
}

/** Drops the bulky parts (sio-bench RESULTs, per-run copies) for --json and the log. */
function condensed(res) {
  return JSON.parse(JSON.stringify(res, (key, v) => (key === 'result' || key === 'profile' ? undefined : v)));
}

async function runPlain(opt, ctx, facts) {
  if (!serverHasPlain(ctx)) throw new Error(`${ctx.sioServer} does not know PLAIN_WS_PATH (sio-server --help): build the server with the plain WebSocket endpoint`);
  const started = Date.now();
  const builtAt = () => { try { return fs.statSync(ctx.sioServer).mtimeMs; } catch (_) { return null; } };
  const built0 = builtAt();
  ctx.params = { plain: plainParams(opt.quick) };
  const res = { params: ctx.params.plain, rss: {}, traffic: null, pairs: null };
  log(`plain ${opt.quick ? 'quick' : 'full'} run, phases ${opt.phases.join(', ')}, logs in ${ctx.tmp}`);
  if (opt.phases.includes('rss')) {
    for (const kind of Object.keys(KINDS)) {
      log(`== plain: rss: ${KINDS[kind].label} ==`);
      try {
        res.rss[kind] = await rssRun(ctx, kind);
        log(`plain:   ${f(res.rss[kind].kb_per_connection)} KB per connection, idle ${f(res.rss[kind].idle_cores, 4)} cores`);
      } catch (e) {
        log(`plain: rss (${kind}) failed: ${e.stack || e.message}`);
        res.rss[kind] = { error: e.message.split('\n')[0] };
      }
    }
  }
  if (opt.phases.includes('traffic')) {
    log('== plain: traffic ==');
    try {
      res.traffic = await traffic(ctx);
    } catch (e) {
      log(`plain: traffic failed: ${e.stack || e.message}`);
      res.traffic = { error: e.message.split('\n')[0] };
    }
  }
  if (opt.phases.includes('pairs')) {
    log('== plain: pairs ==');
    try {
      res.pairs = await pairs(ctx);
    } catch (e) {
      log(`plain: pairs failed: ${e.stack || e.message}`);
      res.pairs = { error: e.message.split('\n')[0] };
    }
  }
  const meta = {
    command: ['loadtest/bench', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    wallMin: ((Date.now() - started) / 60000).toFixed(1),
    mode: opt.quick ? 'quick' : 'full',
    facts,
    notes: res.traffic && res.traffic.error ? [`The traffic phase failed: ${res.traffic.error}`] : [],
    cpuSource: cpuSourceText(ctx),
  };
  if (builtAt() !== built0) {
    meta.notes.push(`build/sio-server was rebuilt during this run (its file is now dated ${new Date(builtAt()).toISOString().replace(/\.\d+Z$/, 'Z')}): ` +
      'the nodes started before that ran the binary of the start, those started after it the new one, and perf may not resolve the symbols of the old one ' +
      '(copy the binaries to a directory of their own and pass --build-dir to avoid this).');
  }
  console.log(textTable(HEADER, rows(res)));
  for (const x of meta.notes) console.log(`- ${x}`);
  for (const x of findings(res)) console.log(`- ${x}`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(condensed(res), null, 1));
  if (opt.write) {
    let text = '';
    try { text = fs.readFileSync(opt.out, 'utf8'); } catch (_) { /* a new file */ }
    fs.writeFileSync(opt.out, SECTION.splice(text, markdown(res, meta)));
    log(`wrote the plain section of ${opt.out} (${meta.wallMin} min)`);
  }
  return res;
}

module.exports = { runPlain, plainParams, PLAIN_PHASES, PLAIN_PATH, SECTION, KINDS };
