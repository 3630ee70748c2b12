'use strict';
/*
 * The table on the terminal and loadtest/RESULTS.md: every number for sio and
 * Node, the ratios sio/Node, and the issue's targets (met / missed by how much).
 */

const TARGETS = {
  cpuRatio: 1 / 3,
  userRatio: 1 / 10,
  burstUs: 2,
  burstFrames: 4,
  rssKb: 4,
  scalePerNode: 15000,
  scaleRate: 200000,
  p99Ms: 50,
  sessionsPerS: 5000,
};

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
  return m.fail_min === null ? `≥ ${k(m.pass_max)}/s (highest tested)` : `${k(m.pass_max)}/s (fails at ${k(m.fail_min)}/s)`;
}

/** Names of the burst runs, fewest queued frames first. */
function burstNames(res) {
  const all = { ...(get(res.node, 'traffic.bursts') || {}), ...(get(res.sio, 'traffic.bursts') || {}) };
  return Object.keys(all).sort((a, b) => (all[a].frames_per_socket_per_burst || 0) - (all[b].frames_per_socket_per_burst || 0));
}

/** [label, sio, node, ratio] rows. */
function rows(res) {
  const R = [];
  const both = (label, path, digits = 2, showRatio = true) => {
    const a = pick(res, 'sio', path);
    const b = pick(res, 'node', path);
    R.push([label, f(a, digits), f(b, digits), showRatio ? fr(ratio(a, b)) : '']);
  };
  const sect = (label) => R.push([`**${label}**`, '', '', '']);
  const eachRun = (path) => {
    const cell = (kind) => {
      const runs = get(res[kind], path);
      return Array.isArray(runs) && runs.length > 1 ? runs.map((r) => f(r.us_per_delivery)).join(' / ') : '';
    };
    const a = cell('sio');
    const b = cell('node');
    if (a || b) R.push(['  each run (pooled above), µs per delivery', a, b, '']);
  };
  sect('1. Fan-out at 20,000 deliveries/s, one event per socket at a time');
  both('server CPU per delivery, µs (user + system)', 'traffic.cpu20k.cpu.us_per_delivery');
  eachRun('traffic.cpu20k.runs');
  both('  user µs per delivery', 'traffic.cpu20k.cpu.user_us_per_delivery');
  both('  system µs per delivery', 'traffic.cpu20k.cpu.sys_us_per_delivery');
  both('  server CPU, cores (2 nodes)', 'traffic.cpu20k.cpu.cpu_cores', 3);
  both('  deliveries/s in the CPU window', 'traffic.cpu20k.cpu.delivery_rate', 0, false);
  both('  frames per TCP data segment to clients', 'traffic.cpu20k.cpu.frames_per_segment');
  both('  latency p50 (first run), ms', 'traffic.cpu20k.latency.p50_ms');
  both('  latency p99 (first run), ms', 'traffic.cpu20k.latency.p99_ms');
  both('  losses', 'traffic.cpu20k.losses', 0, false);
  const names = burstNames(res);
  names.forEach((name, i) => {
    const b = get(res.sio, `traffic.bursts.${name}`) || get(res.node, `traffic.bursts.${name}`) || {};
    sect(`2${'abcdef'[i]}. Bursts: ${f(b.frames_per_socket_per_burst, 0)} frames queued per socket at once (${f(b.clients, 0)} clients each in ${b.k} of ${b.rooms} rooms, ${b.per_room} broadcast(s) per room every ${b.interval_ms} ms)`);
    const p = `traffic.bursts.${name}`;
    both('server CPU per delivery, µs (user + system)', `${p}.cpu.us_per_delivery`);
    eachRun(`${p}.runs`);
    both('  user µs per delivery', `${p}.cpu.user_us_per_delivery`);
    both('  system µs per delivery', `${p}.cpu.sys_us_per_delivery`);
    both('  deliveries/s in the CPU window', `${p}.cpu.delivery_rate`, 0, false);
    both('  frames per TCP data segment to clients', `${p}.cpu.frames_per_segment`);
    both('  latency p50 from the burst\'s publication (first run), ms', `${p}.latency.p50_ms`);
    both('  latency p99 (first run), ms', `${p}.latency.p99_ms`);
    both('  losses', `${p}.losses`, 0, false);
  });
  sect('3. Memory');
  both('RSS per idle connection, KB', 'rss.kb_per_connection');
  both('  connections held (2 nodes)', 'rss.ready', 0, false);
  both('RSS per connection at 15,000 per node, KB', 'scale.kb_per_connection');
  both(`RSS per connection, one node at its connection maximum, KB`, 'sessions.kb_per_connection');
  sect('4. Publish-to-delivery latency (2,000 clients, 20 rooms of 100)');
  for (const rate of [20000, 50000, 100000]) {
    for (const [q, key] of [['p50', 'p50_ms'], ['p99', 'p99_ms']]) {
      const a = stepOf(res, 'sio', rate);
      const b = stepOf(res, 'node', rate);
      const va = a && a.latency ? a.latency[key] : null;
      const vb = b && b.latency ? b.latency[key] : null;
      R.push([`${k(rate)} deliveries/s: ${q}, ms`, f(va) + (a && !a.pass && q === 'p99' ? ' ✗' : ''),
        f(vb) + (b && !b.pass && q === 'p99' ? ' ✗' : ''), fr(ratio(va, vb))]);
    }
  }
  const ma = get(res.sio, 'traffic.max_rate.pass_max');
  const mb = get(res.node, 'traffic.max_rate.pass_max');
  R.push(['highest deliveries/s with p99 < 50 ms (step search)', maxRateText(res, 'sio'), maxRateText(res, 'node'),
    fr(ratio(ma, mb))]);
  sect('5. Connections');
  const rc = get(res.sio, 'sessions.rate_clients') || get(res.node, 'sessions.rate_clients');
  const mc = get(res.sio, 'sessions.max_clients') || get(res.node, 'sessions.max_clients');
  both(`new WebSocket sessions/s, one node (${f(rc, 0)} clients)`, 'sessions.sessions_per_s', 0);
  both('  server CPU per new session, µs', 'sessions.server_us_per_session', 0);
  both('  sio-bench CPU during the ramp-up, s', 'sessions.bench_cpu_s', 2, false);
  both(`idle connections one node held (${f(mc, 0)} opened)`, 'sessions.held_sockets', 0);
  both('  clients ready / errors in sio-bench', 'sessions.max_ready', 0, false);
  R[R.length - 1][1] += ` / ${f(pick(res, 'sio', 'sessions.max_errors'), 0)}`;
  R[R.length - 1][2] += ` / ${f(pick(res, 'node', 'sessions.max_errors'), 0)}`;
  both('  sessions/s while opening them', 'sessions.max_sessions_per_s', 0);
  both('2 nodes: connections ready of 30,000', 'scale.ready', 0, false);
  both('  deliveries/s in the steady window (target 200,000)', 'scale.cpu.delivery_rate', 0);
  const exp = get(res.sio, 'scale.expected') || get(res.node, 'scale.expected');
  both(`  delivered in all (of ${f(exp, 0)} expected)`, 'scale.deliveries', 0);
  both('  latency p50, ms', 'scale.latency.p50_ms');
  both('  latency p99, ms', 'scale.latency.p99_ms');
  both('  losses', 'scale.losses', 0, false);
  both('  server CPU per delivery, µs', 'scale.cpu.us_per_delivery');
  both('  server CPU, cores', 'scale.cpu.cpu_cores', 3);
  return R;
}

function verdicts(res) {
  const V = [];
  const add = (target, value, met, by) => V.push([target, value, met === null ? 'not measured' : met ? 'met' : `missed (${by})`]);
  const cs = pick(res, 'sio', 'traffic.cpu20k.cpu.us_per_delivery');
  const cn = pick(res, 'node', 'traffic.cpu20k.cpu.us_per_delivery');
  const cr = ratio(cs, cn);
  add('CPU per delivery ≤ 1/3 of Node at 20k/s', `${f(cs)} µs vs ${f(cn)} µs: ratio ${fr(cr)}`,
    ok(cr) ? cr <= TARGETS.cpuRatio : null, ok(cr) ? `${(cr / TARGETS.cpuRatio).toFixed(2)}× the allowed ratio; needs ≤ ${f(cn / 3)} µs` : '');
  const us = pick(res, 'sio', 'traffic.cpu20k.cpu.user_us_per_delivery');
  const un = pick(res, 'node', 'traffic.cpu20k.cpu.user_us_per_delivery');
  const ur = ratio(us, un);
  add('user CPU per delivery ≤ 1/10 of Node at 20k/s', `${f(us)} µs vs ${f(un)} µs: ratio ${fr(ur)}`,
    ok(ur) ? ur <= TARGETS.userRatio : null, ok(ur) ? `${(ur / TARGETS.userRatio).toFixed(2)}× the allowed ratio; needs ≤ ${f(un / 10)} µs` : '');
  {
    /* the burst run with the fewest frames per write that still has >= 4 decides; the others are listed */
    const runs = burstNames(res).map((name) => get(res.sio, `traffic.bursts.${name}`)).filter((b) => b && b.cpu && ok(b.cpu.us_per_delivery));
    const desc = (b) => `${f(b.frames_per_socket_per_burst, 0)} frames queued per socket: ${f(b.cpu.frames_per_segment)} per write, ${f(b.cpu.us_per_delivery)} µs per delivery`;
    const qualifying = runs.filter((b) => ok(b.cpu.frames_per_segment) && b.cpu.frames_per_segment >= TARGETS.burstFrames);
    let verdict = 'not measured';
    if (qualifying.length) {
      const b = qualifying[0];
      const us = b.cpu.us_per_delivery;
      verdict = us <= TARGETS.burstUs ? `met (${f(us)} µs at ${f(b.cpu.frames_per_segment)} frames per write)`
        : `missed (+${f(us - TARGETS.burstUs)} µs, ${(us / TARGETS.burstUs).toFixed(2)}× the target, at ${f(b.cpu.frames_per_segment)} frames per write)`;
    } else if (runs.length) {
      verdict = 'not reached: the server never wrote 4 frames per write on average';
    }
    V.push(['≤ 2 µs per delivery with ≥ 4 frames per write', runs.map(desc).join('; ') || '–', verdict]);
  }
  const rk = pick(res, 'sio', 'rss.kb_per_connection');
  add('≤ 4 KB RSS per idle connection', `${f(rk)} KB (Node ${f(pick(res, 'node', 'rss.kb_per_connection'))} KB)`,
    ok(rk) ? rk <= TARGETS.rssKb : null, ok(rk) ? `+${f(rk - TARGETS.rssKb)} KB, ${(rk / TARGETS.rssKb).toFixed(2)}× the target` : '');
  const sc = res.sio && res.sio.scale;
  if (sc && !sc.error) {
    const why = [];
    if (sc.ready < sc.clients) why.push(`${sc.ready} of ${sc.clients} connected`);
    const rate = sc.cpu && ok(sc.cpu.delivery_rate) ? sc.cpu.delivery_rate : sc.achieved_deliveries_per_s;
    if (rate < 0.99 * sc.target_deliveries_per_s) why.push(`${f(rate, 0)} deliveries/s`);
    if (!(sc.latency.p99_ms < TARGETS.p99Ms)) why.push(`p99 ${f(sc.latency.p99_ms)} ms, ${(sc.latency.p99_ms / TARGETS.p99Ms).toFixed(1)}× the 50 ms bound`);
    if (sc.losses) why.push(`${sc.losses} losses`);
    add('2 nodes × 15,000 connections at 200,000 deliveries/s, p99 < 50 ms',
      `${f(sc.ready, 0)} connected (${(sc.sockets_per_node || []).map((x) => f(x, 0)).join(' + ')} client sockets on the nodes), ${f(sc.cpu && ok(sc.cpu.delivery_rate) ? sc.cpu.delivery_rate : sc.achieved_deliveries_per_s, 0)} deliveries/s, ${f(sc.losses, 0)} lost, p50 ${f(sc.latency.p50_ms)} ms, p99 ${f(sc.latency.p99_ms)} ms`,
      why.length === 0, why.join('; '));
  } else add('2 nodes × 15,000 connections at 200,000 deliveries/s, p99 < 50 ms', sc ? `error: ${sc.error}` : '–', null, '');
  const ss = pick(res, 'sio', 'sessions.sessions_per_s');
  add('≥ 5,000 new WebSocket sessions/s per node', `${f(ss, 0)}/s (Node ${f(pick(res, 'node', 'sessions.sessions_per_s'), 0)}/s)`,
    ok(ss) ? ss >= TARGETS.sessionsPerS : null, ok(ss) ? `${f(TARGETS.sessionsPerS - ss, 0)}/s short, ${(ss / TARGETS.sessionsPerS).toFixed(2)}× the target` : '');
  return V;
}

function textTable(header, R) {
  const plain = (s) => String(s).replace(/\*\*/g, '');
  const w = header.map((h, i) => Math.max(plain(h).length, ...R.map((r) => plain(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? plain(c).padEnd(w[i]) : plain(c).padStart(w[i]))).join('  ');
  return [line(header), w.map((x) => '-'.repeat(x)).join('  '), ...R.map(line)].join('\n');
}

function mdTable(header, R, align) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map((_, i) => (align && align[i]) || '---').join(' | ')} |`,
    ...R.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function stepsTable(res) {
  const rates = new Set();
  for (const kind of ['sio', 'node']) for (const s of get(res[kind], 'traffic.steps') || []) rates.add(s.target_deliveries_per_s);
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
    R.push([`${k(rate)}/s (${f(rate / 100, 0)} broadcasts/s)`, ...cell('sio'), ...cell('node')]);
  }
  return R;
}

function threadLines(res, path) {
  const out = [];
  for (const kind of ['sio', 'node']) {
    const c = get(res[kind], path);
    if (!c || c.error || !c.threads) continue;
    const main = c.threads.filter((t) => t.main);
    const rest = c.threads.filter((t) => !t.main);
    const sum = (ts, key) => ts.reduce((s, t) => s + (t[key] || 0), 0);
    const label = kind === 'sio' ? ['main thread (libwebsockets loop: fan-out, framing, socket writes)', 'cluster thread (Redis connection, message decoding)']
      : ['main thread (event loop: adapter, socket.io, ws)', 'other threads (V8 GC/compiler, libuv)'];
    out.push([kind, label[0], f(sum(main, 'user_us')), f(sum(main, 'sys_us')), f(sum(main, 'us_per_delivery'))]);
    out.push([kind, label[1], f(sum(rest, 'user_us')), f(sum(rest, 'sys_us')), f(sum(rest, 'us_per_delivery'))]);
  }
  return out;
}

function loadLines(res) {
  const out = [];
  for (const [name, path] of [['20k/s', 'traffic.cpu20k.cpu'], ...burstNames(res).map((n) => [n, `traffic.bursts.${n}.cpu`]), ['2×15k at 200k/s', 'scale.cpu']]) {
    for (const kind of ['sio', 'node']) {
      const c = get(res[kind], path);
      if (!c || c.error) continue;
      out.push([`${name}, ${kind}`, f(c.window_s, 1), f(c.cpu_cores, 3), f(c.redis_cores, 3), f(c.bench_cores, 3), f(c.self_cores, 3), f(c.other_cores, 3)]);
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
  L.push('Both clusters get identical traffic: 2 nodes behind their own fresh `redis-server` on loopback,',
    'clients from `build/sio-bench` spread round-robin over the 2 nodes, broadcasts published straight to Redis',
    'in the `@socket.io/redis-emitter` format (`sio-bench --redis`, or the real emitter for the bursts). One cluster',
    'runs at a time; the phases alternate sio and Node. Server CPU per delivery = CPU time of the 2 server',
    'processes (every thread) over the steady publishing window ÷ the deliveries sio-bench counted in it.',
    `CPU time: ${meta.cpuSource}. The server, Redis and the load generator share the same 2 cores, and the`,
    'machine is shared with other jobs: see "Load on the machine" below. How each number is taken: loadtest/README.md.', '');
  L.push('## The issue\'s targets (for sio)', '');
  L.push(mdTable(['target', 'measured', 'verdict'], verdicts(res)), '');
  if (meta.notes.length) {
    L.push(...meta.notes.map((n) => `- ${n}`), '');
  }
  L.push('## Every number', '');
  L.push(mdTable(['', 'sio', 'Node socket.io', 'sio / Node'], rows(res), ['---', '---:', '---:', '---:']), '');
  L.push('✗: that step missed p99 < 50 ms or lost messages.', '');
  L.push('## Latency steps', '');
  L.push('2,000 clients in 20 rooms of 100 (`--dist one`), broadcasts round-robin over the rooms, each step a separate',
    `sio-bench run of ${meta.params.traffic.stepDuration} s (the 20k/s step is the ${meta.params.traffic.cpuDuration} s CPU run). A step passes with p99 < 50 ms, no loss and`,
    'every broadcast published on time. delivered/s and CPU (server µs per delivery) are those of the CPU window of the step;',
    '"other load" is what other jobs on the machine used then (cores). Each step waits (up to 20 s) for the machine to be quiet',
    '(other jobs < 0.15 cores) before it starts. A failed step is run once more in the full run, and up to twice more when other',
    'jobs used more than 0.15 cores during it; the last attempt counts, the earlier ones are listed.', '');
  L.push(mdTable(['deliveries/s', 'sio p50 ms', 'sio p99 ms', 'sio delivered/s', 'sio CPU µs', 'other load', 'sio', 'Node p50 ms', 'Node p99 ms', 'Node delivered/s', 'Node CPU µs', 'other load', 'Node'],
    stepsTable(res), ['---', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---']), '');
  L.push('## Where the CPU goes (per thread, µs per delivery)', '');
  for (const [name, path] of [['20,000 deliveries/s', 'traffic.cpu20k.cpu'], ...burstNames(res).map((n) => [`${n}`, `traffic.bursts.${n}.cpu`])]) {
    L.push(`${name}:`, '');
    L.push(mdTable(['server', 'thread', 'user', 'system', 'total'], threadLines(res, path), ['---', '---', '---:', '---:', '---:']), '');
  }
  for (const [name, path] of [['20,000 deliveries/s', 'traffic.cpu20k.cpu.profile'], ...burstNames(res).map((n) => [`${n}`, `traffic.bursts.${n}.cpu.profile`])]) {
    const ps = ['sio', 'node'].map((kind) => [kind, get(res[kind], path)]).filter(([, p]) => p && p.samples);
    if (!ps.length) continue;
    L.push(`perf samples of the 2 server processes at ${name} (\`perf record -a -e cpu-clock -F 1999\`, self time), by binary:`, '');
    L.push(mdTable(['server', 'samples', 'by binary (share of the server\'s samples)'],
      ps.map(([kind, p]) => [kind, f(p.samples, 0), p.dsos.filter((d) => d.pct >= 0.5).map((d) => `${d.dso} ${d.pct.toFixed(1)} %`).join(', ')])), '');
    for (const [kind, p] of ps) {
      if (kind === 'node' && name !== '20,000 deliveries/s') continue;
      L.push(`top symbols, ${kind} at ${name}:`, '');
      L.push(mdTable(['%', 'binary', 'symbol'], p.symbols.slice(0, kind === 'sio' ? 20 : 12).map((x) => [x.pct.toFixed(2), x.dso, `\`${x.sym}\``]), ['---:', '---', '---']), '');
    }
  }
  for (const [which, label] of [['rate', 'opening'], ['max', 'opening']]) {
    const ps = ['sio', 'node'].map((kind) => [kind, get(res[kind], `sessions.${which}`)]).filter(([, x]) => x && x.profile && x.profile.samples);
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
  out.push(textTable(['', 'sio', 'Node', 'sio/Node'], rows(res)));
  out.push('');
  out.push(textTable(['target', 'measured', 'verdict'], verdicts(res)));
  return out.join('\n');
}

module.exports = { markdown, terminal, rows, verdicts, condensed };
