'use strict';
/*
 * loadtest/bench --backend: client events handed to an application backend (README
 * "Backends"), sio-server's EVENT_PROXY_URL side by side with Node socket.io doing the
 * same with fetch(), and the machine's floor (the same POSTs straight to the backend).
 * Each setup gets a fresh backend and gateway; the load is bench-lib/backend-peer.js's
 * client (socket.io-client, each socket one event in flight, closed loop).
 *
 *   runBackend(opt, ctx)   measures, prints, and writes the "Backend proxy" section of
 *                          RESULTS.md (between its markers; the rest is left as it is)
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnTracked, stopProc, freePort, waitPort, cpuTicks, cleanEnv, CLK_TCK, HOST } = require('./proc');
const { section, f, n0, mdTable, textTable } = require('./md');

const PEER = path.join(__dirname, 'backend-peer.js');
const SECTION = section('backend', 'written by loadtest/bench --backend; the rest of the file is left as it is');
const SETUPS = {
  floor: 'the floor: the same POSTs straight to the backend (Node http, keep-alive)',
  sio: 'sio-server, EVENT_PROXY_URL (libcurl on the cluster thread)',
  node: 'Node socket.io 4, socket.onAny -> fetch() (undici, keep-alive)',
};

function nodeEnv(ctx) {
  return { ...cleanEnv(), NODE_PATH: path.join(ctx.root, 'tests', 'node_modules') };
}

async function startPeer(ctx, name, args) {
  const p = spawnTracked(name, process.execPath, [PEER, ...args], { env: nodeEnv(ctx) });
  await waitPort(Number(args[1]), 10000, p);
  return p;
}

async function startGateway(ctx, setup, port, backendUrl) {
  if (setup === 'node') return startPeer(ctx, 'node-gateway', ['node-gateway', String(port), backendUrl]);
  const api = await freePort();
  const env = {
    ...cleanEnv(), PORT: String(port), API_PORT: String(api), BIND_ADDR: HOST, API_BIND_ADDR: HOST,
    LOG_LEVEL: 'warn', RECOVERY_WINDOW_MS: '0', EVENT_PROXY_URL: backendUrl, PROXY_EVENTS: 'ping',
  };
  const p = spawnTracked('sio-server', ctx.sioServer, [], { env });
  await waitPort(port, 10000, p);
  return p;
}

function ticks(p) {
  const t = p ? cpuTicks(p.pid) : null;
  return t ? t.utime + t.stime : 0;
}

/* One setup at one concurrency: {rate, p50_ms, p99_ms, errors, gwCpuMs, beCpuMs} per 1,000 events. */
async function measure(ctx, setup, sockets, seconds) {
  const bePort = await freePort();
  const be = spawnTracked('backend', process.execPath, [PEER, 'backend', String(bePort)], { env: nodeEnv(ctx) });
  await waitPort(bePort, 10000, be);
  const backendUrl = `http://${HOST}:${bePort}/events`;
  const gwPort = setup === 'floor' ? 0 : await freePort();
  const gw = setup === 'floor' ? null : await startGateway(ctx, setup, gwPort, backendUrl);
  const target = setup === 'floor' ? backendUrl : `http://${HOST}:${gwPort}`;
  try {
    const t0 = [ticks(gw), ticks(be)];
    const cl = spawnTracked('client', process.execPath, [PEER, 'client', setup, target, String(sockets), String(seconds)], { env: nodeEnv(ctx) });
    const exit = await cl.exited;
    if (exit.code !== 0) throw new Error(`client exited ${exit.code}: ${cl.stderr.slice(-500)}`);
    const r = JSON.parse(cl.stdout.trim().split('\n').pop());
    const perK = (dt) => (r.events ? ((dt * 1000) / CLK_TCK / r.events) * 1000 * (r.seconds / (r.seconds + 1)) : NaN);
    return { ...r, gwCpuMs: gw ? perK(ticks(gw) - t0[0]) : null, beCpuMs: perK(ticks(be) - t0[1]) };
  } finally {
    await stopProc(gw);
    await stopProc(be);
  }
}

function rows(res) {
  const out = [];
  for (const r of res.runs) {
    out.push([`${r.setup}`, n0(r.sockets), n0(r.rate), f(r.p50_ms, 2), f(r.p99_ms, 2), n0(r.errors),
      r.gwCpuMs == null ? '–' : f(r.gwCpuMs, 1), f(r.beCpuMs, 1)]);
  }
  return out;
}

const HEADER = ['setup', 'sockets', 'events/s', 'p50 ms', 'p99 ms', 'errors', 'gateway CPU ms / 1k events', 'backend CPU ms / 1k'];

function added(res, sockets) {
  const at = (s) => res.runs.find((r) => r.setup === s && r.sockets === sockets);
  const floor = at('floor');
  return ['sio', 'node'].map((s) => {
    const r = at(s);
    if (!r || !floor) return null;
    const d = r.p50_ms - floor.p50_ms;
    return `${s}: ${d < 0 ? '-' : '+'}${f(Math.abs(d), 2)} ms p50 against the floor, ${f(r.rate / floor.rate, 2)}x its events/s, at ${sockets} socket${sockets > 1 ? 's' : ''}`;
  }).filter(Boolean);
}

function markdown(res, meta) {
  const lines = [SECTION.BEGIN, '## Backend proxy (client events to EVENT_PROXY_URL)', '',
    `\`${meta.command}\`, ${meta.date}, ${meta.wallMin} min. Each setup: a fresh backend`,
    '(bench-lib/backend-peer.js, Node http answering `{"ack":["pong"]}`) and gateway; the load',
    `is socket.io-client sockets, each with one \`emitWithAck("ping")\` in flight, for ${res.seconds} s`,
    'after a 1 s warm-up, all on the same 2 cores (load, gateway and backend compete).', ''];
  for (const [k, v] of Object.entries(SETUPS)) lines.push(`- **${k}**: ${v}`);
  lines.push('', mdTable(HEADER, rows(res)), '');
  for (const s of res.concurrency) for (const a of added(res, s)) lines.push(`- ${a}`);
  lines.push('', ...meta.facts.map(([k, v]) => `- ${k}: ${v}`), SECTION.END);
  return lines.join('\n');
}

async function runBackend(opt, ctx, facts) {
  const started = Date.now();
  const res = { seconds: opt.quick ? 5 : 10, concurrency: opt.quick ? [1, 50] : [1, 20, 100], runs: [] };
  for (const sockets of res.concurrency) {
    for (const setup of Object.keys(SETUPS)) {
      console.error(`bench: backend ${setup}, ${sockets} socket(s)`);
      try {
        res.runs.push({ setup, sockets, ...(await measure(ctx, setup, sockets, res.seconds)) });
      } catch (e) {
        console.error(`bench: backend ${setup} failed: ${e.message}`);
        res.runs.push({ setup, sockets, error: e.message });
      }
    }
  }
  const meta = {
    command: ['loadtest/bench', ...process.argv.slice(2)].join(' '),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    wallMin: ((Date.now() - started) / 60000).toFixed(1),
    facts,
  };
  console.log(textTable(HEADER, rows(res)));
  for (const s of res.concurrency) for (const a of added(res, s)) console.log(a);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(res, null, 1));
  if (opt.write) {
    let text = '';
    try { text = fs.readFileSync(opt.out, 'utf8'); } catch (_) { /* a new file */ }
    fs.writeFileSync(opt.out, SECTION.splice(text, markdown(res, meta)));
    console.error(`bench: wrote the backend section of ${opt.out}`);
  }
  return res;
}

module.exports = { runBackend, SETUPS, SECTION };
