#!/usr/bin/env node
'use strict';
/*
 * A small stand-in for `k6 run`, for environments where k6 cannot be installed (the
 * integration tests). It runs the unmodified scripts of loadtest/k6/ against a live
 * server, implementing only what they use:
 *
 *   k6          check, sleep, group (no group metrics), fail
 *   k6/ws       connect(url, [params.headers], fn(socket)); socket.on('open' | 'message' |
 *               'binaryMessage' | 'ping' | 'pong' | 'close' | 'error'), send, sendBinary,
 *               ping, close, setTimeout, setInterval; returns {url, status, headers, error}
 *   k6/http     request, get, post, put, patch, del -> {status, body, headers, error,
 *               timings.duration, json()}; params.headers, params.timeout
 *   k6/metrics  Trend, Counter, Rate, Gauge (declared in the init context), add(value)
 *   globals     __VU, __ITER, __ENV (the environment plus -e KEY=VALUE)
 *   options     vus + duration (constant VUs), stages (+ vus as the start) (ramping VUs,
 *               linear, rounded; VUs above the target finish their iteration, interrupted
 *               after 30 s), iterations (shared among the VUs, 10 min max), thresholds
 *               ('p(N)', 'avg', 'min', 'max', 'med' of a Trend, 'count' / 'rate' of a
 *               Counter, 'rate' of a Rate, 'value' of a Gauge, with < <= > >= == === !=),
 *               summaryTrendStats
 *   builtin metrics  checks, iterations, iteration_duration, vus, vus_max, ws_connecting,
 *               ws_sessions, ws_session_duration, ws_msgs_sent, ws_msgs_received,
 *               http_reqs, http_req_duration, http_req_failed
 *   end         a k6-like summary on stdout; --summary-json FILE writes the data k6 gives
 *               handleSummary() ({metrics: {name: {type, contains, values, thresholds:
 *               {expr: {ok}}}}, root_group: {checks}}) plus a `runner` section; exit code
 *               99 when a threshold failed (as k6), 104 invalid options, 107 script error
 *
 * Not implemented (an error, never silently ignored, where a script could rely on it):
 * options.scenarios / executors other than the three above, setup() / teardown(),
 * handleSummary(), tags (accepted and ignored: no sub-metrics, no thresholds on
 * `metric{tag:value}`), thresholds' abortOnFail, async default functions,
 * k6/experimental/*, k6/crypto, k6/encoding, k6/data, open(), remote modules, cookies,
 * batch requests, response.json(selector), http_req_* timing breakdowns, ws_ping,
 * gracefulStop / gracefulRampDown other than 30 s (--graceful-stop overrides both), output
 * plugins, cloud. Sockets use the `ws` package with permessage-deflate off; HTTP keeps a
 * keep-alive connection per VU.
 *
 * How the k6 imports work: the scripts are loaded as they are by Node's ESM loader, with
 * loader hooks (hooks.mjs, node:module register) that resolve 'k6', 'k6/ws', 'k6/http' and
 * 'k6/metrics' to the shims in k6/ and load the script's directory as ES modules.
 * Each VU is a worker thread (vu.js) looping over the default function; the main thread
 * owns the sockets and HTTP requests, schedules iterations and aggregates the metrics.
 *
 * Usage: node loadtest/k6-runner/run.js [run] [-e K=V]... [-u VUS] [-d DURATION]
 *          [-i ITERATIONS] [--graceful-stop D] [--summary-json FILE] [-q] script.js
 */
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const { Worker, MessageChannel } = require('node:worker_threads');
const { register, createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');

const EXIT = { thresholds: 99, config: 104, script: 107 };
const RUNTIME = Symbol.for('k6-runner.runtime');

function loadWs() {
  try {
    return require('ws');
  } catch (_) {
    return createRequire(path.join(__dirname, '..', '..', 'tests', 'package.json'))('ws');
  }
}

class ConfigError extends Error {}

function parseDurationMs(v) {
  if (typeof v === 'number') return v;
  let ms = 0;
  const s = String(v).trim();
  const rest = s.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n, u) => {
    ms += Number(n) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[u];
    return '';
  });
  if (s === '' || rest !== '') throw new ConfigError(`invalid duration '${v}'`);
  return ms;
}

/* ------------------------------------------------------------------ */
/* command line                                                       */
/* ------------------------------------------------------------------ */

function parseArgs(argv) {
  const a = { env: {}, cli: {}, summaryJson: null, quiet: false, gracefulStopMs: 30000, script: null };
  const args = argv.slice();
  if (args[0] === 'run') args.shift();
  while (args.length) {
    const k = args.shift();
    const val = () => {
      if (!args.length) throw new ConfigError(`${k} needs a value`);
      return args.shift();
    };
    if (k === '-e' || k === '--env') {
      const kv = val();
      const i = kv.indexOf('=');
      if (i <= 0) throw new ConfigError(`-e expects KEY=VALUE, got '${kv}'`);
      a.env[kv.slice(0, i)] = kv.slice(i + 1);
    } else if (k === '-u' || k === '--vus') a.cli.vus = Number(val());
    else if (k === '-d' || k === '--duration') a.cli.duration = val();
    else if (k === '-i' || k === '--iterations') a.cli.iterations = Number(val());
    else if (k === '--graceful-stop') a.gracefulStopMs = parseDurationMs(val());
    else if (k === '--summary-json') a.summaryJson = val();
    else if (k === '-q' || k === '--quiet') a.quiet = true;
    else if (k.startsWith('-')) throw new ConfigError(`unknown option ${k}`);
    else if (a.script) throw new ConfigError('only one script');
    else a.script = path.resolve(k);
  }
  if (!a.script) throw new ConfigError('usage: run.js [-e K=V]... [-u VUS] [-d DURATION] [-i N] [--summary-json FILE] script.js');
  return a;
}

/* ------------------------------------------------------------------ */
/* metrics                                                            */
/* ------------------------------------------------------------------ */

const BUILTIN = {
  checks: ['rate', false],
  iterations: ['counter', false],
  iteration_duration: ['trend', true],
  vus: ['gauge', false],
  vus_max: ['gauge', false],
  ws_connecting: ['trend', true],
  ws_sessions: ['counter', false],
  ws_session_duration: ['trend', true],
  ws_msgs_sent: ['counter', false],
  ws_msgs_received: ['counter', false],
  http_reqs: ['counter', false],
  http_req_duration: ['trend', true],
  http_req_failed: ['rate', false],
};

class Metrics {
  constructor() {
    this.m = new Map();
    for (const [name, [type, isTime]] of Object.entries(BUILTIN)) this.define(name, type, isTime);
    this.checks = new Map(); // name -> [passes, fails]
  }

  define(name, type, isTime) {
    const old = this.m.get(name);
    if (old) {
      if (old.type !== type) throw new ConfigError(`metric '${name}' declared as ${type} and as ${old.type}`);
      return;
    }
    this.m.set(name, {
      type, isTime, n: 0, sum: 0, values: [], passes: 0, value: 0, min: Infinity, max: -Infinity,
    });
  }

  add(name, v) {
    const s = this.m.get(name);
    if (!s) return;
    s.n += 1;
    if (s.type === 'trend') {
      s.values.push(v);
      s.sum += v;
    } else if (s.type === 'counter') s.sum += v;
    else if (s.type === 'rate') s.passes += v !== 0 ? 1 : 0;
    else s.value = v;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
  }

  /** The value of one aggregation ('p(99)', 'count', ...) as k6 computes it; throws on a bad one. */
  static agg(s, what, elapsedS) {
    if (s.type === 'trend') {
      const v = s.values;
      if (what === 'avg') return s.n ? s.sum / s.n : 0;
      if (what === 'min') return s.n ? s.min : 0;
      if (what === 'max') return s.n ? s.max : 0;
      if (what === 'count') return s.n;
      const p = what === 'med' ? 50 : (what.match(/^p\(\s*(\d+(?:\.\d+)?)\s*\)$/) || [])[1];
      if (p === undefined) throw new ConfigError(`'${what}' is not an aggregation of a Trend`);
      if (!v.length) return 0;
      if (!s.sorted) {
        v.sort((x, y) => x - y);
        s.sorted = true;
      }
      const i = (Number(p) / 100) * (v.length - 1); // k6's TrendSink.P
      const lo = v[Math.floor(i)];
      return lo + (v[Math.ceil(i)] - lo) * (i - Math.floor(i));
    }
    if (s.type === 'counter') {
      if (what === 'count') return s.sum;
      if (what === 'rate') return elapsedS > 0 ? s.sum / elapsedS : 0;
    }
    if (s.type === 'rate' && what === 'rate') return s.n ? s.passes / s.n : 0;
    if (s.type === 'gauge' && what === 'value') return s.value;
    if (s.type === 'gauge' && (what === 'min' || what === 'max')) return s.n ? s[what] : 0;
    throw new ConfigError(`'${what}' is not an aggregation of a ${s.type[0].toUpperCase()}${s.type.slice(1)}`);
  }
}

const THRESHOLD_RX = /^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

function parseThresholds(thresholds, metrics) {
  const out = [];
  for (const [name, list] of Object.entries(thresholds || {})) {
    if (name.includes('{')) throw new ConfigError(`threshold on '${name}': thresholds on sub-metrics (tags) are not implemented by this runner`);
    const s = metrics.m.get(name);
    if (!s) throw new ConfigError(`invalid threshold defined on ${name}; reason: no metric name "${name}" found`);
    for (const item of [].concat(list)) {
      const expr = typeof item === 'string' ? item : item && item.threshold;
      const m = typeof expr === 'string' && expr.match(THRESHOLD_RX);
      if (!m) throw new ConfigError(`invalid threshold '${JSON.stringify(item)}' on ${name}`);
      Metrics.agg(s, m[1].replace(/\s+/g, ''), 1); // validates the aggregation for the type
      out.push({ metric: name, expr, agg: m[1].replace(/\s+/g, ''), op: m[2], limit: Number(m[3]) });
    }
  }
  return out;
}

function compare(v, op, limit) {
  switch (op) {
    case '<': return v < limit;
    case '<=': return v <= limit;
    case '>': return v > limit;
    case '>=': return v >= limit;
    case '!=': return v !== limit;
    default: return v === limit;
  }
}

/* ------------------------------------------------------------------ */
/* the I/O the VUs ask for                                            */
/* ------------------------------------------------------------------ */

let WebSocket = null;

function toVu(vu, msg, transfer) {
  vu.port.postMessage(msg, transfer);
  Atomics.add(vu.sig, 0, 1);
  Atomics.notify(vu.sig, 0);
}

function flatHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h || {})) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function wsDial(vu, m) {
  let dialed = false;
  let failed = false;
  let status = 0;
  let headers = {};
  const fail = (error, extra = {}) => {
    if (dialed || failed) return;
    failed = true;
    vu.sockets.delete(m.id);
    toVu(vu, { t: 'wsDialed', id: m.id, ok: false, status, headers, error, ...extra });
  };
  let ws;
  try {
    ws = new WebSocket(m.url, { headers: m.headers, perMessageDeflate: false, handshakeTimeout: 60000 });
  } catch (e) {
    fail(e.message);
    return;
  }
  vu.sockets.set(m.id, ws);
  ws.on('upgrade', (res) => {
    status = res.statusCode;
    headers = flatHeaders(res.headers);
  });
  ws.on('unexpected-response', (req, res) => {
    status = res.statusCode;
    headers = flatHeaders(res.headers);
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { body += d; });
    res.on('end', () => fail('websocket: bad handshake', { body }));
    res.on('error', () => fail('websocket: bad handshake', { body }));
    setTimeout(() => req.destroy(), 5000).unref();
  });
  ws.on('open', () => {
    dialed = true;
    toVu(vu, { t: 'wsDialed', id: m.id, ok: true, status: status || 101, headers });
  });
  ws.on('message', (data, isBinary) => {
    if (!dialed) return;
    if (!isBinary) toVu(vu, { t: 'ws', id: m.id, ev: 'message', data: data.toString('utf8') });
    else {
      const buf = Buffer.concat([].concat(data));
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      toVu(vu, { t: 'ws', id: m.id, ev: 'binary', data: ab }, [ab]);
    }
  });
  ws.on('ping', () => { if (dialed) toVu(vu, { t: 'ws', id: m.id, ev: 'ping' }); });
  ws.on('pong', () => { if (dialed) toVu(vu, { t: 'ws', id: m.id, ev: 'pong' }); });
  ws.on('error', (e) => {
    if (!dialed) fail(e.message);
    else toVu(vu, { t: 'ws', id: m.id, ev: 'error', error: e.message });
  });
  ws.on('close', (code) => {
    clearTimeout(ws.killTimer);
    vu.sockets.delete(m.id);
    if (dialed) toVu(vu, { t: 'ws', id: m.id, ev: 'close', code });
    else fail('websocket closed during the handshake');
  });
}

function wsOp(vu, m) {
  const ws = vu.sockets.get(m.id);
  if (!ws) return;
  if (m.t === 'wsSend') {
    if (ws.readyState === WebSocket.OPEN) ws.send(m.binary ? Buffer.from(m.data) : m.data);
  } else if (m.t === 'wsPing') {
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  } else if (m.force) {
    ws.terminate();
  } else {
    try {
      ws.close(m.code);
    } catch (_) { // a code ws may not send (e.g. 1006)
      ws.terminate();
      return;
    }
    // a server that never answers the close frame: give up after 2 s, as a hung socket
    ws.killTimer = setTimeout(() => ws.terminate(), 2000);
  }
}

function httpDo(vu, m) {
  const t0 = process.hrtime.bigint();
  const reply = (r) => toVu(vu, {
    t: 'http', id: m.id, headers: {}, body: null, ...r, durationMs: Number(process.hrtime.bigint() - t0) / 1e6,
  });
  let u;
  try {
    u = new URL(m.url);
  } catch (e) {
    reply({ status: 0, error: e.message });
    return;
  }
  const lib = u.protocol === 'https:' ? https : http;
  const agent = u.protocol === 'https:' ? vu.httpsAgent : vu.httpAgent;
  const body = m.body == null ? null : Buffer.from(m.body);
  const headers = { ...m.headers };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['Content-Length'] = body.length;
  const req = lib.request(u, { method: m.method, headers, agent }, (res) => {
    const chunks = [];
    res.on('data', (d) => chunks.push(d));
    res.on('end', () => reply({
      status: res.statusCode, headers: flatHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8'),
    }));
    res.on('error', (e) => reply({ status: 0, error: e.message }));
  });
  req.setTimeout(m.timeoutMs, () => req.destroy(new Error(`request timeout after ${m.timeoutMs} ms`)));
  req.on('error', (e) => reply({ status: 0, error: e.message }));
  req.end(body || undefined);
}

/* ------------------------------------------------------------------ */
/* schedule                                                           */
/* ------------------------------------------------------------------ */

function makePlan(o) {
  if (o.scenarios) throw new ConfigError('options.scenarios is not implemented by this runner (use vus/duration, stages or iterations)');
  const int = (v, what) => {
    if (!Number.isInteger(v) || v < 0) throw new ConfigError(`${what} must be an integer >= 0`);
    return v;
  };
  if (o.stages && o.stages.length && !o.durationFromCli) {
    let at = 0;
    const startVUs = int(o.vus === undefined ? 1 : o.vus, 'vus');
    const stages = o.stages.map((s) => {
      const ms = parseDurationMs(s.duration);
      const st = { from: at, ms, target: int(s.target === undefined ? 0 : s.target, 'stage target') };
      at += ms;
      return st;
    });
    const maxVUs = Math.max(startVUs, ...stages.map((s) => s.target));
    const target = (t) => {
      let prev = startVUs;
      for (const s of stages) {
        if (t < s.from + s.ms) return Math.round(prev + ((s.target - prev) * (t - s.from)) / s.ms);
        prev = s.target;
      }
      return prev;
    };
    return { kind: 'ramping-vus', maxVUs, totalMs: at, target };
  }
  if (o.duration !== undefined) {
    const vus = int(o.vus === undefined ? 1 : o.vus, 'vus');
    return { kind: 'constant-vus', maxVUs: vus, totalMs: parseDurationMs(o.duration), target: () => vus };
  }
  const iterations = int(o.iterations === undefined ? 1 : o.iterations, 'iterations');
  const vus = Math.min(int(o.vus === undefined ? 1 : o.vus, 'vus'), iterations);
  return { kind: 'shared-iterations', maxVUs: vus, totalMs: 600000, iterations, target: () => vus };
}

/* ------------------------------------------------------------------ */
/* summary                                                            */
/* ------------------------------------------------------------------ */

function fmtNum(v, isTime) {
  if (v === 0) return isTime ? '0s' : '0';
  if (!isTime) return Number.isInteger(v) ? String(v) : v.toFixed(6).replace(/\.?0+$/, '');
  if (v >= 60000) return `${Math.floor(v / 60000)}m${((v % 60000) / 1000).toFixed(2)}s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)}s`;
  if (v >= 1) return `${v.toFixed(2)}ms`;
  return `${(v * 1000).toFixed(2)}µs`;
}

function buildSummary(metrics, thresholds, elapsedS, trendStats) {
  const out = { metrics: {}, root_group: { name: '', path: '', checks: [] } };
  for (const [name, s] of metrics.m) {
    const th = thresholds.filter((t) => t.metric === name);
    if (s.n === 0 && th.length === 0) continue;
    const values = {};
    if (s.type === 'trend') for (const st of trendStats) values[st] = Metrics.agg(s, st, elapsedS);
    else if (s.type === 'counter') Object.assign(values, { count: s.sum, rate: Metrics.agg(s, 'rate', elapsedS) });
    else if (s.type === 'rate') Object.assign(values, { rate: Metrics.agg(s, 'rate', elapsedS), passes: s.passes, fails: s.n - s.passes });
    else Object.assign(values, { value: s.value, min: s.n ? s.min : 0, max: s.n ? s.max : 0 });
    const entry = { type: s.type, contains: s.isTime ? 'time' : 'default', values };
    if (th.length) {
      entry.thresholds = {};
      for (const t of th) entry.thresholds[t.expr] = { ok: t.ok };
    }
    out.metrics[name] = entry;
  }
  for (const [name, [passes, fails]] of metrics.checks) out.root_group.checks.push({ name, path: `::${name}`, passes, fails });
  return out;
}

function printSummary(summary, stream) {
  const lines = [''];
  for (const c of summary.root_group.checks) {
    lines.push(`     ${c.fails ? '✗' : '✓'} ${c.name}`);
    if (c.fails) lines.push(`      ↳  ${Math.round((100 * c.passes) / (c.passes + c.fails))}% — ✓ ${c.passes} / ✗ ${c.fails}`);
  }
  if (summary.root_group.checks.length) lines.push('');
  const names = Object.keys(summary.metrics).sort();
  const width = Math.max(30, ...names.map((n) => n.length + 3));
  for (const name of names) {
    const e = summary.metrics[name];
    const isTime = e.contains === 'time';
    const ths = Object.values(e.thresholds || {});
    const mark = ths.length ? (ths.every((t) => t.ok) ? '✓' : '✗') : ' ';
    let text;
    if (e.type === 'trend') text = Object.entries(e.values).map(([k, v]) => `${k}=${k === 'count' ? v : fmtNum(v, isTime)}`).join(' ');
    else if (e.type === 'counter') text = `${fmtNum(e.values.count, isTime)}  ${e.values.rate.toFixed(2)}/s`;
    else if (e.type === 'rate') text = `${(100 * e.values.rate).toFixed(2)}% ✓ ${e.values.passes} ✗ ${e.values.fails}`;
    else text = `${fmtNum(e.values.value, isTime)} min=${fmtNum(e.values.min, isTime)} max=${fmtNum(e.values.max, isTime)}`;
    lines.push(`   ${mark} ${`${name}`.padEnd(width, '.')}: ${text}`);
  }
  stream.write(`${lines.join('\n')}\n\n`);
}

/* ------------------------------------------------------------------ */
/* main                                                               */
/* ------------------------------------------------------------------ */

async function main() {
  const args = parseArgs(process.argv.slice(2));
  WebSocket = loadWs();
  const env = { ...process.env, ...args.env };
  const metrics = new Metrics();

  // The init context, once in this thread (__VU = 0, as k6 does to read the options).
  register(pathToFileURL(path.join(__dirname, 'hooks.mjs')).href, {
    data: { scriptRoot: `${pathToFileURL(path.dirname(args.script)).href}/` },
  });
  const notInInit = (what) => () => { throw new Error(`${what} is not available in the init context`); };
  globalThis[RUNTIME] = {
    defineMetric: (name, type, isTime) => metrics.define(name, type, isTime),
    add: notInInit('adding to a metric'),
    check: notInInit('check()'),
    sleep: notInInit('sleep()'),
    wsConnect: notInInit('ws.connect()'),
    httpRequest: notInInit('an HTTP request'),
  };
  Object.assign(globalThis, { __VU: 0, __ITER: 0, __ENV: env });
  let mod;
  try {
    mod = await import(pathToFileURL(args.script).href);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    process.stderr.write(`k6-runner: error in the init context of ${args.script}:\n${(e && e.stack) || e}\n`);
    return EXIT.script;
  }
  if (typeof mod.default !== 'function') throw new ConfigError('the script has no default function');
  for (const f of ['setup', 'teardown', 'handleSummary']) {
    if (typeof mod[f] === 'function') throw new ConfigError(`${f}() is not implemented by this runner`);
  }
  const options = { ...(mod.options || {}) };
  if (args.cli.vus !== undefined) options.vus = args.cli.vus;
  if (args.cli.duration !== undefined) {
    options.duration = args.cli.duration;
    options.durationFromCli = true; // as in k6, --duration replaces the stages
  }
  if (args.cli.iterations !== undefined) {
    options.iterations = args.cli.iterations;
    delete options.duration;
    delete options.stages;
  }
  const plan = makePlan(options);
  const thresholds = parseThresholds(options.thresholds, metrics);
  const trendStats = options.summaryTrendStats || ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
  for (const st of trendStats) Metrics.agg({ type: 'trend', values: [], n: 0 }, st, 1);

  if (!args.quiet) {
    process.stderr.write(`k6-runner: ${path.basename(args.script)}: ${plan.kind}, ${plan.maxVUs} max VUs, `
      + `${plan.kind === 'shared-iterations' ? `${plan.iterations} iterations` : `${plan.totalMs / 1000}s`} `
      + `(+${args.gracefulStopMs / 1000}s graceful stop)\n`);
  }

  // The VUs: all initialized before the start, as k6 does.
  const vus = [];
  let initError = null;
  const iterErrors = new Map();
  let iterationErrors = 0;
  let interruptedIterations = 0;
  let onIdle = () => {};
  for (let i = 1; i <= plan.maxVUs; i += 1) {
    const { port1, port2 } = new MessageChannel();
    const sab = new SharedArrayBuffer(4);
    const vu = {
      id: i, port: port1, sig: new Int32Array(sab), sockets: new Map(), busy: false, ready: false,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 1 }),
    };
    vu.worker = new Worker(path.join(__dirname, 'vu.js'), {
      workerData: { vu: i, script: args.script, env, sab, port: port2 }, transferList: [port2],
    });
    vu.exited = new Promise((resolve) => vu.worker.once('exit', resolve));
    vu.worker.on('error', (e) => { initError = initError || String((e && e.stack) || e); });
    vu.readyP = new Promise((resolve) => {
      port1.on('message', (m) => {
        switch (m.t) {
          case 'ready':
            for (const [name, d] of Object.entries(m.defs)) metrics.define(name, d.type, d.isTime);
            vu.ready = true;
            resolve();
            break;
          case 'initError':
            initError = initError || m.error;
            resolve();
            break;
          case 'samples':
            for (const [name, v] of m.s) metrics.add(name, v);
            for (const [name, [p, f]] of Object.entries(m.c)) {
              const c = metrics.checks.get(name) || [0, 0];
              metrics.checks.set(name, [c[0] + p, c[1] + f]);
            }
            break;
          case 'done':
            vu.busy = false;
            if (m.interrupted) interruptedIterations += 1;
            if (m.error) {
              iterationErrors += 1;
              const first = m.error.split('\n')[0];
              const n = (iterErrors.get(first) || 0) + 1;
              iterErrors.set(first, n);
              if (n <= 3) process.stderr.write(`k6-runner: VU ${vu.id}: iteration error: ${m.error}\n`);
            }
            onIdle(vu);
            break;
          case 'wsDial': wsDial(vu, m); break;
          case 'wsSend': case 'wsClose': case 'wsPing': wsOp(vu, m); break;
          case 'http': httpDo(vu, m); break;
          default: break;
        }
      });
    });
    vus.push(vu);
  }
  await Promise.race([Promise.all(vus.map((v) => v.readyP)), Promise.all(vus.map((v) => v.exited))]);

  const shutdown = async () => {
    for (const vu of vus) toVu(vu, { t: 'exit' });
    const all = Promise.all(vus.map((v) => v.exited));
    const timer = setTimeout(() => vus.forEach((v) => v.worker.terminate()), 3000);
    await all;
    clearTimeout(timer);
    for (const vu of vus) {
      for (const ws of vu.sockets.values()) ws.terminate();
      vu.httpAgent.destroy();
      vu.httpsAgent.destroy();
    }
  };
  if (initError || vus.some((v) => !v.ready)) {
    process.stderr.write(`k6-runner: error in the init context of a VU:\n${initError || 'a VU exited during init'}\n`);
    await shutdown();
    return EXIT.script;
  }

  // Run.
  const start = Date.now();
  metrics.add('vus_max', plan.maxVUs);
  let started = 0;
  let stopping = false;
  const schedule = () => {
    if (stopping) return;
    const t = Date.now() - start;
    const target = plan.target(t);
    for (const vu of vus) {
      if (vu.busy) {
        // ramping down: a VU above the target may finish its iteration (graceful ramp-down)
        if (vu.id > target) {
          vu.overSince = vu.overSince || Date.now();
          if (!vu.aborted && Date.now() - vu.overSince > args.gracefulStopMs) {
            vu.aborted = true;
            toVu(vu, { t: 'abort' });
          }
        } else vu.overSince = 0;
        continue;
      }
      if (vu.id > target) continue;
      if (plan.kind === 'shared-iterations' && started >= plan.iterations) continue;
      vu.busy = true;
      vu.aborted = false;
      vu.overSince = 0;
      started += 1;
      toVu(vu, { t: 'iterate' });
    }
  };
  onIdle = () => schedule();
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const t = Date.now() - start;
      if (!stopping) metrics.add('vus', vus.filter((v) => v.busy).length);
      const iterationsDone = plan.kind === 'shared-iterations' && started >= plan.iterations;
      if (t >= plan.totalMs || iterationsDone) {
        stopping = true;
        if (vus.every((v) => !v.busy)) {
          clearInterval(tick);
          resolve();
        } else if (t >= plan.totalMs + args.gracefulStopMs) {
          for (const vu of vus) if (vu.busy && !vu.aborted) { vu.aborted = true; toVu(vu, { t: 'abort' }); }
          if (t >= plan.totalMs + args.gracefulStopMs + 5000) { clearInterval(tick); resolve(); }
        }
      } else {
        schedule();
      }
    }, 50);
    schedule();
  });
  const elapsedS = (Date.now() - start) / 1000;
  await shutdown();

  // Thresholds, summary.
  for (const t of thresholds) {
    t.value = Metrics.agg(metrics.m.get(t.metric), t.agg, elapsedS);
    t.ok = compare(t.value, t.op, t.limit);
  }
  const failed = thresholds.filter((t) => !t.ok);
  const summary = buildSummary(metrics, thresholds, elapsedS, trendStats);
  const exitCode = failed.length ? EXIT.thresholds : 0;
  summary.state = { testRunDurationMs: elapsedS * 1000, isStdOutTTY: Boolean(process.stdout.isTTY) };
  summary.runner = {
    name: 'loadtest/k6-runner (a subset of k6, see run.js)',
    executor: plan.kind,
    maxVUs: plan.maxVUs,
    exitCode,
    thresholds: thresholds.map(({ metric, expr, value, ok }) => ({ metric, expr, value, ok })),
    iterationErrors,
    interruptedIterations,
  };
  if (!args.quiet) printSummary(summary, process.stdout);
  for (const t of failed) {
    process.stderr.write(`k6-runner: threshold '${t.expr}' on ${t.metric} failed (${t.agg} = ${t.value})\n`);
  }
  if (args.summaryJson) fs.writeFileSync(args.summaryJson, `${JSON.stringify(summary, null, 2)}\n`);
  return exitCode;
}

main().then((code) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5000).unref(); // in case a handle lingers
}, (e) => {
  process.stderr.write(`k6-runner: ${e instanceof ConfigError ? '' : 'internal error: '}${(e && e.stack && !(e instanceof ConfigError)) ? e.stack : e.message}\n`);
  process.exitCode = e instanceof ConfigError ? EXIT.config : 1;
  setTimeout(() => process.exit(process.exitCode), 5000).unref();
});
