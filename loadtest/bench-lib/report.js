/*
 * The table on the terminal and loadtest/RESULTS.md: every number for sio, Node and
 * the floor (build/sio-floor: the same clients and frames, written with plain write()
 * per delivery, or one writev per socket per loop turn for the bursts), the ratios
 * sio/Node, sio/floor and Node/floor, and issue 17's targets (each with the bound,
 * the measured value, met / missed by how much).
 */

const TARGETS = {
  floorRatio: 1.15,
  cpuRatio: 1 / 3,
  userRatio: 1 / 10,
  burstUs: 1.5,
  burstFrames: 4,
  rssKb: 3,
  scalePerNode: 15000,
  scaleRate: 200000,
  p99Ms: 50,
  sessionsPerS: 10000,
};

const KINDS = ['sio', 'node', 'floor'];
const HEAD = ['', 'sio', 'Node socket.io', 'floor', 'sio / Node', 'sio / floor', 'Node / floor'];

const ok = (x) => x !== null && x !== undefined && !Number.isNaN(x) && Number.isFinite(x);
function f(x, d = 2) {
  if (!ok(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100000) return Math.round(x).toLocaleString('en-US');
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(Math.min(d, 1));
  return x.toFixed(d);
}
const ratio = (a, b) => (ok(a) && ok(b) && b !== 0 ? a / b : null);
const fr = (r) => (ok(r) ? `${r.toFixed(3)}` : '–');
const k = (x) => (ok(x) ? `${f(x / 1000, x % 1000 ? 1 : 0)}k` : '–');
const get = (o, path) => path.split('.').reduce((v, key) => (v === null || v === undefined ? undefined : v[key]), o);

function pick(res, kind, path) {
  const v = get(res[kind], path);
  return typeof v === 'number' ? v : null;
}

function stepOf(res, kind, rate) {
  const t = res[kind] && res[kind].traffic;
  return t && t.steps ? t.steps.find((s) => s.target_deliveries_per_s === rate) : null;
}

function maxRateText(res, kind) {
  const m = get(res[kind], 'traffic.max_rate');
  if (!m) return '–';
  if (m.pass_max === null) return `< ${k(m.fail_min)}/s (no rate tested passed)`;
  if (m.fail_min === null) return `≥ ${k(m.pass_max)}/s (${m.fixed_only ? 'fixed rates only, no search' : 'highest tested'})`;
  return `${k(m.pass_max)}/s (fails at ${k(m.fail_min)}/s)`;
}

/** Names of the burst runs, fewest queued frames first. */
function burstNames(res) {
  const all = Object.assign({}, ...KINDS.map((kind) => get(res[kind], 'traffic.bursts') || {}));
  return Object.keys(all).sort((a, b) => (all[a].frames_per_socket_per_burst || 0) - (all[b].frames_per_socket_per_burst || 0));
}

/** [label, sio, node, floor, sio/node, sio/floor, node/floor] rows. */
function rows(res) {
  const R = [];
  const three = (label, vals, digits = 2, showRatio = true) => {
    const [a, b, c] = vals;
    R.push([label, f(a, digits), f(b, digits), f(c, digits),
      ...(showRatio ? [fr(ratio(a, b)), fr(ratio(a, c)), fr(ratio(b, c))] : ['', '', ''])]);
  };
  const all = (label, path, digits = 2, showRatio = true) => three(label, KINDS.map((kind) => pick(res, kind, path)), digits, showRatio);
  const sect = (label) => R.push([`**${label}**`, '', '', '', '', '', '']);
  const eachRun = (path) => {
    const cell = (kind) => {
      const runs = get(res[kind], path);
      return Array.isArray(runs) && runs.length > 1 ? runs.map((r) => f(r.us_per_delivery)).join(' / ') : '';
    };
    const cells = KINDS.map(cell);
    if (cells.some(Boolean)) R.push(['  each run (pooled above), µs per delivery', ...cells, '', '', '']);
  };
  sect('1. Fan-out at 20,000 deliveries/s, one event per socket at a time (floor: sio-floor --mode write, one write() per delivery)');
  all('server CPU per delivery, µs (user + system)', 'traffic.cpu20k.cpu.us_per_delivery');
  eachRun('traffic.cpu20k.runs');
  all('  user µs per delivery', 'traffic.cpu20k.cpu.user_us_per_delivery');
  all('  system µs per delivery', 'traffic.cpu20k.cpu.sys_us_per_delivery');
  all('  server CPU, cores (2 nodes)', 'traffic.cpu20k.cpu.cpu_cores', 3);
  all('  deliveries/s in the CPU window', 'traffic.cpu20k.cpu.delivery_rate', 0, false);
  all('  frames per TCP data segment to clients', 'traffic.cpu20k.cpu.frames_per_segment');
  all('  latency p50 (first run), ms', 'traffic.cpu20k.latency.p50_ms');
  all('  latency p99 (first run), ms', 'traffic.cpu20k.latency.p99_ms');
  all('  losses', 'traffic.cpu20k.losses', 0, false);
  const names = burstNames(res);
  names.forEach((name, i) => {
    const b = KINDS.map((kind) => get(res[kind], `traffic.bursts.${name}`)).find(Boolean) || {};
    sect(`2${'abcdef'[i]}. Bursts: ${f(b.frames_per_socket_per_burst, 0)} frames queued per socket at once (${f(b.clients, 0)} clients each in ${b.k} of ${b.rooms} rooms, ${b.per_room} broadcast(s) per room every ${b.interval_ms} ms; floor: sio-floor --mode writev, one writev per socket per loop turn)`);
    const p = `traffic.bursts.${name}`;
    all('server CPU per delivery, µs (user + system)', `${p}.cpu.us_per_delivery`);
    eachRun(`${p}.runs`);
    all('  user µs per delivery', `${p}.cpu.user_us_per_delivery`);
    all('  system µs per delivery', `${p}.cpu.sys_us_per_delivery`);
    all('  deliveries/s in the CPU window', `${p}.cpu.delivery_rate`, 0, false);
    all('  frames per TCP data segment to clients', `${p}.cpu.frames_per_segment`);
    all('  latency p50 from the burst\'s publication (first run), ms', `${p}.latency.p50_ms`);
    all('  latency p99 (first run), ms', `${p}.latency.p99_ms`);
    all('  losses', `${p}.losses`, 0, false);
  });
  sect('3. Memory');
  all('RSS per idle WebSocket connection, KB', 'rss.kb_per_connection');
  all('  connections held (2 nodes)', 'rss.ready', 0, false);
  all('RSS per idle polling session, KB', 'rss.polling.kb_per_connection');
  all('  polling sessions held (2 nodes)', 'rss.polling.ready', 0, false);
  all('RSS per connection at 15,000 per node, KB', 'scale.kb_per_connection');
  all('RSS per connection, one node at its connection maximum, KB', 'sessions.kb_per_connection');
  sect('4. Publish-to-delivery latency (2,000 clients, 20 rooms of 100)');
  for (const rate of [20000, 50000, 100000]) {
    for (const [q, key] of [['p50', 'p50_ms'], ['p99', 'p99_ms']]) {
      const steps = KINDS.map((kind) => stepOf(res, kind, rate));
      const v = steps.map((s) => (s && s.latency ? s.latency[key] : null));
      const cell = (i) => f(v[i]) + (steps[i] && !steps[i].pass && q === 'p99' ? ' ✗' : '');
      R.push([`${k(rate)} deliveries/s: ${q}, ms`, cell(0), cell(1), cell(2), fr(ratio(v[0], v[1])), fr(ratio(v[0], v[2])), fr(ratio(v[1], v[2]))]);
    }
  }
  /* a ratio only between found maxima (not between 'at least' bounds) */
  const m = KINDS.map((kind) => (get(res[kind], 'traffic.max_rate.fail_min') ? get(res[kind], 'traffic.max_rate.pass_max') : null));
  R.push(['highest deliveries/s with p99 < 50 ms (step search)', ...KINDS.map((kind) => maxRateText(res, kind)),
    fr(ratio(m[0], m[1])), fr(ratio(m[0], m[2])), fr(ratio(m[1], m[2]))]);
  sect('5. Connections');
  const first = (path) => KINDS.map((kind) => get(res[kind], path)).find((x) => x !== undefined && x !== null);
  all(`new WebSocket sessions/s, one node (${f(first('sessions.rate_clients'), 0)} clients)`, 'sessions.sessions_per_s', 0);
  all('  server CPU per new session, µs', 'sessions.server_us_per_session', 0);
  all('  sio-bench CPU during the ramp-up, s', 'sessions.bench_cpu_s', 2, false);
  all(`idle connections one node held (${f(first('sessions.max_clients'), 0)} opened)`, 'sessions.held_sockets', 0);
  all('  clients ready / errors in sio-bench', 'sessions.max_ready', 0, false);
  KINDS.forEach((kind, i) => { R[R.length - 1][i + 1] += ` / ${f(pick(res, kind, 'sessions.max_errors'), 0)}`; });
  all('  sessions/s while opening them', 'sessions.max_sessions_per_s', 0);
  all('2 nodes: connections ready of 30,000', 'scale.ready', 0, false);
  all('  deliveries/s in the steady window (target 200,000)', 'scale.cpu.delivery_rate', 0);
  all(`  delivered in all (of ${f(first('scale.expected'), 0)} expected)`, 'scale.deliveries', 0);
  all('  latency p50, ms', 'scale.latency.p50_ms');
  all('  latency p99, ms', 'scale.latency.p99_ms');
  all('  losses', 'scale.losses', 0, false);
  all('  server CPU per delivery, µs', 'scale.cpu.us_per_delivery');
  all('  server CPU, cores', 'scale.cpu.cpu_cores', 3);
  return R;
}

/** Where the machine's cores went in a CPU window (for a missed target). */
function coresText(c) {
  if (!c || c.error) return '';
  const used = c.cpu_cores + c.redis_cores + c.bench_cores + c.self_cores + c.other_cores;
  return `the 2 cores went to: servers ${f(c.cpu_cores)}, sio-bench ${f(c.bench_cores)}, Redis ${f(c.redis_cores)}, bench script ${f(c.self_cores)}, other processes ${f(c.other_cores)} (${f(used)} in all)`;
}

/** [target, bound, measured, verdict] rows: issue 17's targets, for sio. */
function verdicts(res) {
  const V = [];
  const add = (target, bound, value, met, by) => V.push([target, bound, value,
    met === null ? 'not measured' : met ? 'met' : `missed${by ? ` (${by})` : ''}`]);
  const c = (kind, key) => pick(res, kind, `traffic.cpu20k.cpu.${key}`);
  {
    const s = c('sio', 'us_per_delivery');
    const fl = c('floor', 'us_per_delivery');
    const r = ratio(s, fl);
    add('one event per socket per turn (20k/s): sio CPU per delivery vs the floor (write)', `≤ ${TARGETS.floorRatio} × floor`,
      `sio ${f(s)} µs, floor ${f(fl)} µs: ${fr(r)}×`, ok(r) ? r <= TARGETS.floorRatio : null,
      ok(r) ? `needs ≤ ${f(fl * TARGETS.floorRatio)} µs, ${f(s - fl * TARGETS.floorRatio)} µs over` : '');
  }
  {
    const s = c('sio', 'us_per_delivery');
    const n = c('node', 'us_per_delivery');
    const r = ratio(s, n);
    /* the floor against the same bound: when even a bare write loop is above it, the
     * bound is below what this machine allows */
    const fl = c('floor', 'us_per_delivery');
    const rf = ratio(fl, n);
    const floorNote = ok(rf) ? ` (the floor itself: ${f(fl)} µs, ${fr(rf)} of Node${rf > TARGETS.cpuRatio ? ': the bound is below the floor on this machine' : ''})` : '';
    add('one event per socket per turn (20k/s): sio CPU per delivery vs Node', '≤ 1/3 of Node',
      `sio ${f(s)} µs, Node ${f(n)} µs: ${fr(r)}${floorNote}`, ok(r) ? r <= TARGETS.cpuRatio : null,
      ok(r) ? `needs ≤ ${f(n * TARGETS.cpuRatio)} µs, ${(r / TARGETS.cpuRatio).toFixed(2)}× the allowed ratio` : '');
  }
  {
    const s = c('sio', 'user_us_per_delivery');
    const n = c('node', 'user_us_per_delivery');
    const r = ratio(s, n);
    add('user CPU per delivery (20k/s) vs Node', '≤ 1/10 of Node',
      `sio ${f(s)} µs, Node ${f(n)} µs: ${fr(r)} (floor ${f(c('floor', 'user_us_per_delivery'))} µs)`, ok(r) ? r <= TARGETS.userRatio : null,
      ok(r) ? `needs ≤ ${f(n * TARGETS.userRatio)} µs, ${(r / TARGETS.userRatio).toFixed(2)}× the allowed ratio` : '');
  }
  {
    /* the burst run with the fewest frames per write that still has >= 4 decides; the others are listed */
    const names = burstNames(res);
    const runs = names.map((name) => get(res.sio, `traffic.bursts.${name}`)).filter((b) => b && b.cpu && ok(b.cpu.us_per_delivery));
    const floorOf = (b) => get(res.floor, `traffic.bursts.${b.name}.cpu.us_per_delivery`);
    const desc = (b) => `${f(b.frames_per_socket_per_burst, 0)} frames queued per socket: ${f(b.cpu.frames_per_segment)} per write, ${f(b.cpu.us_per_delivery)} µs (floor writev ${f(floorOf(b))} µs, Node ${f(get(res.node, `traffic.bursts.${b.name}.cpu.us_per_delivery`))} µs)`;
    const qualifying = runs.filter((b) => ok(b.cpu.frames_per_segment) && b.cpu.frames_per_segment >= TARGETS.burstFrames);
    let verdict = 'not measured';
    if (qualifying.length) {
      const b = qualifying[0];
      const us = b.cpu.us_per_delivery;
      verdict = us <= TARGETS.burstUs ? `met (${f(us)} µs at ${f(b.cpu.frames_per_segment)} frames per write)`
        : `missed (+${f(us - TARGETS.burstUs)} µs, ${(us / TARGETS.burstUs).toFixed(2)}× the bound, at ${f(b.cpu.frames_per_segment)} frames per write)`;
    } else if (runs.length) {
      verdict = 'not reached: the server never wrote 4 frames per write on average';
    }
    V.push(['several frames queued per socket: CPU per delivery', `≤ ${TARGETS.burstUs} µs at ≥ ${TARGETS.burstFrames} frames per write`, runs.map(desc).join('; ') || '–', verdict]);
  }
  {
    const rk = pick(res, 'sio', 'rss.kb_per_connection');
    add('RSS per idle WebSocket connection', `≤ ${TARGETS.rssKb} KB`,
      `${f(rk)} KB (Node ${f(pick(res, 'node', 'rss.kb_per_connection'))} KB, floor ${f(pick(res, 'floor', 'rss.kb_per_connection'))} KB)`,
      ok(rk) ? rk <= TARGETS.rssKb : null, ok(rk) ? `+${f(rk - TARGETS.rssKb)} KB, ${(rk / TARGETS.rssKb).toFixed(2)}× the bound` : '');
  }
  {
    const pk = pick(res, 'sio', 'rss.polling.kb_per_connection');
    const n = pick(res, 'sio', 'rss.polling.ready');
    V.push(['RSS per idle polling session', 'measured and stated',
      `${f(pk)} KB (Node ${f(pick(res, 'node', 'rss.polling.kb_per_connection'))} KB, floor ${f(pick(res, 'floor', 'rss.polling.kb_per_connection'))} KB; ${f(n, 0)} sessions, 2 sockets each)`,
      ok(pk) ? 'stated' : 'not measured']);
  }
  {
    const ss = pick(res, 'sio', 'sessions.sessions_per_s');
    add('new WebSocket sessions/s per node', `≥ ${f(TARGETS.sessionsPerS, 0)}/s`,
      `${f(ss, 0)}/s (Node ${f(pick(res, 'node', 'sessions.sessions_per_s'), 0)}/s, floor ${f(pick(res, 'floor', 'sessions.sessions_per_s'), 0)}/s)`,
      ok(ss) ? ss >= TARGETS.sessionsPerS : null, ok(ss) ? `${f(TARGETS.sessionsPerS - ss, 0)}/s short, ${(ss / TARGETS.sessionsPerS).toFixed(2)}× the bound` : '');
  }
  {
    const target = '2 nodes × 15,000 connections at 200,000 deliveries/s';
    const bound = `p99 < ${TARGETS.p99Ms} ms, every client connected, no loss`;
    const sc = res.sio && res.sio.scale;
    if (sc && !sc.error) {
      const why = [];
      if (sc.ready < sc.clients) why.push(`${sc.ready} of ${sc.clients} connected`);
      const rate = sc.cpu && ok(sc.cpu.delivery_rate) ? sc.cpu.delivery_rate : sc.achieved_deliveries_per_s;
      if (rate < 0.99 * sc.target_deliveries_per_s) why.push(`${f(rate, 0)} deliveries/s`);
      if (!(sc.latency.p99_ms < TARGETS.p99Ms)) why.push(`p99 ${f(sc.latency.p99_ms)} ms, ${(sc.latency.p99_ms / TARGETS.p99Ms).toFixed(1)}× the bound`);
      if (sc.losses) why.push(`${sc.losses} losses`);
      const fs = res.floor && res.floor.scale;
      const floorText = fs && !fs.error ? `; the floor: p99 ${f(fs.latency.p99_ms)} ms, ${f(fs.cpu && fs.cpu.delivery_rate, 0)} deliveries/s` : '';
      const cores = why.length ? `; ${coresText(sc.cpu)} (see "Load on the machine")` : '';
      add(target, bound,
        `${f(sc.ready, 0)} connected (${(sc.sockets_per_node || []).map((x) => f(x, 0)).join(' + ')} client sockets on the nodes), ${f(rate, 0)} deliveries/s, ${f(sc.losses, 0)} lost, p50 ${f(sc.latency.p50_ms)} ms, p99 ${f(sc.latency.p99_ms)} ms${floorText}${cores}`,
        why.length === 0, why.join('; '));
    } else add(target, bound, sc ? `error: ${sc.error}` : '–', null, '');
  }
  return V;
}

/** Aligned plain text; section rows (only a first cell) stand on their own line; left: every column left-aligned. */
function textTable(header, R, { left = false } = {}) {
  const plain = (s) => String(s).replace(/\*\*/g, '').replace(/`/g, '');
  const isSect = (r) => r.slice(1).every((c) => c === '');
  const body = R.filter((r) => !isSect(r));
  const w = header.map((h, i) => Math.max(plain(h).length, ...body.map((r) => plain(r[i]).length)));
  const line = (r) => (isSect(r) && r !== header ? plain(r[0])
    : r.map((c, i) => (i === 0 || left ? plain(c).padEnd(w[i]) : plain(c).padStart(w[i]))).join('  ').trimEnd());
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...R.map(line)].join('\n');
}

function mdTable(header, R, align) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map((_, i) => (align && align[i]) || '---').join(' | ')} |`,
    ...R.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function stepsTable(res) {
  const rates = new Set();
  for (const kind of KINDS) for (const s of get(res[kind], 'traffic.steps') || []) rates.add(s.target_deliveries_per_s);
  const R = [];
  for (const rate of [...rates].sort((a, b) => a - b)) {
    const cell = (kind) => {
      const s = stepOf(res, kind, rate);
      if (!s) return ['', '', '', '', '', ''];
      if (s.error) return ['error', '', '', '', '', ''];
      const retried = s.earlier_attempts ? ` (earlier: ${s.earlier_attempts.map((e) => `p99 ${f(e.p99_ms)}, other ${f(e.other_cores)}`).join('; ')})` : '';
      return [f(s.latency.p50_ms), f(s.latency.p99_ms), f(s.cpu && s.cpu.delivery_rate, 0), f(s.cpu && s.cpu.us_per_delivery),
        f(s.cpu && s.cpu.other_cores), `${s.pass ? 'pass' : `fail${s.losses ? ` (${s.losses} lost)` : ''}`}${retried}`];
    };
    R.push([`${k(rate)}/s (${f(rate / 100, 0)} broadcasts/s)`, ...KINDS.flatMap(cell)]);
  }
  return R;
}

const THREAD_LABELS = {
  sio: ['main thread (libwebsockets loop: fan-out, framing, socket writes)', 'cluster thread (Redis connection, message decoding)'],
  node: ['main thread (event loop: adapter, socket.io, ws)', 'other threads (V8 GC/compiler, libuv)'],
  floor: ['main thread (the loop: Redis messages, prebuilt frame, write/writev)', 'other threads'],
};

function threadLines(res, path) {
  const out = [];
  for (const kind of KINDS) {
    const c = get(res[kind], path);
    if (!c || c.error || !c.threads) continue;
    const main = c.threads.filter((t) => t.main);
    const rest = c.threads.filter((t) => !t.main);
    const sum = (ts, key) => ts.reduce((s, t) => s + (t[key] || 0), 0);
    const label = THREAD_LABELS[kind];
    const name = kindName(res, kind, path);
    out.push([name, label[0], f(sum(main, 'user_us')), f(sum(main, 'sys_us')), f(sum(main, 'us_per_delivery'))]);
    if (rest.length || kind !== 'floor') out.push([name, label[1], f(sum(rest, 'user_us')), f(sum(rest, 'sys_us')), f(sum(rest, 'us_per_delivery'))]);
  }
  return out;
}

/** 'floor (writev)' for the floor's burst runs, else the kind. */
function kindName(res, kind, path) {
  if (kind !== 'floor') return kind;
  return /bursts/.test(path) ? 'floor (writev)' : 'floor (write)';
}

function loadLines(res) {
  const out = [];
  for (const [name, path] of [['20k/s', 'traffic.cpu20k.cpu'], ...burstNames(res).map((n) => [n, `traffic.bursts.${n}.cpu`]), ['2×15k at 200k/s', 'scale.cpu']]) {
    for (const kind of KINDS) {
      const c = get(res[kind], path);
      if (!c || c.error) continue;
      out.push([`${name}, ${kindName(res, kind, path)}`, f(c.window_s, 1), f(c.cpu_cores, 3), f(c.redis_cores, 3), f(c.bench_cores, 3), f(c.self_cores, 3), f(c.other_cores, 3)]);
    }
  }
  return out;
}

/** Without the bulky fields: what RESULTS.md keeps as raw data. */
function condensed(res) {
  return JSON.parse(JSON.stringify(res, (key, v) => {
    if (key === 'result' || key === 'error_messages' || key === 'profile') return undefined;
    if (key === 'threads' && Array.isArray(v)) return v.map((t) => ({ node: t.node, main: t.main, user_s: +t.user.toFixed(3), sys_s: +t.sys.toFixed(3) }));
    if (typeof v === 'number' && !Number.isInteger(v)) return +v.toPrecision(5);
    return v;
  }));
}

const share = (p, pred) => (p && p.dsos ? p.dsos.filter((d) => pred(d.dso)).reduce((a, d) => a + d.pct, 0) : null);
const symShare = (p, name) => (p && p.symbols ? p.symbols.filter((x) => x.sym === name).reduce((a, x) => a + x.pct, 0) : null);

/** A few sentences read off the profiles and counters. */
function observations(res) {
  const O = [];
  const c20 = get(res.sio, 'traffic.cpu20k.cpu');
  if (c20 && !c20.error && c20.profile && c20.profile.samples) {
    const k = share(c20.profile, (d) => d.startsWith('[kernel'));
    const own = share(c20.profile, (d) => d === 'sio-server');
    const lws = share(c20.profile, (d) => d.startsWith('libwebsockets'));
    O.push(`sio at 20,000 deliveries/s: ${f(c20.us_per_delivery)} µs per delivery, ${f(k, 0)} % of its samples in the kernel ` +
      `(${f(c20.sys_us_per_delivery)} µs system vs ${f(c20.user_us_per_delivery)} µs user). It writes ${f(c20.frames_per_segment)} frames per TCP segment, ` +
      'so nearly every delivery is a `sendto` of its own. On loopback, that call also runs the client\'s receive path ' +
      '(`tcp_v4_rcv`, `tcp_rcv_established`, `tcp_data_queue`, `sock_def_readable`), and the server also handles the ACKs on its sockets (`tcp_ack`). ' +
      `User space is small: sio-server ${f(own, 0)} %, libwebsockets ${f(lws, 0)} %.`);
  }
  const names = burstNames(res);
  const bursts = names.map((n) => get(res.sio, `traffic.bursts.${n}`)).filter((b) => b && b.cpu && !b.cpu.error);
  if (c20 && !c20.error && bursts.length) {
    O.push(`Coalescing is what removes system time: ${bursts.map((b) => `with ${b.frames_per_socket_per_burst} frames queued per socket sio wrote ${f(b.cpu.frames_per_segment)} per segment and spent ${f(b.cpu.us_per_delivery)} µs per delivery (${f(b.cpu.sys_us_per_delivery)} system)`).join('; ')}, against ${f(c20.us_per_delivery)} µs at one frame per write. ` +
      `Node writes every frame separately (${bursts.map((b) => f(get(res.node, `traffic.bursts.${b.name}.cpu.frames_per_segment`))).join(', ')} frames per segment).`);
  }
  const n20 = get(res.node, 'traffic.cpu20k.cpu');
  if (n20 && !n20.error && n20.profile && n20.profile.samples) {
    O.push(`Node at 20,000 deliveries/s: ${f(n20.us_per_delivery)} µs per delivery, ${f(n20.user_us_per_delivery)} µs of it in user space ` +
      `(V8 builtins, the adapter, socket.io and ws: ${f(share(n20.profile, (d) => d === 'node'), 0)} % of its samples in the node binary). ` +
      `The kernel side is like sio's (${f(n20.sys_us_per_delivery)} µs system; \`writev\` per frame).`);
  }
  const f20 = get(res.floor, 'traffic.cpu20k.cpu');
  if (c20 && !c20.error && f20 && !f20.error && ok(f20.us_per_delivery)) {
    O.push(`The floor at 20,000 deliveries/s (the same frame to the same sockets with one plain \`write()\` each, nothing else): ${f(f20.us_per_delivery)} µs per delivery, ` +
      `${f(f20.sys_us_per_delivery)} µs of it system, ${f(f20.user_us_per_delivery)} µs user. sio spends ${f(c20.us_per_delivery)} µs (${fr(ratio(c20.us_per_delivery, f20.us_per_delivery))}× the floor): ` +
      `${f(c20.sys_us_per_delivery - f20.sys_us_per_delivery)} µs more system and ${f(c20.user_us_per_delivery - f20.user_us_per_delivery)} µs more user time than the floor per delivery.`);
  }
  const fb = names.map((n) => [get(res.sio, `traffic.bursts.${n}`), get(res.floor, `traffic.bursts.${n}`)]).filter(([a, b]) => a && b && a.cpu && b.cpu && !a.cpu.error && !b.cpu.error);
  if (fb.length) {
    O.push(`In the bursts the floor writes every frame queued for a socket with one \`writev\` per loop turn: ${fb.map(([a, b]) => `${a.frames_per_socket_per_burst} frames queued: floor ${f(b.cpu.us_per_delivery)} µs at ${f(b.cpu.frames_per_segment)} frames per segment, sio ${f(a.cpu.us_per_delivery)} µs at ${f(a.cpu.frames_per_segment)} (${fr(ratio(a.cpu.us_per_delivery, b.cpu.us_per_delivery))}× the floor)`).join('; ')}.`);
  }
  for (const [which, label] of [['rate', 'opening'], ['max', 'opening']]) {
    const x = get(res.sio, `sessions.${which}`);
    if (!x || !x.profile || !x.profile.samples) continue;
    const sorted = symShare(x.profile, 'lws_dll2_add_sorted');
    if (sorted >= 5) {
      O.push(`While ${label} ${f(x.clients, 0)} sessions, \`lws_dll2_add_sorted\` (libwebsockets) takes ${f(sorted, 0)} % of sio's samples` +
        ` (libwebsockets as a whole: ${f(share(x.profile, (d) => d.startsWith('libwebsockets')), 0)} %): a sorted-list insert that walks the list, so each new session costs more the more sessions there are` +
        ` (${f(x.server_us_per_session, 0)} µs of server CPU per session here).`);
    }
  }
  return O;
}

function markdown(res, meta) {
  const L = [];
  L.push('# sio vs Node socket.io: benchmark results', '');
  L.push(`Produced by \`${meta.command}\` (${meta.mode} run, ${meta.wallMin} minutes), ${meta.date}.`, '');
  L.push('| | |', '| --- | --- |');
  for (const [a, b] of meta.facts) L.push(`| ${a} | ${b} |`);
  L.push('');
  L.push('Three clusters get identical traffic, one at a time: sio-server, Node socket.io and **the floor**. Each is',
    '2 nodes behind their own fresh `redis-server` on loopback, clients from `build/sio-bench` spread round-robin',
    'over the 2 nodes, broadcasts published straight to Redis in the `@socket.io/redis-emitter` format',
    '(`sio-bench --redis`, or the real emitter for the bursts); the phases take sio, Node and the floor in turn.',
    'The floor is `build/sio-floor` (loadtest/floor/): a minimal C server that accepts the same clients (Engine.IO',
    'v4 WebSocket and polling, the `subscribe` ack), takes the same broadcasts from Redis and writes one prebuilt',
    'frame per delivery with plain `write()` (`--mode write`: the one-event-per-turn rows and the latency steps)',
    'or every frame queued for a socket in one `writev` per loop turn (`--mode writev`: the burst rows). It is',
    'what a delivery costs at least on this machine; every number is given absolute, against Node and against',
    'the floor, all from the same run. Server CPU per delivery = CPU time of the 2 server',
    'processes (every thread) over the steady publishing window ÷ the deliveries sio-bench counted in it.',
    `CPU time: ${meta.cpuSource}. The server, Redis and the load generator share the same 2 cores, and the`,
    'machine is shared with other jobs: see "Load on the machine" below. How each number is taken: loadtest/README.md.', '');
  L.push('## Issue 17\'s targets (for sio)', '');
  L.push(mdTable(['target', 'bound', 'measured', 'verdict'], verdicts(res)), '');
  if (meta.notes.length) {
    L.push(...meta.notes.map((n) => `- ${n}`), '');
  }
  L.push('## Every number', '');
  L.push(mdTable(HEAD, rows(res), ['---', '---:', '---:', '---:', '---:', '---:', '---:']), '');
  L.push('✗: that step missed p99 < 50 ms or lost messages. floor: `sio-floor --mode write` in sections 1 and 4, `--mode writev` in section 2.', '');
  L.push('## Latency steps', '');
  L.push('2,000 clients in 20 rooms of 100 (`--dist one`), broadcasts round-robin over the rooms, each step a separate',
    `sio-bench run of ${meta.params.traffic.stepDuration} s (the 20k/s step is the ${meta.params.traffic.cpuDuration} s CPU run). A step passes with p99 < 50 ms, no loss and`,
    'every broadcast published on time. delivered/s and CPU (server µs per delivery) are those of the CPU window of the step;',
    '"other load" is what other jobs on the machine used then (cores). Each step waits (up to 20 s) for the machine to be quiet',
    '(other jobs < 0.15 cores) before it starts. A failed step is run once more in the full run, and up to twice more when other',
    'jobs used more than 0.15 cores during it; the last attempt counts, the earlier ones are listed.', '');
  const stepCols = (name) => [`${name} p50 ms`, `${name} p99 ms`, `${name} delivered/s`, `${name} CPU µs`, 'other load', name];
  L.push(mdTable(['deliveries/s', ...stepCols('sio'), ...stepCols('Node'), ...stepCols('floor')],
    stepsTable(res), ['---', ...[0, 1, 2].flatMap(() => ['---:', '---:', '---:', '---:', '---:', '---'])]), '');
  if (KINDS.some((kind) => get(res[kind], 'traffic.max_rate.fixed_only'))) L.push('This run has the fixed rates only, no step search (`--quick`).', '');
  L.push('## Where the CPU goes (per thread, µs per delivery)', '');
  for (const [name, path] of [['20,000 deliveries/s', 'traffic.cpu20k.cpu'], ...burstNames(res).map((n) => [`${n}`, `traffic.bursts.${n}.cpu`])]) {
    L.push(`${name}:`, '');
    L.push(mdTable(['server', 'thread', 'user', 'system', 'total'], threadLines(res, path), ['---', '---', '---:', '---:', '---:']), '');
  }
  for (const [name, path] of [['20,000 deliveries/s', 'traffic.cpu20k.cpu.profile'], ...burstNames(res).map((n) => [`${n}`, `traffic.bursts.${n}.cpu.profile`])]) {
    const ps = KINDS.map((kind) => [kind, get(res[kind], path)]).filter(([, p]) => p && p.samples);
    if (!ps.length) continue;
    L.push(`perf samples of the 2 server processes at ${name} (\`perf record -a -e cpu-clock -F 1999\`, self time), by binary:`, '');
    L.push(mdTable(['server', 'samples', 'by binary (share of the server\'s samples)'],
      ps.map(([kind, p]) => [kindName(res, kind, path), f(p.samples, 0), p.dsos.filter((d) => d.pct >= 0.5).map((d) => `${d.dso} ${d.pct.toFixed(1)} %`).join(', ')])), '');
    for (const [kind, p] of ps) {
      if (kind !== 'sio' && name !== '20,000 deliveries/s') continue;
      L.push(`top symbols, ${kind} at ${name}:`, '');
      L.push(mdTable(['%', 'binary', 'symbol'], p.symbols.slice(0, kind === 'sio' ? 20 : 12).map((x) => [x.pct.toFixed(2), x.dso, `\`${x.sym}\``]), ['---:', '---', '---']), '');
    }
  }
  for (const [which, label] of [['rate', 'opening'], ['max', 'opening']]) {
    const ps = KINDS.map((kind) => [kind, get(res[kind], `sessions.${which}`)]).filter(([, x]) => x && x.profile && x.profile.samples);
    if (!ps.length) continue;
    const n = ps[0][1].clients;
    L.push(`perf samples of the node while ${label} ${f(n, 0)} sessions (ramp-up only), by binary:`, '');
    L.push(mdTable(['server', 'samples', 'by binary (share of the server\'s samples)'],
      ps.map(([kind, x]) => [kind, f(x.profile.samples, 0), x.profile.dsos.filter((d) => d.pct >= 0.5).map((d) => `${d.dso} ${d.pct.toFixed(1)} %`).join(', ')])), '');
    const sio = ps.find(([kind]) => kind === 'sio');
    if (sio) {
      L.push(`top symbols, sio while ${label} ${f(n, 0)} sessions:`, '');
      L.push(mdTable(['%', 'binary', 'symbol'], sio[1].profile.symbols.slice(0, 12).map((x) => [x.pct.toFixed(2), x.dso, `\`${x.sym}\``]), ['---:', '---', '---']), '');
    }
  }
  const obs = observations(res);
  if (obs.length) L.push('What the profiles say (computed from the data above):', '', ...obs.map((o) => `- ${o}`), '');
  if (meta.profile) L.push(meta.profile, '');
  const load = loadLines(res);
  if (load.length) {
    L.push('## Load on the machine during the CPU windows (cores)', '');
    L.push('Servers: the 2 nodes; sio-bench: parent and workers; bench script: this script (and the burst publisher);',
      'other: every other process on the machine (the box is shared).', '');
    L.push(mdTable(['window', 'seconds', 'servers', 'redis', 'sio-bench', 'bench script', 'other'], load,
      ['---', '---:', '---:', '---:', '---:', '---:', '---:']), '');
    L.push('CPU per delivery is the servers\' own CPU time, so other load changes it little (caches, batching);',
      'latency and the highest passing rate depend on it directly.', '');
  }
  L.push('## Parameters', '', '```', ...Object.entries(meta.params).map(([key, v]) => `${key}: ${JSON.stringify(v)}`), '```', '');
  L.push('## Raw data', '', '<details><summary>condensed results (JSON)</summary>', '', '```json',
    JSON.stringify(condensed(res)), '```', '', '</details>', '');
  return L.join('\n');
}

function terminal(res) {
  const out = [];
  out.push(textTable(['', 'sio', 'Node', 'floor', 'sio/Node', 'sio/floor', 'Node/floor'], rows(res)));
  out.push('');
  out.push('Issue 17\'s targets (for sio):');
  out.push(textTable(['target', 'bound', 'verdict', 'measured'], verdicts(res).map(([t, b, m, v]) => [t, b, v, m]), { left: true }));
  return out.join('\n');
}

module.exports = { markdown, terminal, rows, verdicts, condensed, textTable, mdTable, TARGETS, KINDS };
