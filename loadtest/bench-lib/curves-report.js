'use strict';
/*
 * The "Cost curves" section of RESULTS.md (loadtest/bench --curves), its terminal
 * tables and the data of its plots:
 *   markdown(res, meta)   the section, between its markers
 *   terminal(res)         the same tables as plain text
 *   plotSpec(res, axis)   what plot.render draws for an axis
 *   SECTION               {BEGIN, END, extract, splice} (md.section)
 */
const { section, ok, f, n0, ratio, mdTable, textTable } = require('./md');
const { specOf, specKey } = require('./curves');

const SECTION = section('curves', 'written by loadtest/bench --curves; the rest of the file is left as it is');
const NAMES = { sio: 'sio', node: 'Node', floor: 'floor' };

const AXIS = {
  conns: { title: 'connections per node', xlabel: 'connections per node (2 nodes, rooms of 100)', logx: true, label: (x) => n0(x), rss: true },
  room: { title: 'room size', xlabel: 'members per room (10,000 clients)', logx: true, label: (x) => n0(x) },
  rps: { title: 'rooms per socket', xlabel: 'rooms per socket (10,000 clients, rooms of 100 on average)', logx: true, label: (x) => n0(x) },
  size: { title: 'packet size', xlabel: 'Socket.IO packet size (sio-bench --size)', logx: true, label: (x) => (x >= 1024 ? `${f(x / 1024, x % 1024 ? 1 : 0)} KB` : `${x} B`) },
  nodes: { title: 'nodes', xlabel: 'nodes on one Redis (10,000 clients in all)', logx: false, label: (x) => String(x), rss: true },
  polling: { title: 'polling vs WebSocket', xlabel: 'transport (2,000 clients, rooms of 100)', categorical: true, label: (x) => (x === 'polling' ? 'long-polling' : 'WebSocket'), rss: true },
};

const fr = (x) => (ok(x) ? x.toFixed(2) : '–');

/** The run of a kind at a point of an axis (or undefined). */
function runAt(res, axis, x, kind) {
  const key = specKey(specOf(res.params, axis, x));
  return res.runs[kind] && res.runs[kind][key];
}

/** A value with a mark when the run did not keep up (losses, late, or no steady window). */
function cell(r, key, d = 2) {
  if (!r) return '';
  if (r.error) return 'error';
  const v = f(r[key], d);
  return r.kept_up ? v : `${v} †`;
}

function pointLabel(res, axis, x) {
  const s = specOf(res.params, axis, x);
  const base = specKey(s) === specKey(res.params.base) ? ' (base)' : '';
  return `${AXIS[axis].label(x)}${base}`;
}

/** rows = points; columns: sio, Node, floor (µs per delivery), sio/floor, sio/Node. */
function mainRows(res, axis) {
  return res.params.points[axis].map((x) => {
    const [s, n, fl] = ['sio', 'node', 'floor'].map((k) => runAt(res, axis, x, k));
    const us = (r) => (r && !r.error ? r.us_per_delivery : null);
    return [pointLabel(res, axis, x), cell(s, 'us_per_delivery'), cell(n, 'us_per_delivery'), cell(fl, 'us_per_delivery'),
      fr(ratio(us(s), us(fl))), fr(ratio(us(s), us(n)))];
  });
}

const sumOf = (a) => (Array.isArray(a) ? a.reduce((x, y) => x + (y || 0), 0) : null);

/** (RSS at this point - RSS at the one before) / the clients added: the connections curve's slope. */
function addedKb(prev, r) {
  if (!prev || !r || prev.error || r.error || !prev.rss_kb || !r.rss_kb || !(r.ready > prev.ready)) return null;
  return (sumOf(r.rss_kb) - sumOf(prev.rss_kb)) / (r.ready - prev.ready);
}

/** rows = points; per kind user / system, deliveries/s, p99, (RSS per connection). */
function detailRows(res, axis) {
  const kinds = ['sio', 'node', 'floor'];
  const xs = res.params.points[axis];
  return xs.map((x, i) => {
    const rs = kinds.map((k) => runAt(res, axis, x, k));
    const tri = (fn) => rs.map((r) => (!r ? '' : r.error ? 'error' : fn(r))).join(' / ');
    const row = [pointLabel(res, axis, x),
      ...rs.map((r) => (!r ? '' : r.error ? 'error' : `${f(r.user_us)} + ${f(r.sys_us)}`)),
      tri((r) => n0(r.delivery_rate)), tri((r) => f(r.p99_ms)), tri((r) => f(r.frames_per_segment))];
    if (AXIS[axis].rss) row.push(tri((r) => f(r.rss_kb_per_connection)));
    if (axis === 'conns') row.push(i === 0 ? '' : kinds.map((k, j) => f(addedKb(runAt(res, axis, xs[i - 1], k), rs[j]))).join(' / '));
    return row;
  });
}

const MAIN_HEAD = ['point', 'sio µs', 'Node µs', 'floor µs', 'sio / floor', 'sio / Node'];
const detailHead = (axis) => ['point', 'sio user + system µs', 'Node user + system µs', 'floor user + system µs',
  'deliveries/s (sio / Node / floor)', 'p99 ms (sio / Node / floor)', 'frames per segment (sio / Node / floor)',
  ...(AXIS[axis].rss ? ['RSS KB per connection (sio / Node / floor)'] : []),
  ...(axis === 'conns' ? ['RSS KB per connection added since the point before (sio / Node / floor)'] : [])];

function plotSpec(res, axis) {
  const A = AXIS[axis];
  return {
    title: `server CPU per delivery vs ${A.title} (${n0(res.params.deliveriesPerS)} deliveries/s)`,
    xlabel: A.xlabel,
    ylabel: 'server CPU per delivery, µs (user + system, 2 nodes)',
    logx: A.logx,
    categorical: !!A.categorical,
    series: ['sio', 'Node socket.io', 'floor (write)'],
    points: res.params.points[axis].map((x, i) => ({
      x: A.categorical ? i : x,
      label: A.label(x),
      values: ['sio', 'node', 'floor'].map((k) => {
        const r = runAt(res, axis, x, k);
        return r && !r.error && ok(r.us_per_delivery) ? +r.us_per_delivery.toFixed(3) : null;
      }),
    })),
  };
}

/** Sentences on what the curves show (computed). */
function findings(res) {
  const L = [];
  const names = new Map(); /* spec key -> the points it stands for */
  for (const axis of res.axes) {
    for (const { x, key } of res.points[axis] || []) names.set(key, [...(names.get(key) || []), `${AXIS[axis].title} ${AXIS[axis].label(x)}`]);
  }
  const where = (r) => (names.get(specKey(r.spec)) || [specKey(r.spec)]).join(' = ');
  const runs = [];
  for (const kind of Object.keys(res.runs)) for (const r of Object.values(res.runs[kind])) runs.push(r);
  const failed = runs.filter((r) => r.error);
  const late = runs.filter((r) => !r.error && !r.kept_up);
  for (const r of failed) L.push(`${NAMES[r.kind]} at ${where(r)}: failed: ${r.error}`);
  for (const r of late) {
    L.push(`${NAMES[r.kind]} at ${where(r)} did not keep up (${r.losses ? `${n0(r.losses)} lost, ` : ''}p99 ${f(r.p99_ms)} ms${ok(r.delivery_rate) ? `, ${n0(r.delivery_rate)} deliveries/s` : ''}): its CPU per delivery is from sio-bench's progress counts (marked †).`);
  }
  const noisy = runs.filter((r) => !r.error && ok(r.other_cores) && r.other_cores > 0.2);
  if (noisy.length) L.push(`Other jobs used more than 0.2 cores during ${noisy.length} of the ${runs.length} CPU windows (up to ${f(Math.max(...noisy.map((r) => r.other_cores)))} cores).`);
  return L;
}

function markdown(res, meta) {
  const P = res.params;
  const B = P.base;
  const L = [SECTION.BEGIN, '## Cost curves', '',
    `\`${meta.command}\`, ${meta.date}, ${meta.wallMin} min (${meta.mode} run).`, '',
    `Server CPU per delivery of **sio**, **Node socket.io** and **the floor** (\`sio-floor --mode write\`: the same clients and frames, one plain \`write()\` per delivery) ` +
    `while one thing changes at a time. Every point publishes **${n0(P.deliveriesPerS)} deliveries/s** (broadcasts/s = that ÷ the room size) straight to Redis ` +
    '(`sio-bench --redis`, the `@socket.io/redis-emitter` format): the same amount of work at every point, a rate Node keeps up with at each, so the curves show what a delivery costs, not where a server saturates. ' +
    `The base workload: ${B.nodes} nodes on one fresh redis-server, ${n0(B.clients)} WebSocket clients (sio-bench, spread round-robin over the nodes), ` +
    `each in one room of ${B.perRoom}, ${B.size}-byte packets (\`sio-bench --size ${B.size}\`); each curve changes one of these. ` +
    `Each point runs ${P.duration} s of publishing; the CPU window is from ${P.skip} s after publishing starts to 0.5 s before it ends ` +
    '(with few broadcasts per window, as for rooms of 10,000, both ends fall half-way between two broadcasts, so that it holds a whole number of them); ' +
    `CPU time: ${meta.cpuSource}; server CPU per delivery = the CPU of every server process ÷ the deliveries in the window.`, '',
    'Every point runs for sio, Node and the floor back to back, so the three see the same machine. One cluster per kind (started fresh, ' +
    `with a ${P.warmup} s warm-up run of 200 clients at ${n0(P.deliveriesPerS)} deliveries/s, not measured) serves every point that changes only the clients or the rooms; ` +
    `the nodes curve and the polling point start a fresh cluster (${P.freshWarmup ? 'with the same warm-up' : `no warm-up run: their CPU window starts ${P.freshSkip} s later instead`}) for each point. A point that is on several curves (the base) is run once per kind. ` +
    'RSS per connection (where given) = (RSS of the nodes 1 s into publishing − RSS of the cluster before its first point, after its warm-up of 200 clients) ÷ clients: memory under traffic, heap garbage included (the main bench\'s "RSS per idle connection" is the careful number); ' +
    'the connections curve runs first, in ascending order, so that memory kept from a larger earlier run does not inflate it, and also gives the slope: the RSS added per connection added since the point before. Frames per TCP segment (`ss`) are read for up to 5,000 clients. ' +
    '**TLS is off** for all three: on AWS the ALB terminates TLS.', ''];
  if (P.dropped) L.push(`**--quick** drops: ${P.dropped}.`, '');
  L.push('† did not keep up (losses, deliveries late, or publishing behind): the CPU per delivery of that run comes from sio-bench\'s once-a-second progress counts.', '');
  for (const axis of res.axes) {
    const A = AXIS[axis];
    L.push(`### CPU per delivery vs ${A.title}`, '');
    if (axis === 'room') L.push(`Room size 1 is ${n0(P.deliveriesPerS)} broadcasts/s through Redis, room size 10,000 is one broadcast a second. Node\'s redis-adapter and the floor PSUBSCRIBE to every room of the namespace, so each of their nodes receives and decodes every broadcast; sio SUBSCRIBEs to the rooms it has members in, so each sio node receives only the broadcasts for its own members (with rooms of 1, half of them on 2 nodes).`, '');
    if (axis === 'rps') L.push('Each client in K rooms drawn at random (`--dist k:K`), the number of rooms chosen so that a room has 100 members on average. Past 64 rooms (the most one `subscribe` request may name) sio-bench subscribes in several requests.', '');
    if (axis === 'polling') L.push(`${n0(P.pollClients)} clients (long-polling uses 2 sockets per client); the WebSocket point is the connections curve's ${n0(P.pollClients / 2)} per node.`, '');
    if (axis === 'size') L.push('The packet as the client receives it (`42["bench",{…,"pad":"xx…"}]`), without the WebSocket frame header.', '');
    L.push(mdTable(MAIN_HEAD, mainRows(res, axis)), '');
    if (meta.plots[axis]) L.push(`![server CPU per delivery vs ${A.title}](${meta.plots[axis]})`, '');
    L.push(mdTable(detailHead(axis), detailRows(res, axis)), '');
  }
  if (meta.plotNote) L.push(meta.plotNote, '');
  const F = findings(res);
  if (F.length) L.push(...F.map((x) => `- ${x}`), '');
  L.push(...meta.facts.map(([k, v]) => `- ${k}: ${v}`));
  L.push(SECTION.END);
  return L.join('\n');
}

function terminal(res) {
  const out = [];
  for (const axis of res.axes) {
    out.push(`CPU per delivery vs ${AXIS[axis].title}, µs (${n0(res.params.deliveriesPerS)} deliveries/s):`);
    out.push(textTable(MAIN_HEAD, mainRows(res, axis)));
    out.push(textTable(detailHead(axis), detailRows(res, axis)));
    out.push('');
  }
  for (const x of findings(res)) out.push(`- ${x}`);
  return out.join('\n');
}

module.exports = { markdown, terminal, plotSpec, SECTION, AXIS };
