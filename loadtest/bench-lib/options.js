'use strict';
/*
 * loadtest/bench --options: what each of issue 18's protocol options costs a delivery,
 * sio-server next to Node socket.io 4 with the same option, on the same machine:
 *
 *   ws        WebSocket, the default parser (the baseline of the WebSocket cases)
 *   deflate   WebSocket with permessage-deflate (sio: PER_MESSAGE_DEFLATE=true; Node:
 *             perMessageDeflate {threshold: 1024}); sio-bench --deflate offers it
 *   polling   long-polling (the baseline of gzip)
 *   gzip      long-polling with Accept-Encoding: gzip (both servers compress polling
 *             responses of 1 KB and more by default: sio's HTTP_COMPRESSION, Node's
 *             httpCompression)
 *   msgpack   WebSocket, socket.io-msgpack-parser (sio: PARSER=msgpack; Node: parser)
 *   eio3      WebSocket, socket.io-client 2.x's protocol (sio: ALLOW_EIO3=true; Node:
 *             allowEIO3)
 *
 * Per case and kind a fresh cluster (2 nodes, one redis-server), a warm-up, then one
 * fixed-rate run: clients in rooms, broadcasts of --size bytes straight to Redis (the
 * emitter's format), the main bench's CPU window (server CPU per delivery), latency, and
 * the RSS per connection with the traffic flowing ((RSS of both nodes during the run -
 * on the fresh nodes) / clients: what a compression context or a parser keeps per socket
 * shows there). Payloads are 2 KB so that both thresholds (1 KB) apply.
 *
 *   runOptions(opt, ctx, facts)   measures, prints, and writes the "Protocol options"
 *                                 section of RESULTS.md (between its markers)
 */
const fs = require('node:fs');
const { startCluster } = require('./cluster');
const { rssKb, sleep } = require('./proc');
const { fixedRun, waitIdle, at } = require('./phases');
const { cpuSourceText } = require('./metrics');
const { section, f, ratio, mdTable, textTable, ok } = require('./md');

const SECTION = section('options', 'written by loadtest/bench --options; the rest of the file is left as it is');
const CASES = {
  ws: { label: 'WebSocket', base: null, sio: {}, node: [], bench: [] },
  deflate: { label: 'WebSocket + permessage-deflate', base: 'ws', sio: { PER_MESSAGE_DEFLATE: 'true' }, node: ['--deflate'], bench: ['--deflate'] },
  msgpack: { label: 'WebSocket, msgpack parser', base: 'ws', sio: { PARSER: 'msgpack' }, node: ['--parser', 'msgpack'], bench: ['--parser', 'msgpack'] },
  eio3: { label: 'WebSocket, Engine.IO v3 client', base: 'ws', sio: { ALLOW_EIO3: 'true' }, node: ['--eio3'], bench: ['--eio', '3'] },
  polling: { label: 'long-polling', base: null, sio: {}, node: [], bench: ['--transport', 'polling'] },
  gzip: { label: 'long-polling + gzip', base: 'polling', sio: {}, node: [], bench: ['--transport', 'polling', '--accept-encoding', 'gzip'] },
};
const OPTION_CASES = Object.keys(CASES);
const KINDS = ['sio', 'node'];

const log = (msg) => console.error(`bench: ${msg}`);

function optionsParams(quick) {
  return { clients: 1000, rooms: 10, deliveriesPerS: 10000, size: 2048, duration: quick ? 6 : 12, warmup: quick ? 3 : 4, skip: 2, drain: 3 };
}

/** One case on one kind: a fresh cluster, a warm-up, the measured run with an RSS sample. */
async function caseRun(ctx, kind, name) {
  const P = ctx.params.options;
  const C = CASES[name];
  const cluster = await startCluster(ctx, kind, 2, C.sio, C.node);
  try {
    const shape = { clients: P.clients, rooms: P.rooms, deliveriesPerS: P.deliveriesPerS, benchArgs: ['--size', String(P.size), ...C.bench] };
    /* before the warm-up: what the warm-up makes the process keep (allocator arenas,
     * JIT code, heap) is part of what the clients cost */
    const before = cluster.nodes.reduce((s, n) => s + rssKb(n.pid), 0);
    await fixedRun(ctx, cluster, { ...shape, duration: P.warmup, drain: 2, skip: 1, label: `${kind} ${name} warm-up` });
    await waitIdle(cluster);
    await sleep(500);
    let sample = null;
    const r = await fixedRun(ctx, cluster, { ...shape, duration: P.duration, drain: P.drain, skip: P.skip, label: `${kind} ${name}`,
      onMain: () => { sample = at((P.duration - 1) * 1000, () => cluster.nodes.reduce((s, n) => s + rssKb(n.pid), 0)); } });
    const during = await sample;
    const R = r.result;
    return {
      us_per_delivery: r.cpu && r.cpu.us_per_delivery, user_us: r.cpu && r.cpu.user_us_per_delivery, sys_us: r.cpu && r.cpu.sys_us_per_delivery,
      deliveries_per_s: r.achieved_deliveries_per_s, p50_ms: r.latency && r.latency.p50_ms, p99_ms: r.latency && r.latency.p99_ms,
      losses: R.delivery.losses, errors: R.errors.total, error_messages: R.errors.messages, compressed: R.delivery.compressed,
      deliveries: R.delivery.deliveries, bytes_per_delivery: R.delivery.deliveries ? R.bench.bytes_in / R.delivery.deliveries : null,
      kb_per_connection: typeof during === 'number' ? (during - before) / P.clients : null,
    };
  } finally {
    await cluster.stop();
  }
}

const HEADER = ['case', 'sio µs/delivery', 'Node µs/delivery', 'sio/Node', 'user µs sio · Node', 'sio vs its baseline', 'Node vs its baseline',
  'sio KB/conn', 'Node KB/conn', 'sio p99 ms', 'Node p99 ms', 'bytes/delivery sio · Node'];

function rows(res) {
  const get = (name, kind) => (res.cases[name] || {})[kind] || {};
  const vsBase = (name, kind) => {
    const b = CASES[name].base;
    return b ? ratio(get(name, kind).us_per_delivery, get(b, kind).us_per_delivery) : null;
  };
  return Object.keys(res.cases).map((name) => {
    const s = get(name, 'sio');
    const n = get(name, 'node');
    const x = (v) => (ok(v) ? `${f(v)}×` : '–');
    return [CASES[name].label, f(s.us_per_delivery), f(n.us_per_delivery), f(ratio(s.us_per_delivery, n.us_per_delivery), 3),
      `${f(s.user_us)} · ${f(n.user_us)}`, CASES[name].base ? x(vsBase(name, 'sio')) : 'baseline', CASES[name].base ? x(vsBase(name, 'node')) : 'baseline',
      f(s.kb_per_connection), f(n.kb_per_connection), f(s.p99_ms), f(n.p99_ms),
      `${f(s.bytes_per_delivery, 0)} · ${f(n.bytes_per_delivery, 0)}`];
  });
}

function findings(res) {
  const L = [];
  for (const [name, byKind] of Object.entries(res.cases)) {
    for (const kind of KINDS) {
      const r = byKind[kind];
      const where = `${CASES[name].label}, ${kind === 'sio' ? 'sio' : 'Node'}`;
      if (!r) continue;
      if (r.error) { L.push(`${where}: failed: ${r.error}`); continue; }
      if (r.losses > 0) L.push(`${where}: ${r.losses} deliveries lost.`);
      if (r.errors > 0) L.push(`${where}: client errors: ${(r.error_messages || []).map((m) => `${m.count} × ${m.message}`).join('; ')}.`);
      if ((name === 'deflate' || name === 'gzip') && !(r.compressed > 0)) L.push(`${where}: nothing arrived compressed: the option did not take effect.`);
    }
  }
  return L;
}

function markdown(res, meta) {
  const P = res.params;
  const L = [SECTION.BEGIN, '## Protocol options (permessage-deflate, compressed polling, msgpack, Engine.IO v3)', '',
    `\`${meta.command}\`, ${meta.date}, ${meta.wallMin} min (${meta.mode} run).`, '',
    `What each option costs a delivery, sio-server next to Node socket.io 4 with the same option. Per case and kind a fresh cluster of 2 nodes on one redis-server, ` +
    `a ${P.warmup} s warm-up, then ${P.clients} sio-bench clients in ${P.rooms} rooms of ${P.clients / P.rooms}, ${P.deliveriesPerS / (P.clients / P.rooms)} broadcasts/s of ${P.size} bytes ` +
    `straight to Redis (\`sio-bench --redis --size ${P.size}\`): ${P.deliveriesPerS} deliveries/s for ${P.duration} s. ` +
    `CPU window from ${P.skip} s after publishing starts to 0.5 s before it ends; ${meta.cpuSource}. ` +
    'KB/conn: (RSS of both nodes 1 s before the measured run\'s publishing ends − on the fresh nodes, before the warm-up) ÷ clients, so it holds what a socket keeps with traffic flowing ' +
    '(compression contexts, buffers) and what the process kept of the warm-up (allocator arenas; for Node also JIT code and heap growth). "vs its baseline": the case\'s CPU per delivery ÷ that of plain WebSocket (long-polling for gzip) on the same kind. ' +
    'bytes/delivery: what the clients received ÷ deliveries (compression shows there; sio-bench pads with one repeated character, ' +
    'so the compressed sizes are a best case, and Node\'s per-socket contexts gain most from it: each message repeats the last).', '',
    '- permessage-deflate: sio accepts it with `server_no_context_takeover; client_no_context_takeover` and compresses a broadcast once for all its recipients ' +
    '(the compressed frame is kept with the frame); Node\'s `ws` compresses per socket with a context per socket.',
    '- gzip: both compress each polling response (per session: responses differ).',
    '- msgpack: sio encodes a broadcast once per parser in use; Node encodes per broadcast too (socket.io\'s broadcast encodes once per packet).',
    '- Engine.IO v3: the same text frames as v4 over WebSocket.', '',
    mdTable(HEADER, rows(res)), ''];
  for (const x of findings(res)) L.push(`- ${x}`);
  L.push('', ...meta.facts.map(([k, v]) => `- ${k}: ${v}`), SECTION.END);
  return L.join('\n');
}

async function runOptions(opt, ctx, facts) {
  const started = Date.now();
  ctx.params = { options: optionsParams(opt.quick) };
  const res = { params: ctx.params.options, cases: {} };
  const kinds = opt.only ? [opt.only] : KINDS;
  log(`options ${opt.quick ? 'quick' : 'full'} run, cases ${opt.phases.join(', ')}, logs in ${ctx.tmp}`);
  for (const name of opt.phases) {
    res.cases[name] = {};
    for (const kind of kinds) {
      log(`== options: ${CASES[name].label}, ${kind} ==`);
      try {
        const r = await caseRun(ctx, kind, name);
        res.cases[name][kind] = r;
        log(`options:   ${f(r.us_per_delivery)} µs per delivery, p99 ${f(r.p99_ms)} ms, ${f(r.kb_per_connection)} KB per connection, losses ${r.losses}, compressed ${r.compressed}`);
      } catch (e) {
        log(`options: ${name} (${kind}) failed: ${e.stack || e.message}`);
        res.cases[name][kind] = { error: e.message.split('\n')[0] };
      }
    }
  }
  const meta = {
    command: ['loadtest/bench', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    wallMin: ((Date.now() - started) / 60000).toFixed(1),
    mode: opt.quick ? 'quick' : 'full',
    facts,
    cpuSource: cpuSourceText(ctx),
  };
  console.log(textTable(HEADER, rows(res)));
  for (const x of findings(res)) console.log(`- ${x}`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(res, null, 1));
  if (opt.write) {
    let text = '';
    try { text = fs.readFileSync(opt.out, 'utf8'); } catch (_) { /* a new file */ }
    fs.writeFileSync(opt.out, SECTION.splice(text, markdown(res, meta)));
    log(`wrote the options section of ${opt.out} (${meta.wallMin} min)`);
  }
  return res;
}

module.exports = { runOptions, optionsParams, OPTION_CASES, SECTION, CASES };
