'use strict';
/*
 * The report of `loadtest/bench --sharded`: a table on the terminal and the "Redis sharded
 * pub/sub and Redis Cluster" section of loadtest/RESULTS.md, kept between two markers so
 * that every kind of run replaces only its own part of the file:
 *   splice(text, section)  the file with the section replaced (or appended)
 *   extract(text)          the section of a file, or null
 */

const { section, ok, f, n0, ratio, mdTable, textTable } = require('./md');

const { BEGIN, END, extract, splice } = section('sharded', 'written by loadtest/bench --sharded; the other runs keep it');

/* ---- formatting -------------------------------------------------------- */

const g3 = (x) => (ok(x) ? (x === 0 ? '0' : x.toPrecision(3)) : '–');
const pct = (x) => (ok(x) ? `${(x * 100).toFixed(0)} %` : '–');

/* ---- derived numbers --------------------------------------------------- */

const good = (s) => s && !s.error && s.cpu && !s.cpu.error && s.cpu.deliveries > 0;

/** The measured topologies, in the order they ran. */
function topologies(res) {
  return (res.order || []).map((k) => res.topologies[k]).filter(Boolean);
}

function stepAt(t, rate) {
  return t && t.steps ? t.steps.find((s) => s.rate === rate) : null;
}

function maxStep(t) {
  return t && t.max_pass !== null && t.max_pass !== undefined ? stepAt(t, t.max_pass) : null;
}

function maxDeliveries(t, P) {
  const s = maxStep(t);
  if (!s) return null;
  return ok(s.deliveries_per_s) ? s.deliveries_per_s : (s.rate * P.clients) / P.rooms;
}

/** Redis CPU pooled over the passing steps: per shard and total, per 1000 deliveries and per broadcast. */
function pooledRedis(t) {
  const steps = (t.steps || []).filter((s) => s.pass && good(s));
  if (!steps.length) return null;
  const shards = steps[0].cpu.redis.length;
  const ticks = Array(shards).fill(0);
  const run = Array(shards).fill(0);
  const pub = Array(shards).fill(0);
  let deliveries = 0;
  let broadcasts = 0;
  let wall = 0;
  for (const s of steps) {
    s.cpu.redis.forEach((x, i) => { ticks[i] += x.ticks_s; run[i] += x.run_s; pub[i] += x.published || 0; });
    deliveries += s.cpu.deliveries;
    broadcasts += s.cpu.broadcasts;
    wall += s.cpu.window_s;
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return {
    steps: steps.length, wall, deliveries, broadcasts, ticks, run, pub,
    per_1000: ticks.map((x) => (x * 1000) / deliveries),
    total_per_1000: (sum(ticks) * 1000) / deliveries,
    run_total_per_1000: (sum(run) * 1000) / deliveries,
    us_per_broadcast: (sum(ticks) * 1e6) / broadcasts,
    run_us_per_broadcast: (sum(run) * 1e6) / broadcasts,
    share: ticks.map((x) => x / (sum(ticks) || 1)),
    run_share: run.map((x) => x / (sum(run) || 1)),
    pub_share: pub.map((x) => x / (sum(pub) || 1)),
  };
}

function stepRedis(s) {
  if (!good(s)) return null;
  const c = s.cpu;
  const ticks = c.redis.map((x) => x.ticks_s);
  const sum = ticks.reduce((a, b) => a + b, 0);
  return {
    cores: c.redis.map((x) => x.cores),
    per_1000: ticks.map((x) => (x * 1000) / c.deliveries),
    total_per_1000: (sum * 1000) / c.deliveries,
    run_total_per_1000: (c.redis_run_s * 1000) / c.deliveries,
    us_per_broadcast: (sum * 1e6) / c.broadcasts,
  };
}

/** The highest rate that every sio topology passed (the Redis costs are compared there). */
function commonRate(res) {
  const ts = topologies(res).filter((t) => !t.error && t.kind === 'sio');
  if (!ts.length) return null;
  const rates = ts[0].steps.filter((s) => s.pass && good(s)).map((s) => s.rate)
    .filter((r) => ts.every((t) => { const s = stepAt(t, r); return s && s.pass && good(s); }));
  return rates.length ? Math.max(...rates) : null;
}

/**
 * Least-squares line through the passing steps: Redis cores (taskstats run time, all shards)
 * = fixed + perBroadcast × broadcasts/s. null with fewer than 2 distinct rates.
 */
function redisFit(t) {
  const pts = (t.steps || []).filter((s) => s.pass && good(s))
    .map((s) => [s.cpu.broadcasts / s.cpu.window_s, s.cpu.redis_run_s / s.cpu.window_s]);
  if (pts.length < 2) return null;
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  if (!(sxx > 0)) return null;
  const b = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx;
  return { fixed_cores: my - b * mx, us_per_broadcast: b * 1e6, points: n };
}

const failedMark = (s) => (s && !s.pass ? ' (a failed step)' : '');

const lat = (s) => (s && ok(s.p50_ms) ? `${f(s.p50_ms, 2)} / ${f(s.p99_ms, 2)}` : '–');
const list = (xs, fmt) => (xs && xs.length ? xs.map(fmt).join(' / ') : '–');

function channelsOf(t) {
  const s = (t.steps || []).find((x) => x.channels && x.channels.every((c) => !c.error));
  return s ? s.channels : null;
}

function logsCell(t) {
  const l = t.logs || [];
  const n = l.reduce((a, x) => a + x.lines, 0);
  if (!n) return 'none';
  const levels = {};
  for (const x of l) for (const [k, v] of Object.entries(x.by_level)) levels[k] = (levels[k] || 0) + v;
  const samples = [...new Set(l.flatMap((x) => x.samples))].slice(0, 3);
  return `${Object.entries(levels).map(([k, v]) => `${v} ${k}`).join(', ')}: ${samples.join('; ')}`.replace(/\|/g, '\\|');
}

/* ---- tables -------------------------------------------------------------- */

function summaryRows(res) {
  const P = res.params;
  const ts = topologies(res);
  const header = ['', ...ts.map((t) => t.label)];
  const rows = [];
  const line = (label, fn) => rows.push([label, ...ts.map((t) => (t.error ? '–' : fn(t)))]);
  if (ts.some((t) => t.error)) rows.push(['failed', ...ts.map((t) => (t.error ? t.error.replace(/\|/g, '\\|') : ''))]);
  line('Redis processes (slots each)', (t) => (t.shards > 1 ? `${t.shards} primaries (${t.redis.map((r) => n0(r.slots)).join(' / ')})` : '1 redis-server'));
  line('**highest rate with p99 < 50 ms, deliveries/s**', (t) => {
    const d = maxDeliveries(t, P);
    return d !== null ? `**${n0(d)}** (${n0(t.max_pass)} broadcasts/s)` : 'none passed';
  });
  line('  first failing step, broadcasts/s: why', (t) => {
    if (t.min_fail === null || t.min_fail === undefined) return t.budget_exhausted ? 'none within the time budget' : 'none (ladder exhausted)';
    const s = stepAt(t, t.min_fail);
    return `${n0(t.min_fail)}: ${s ? s.why.join(', ') : '?'}`;
  });
  line(`latency p50 / p99 at ${n0(P.refRate)} broadcasts/s (${n0((P.refRate * P.clients) / P.rooms)} deliveries/s), ms`, (t) => lat(stepAt(t, P.refRate)));
  line('latency p50 / p99 at the highest passing step, ms', (t) => lat(maxStep(t)));
  const R = commonRate(res);
  if (R !== null) {
    line(`**Redis CPU-s per 1000 deliveries at ${n0(R)} broadcasts/s** (the highest rate every sio topology passed; /proc utime+stime): total (per shard)`, (t) => {
      const s = stepAt(t, R);
      const r = stepRedis(s);
      return r ? `**${g3(r.total_per_1000)}**${r.per_1000.length > 1 ? ` (${list(r.per_1000, g3)})` : ''}${failedMark(s)}` : '–';
    });
    line('  the same from taskstats run time', (t) => {
      const s = stepAt(t, R);
      if (!good(s)) return '–';
      const per = s.cpu.redis.map((x) => (x.run_s * 1000) / s.cpu.deliveries);
      return `${g3((s.cpu.redis_run_s * 1000) / s.cpu.deliveries)}${per.length > 1 ? ` (${list(per, g3)})` : ''}`;
    });
    line('  Redis cores there, per shard', (t) => {
      const r = stepRedis(stepAt(t, R));
      return r ? list(r.cores, (x) => f(x, 3)) : '–';
    });
    line('  Redis wake-ups/s there, per shard (voluntary context switches); broadcasts per wake-up', (t) => {
      const s = stepAt(t, R);
      if (!good(s)) return '–';
      const w = s.cpu.redis.map((x) => x.wakeups_per_s);
      if (w.length === 1) return `${n0(w[0])}; ${f(s.cpu.broadcasts / s.cpu.window_s / w[0], 2)}`;
      /* a shard's SPUBLISH calls per wake-up */
      return `${list(w, n0)}; ${list(s.cpu.redis.map((x) => (x.published || 0) / s.cpu.window_s / x.wakeups_per_s), (x) => f(x, 1))} per shard`;
    });
  }
  line('Redis floor: nodes connected, no clients, no broadcasts, cores per shard (taskstats); wake-ups/s', (t) => (t.idle
    ? `${list(t.idle.redis.map((x) => x.run_cores), (x) => f(x, 4))}; ${list(t.idle.redis.map((x) => x.wakeups_per_s), n0)}` : '–'));
  line('Redis CPU over the passing steps, fitted: fixed cores + µs per broadcast (taskstats, all shards)', (t) => {
    const fit = redisFit(t);
    return fit ? `${f(fit.fixed_cores, 3)} + ${f(fit.us_per_broadcast, 2)} µs × broadcasts/s (${fit.points} steps)` : '–';
  });
  line('**Redis CPU-s per 1000 deliveries, total** (passing steps pooled; /proc utime+stime)', (t) => {
    const p = pooledRedis(t);
    return p ? `**${g3(p.total_per_1000)}**` : '–';
  });
  line('  per shard', (t) => {
    const p = pooledRedis(t);
    return p ? list(p.per_1000, g3) : '–';
  });
  line('  the same from taskstats run time, total', (t) => {
    const p = pooledRedis(t);
    return p ? g3(p.run_total_per_1000) : '–';
  });
  line('  Redis CPU per broadcast, µs (ticks; taskstats)', (t) => {
    const p = pooledRedis(t);
    return p ? `${f(p.us_per_broadcast, 2)}; ${f(p.run_us_per_broadcast, 2)}` : '–';
  });
  line('**per-shard share of Redis CPU** (ticks; taskstats)', (t) => {
    const p = pooledRedis(t);
    return p && t.shards > 1 ? `**${list(p.share, pct)}**; ${list(p.run_share, pct)}` : p ? 'one process' : '–';
  });
  line('  per-shard share of SPUBLISH / PUBLISH calls', (t) => {
    const p = pooledRedis(t);
    return p && t.shards > 1 ? list(p.pub_share, pct) : '–';
  });
  line('  room channels subscribed per shard (of all channels)', (t) => {
    const c = channelsOf(t);
    return c ? c.map((x) => `${n0(x.rooms)} (${n0(x.all)})`).join(' / ') : '–';
  });
  line('Redis CPU at the highest passing step, cores per shard', (t) => {
    const r = stepRedis(maxStep(t));
    return r ? list(r.cores, (x) => f(x, 3)) : '–';
  });
  line('  Redis CPU-s per 1000 deliveries there, total', (t) => {
    const r = stepRedis(maxStep(t));
    return r ? g3(r.total_per_1000) : '–';
  });
  line('the 2 nodes at the highest passing step: cores; µs per delivery', (t) => {
    const s = maxStep(t);
    return good(s) ? `${f(s.cpu.nodes_cores, 2)}; ${f((s.cpu.nodes_s.reduce((a, b) => a + b, 0) * 1e6) / s.cpu.deliveries, 2)}` : '–';
  });
  line('  sio-bench; other jobs, cores', (t) => {
    const s = maxStep(t);
    return good(s) ? `${f(s.cpu.bench_cores, 2)}; ${f(s.cpu.other_cores, 2)}` : '–';
  });
  line('  all processes of the run, cores of the machine\'s 2', (t) => {
    const s = maxStep(t);
    if (!good(s)) return '–';
    const c = s.cpu;
    return f(c.nodes_cores + c.redis.reduce((a, x) => a + x.cores, 0) + c.bench_cores + c.self_cores, 2);
  });
  line('losses; API failures; client errors (all steps)', (t) => {
    const st = t.steps || [];
    const sum = (k) => st.reduce((a, s) => a + (ok(s[k]) ? s[k] : 0), 0);
    return `${n0(sum('losses'))}; ${n0(sum('published_failed'))}; ${n0(sum('client_errors'))}`;
  });
  line('node log warnings / errors', (t) => logsCell(t));
  return { header, rows };
}

function stepRows(t, P) {
  const header = ['broadcasts/s', 'deliveries/s', 'p50 / p99 / max, ms', 'verdict', 'Redis cores per shard',
    'Redis CPU-s per 1000 deliveries: total (per shard)', 'Redis µs per broadcast', 'nodes, cores', 'sio-bench, cores', 'other jobs, cores'];
  const rows = (t.steps || []).map((s) => {
    const r = stepRedis(s);
    return [
      n0(s.rate),
      n0(s.deliveries_per_s),
      ok(s.p50_ms) ? `${f(s.p50_ms, 2)} / ${f(s.p99_ms, 2)} / ${f(s.max_ms, 1)}` : '–',
      s.pass ? 'pass' : `fail: ${s.why.join(', ').replace(/\|/g, '\\|')}${s.earlier_attempts ? ` (${s.earlier_attempts.length + 1} attempts)` : ''}`,
      r ? list(r.cores, (x) => f(x, 3)) : '–',
      r ? `${g3(r.total_per_1000)}${r.per_1000.length > 1 ? ` (${list(r.per_1000, g3)})` : ''}` : '–',
      r ? f(r.us_per_broadcast, 2) : '–',
      good(s) ? f(s.cpu.nodes_cores, 2) : '–',
      good(s) ? f(s.cpu.bench_cores, 2) : '–',
      good(s) ? f(s.cpu.other_cores, 2) : '–',
    ];
  });
  return { header, rows };
}

/* ---- comparisons ----------------------------------------------------------- */

function comparisons(res) {
  const P = res.params;
  const T = res.topologies;
  const out = [];
  const md = (k) => (T[k] && !T[k].error ? maxDeliveries(T[k], P) : null);
  const sc = ratio(md('cluster'), md('sharded'));
  if (ok(sc)) {
    out.push(`**Scaling factor = max rate (3-shard cluster) / max rate (1 Redis, sharded) = ${n0(md('cluster'))} / ${n0(md('sharded'))} = ${sc.toFixed(2)}**` +
      `${ok(ratio(md('cluster'), md('pubsub'))) ? `; against the pubsub baseline ${n0(md('cluster'))} / ${n0(md('pubsub'))} = ${ratio(md('cluster'), md('pubsub')).toFixed(2)}` : ''}` +
      `${ok(ratio(md('sharded'), md('pubsub'))) ? `; sharded / pubsub on 1 Redis ${ratio(md('sharded'), md('pubsub')).toFixed(2)}` : ''}.`);
  }
  const c = T.cluster && !T.cluster.error ? pooledRedis(T.cluster) : null;
  const one = T.sharded && !T.sharded.error ? pooledRedis(T.sharded) : null;
  const base = T.pubsub && !T.pubsub.error ? pooledRedis(T.pubsub) : null;
  if (c) {
    const max = Math.max(...c.share);
    const min = Math.min(...c.share);
    out.push(`Per-shard share of the cluster's Redis CPU: ${list(c.share, pct)} (taskstats ${list(c.run_share, pct)}); of its SPUBLISH calls ${list(c.pub_share, pct)}; ` +
      `the busiest shard has ${(max / (1 / c.share.length)).toFixed(2)}× an even share (${(min / (1 / c.share.length)).toFixed(2)}× for the least busy).`);
  }
  const R = commonRate(res);
  const at = (k) => (R !== null && T[k] && !T[k].error ? stepRedis(stepAt(T[k], R)) : null);
  const [rb, r1, r3] = [at('pubsub'), at('sharded'), at('cluster')];
  if (r1 && r3) {
    out.push(`Redis CPU-s per 1000 deliveries at ${n0(R)} broadcasts/s (${n0((R * P.clients) / P.rooms)} deliveries/s, the highest rate all sio topologies passed): pubsub on 1 Redis ${rb ? g3(rb.total_per_1000) : '–'}, sharded on 1 Redis ${g3(r1.total_per_1000)}, ` +
      `sharded on 3 shards ${g3(r3.total_per_1000)} in total (${(r3.total_per_1000 / r1.total_per_1000).toFixed(2)}× the single Redis), i.e. ${list(r3.per_1000, g3)} per shard: the busiest shard carries ${(Math.max(...r3.per_1000) / r1.total_per_1000).toFixed(2)}× of what the single Redis carries for the same deliveries.`);
  }
  if (c && one) {
    out.push(`Pooled over every passing step: pubsub on 1 Redis ${base ? g3(base.total_per_1000) : '–'}, sharded on 1 Redis ${g3(one.total_per_1000)}, sharded on 3 shards ${g3(c.total_per_1000)} CPU-s per 1000 deliveries (${list(c.per_1000, g3)} per shard); these depend on the steps each topology reached (see below).`);
  }
  const fits = ['pubsub', 'sharded', 'cluster'].map((k) => (T[k] && !T[k].error ? [k, redisFit(T[k])] : null)).filter((x) => x && x[1]);
  /* CPU per wake-up of the event loop, above the floor: [wake-ups/s, µs per wake-up, broadcasts per wake-up] per shard */
  const perWake = (k) => {
    const t = R !== null && T[k] && !T[k].error ? T[k] : null;
    const st = t ? stepAt(t, R) : null;
    if (!good(st)) return null;
    return st.cpu.redis.map((x, i) => {
      const floor = t.idle ? t.idle.redis[i].run_cores : 0;
      return [x.wakeups_per_s, ((x.run_cores - floor) * 1e6) / x.wakeups_per_s, (x.published || 0) / st.cpu.window_s / x.wakeups_per_s];
    });
  };
  const w1 = perWake('sharded');
  const w3 = perWake('cluster');
  if (fits.length && w1) {
    out.push(`Redis's CPU hardly follows the rate here. Fitted over the passing steps (taskstats; 3 to 5 points, so rough): ${fits.map(([k, x]) => `${k} ${f(x.fixed_cores, 3)} cores + ${f(x.us_per_broadcast, 2)} µs per broadcast`).join(', ')}. ` +
      `Most of it is paid per wake-up of the event loop, not per message. At ${n0(R)} broadcasts/s the single Redis (sharded) woke ${n0(w1[0][0])} times/s (voluntary context switches), ${f(w1[0][2], 1)} SPUBLISH per wake-up, ${f(w1[0][1], 0)} µs of CPU per wake-up above its floor` +
      `${w3 ? `; each cluster shard woke ${list(w3.map((x) => x[0]), n0)} times/s, ${list(w3.map((x) => x[2]), (x) => f(x, 1))} SPUBLISH per wake-up, ${list(w3.map((x) => x[1]), (x) => f(x, 0))} µs per wake-up` : ''}. ` +
      'The broadcasts reach Redis in batches: sio-bench\'s publisher sends on a timer tick, and the node pipelines the SPUBLISHes of the API calls it took in meanwhile. A wake-up is a read, a reply and one write per subscribed node, and on loopback the sender also runs the receiver\'s side of the TCP stack. ' +
      'A cluster splits every batch over the shards, so each shard wakes almost as often as the single Redis did, for a third of the messages: the cluster\'s total Redis CPU is higher than one Redis\'s for the same deliveries, and each shard\'s is well above a third of it. At these rates the CPU-s per 1000 deliveries fall as the rate rises, and are an upper bound of the cost per message. Where Redis is the bottleneck, the batches are large and the per-message part dominates.');
  }
  const pb = T.pubsub && !T.pubsub.error ? channelsOf(T.pubsub) : null;
  if (pb && pb[0] && pb[0].all > pb[0].rooms + 10) {
    out.push(`pubsub subscribes a channel for every room with a local member, the sockets' own rooms (their ids) included: ${n0(pb[0].all)} channels for ${n0(pb[0].rooms)} rooms, one SUBSCRIBE per connecting client. The sharded adapter (subscription mode dynamic) leaves the private rooms out: ${T.sharded && !T.sharded.error && channelsOf(T.sharded) ? n0(channelsOf(T.sharded).reduce((a, x) => a + x.all, 0)) : '–'} channels.`);
  }
  const n = md('node');
  if (ok(n) && ok(md('cluster'))) {
    out.push(`sio vs Node on the 3-shard cluster: ${n0(md('cluster'))} vs ${n0(n)} deliveries/s at p99 < 50 ms (${ratio(md('cluster'), n).toFixed(2)}×)` +
      `${ok(md('node1')) ? `; Node on 1 Redis ${n0(md('node1'))}` : ''}.`);
  }
  return out;
}

function ceilingNote(res) {
  const T = res.topologies;
  const t = T.cluster && !T.cluster.error ? T.cluster : null;
  if (!t) return null;
  const s = stepAt(t, t.min_fail) || maxStep(t);
  if (!good(s)) return null;
  const c = s.cpu;
  const redis = c.redis.reduce((a, x) => a + x.cores, 0);
  const all = c.nodes_cores + redis + c.bench_cores + c.self_cores + c.other_cores;
  return `At the cluster's ${s.pass ? 'highest passing' : 'first failing'} step (${n0(s.rate)} broadcasts/s) the 2 sio nodes used ${f(c.nodes_cores, 2)} cores, sio-bench ${f(c.bench_cores, 2)}, ` +
    `the 3 Redis shards ${f(redis, 2)} together (${list(c.redis.map((x) => x.cores), (x) => f(x, 3))}), this script ${f(c.self_cores, 2)} and other jobs ${f(c.other_cores, 2)}: ${f(all, 2)} of the machine's 2 cores. ` +
    'The ceiling here is the machine (the nodes and the load generator), not Redis: no shard comes near a core. The scaling factor therefore measures this box, not what 3 shards can carry; ' +
    'the Redis CPU per delivery and its spread over the shards are what carries over to a deployment where Redis is the bottleneck.';
}

/* ---- the section ---------------------------------------------------------- */

function markdown(res, meta) {
  const P = res.params;
  const L = [];
  L.push(BEGIN);
  L.push('## Redis sharded pub/sub and Redis Cluster');
  L.push('');
  L.push(`Produced by \`${meta.command}\` (${meta.mode} run, ${meta.wallMin} minutes), ${meta.date}. Every process on loopback, on the machine below:`);
  L.push('');
  L.push(mdTable(['', ''], (meta.facts || []).map(([k, v]) => [k, v]), ['---', '---']));
  L.push('');
  L.push(`The same fan-out through each topology, one at a time, each on fresh Redis processes: 2 nodes; ${n0(P.clients)} sio-bench clients (${P.workers} worker processes) spread round-robin over them, each in one of ${P.rooms} rooms picked at random (\`--dist ${P.dist}\`: every room has members on both nodes, ${n0(P.clients / P.rooms)} on average); ` +
    `broadcasts round-robin over the ${P.rooms} rooms through node 1's HTTP API (sio: \`POST /v1/broadcast\`; Node: the gateway's \`POST /emit\`), each stamped with its publish time, so one broadcast is ${n0(P.clients / P.rooms)} deliveries. ` +
    `Recovery is off on every sio node (\`RECOVERY_WINDOW_MS=0\`: \`sharded\` has none, and the baseline should not pay for the history). ` +
    `Steps of ${P.stepDuration} s of publishing (+ ${P.stepDrain} s drain), each a fresh sio-bench run, going up the ladder ${P.ladder.map(n0).join(', ')} broadcasts/s until a step fails, then ${P.bisect} bisection(s); ${meta.mode === 'full' ? 'a failed step is run once more (and up to twice more when other jobs used more than 0.15 cores during it)' : 'a failed step is run once more only when other jobs used more than 0.15 cores during it'}; ${P.budgetS} s per topology at most. ` +
    'A step passes when every client connected, p99 < 50 ms, nothing was lost and the publisher kept to the rate. ' +
    `CPU window: from ${P.skip} s after publishing started to 0.5 s before it ended; Redis CPU = utime + stime of each redis-server from /proc/<pid>/stat (10 ms ticks) over the window, checked against ${meta.taskstats ? 'the exact run time from taskstats' : 'nothing (taskstats unavailable)'}; ` +
    'deliveries in the window = the steady delivery rate × its length. The Redis Cluster: 3 redis-server primaries with `cluster-enabled yes`, no replicas, created with `redis-cli --cluster create … --cluster-yes`, ready when every node says `cluster_state:ok` with all 16,384 slots assigned.');
  L.push('');
  const cmp = comparisons(res);
  const ceil = ceilingNote(res);
  for (const o of [...cmp, ...(ceil ? [ceil] : []), ...(meta.notes || [])]) L.push(`- ${o}`);
  L.push('');
  L.push('### Summary');
  L.push('');
  const s = summaryRows(res);
  L.push(mdTable(s.header, s.rows));
  L.push('');
  L.push('### Every step');
  L.push('');
  for (const t of topologies(res)) {
    L.push(`**${t.label}**${t.error ? `: failed: ${t.error}` : ''}${ok(t.cluster_start_ms) ? ` (cluster created and ok in ${n0(t.cluster_start_ms)} ms)` : ''}${ok(t.wall_s) ? `, ${n0(t.wall_s)} s` : ''}`);
    L.push('');
    if (t.steps && t.steps.length) {
      const r = stepRows(t, P);
      L.push(mdTable(r.header, r.rows));
      L.push('');
    }
    if (t.exits && t.exits.length) {
      L.push(`Processes that exited during the run: ${t.exits.join('; ')}`);
      L.push('');
    }
  }
  L.push('### What the numbers mean');
  L.push('');
  L.push('- **Latency**: sio-bench\'s histogram of publish stamp → client receipt over the whole step (publisher and clients share the clock). It includes the API call, Redis, the node\'s fan-out and sio-bench\'s own queueing, which at high rates is a large part.');
  L.push('- **Highest rate with p99 < 50 ms**: the delivery rate of the highest passing step. Steps are whole sio-bench runs (connect, subscribe, publish, drain), so the number is a step of the ladder, not an interpolation.');
  L.push('- **Redis CPU per 1000 deliveries**: CPU-seconds of each redis-server over the window ÷ the deliveries in it × 1000, at the highest rate every sio topology passed (the same load for each) and pooled over the passing steps (sum of CPU ÷ sum of deliveries). Redis work follows broadcasts (one SPUBLISH / PUBLISH each, then one message per subscribed node), not the sockets behind a node, so "µs per broadcast" is the same cost per message.');
  L.push('- **Floor, fit, wake-ups**: the floor is each Redis process\'s CPU over 2 s with the nodes connected and no clients (taskstats). The fit is a least-squares line of Redis CPU (taskstats, all shards) against the broadcast rate over the passing steps: its slope is the cost of one more broadcast, its intercept what does not follow the rate. Wake-ups are the voluntary context switches of the redis-server main thread (/proc/<pid>/status) over the window, about the number of times its event loop woke up.');
  L.push('- **Per-shard share**: each shard\'s part of the Redis CPU (ticks and taskstats) and of the SPUBLISH calls (INFO commandstats), and the room channels it holds (PUBSUB SHARDCHANNELS during a step). A room\'s channel `socket.io#/#<room>#` lives on the shard that owns its slot (CRC16 of the whole name: no hash tag), so 300 rooms spread over the 3 slot ranges.');
  L.push('- **The machine**: 2 cores carry the nodes, every Redis process and the load generator. With the fan-out per broadcast small (10 sockets), the nodes (API, Redis, WebSocket writes) and sio-bench run out of CPU long before any Redis shard does; "all processes of the run" shows how much of the 2 cores was in use.');
  L.push(END);
  return L.join('\n');
}

function terminal(res, meta) {
  const out = [`Redis sharded pub/sub and Redis Cluster (${meta.mode} run, ${meta.wallMin} min)`];
  const s = summaryRows(res);
  out.push('', textTable(s.header, s.rows));
  for (const t of topologies(res)) {
    if (!t.steps || !t.steps.length) continue;
    const r = stepRows(t, res.params);
    out.push('', t.label, textTable(r.header, r.rows));
  }
  const cmp = comparisons(res);
  const ceil = ceilingNote(res);
  if (cmp.length || ceil) out.push('', ...[...cmp, ...(ceil ? [ceil] : [])].map((o) => `- ${o.replace(/\*\*/g, '')}`));
  return out.join('\n');
}

module.exports = { extract, splice, terminal, markdown, BEGIN, END };
