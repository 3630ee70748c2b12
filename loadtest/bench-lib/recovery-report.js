'use strict';
/*
 * The report of `loadtest/bench --recovery`: a table on the terminal and the
 * "Connection state recovery" section of loadtest/RESULTS.md, kept between two
 * markers so that either kind of run replaces only its own part of the file:
 *   splice(text, section)  the file with the section replaced (or appended)
 *   extract(text)          the section of a file, or null
 */

const { section, ok, f, n0, ratio, mdTable, textTable } = require('./md');

const { BEGIN, END, extract, splice } = section('recovery', 'written by loadtest/bench --recovery; a plain loadtest/bench run keeps it');

const GOAL_RATIO = 1.10;

/* ---- formatting -------------------------------------------------------- */

const fr = (r) => (ok(r) ? r.toFixed(3) : '–');
const mb = (bytes) => (ok(bytes) ? `${(bytes / 1e6).toFixed(2)} MB` : '–');
const kbToMb = (kb) => (ok(kb) ? `${((kb * 1024) / 1e6).toFixed(2)} MB` : '–');
const ms = (x) => (ok(x) ? `${n0(x)}` : '–');
const q3 = (q) => (q && q.n ? `${ms(q.p50)} / ${ms(q.p99)} / ${ms(q.max)}` : '–');

/* ---- 1. CPU ------------------------------------------------------------- */

/* The record script (adapters/redis/redis_recovery.c, RECORD_LUA) runs XADD, PEXPIRE
 * and PUBLISH once per EVALSHA; INFO commandstats counts those too. */
const INNER = ['xadd', 'pexpire', 'publish'];

/** Redis cost of a pooled side: commands and their time, per broadcast. */
function redisCost(side) {
  if (!side || side.error || !side.cmds) return null;
  const c = side.cmds;
  const b = side.broadcasts;
  const E = c.evalsha ? c.evalsha.calls : 0;
  let innerCalls = 0;
  let innerUsec = 0;
  for (const k of INNER) {
    if (!c[k] || !E) continue;
    const share = Math.min(1, E / c[k].calls);
    innerCalls += c[k].calls * share;
    innerUsec += c[k].usec * share;
  }
  const calls = Object.values(c).reduce((s, e) => s + e.calls, 0);
  const usec = Object.values(c).reduce((s, e) => s + e.usec, 0);
  const failed = Object.values(c).reduce((s, e) => s + e.failed + e.rejected, 0);
  const list = Object.entries(c).sort((x, y) => y[1].usec - x[1].usec)
    .map(([k, e]) => `${k.toUpperCase()} ${(e.calls / b).toFixed(2)} × ${(e.usec / e.calls).toFixed(1)} µs`);
  return {
    executed: calls / b,
    sent: (calls - innerCalls) / b,
    usec_top: (usec - innerUsec) / b,
    list: list.join(', '),
    failed,
  };
}

function cpuRows(cpu) {
  const cfgs = cpu.params.configs.filter((k) => cpu.configs[k]);
  const header = ['', ...cfgs.flatMap((k) => [`${cpu.configs[k].label}: OFF`, 'ON', 'ON / OFF'])];
  const rows = [];
  const line = (label, get, digits = 2, showRatio = true, fmt = null) => {
    const cells = [label];
    for (const k of cfgs) {
      const { off, on } = cpu.configs[k];
      const a = off && !off.error ? get(off, k) : null;
      const b = on && !on.error ? get(on, k) : null;
      const show = fmt || ((x) => (typeof x === 'string' ? x : f(x, digits)));
      cells.push(a === null || a === undefined ? '–' : show(a), b === null || b === undefined ? '–' : show(b),
        showRatio && ok(a) && ok(b) ? fr(ratio(b, a)) : '');
    }
    rows.push(cells);
  };
  const each = (xs, d = 2) => (xs && xs.length ? xs.map((x) => f(x, d)).join(' / ') : '–');
  const pairRow = (label, key) => {
    const cells = [label];
    for (const k of cfgs) {
      const xs = cpu.configs[k][key] || [];
      cells.push('', '', xs.length ? xs.map((x) => x.toFixed(3)).join(' / ') : '–');
    }
    rows.push(cells);
  };
  line('**edge thread CPU per delivery, µs**', (s) => s.edge_us, 3);
  line('  each pair', (s) => each(s.each_edge_us, 2), 2, false);
  pairRow('  ON / OFF of each pair', 'pair_edge_ratios');
  line('**sio-server process CPU per delivery, µs** (every thread)', (s) => s.proc_us, 3);
  line('  each pair', (s) => each(s.each_proc_us, 2), 2, false);
  pairRow('  ON / OFF of each pair', 'pair_proc_ratios');
  line('  cluster thread (API, Redis), µs per delivery', (s) => s.cluster_us, 3);
  line('  sio-server CPU, cores (all nodes)', (s) => s.proc_cores, 3);
  line('**Redis CPU per broadcast, µs** (taskstats run time)', (s, k) => (cpu.configs[k].redis ? s.redis_us_per_broadcast : null), 1);
  line('  the same from /proc/<pid>/stat utime+stime (10 ms ticks)', (s, k) => (cpu.configs[k].redis ? s.redis_ticks_us_per_broadcast : null), 1);
  line('  Redis CPU, cores', (s, k) => (cpu.configs[k].redis ? s.redis_cores : null), 3);
  line('**Redis commands per broadcast** (INFO commandstats, the script\'s own included)', (s, k) => {
    const r = cpu.configs[k].redis ? redisCost(s) : null;
    return r ? r.executed : null;
  }, 2);
  line('  commands sent by the nodes per broadcast (an EVALSHA counts once)', (s, k) => {
    const r = cpu.configs[k].redis ? redisCost(s) : null;
    return r ? r.sent : null;
  }, 2);
  line('  command time per broadcast, µs (commandstats usec of what the nodes sent)', (s, k) => {
    const r = cpu.configs[k].redis ? redisCost(s) : null;
    return r ? r.usec_top : null;
  }, 1);
  line('  per command: calls per broadcast × µs per call', (s, k) => {
    const r = cpu.configs[k].redis ? redisCost(s) : null;
    return r ? r.list : null;
  }, 2, false);
  line('  failed or rejected commands; Redis errors', (s, k) => {
    if (!cpu.configs[k].redis) return null;
    const r = redisCost(s);
    const errs = Object.entries(s.redis_errors || {}).map(([e, c]) => `${e} ${c}`).join(', ');
    return `${r ? r.failed : '?'}; ${errs || 'none'}`;
  }, 0, false);
  line('deliveries in the CPU windows', (s) => n0(s.deliveries), 0, false);
  line('broadcasts in the CPU windows', (s) => n0(s.broadcasts), 0, false);
  line('latency p50 per pair, ms', (s) => each(s.p50_ms, 2), 2, false);
  line('latency p99 per pair, ms', (s) => each(s.p99_ms, 2), 2, false);
  line('losses; API broadcasts refused', (s) => `${n0(s.losses)}; ${n0(s.api_failed)}`, 0, false);
  line('other jobs on the machine during the windows, cores', (s) => s.other_cores, 2, false);
  line('sio-bench (load generator), cores', (s) => s.bench_cores, 2, false);
  return { header, rows };
}

function goalRows(res) {
  const cpu = res.cpu;
  const rows = [];
  if (!cpu || cpu.error) return rows;
  for (const k of cpu.params.configs) {
    const c = cpu.configs[k];
    if (!c) continue;
    const r = c.on && c.off && !c.on.error && !c.off.error ? ratio(c.on.edge_us, c.off.edge_us) : null;
    const p = c.on && c.off && !c.on.error && !c.off.error ? ratio(c.on.proc_us, c.off.proc_us) : null;
    const verdict = !ok(r) ? 'not measured' : r <= GOAL_RATIO ? 'met' : `missed (+${((r - 1) * 100).toFixed(1)} %)`;
    const pr = c.pair_edge_ratios || [];
    const range = pr.length > 1 ? `; pairs ${Math.min(...pr).toFixed(3)}–${Math.max(...pr).toFixed(3)}` : '';
    rows.push([`edge CPU per delivery, recovery ON ≤ 1.10 × OFF: ${c.label}`,
      ok(r) ? `${f(c.on.edge_us, 3)} vs ${f(c.off.edge_us, 3)} µs: ratio ${fr(r)} (${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %${range}); whole process ${fr(p)}` : (c.on && c.on.error) || (c.off && c.off.error) || '–',
      verdict]);
  }
  const aa = (cpu.aa || []).filter((x) => !x.error);
  if (aa.length) {
    const e = aa.map((x) => x.edge_ratio);
    rows.push([`the method's floor: A/A pairs (both sides OFF), ${cpu.configs[cpu.params.aaConfig] ? cpu.configs[cpu.params.aaConfig].label : cpu.params.aaConfig}`,
      `edge ratio ${e.map((x) => x.toFixed(3)).join(' / ')}; whole process ${aa.map((x) => x.proc_ratio.toFixed(3)).join(' / ')}${aa[0].redis_ratio !== null ? `; Redis per broadcast ${aa.map((x) => x.redis_ratio.toFixed(3)).join(' / ')}` : ''}`,
      '(a ratio this far from 1 is noise)']);
  }
  for (const k of cpu.params.configs) {
    const c = cpu.configs[k];
    if (!c || !c.redis || !c.on || !c.off || c.on.error || c.off.error) continue;
    const a = redisCost(c.off);
    const b = redisCost(c.on);
    rows.push([`Redis per broadcast, OFF → ON: ${c.label}`,
      `CPU ${f(c.off.redis_us_per_broadcast, 1)} → ${f(c.on.redis_us_per_broadcast, 1)} µs (+${f(c.on.redis_us_per_broadcast - c.off.redis_us_per_broadcast, 1)}); ` +
      `commands ${a ? f(a.sent, 2) : '–'} → ${b ? f(b.sent, 2) : '–'} sent, ${a ? f(a.executed, 2) : '–'} → ${b ? f(b.executed, 2) : '–'} in commandstats; ` +
      `command time ${a ? f(a.usec_top, 1) : '–'} → ${b ? f(b.usec_top, 1) : '–'} µs`,
      '(no goal)']);
  }
  return rows;
}

/* ---- 2. history ---------------------------------------------------------- */

function historyRedisRows(h) {
  const r = h.redis;
  if (!r || r.error) return [['history in Redis', r ? `failed: ${r.error}` : '–']];
  const win = `${n0(r.window_ms)} ms`;
  const rows = [
    ['RECOVERY_WINDOW_MS; broadcasts/s achieved (API, 1 node)', `${win}; ${f(r.achieved_rate, 1)} for ${r.duration_s} s (${n0(r.published_ok)} accepted, ${n0(r.published_failed)} refused, ${n0(r.losses)} lost)`],
    ['XLEN socket.io-history#/# after the last broadcast', `${n0(r.xlen)} (rate × window = ${n0(r.expected_entries)})`],
    ['MEMORY USAGE socket.io-history#/# SAMPLES 0', mb(r.usage_bytes)],
    ['bytes per entry', f(r.bytes_per_entry, 1)],
    [`**at ${n0(r.extrapolated_entries)} entries (120 s at 1,000/s)**`, r.extrapolated
      ? `**${mb(r.extrapolated_bytes)}**, extrapolated: bytes per entry × ${n0(r.extrapolated_entries)} (this run's window was ${win})`
      : `**${mb(r.usage_bytes)}** measured (${mb(r.extrapolated_bytes)} at exactly ${n0(r.extrapolated_entries)})`],
    ['Redis used_memory growth over the run', mb(r.used_memory_growth)],
    ['one session key (MEMORY USAGE); session keys', `${n0(r.session_key_bytes)} B; ${n0(r.session_keys)} (${n0(r.clients)} clients)`],
  ];
  if (r.trim) {
    const t = r.trim;
    const list = t.cmds ? Object.entries(t.cmds).sort((a, b) => b[1].usec - a[1].usec)
      .map(([k, e]) => `${k.toUpperCase()} ${(e.calls / t.broadcasts).toFixed(2)} × ${(e.usec / e.calls).toFixed(1)} µs`).join(', ') : '–';
    rows.push(['Redis CPU per broadcast with the window full (MINID trimming), µs', `${f(t.redis_us_per_broadcast, 1)} (taskstats), ${f(t.redis_ticks_us_per_broadcast, 1)} (/proc ticks), over ${f(t.window_s, 1)} s`]);
    rows.push(['  commandstats in that window, per broadcast', `${list}; Redis errors: ${Object.keys(t.errors || {}).length ? JSON.stringify(t.errors) : 'none'}`]);
  }
  return rows;
}

function historySamples(h) {
  const r = h.redis;
  if (!r || r.error || !r.samples || !r.samples.length) return null;
  const step = Math.max(1, Math.ceil(r.samples.length / 8));
  const picked = r.samples.filter((_, i) => i % step === 0 || i === r.samples.length - 1);
  return picked.map((s) => `${f(s.t_s, 1)} s: ${n0(s.xlen)} entries, ${mb(s.usage_bytes)}`).join('; ');
}

function historyMemoryRows(h) {
  const m = h.memory;
  if (!m) return [];
  const side = (x) => (x && !x.error ? x : null);
  const off = side(m.off);
  const on = side(m.on);
  const cell = (x, fn) => (x ? fn(x) : '–');
  const rows = [
    ['RECOVERY_WINDOW_MS', cell(off, (x) => n0(x.window_ms)), cell(on, (x) => n0(x.window_ms))],
    ['broadcasts/s achieved; run length', cell(off, (x) => `${f(x.achieved_rate, 1)}; ${x.duration_s} s`), cell(on, (x) => `${f(x.achieved_rate, 1)}; ${x.duration_s} s`)],
    ['RSS before publishing', cell(off, (x) => kbToMb(x.rss_before_kb)), cell(on, (x) => kbToMb(x.rss_before_kb))],
    ['RSS when one window of broadcasts had been published', cell(off, (x) => kbToMb(x.rss_at_window_kb)), cell(on, (x) => kbToMb(x.rss_at_window_kb))],
    ['RSS at the end of publishing', cell(off, (x) => kbToMb(x.rss_end_kb)), cell(on, (x) => kbToMb(x.rss_end_kb))],
    ['RSS growth', cell(off, (x) => kbToMb(x.growth_kb)), cell(on, (x) => kbToMb(x.growth_kb))],
  ];
  if (m.error || m.off?.error || m.on?.error) rows.push(['failed', m.off?.error || '', m.on?.error || '']);
  return rows;
}

/* ---- 3. reconnect -------------------------------------------------------- */

function reconnectRows(r) {
  if (!r || r.error) return [['2,000 clients moving', r ? `failed: ${r.error}` : '–']];
  const c = r.cmds || {};
  const calls = (k) => (c[k] ? c[k].calls : 0);
  const cmdList = Object.entries(c).sort((a, b) => b[1].calls - a[1].calls)
    .map(([k, e]) => `${k.toUpperCase()} ${n0(e.calls)}`).join(', ');
  const reasons = Object.entries(r.not_recovered_reasons || {}).map(([k, v]) => `${k}: ${v}`).join('; ');
  const cpu = r.cpu || {};
  const cores = (x) => (ok(x) && cpu.wall_s ? `${f(x, 2)} s (${f(x / cpu.wall_s, 2)} cores)` : '–');
  return [
    ['clients connected to node A through haproxy, all in one room', `${n0(r.clients)} (socket.io-client, ${r.workers} processes, transports ${r.transports.join(',')}; opened in ${f(r.connect_s, 1)} s); node A held ${n0(r.on_a_before)}, node B ${n0(r.on_b_before)}`],
    ['broadcasts', `${r.rate}/s to the room through node B's API, ${n0(r.published)} accepted, ${n0(r.rejected)} refused, ${n0(r.publish_errors)} unanswered`],
    ['clients that lost their connection at the kill -9', `${n0(r.moved)} (${Object.entries(r.disconnect_reasons || {}).map(([k, v]) => `"${k}" ${v}`).join(', ')})`],
    ['**recovered** (socket.recovered === true, same id, connected at the end)', `**${n0(r.recovered)} of ${n0(r.moved)}**; not recovered ${n0(r.not_recovered)}${reasons ? ` (${reasons})` : ''}`],
    ['**every broadcast exactly once, in order**', `**${n0(r.recovered_complete)} of ${n0(r.moved)}**; missed ${n0(r.missed_total)}, duplicates ${n0(r.duplicates_total)}, out of order ${n0(r.out_of_order_total)} (all clients)`],
    ['all recovered and caught up', r.all_caught_ms !== null ? `${n0(r.all_caught_ms)} ms after the kill (checked every 250 ms)` : `not within ${n0(r.bound_ms)} ms (${n0(r.caught_within_bound)} were)`],
    ['**per-client recovery time, ms: p50 / p99 / max**', `**${q3(r.recovery_ms)}** (kill → connected with recovered === true and holding every broadcast sent before that connect)`],
    ['  kill → the client sees the disconnect', q3(r.disconnect_ms)],
    ['  kill → first reconnect attempt (socket.io-client backoff: 1 s ± 50 %)', q3(r.first_attempt_ms)],
    ['  reconnect attempt → Engine.IO open (TCP, haproxy, WebSocket)', q3(r.attempt_to_open_ms)],
    ['  Engine.IO open → CONNECT answered, recovered (the restore)', q3(r.open_to_connect_ms)],
    ['  CONNECT → last missed broadcast received', q3(r.connect_to_caught_ms)],
    ['broadcasts replayed per client: p50 / p99 / max', q3(r.replayed)],
    ['clients that needed more than one reconnect attempt', `${n0(r.more_than_one_attempt)} (max ${n0(r.attempts_max)} attempts)`],
    ['haproxy marked node A down after', ok(r.haproxy_sio1_down_ms) ? `${n0(r.haproxy_sio1_down_ms)} ms (health check every 2 s, fall 2)` : 'not within 10 s'],
    ['CPU from the kill until all caught up', `node B ${cores(cpu.node_b)} of which its edge thread ${cores(cpu.node_b_edge)}; Redis ${cores(cpu.redis)}; haproxy ${cores(cpu.haproxy)}; the 2,000 clients ${cores(cpu.clients)}; everything else ${cores(cpu.other)} (other jobs before the phase: ${f(r.other_before, 2)} cores)`],
    ['Redis commands from the kill until all caught up', cmdList || '–'],
    ['  per recovered client', r.recovered ? `EVALSHA ${f((calls('evalsha') - calls('xadd')) / r.recovered, 2)} (the restore script: GET, XRANGE, DEL), XRANGE ${f((calls('xrange') - (calls('evalsha') - calls('xadd'))) / r.recovered, 2)} outside the script (the missed broadcasts), SUBSCRIBE ${f(calls('subscribe') / r.recovered, 2)} (the socket's own id room: REDIS_SUBSCRIBE_MODE=rooms subscribes one channel per room with a local member; the shared room once), SET ${f(calls('set') / r.recovered, 2)} (the live session)` : '–'],
    ['Redis errors; failed commands', `${Object.keys(r.redis_errors || {}).length ? JSON.stringify(r.redis_errors) : 'none'}; ${n0(Object.values(c).reduce((s, e) => s + e.failed + e.rejected, 0))}`],
  ];
}

/* ---- the section --------------------------------------------------------- */

function observations(res) {
  const out = [];
  const h = res.history;
  if (h && h.memory && ok(h.memory.bytes_per_entry)) {
    const m = h.memory;
    out.push(`The standalone store keeps at most RECOVERY_MAX_PACKETS entries (default ${n0(m.max_packets)}): at 1,000 broadcasts/s that is ${f(m.max_packets / 1000, 0)} s of history, less than the default 120 s window, so sessions older than that cannot be restored unless RECOVERY_MAX_PACKETS is raised to rate × window.`);
  }
  const cpu = res.cpu;
  if (cpu && cpu.configs) {
    const mean = (xs) => (xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const lat = [];
    for (const k of cpu.params.configs) {
      const c = cpu.configs[k];
      if (!c || !c.redis || !c.on || !c.off || c.on.error || c.off.error) continue;
      lat.push(`${c.label} p50 ${f(mean(c.off.p50_ms), 2)} → ${f(mean(c.on.p50_ms), 2)} ms, p99 ${f(mean(c.off.p99_ms), 2)} → ${f(mean(c.on.p99_ms), 2)} ms`);
    }
    if (lat.length) {
      out.push(`Publish-to-delivery latency with Redis, OFF → ON (means over the pairs): ${lat.join('; ')}. With recovery on, the node that takes the API call delivers a broadcast when it comes back from Redis (after the record script), not at once.`);
    }
    const c = cpu.configs['2nodes'] || cpu.configs['1node'];
    const on = c && c.on && !c.on.error ? redisCost(c.on) : null;
    const evs = c && c.on && c.on.cmds && c.on.cmds.evalsha;
    if (on && evs) {
      const inner = INNER.reduce((s, k) => s + (c.on.cmds[k] ? c.on.cmds[k].usec / c.on.cmds[k].calls : 0), 0);
      out.push(`With recovery on, each broadcast is one EVALSHA of ${f(evs.usec / evs.calls, 1)} µs (commandstats) in ${c.label}, of which its XADD, PEXPIRE and PUBLISH take ${f(inner, 1)} µs; the rest is the script itself (the Lua call, and the copy of the message to append the offset before the PUBLISH).`);
    }
  }
  return out;
}

function markdown(res, meta) {
  const L = [];
  const P = meta.params || {};
  L.push(BEGIN);
  L.push('## Connection state recovery');
  L.push('');
  L.push(`Produced by \`${meta.command}\` (${meta.mode} run, ${meta.wallMin} minutes), ${meta.date}. sio-server only, every process on loopback, on the machine below:`);
  L.push('');
  L.push(mdTable(['', ''], (meta.facts || []).map(([k, v]) => [k, v]), ['---', '---']));
  L.push('');
  L.push(`CPU time: ${meta.cpuSource}. "Edge" is the sio-server main thread (libuv: connections, Engine.IO, Socket.IO, rooms, the in-memory history); the process adds the cluster thread (API, Redis). How each number is taken: loadtest/README.md, "Connection state recovery".`);
  L.push('');
  L.push('### The goal');
  L.push('');
  const g = goalRows(res);
  L.push(g.length ? mdTable(['goal', 'measured', 'verdict'], g, ['---', '---', '---']) : '(the cpu phase did not run)');
  L.push('');
  const obs = observations(res);
  if (obs.length) {
    for (const o of obs) L.push(`- ${o}`);
    L.push('');
  }

  const cpu = res.cpu;
  L.push('### 1. CPU: recovery ON vs OFF');
  L.push('');
  if (!cpu) L.push('(not run)');
  else if (cpu.error) L.push(`failed: ${cpu.error}`);
  else {
    const C = cpu.params;
    L.push(`OFF (RECOVERY_WINDOW_MS=0) and ON (${n0(C.windowMs)}) run **at the same time**, side by side on two fresh setups of the same kind ` +
      '(each its own redis-server where there is one, its own nodes, its own sio-bench), so both see the same machine: run after run, the speed of this VM drifts by ±10 % ' +
      '(sio-bench\'s own CPU per delivery moves with the servers\'), far more than the effect measured here, while within a pair both sides move together. ' +
      `${C.repeats} pairs per kind of setup (which side starts first alternates); the CPU is pooled over the pairs (sum of CPU ÷ sum of deliveries), and each pair's ratio is listed. ` +
      `Each side: ${n0(C.clients)} sio-bench clients in ${C.rooms} rooms of ${n0(C.clients / C.rooms)}, spread round-robin over its nodes; ` +
      `${n0(C.deliveriesPerS / (C.clients / C.rooms))} broadcasts/s round-robin over the rooms through node 1's HTTP API (\`sio-bench --api\`): ${n0(C.deliveriesPerS)} deliveries/s for ${C.duration} s. ` +
      `CPU window: the same stretch of time for both sides, from ${C.skip} s after the later side started publishing to 0.5 s before the earlier one stopped. Each pair first waits (45 s at most) until other jobs use less than 0.15 cores. ` +
      'The session refresh (one PEXPIRE per live session every window ÷ 3, i.e. 40 s) does not fall in these windows: see 2. ' +
      `The method's floor: ${n0(C.aaPairs || 0)} more pairs of the ${C.aaConfig} kind with both sides OFF ("A/A" in the goal table) show what a pair reads when nothing differs.`);
    L.push('');
    const t = cpuRows(cpu);
    L.push(mdTable(t.header, t.rows));
    const errs = cpu.runs.filter((r) => r.error);
    if (errs.length) {
      L.push('');
      L.push(`Failed pairs: ${errs.filter((r) => r.mode === 'on').map((r) => `${r.config} #${r.rep}: ${r.error}`).join('; ')}`);
    }
  }
  L.push('');

  const h = res.history;
  L.push('### 2. Memory of the history at 1,000 broadcasts/s');
  L.push('');
  if (!h) L.push('(not run)');
  else if (h.error) L.push(`failed: ${h.error}`);
  else {
    const H = h.params;
    L.push(`**Redis** (1 node on a fresh redis-server, ${n0(H.clients)} sio-bench clients in ${H.rooms} rooms, ${n0(H.rate)} broadcasts/s through the API for the window + ${H.extraS} s; the stream is read after the last broadcast):`);
    L.push('');
    L.push(mdTable(['', ''], historyRedisRows(h), ['---', '---']));
    const s = historySamples(h);
    if (s) {
      L.push('');
      L.push(`The stream while publishing: ${s}.`);
    }
    if (h.redis && !h.redis.error && h.redis.trim && h.redis.trim.cmds && h.redis.trim.cmds.pexpire) {
      const t = h.redis.trim;
      const extra = t.cmds.pexpire.calls - (t.cmds.evalsha ? t.cmds.evalsha.calls : 0);
      if (extra > 0) {
        L.push('');
        L.push(`PEXPIRE beyond one per broadcast in that window: ${n0(extra)}, the session refresh of the ${n0(h.redis.clients)} live sessions (every ${f(h.redis.window_ms / 3000, 1)} s with this window; every 40 s, i.e. clients ÷ 40 commands/s, with the default one).`);
      }
    }
    L.push('');
    L.push(`**The standalone in-memory store** (1 node without Redis, the same traffic, RECOVERY_WINDOW_MS=${n0(H.memWindowMs)} vs 0, each on a fresh process; RSS from /proc/<pid>/status):`);
    L.push('');
    L.push(mdTable(['', 'recovery OFF', 'recovery ON'], historyMemoryRows(h)));
    const m = h.memory;
    if (m && ok(m.bytes_per_entry)) {
      L.push('');
      L.push(`History = RSS growth ON − OFF = ${kbToMb(m.history_kb)} for ${n0(m.entries_held)} entries held (rate × window) → **${f(m.bytes_per_entry, 0)} bytes per entry**, everything included (the packet as encoded once with its offset, frames, rooms, the ring slot, allocator overhead; ` +
        `the ring array of RECOVERY_MAX_PACKETS slots is allocated at start and its pages are touched as the ring advances, which is why RSS still rises a little after the window is full). ` +
        `Extrapolated to ${n0(m.full_entries)} entries (120 s at 1,000/s): ${mb(m.bytes_per_entry * m.full_entries)}; but with the default RECOVERY_MAX_PACKETS=${n0(m.max_packets)} the store holds at most ${n0(Math.min(m.full_entries, m.max_packets))} entries: **${mb(m.extrapolated_bytes)}**.`);
    }
  }
  L.push('');

  const r = res.reconnect;
  L.push('### 3. 2,000 clients moving at once (kill -9 of their node)');
  L.push('');
  if (!r) L.push('(not run)');
  else {
    const R = P.reconnect || {};
    L.push(`A fresh redis-server, 2 nodes (RECOVERY_WINDOW_MS=${n0(R.windowMs)}) behind haproxy with the deployed configuration (deploy/haproxy/haproxy.cfg through tests/lib/haproxy.js: roundrobin, health checks every 2 s, \`option redispatch\`). ` +
      `Node B is held in maintenance while the clients connect, so all of them land on node A, then put back. socket.io-client ${R.transports ? R.transports.join(',') : ''} with its default reconnection settings; each client subscribes to the room once. ` +
      `Broadcasts go to the room through node B's API ${R.beforeMs ? `for ${R.beforeMs / 1000} s before the kill and ` : ''}until ${R.afterMs / 1000} s after every client is back; then ${R.drainMs / 1000} s for late deliveries before the counts. Every wait is bounded (${n0(R.boundMs)} ms for the recovery).`);
    L.push('');
    L.push(mdTable(['', ''], reconnectRows(r), ['---', '---']));
    if (r && !r.error && r.timeline && r.timeline.length) {
      L.push('');
      L.push(`Clients back and caught up after the kill: ${r.timeline.map((x) => `${n0(x.t_ms)} ms: ${n0(x.caught)}`).join(', ')}.`);
    }
    if (r && !r.error && r.incomplete_sample && r.incomplete_sample.length) {
      L.push('');
      L.push(`Clients without every broadcast (first ones): ${JSON.stringify(r.incomplete_sample)}`);
    }
  }
  L.push('');
  L.push('### What the numbers mean');
  L.push('');
  L.push('- **Edge CPU per delivery**: run time of the sio-server main threads (taskstats, exact) over the CPU window ÷ the deliveries sio-bench counted in it (the steady delivery rate × the window when nothing was lost). The goal compares it ON vs OFF for the same kind of setup, both measured over the same seconds.');
  L.push('- **Process CPU per delivery**: the same with every thread (the cluster thread serves the API, talks to Redis and, with recovery on, runs the record script\'s round trip and decodes the history).');
  L.push('- **Redis CPU per broadcast**: run time of redis-server over the window ÷ the broadcasts published in it (taskstats, and the kernel\'s utime + stime from /proc/<pid>/stat, which count in 10 ms ticks). It includes the PUBLISH fan-out to the subscribed nodes and the sockets\' system time.');
  L.push('- **Redis commands per broadcast**: INFO commandstats over the same window (the bench\'s own INFO calls left out). Redis also counts the commands a script runs: an EVALSHA of the record script is 4 entries (EVALSHA, XADD, PEXPIRE, PUBLISH) but 1 command sent. commandstats usec of EVALSHA includes the time of its commands, so "command time" adds up only what the nodes sent.');
  L.push('- **History in Redis**: MEMORY USAGE of the stream with SAMPLES 0 (every node of the stream counted) and XLEN once publishing stopped. XADD trims with `MINID ~`, i.e. whole stream nodes at a time, so XLEN can exceed rate × window by up to a node. With --quick the window is 10 s and the size at 120,000 entries is bytes per entry × 120,000; the full run measures the 120 s window itself.');
  L.push('- **In-memory history**: RSS of a standalone node with recovery on minus that of one with recovery off, after the same traffic, ÷ the entries the window holds.');
  L.push('- **Recovery time**: per client, from the kill -9 until (a) it is connected with `socket.recovered === true` and (b) it holds every broadcast that was accepted by the API before that connect; p50/p99/max over the recovered clients. It includes socket.io-client\'s reconnection delay (1 s ± 50 % by default), so most of it is the client waiting; the restore itself is "Engine.IO open → CONNECT answered". "Exactly once, in order" is checked after the publisher stopped, against every broadcast the API accepted.');
  L.push('- **Load**: 2 cores carry the servers, Redis, haproxy and the clients; "other jobs" is the rest of the machine (/proc/stat busy time minus the processes of the run). The 2,000 socket.io-client clients are Node processes on the same cores: their own CPU is in "CPU from the kill until all caught up".');
  L.push(END);
  return L.join('\n');
}

function terminal(res, meta) {
  const out = [`connection state recovery (${meta.mode} run, ${meta.wallMin} min)`];
  const g = goalRows(res);
  if (g.length) out.push('', textTable(['goal', 'measured', 'verdict'], g));
  if (res.cpu && !res.cpu.error) {
    const t = cpuRows(res.cpu);
    out.push('', '1. CPU, recovery ON vs OFF', textTable(t.header, t.rows.filter((r) => !/per command|each pair/.test(r[0]))));
  } else if (res.cpu) out.push('', `1. CPU: failed: ${res.cpu.error}`);
  if (res.history && !res.history.error) {
    out.push('', '2. history memory (Redis)', textTable(['', ''], historyRedisRows(res.history)));
    out.push('', '   in-memory store', textTable(['', 'OFF', 'ON'], historyMemoryRows(res.history)));
    const m = res.history.memory;
    if (m && ok(m.bytes_per_entry)) out.push(`   history ${kbToMb(m.history_kb)} for ${n0(m.entries_held)} entries: ${f(m.bytes_per_entry, 0)} B per entry; at ${n0(Math.min(m.full_entries, m.max_packets))} entries ${mb(m.extrapolated_bytes)}`);
  } else if (res.history) out.push('', `2. history: failed: ${res.history.error}`);
  if (res.reconnect) out.push('', '3. 2,000 clients moving at once', textTable(['', ''], reconnectRows(res.reconnect)));
  const obs = observations(res);
  if (obs.length) out.push('', ...obs.map((o) => `- ${o}`));
  return out.join('\n');
}

module.exports = { extract, splice, terminal, markdown, BEGIN, END };
