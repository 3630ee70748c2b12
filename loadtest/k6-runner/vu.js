'use strict';
/*
 * One k6 VU, in its own worker thread (so its own module instance and globals, as
 * each k6 VU has its own JS runtime). k6 scripts are synchronous: ws.connect()
 * runs the socket's event loop and returns when it closes, http.post() and sleep()
 * block. Here they block this thread for real: every socket and request lives in the
 * main thread (run.js), which posts their events to this VU's MessagePort and then
 * bumps and notifies a shared Int32Array; this thread takes them synchronously with
 * receiveMessageOnPort() and sleeps in Atomics.wait() in between (until the next
 * message, the next socket timer, or a sleep() deadline).
 *
 * Messages from run.js: iterate, exit, abort (interrupts the current iteration),
 * wsDialed / ws (socket events) / http (responses). To run.js: ready, initError,
 * samples, done, wsDial / wsSend / wsClose / wsPing, http.
 */
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { register } = require('node:module');
const { pathToFileURL } = require('node:url');
const path = require('node:path');

const { vu: VU, script, env, sab, port } = workerData;
const sig = new Int32Array(sab);
const RUNTIME = Symbol.for('k6-runner.runtime');

class Interrupted extends Error {}

/* ---------------- metrics, buffered and flushed before every blocking wait -------- */
const defs = {};
let samples = [];
let checks = {};
let initDone = false;
let inIteration = false;

function flush() {
  if (samples.length === 0 && Object.keys(checks).length === 0) return;
  port.postMessage({ t: 'samples', s: samples, c: checks });
  samples = [];
  checks = {};
}
function add(name, value) {
  samples.push([name, Number(value)]);
  if (samples.length >= 512) flush();
}
function check(name, ok) {
  const c = checks[name] || (checks[name] = [0, 0]);
  c[ok ? 0 : 1] += 1;
  add('checks', ok ? 1 : 0);
}

/* ---------------- blocking receive --------------------------------------------- */
const inbox = []; // messages taken while waiting for something else
let aborting = false;

/** The next message from run.js, or null at `deadline` (ms since the epoch). */
function recv(deadline) {
  for (;;) {
    const seen = Atomics.load(sig, 0);
    const m = receiveMessageOnPort(port);
    if (m) return m.message;
    flush();
    const wait = deadline - Date.now();
    if (wait <= 0) return null;
    Atomics.wait(sig, 0, seen, wait === Infinity ? undefined : wait);
  }
}

/** Like recv, but an 'abort' (the run's hard stop) interrupts the iteration. */
function take(deadline) {
  if (aborting) throw new Interrupted('iteration interrupted by the end of the test');
  const m = inbox.length ? inbox.shift() : recv(deadline);
  if (m && m.t === 'abort') {
    aborting = true;
    throw new Interrupted('iteration interrupted by the end of the test');
  }
  return m;
}

/** Stale replies (of a socket or request already finished) are dropped; the rest kept. */
const isReply = (m) => m.t === 'ws' || m.t === 'wsDialed' || m.t === 'http';

function waitReply(type, id) {
  const kept = [];
  try {
    for (;;) {
      const m = take(Infinity);
      if (m.t === type && m.id === id) return m;
      if (!isReply(m)) kept.push(m);
    }
  } finally {
    inbox.unshift(...kept);
  }
}

function sleep(seconds) {
  if (!inIteration) throw new Error('sleep() is not available in the init context');
  const deadline = Date.now() + Math.max(0, seconds * 1000);
  const kept = [];
  try {
    for (;;) {
      const m = take(deadline);
      if (m === null) return;
      if (!isReply(m)) kept.push(m);
    }
  } finally {
    inbox.unshift(...kept);
  }
}

/* ---------------- k6/ws ------------------------------------------------------- */
let reqSeq = 0;

function wsError(message) {
  return { error: () => message, toString: () => message };
}

function wsConnect(url, params, setup) {
  if (!inIteration) throw new Error('using websockets in the init context is not supported');
  if (typeof setup !== 'function') throw new Error('ws.connect: a setup function is required');
  const id = ++reqSeq;
  const t0 = Date.now();
  port.postMessage({ t: 'wsDial', id, url: String(url), headers: params.headers || {} });
  const d = waitReply('wsDialed', id);
  add('ws_connecting', Date.now() - t0);

  const handlers = new Map();
  const timers = [];
  let state = d.ok ? 'open' : 'failed';
  const emit = (ev, ...args) => { for (const h of handlers.get(ev) || []) h(...args); };
  const socket = {
    on(ev, h) {
      if (!handlers.has(ev)) handlers.set(ev, []);
      handlers.get(ev).push(h);
    },
    send(data) {
      if (state !== 'open') return;
      port.postMessage({ t: 'wsSend', id, data: String(data) });
      add('ws_msgs_sent', 1);
    },
    sendBinary(buf) {
      if (state !== 'open') return;
      port.postMessage({ t: 'wsSend', id, data: buf, binary: true });
      add('ws_msgs_sent', 1);
    },
    ping() {
      if (state === 'open') port.postMessage({ t: 'wsPing', id });
    },
    close(code) {
      // as k6: sends the close frame, runs the 'close' handlers now and ends the loop
      if (state !== 'open') return;
      const c = code === undefined ? 1001 : Number(code);
      state = 'closed';
      port.postMessage({ t: 'wsClose', id, code: c });
      emit('close', c);
    },
    setTimeout(fn, ms) {
      timers.push({ at: Date.now() + Number(ms), fn, every: 0 });
    },
    setInterval(fn, ms) {
      if (!(Number(ms) > 0)) throw new Error('setInterval requires an interval > 0');
      timers.push({ at: Date.now() + Number(ms), fn, every: Number(ms) });
    },
  };

  setup(socket); // as in k6: after the dial, before 'open' (or 'error')
  if (!d.ok) {
    emit('error', wsError(d.error));
    return { url, status: d.status || 0, headers: d.headers || {}, body: d.body || null, error: d.error };
  }
  add('ws_sessions', 1);
  const started = Date.now();
  const kept = [];
  try {
    emit('open');
    while (state !== 'closed') {
      const now = Date.now();
      for (let i = 0; i < timers.length && state !== 'closed'; i += 1) {
        const t = timers[i];
        if (t.at > now) continue;
        if (t.every) t.at = Math.max(t.at + t.every, now + 1);
        else timers.splice(i--, 1);
        t.fn();
      }
      if (state === 'closed') break;
      const next = timers.reduce((a, t) => Math.min(a, t.at), Infinity);
      const m = take(next);
      if (m === null) continue;
      if (m.t !== 'ws' || m.id !== id) {
        if (!isReply(m)) kept.push(m);
        continue;
      }
      switch (m.ev) {
        case 'message': add('ws_msgs_received', 1); emit('message', m.data); break;
        case 'binary': add('ws_msgs_received', 1); emit('binaryMessage', m.data); break;
        case 'ping': emit('ping'); break;
        case 'pong': emit('pong'); break;
        case 'error': emit('error', wsError(m.error)); break;
        case 'close':
          if (m.code !== 1000 && m.code !== 1001) emit('error', wsError(`websocket: close ${m.code}`));
          state = 'closed';
          emit('close', m.code);
          break;
        default: break;
      }
    }
  } catch (e) {
    if (state !== 'closed') port.postMessage({ t: 'wsClose', id, force: true });
    throw e;
  } finally {
    inbox.unshift(...kept);
    add('ws_session_duration', Date.now() - started);
  }
  return { url, status: d.status, headers: d.headers, body: null, error: '' };
}

/* ---------------- k6/http ----------------------------------------------------- */
function parseDurationMs(v, dflt) {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return v;
  let ms = 0;
  const s = String(v).replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n, u) => {
    ms += Number(n) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[u];
    return '';
  });
  if (s !== '') throw new Error(`invalid duration '${v}'`);
  return ms;
}

function httpRequest(method, url, body, params) {
  if (!inIteration) throw new Error('making HTTP requests in the init context is not supported');
  const headers = { ...(params.headers || {}) };
  let payload = body === undefined ? null : body;
  if (payload !== null && typeof payload === 'object' && !(payload instanceof ArrayBuffer)) {
    // as k6: an object body is sent form-encoded
    payload = new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, String(v)])).toString();
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
  }
  const id = ++reqSeq;
  port.postMessage({
    t: 'http', id, method, url: String(url), headers, body: payload, timeoutMs: parseDurationMs(params.timeout, 60000),
  });
  const r = waitReply('http', id);
  add('http_reqs', 1);
  add('http_req_duration', r.durationMs);
  add('http_req_failed', r.status === 0 || r.status >= 400 ? 1 : 0); // k6: expected statuses 200-399
  return {
    url: String(url),
    status: r.status,
    body: r.body,
    headers: r.headers,
    error: r.error || '',
    error_code: r.status === 0 ? 1000 : 0,
    timings: { duration: r.durationMs },
    json(selector) {
      if (selector !== undefined) throw new Error('response.json(selector) is not implemented by this runner');
      return JSON.parse(r.body);
    },
  };
}

/* ---------------- init, then the iteration loop ------------------------------- */
globalThis[RUNTIME] = {
  defineMetric(name, type, isTime) {
    if (initDone) throw new Error('metrics must be declared in the init context');
    defs[name] = { type, isTime };
  },
  add(name, value) {
    if (!inIteration) throw new Error('metrics cannot be added in the init context');
    add(name, value);
  },
  check(name, ok) {
    if (!inIteration) throw new Error('check() is not available in the init context');
    check(name, ok);
  },
  sleep,
  wsConnect,
  httpRequest,
};
globalThis.__VU = VU;
globalThis.__ITER = 0;
globalThis.__ENV = env;

async function main() {
  register(pathToFileURL(path.join(__dirname, 'hooks.mjs')).href, {
    data: { scriptRoot: `${pathToFileURL(path.dirname(script)).href}/` },
  });
  let mod;
  try {
    mod = await import(pathToFileURL(script).href);
  } catch (e) {
    port.postMessage({ t: 'initError', error: String((e && e.stack) || e) });
    port.close();
    return;
  }
  initDone = true;
  port.postMessage({ t: 'ready', defs });
  // From here on the thread never returns to its event loop until 'exit'.
  for (;;) {
    const m = inbox.length ? inbox.shift() : recv(Infinity);
    if (m.t === 'exit') break;
    if (m.t !== 'iterate') continue; // a late abort or stale reply
    const t0 = Date.now();
    let error = null;
    let interrupted = false;
    inIteration = true;
    try {
      const r = mod.default();
      if (r && typeof r.then === 'function') throw new Error('async default functions are not implemented by this runner');
    } catch (e) {
      if (e instanceof Interrupted) interrupted = true;
      else error = String((e && e.stack) || e);
    }
    inIteration = false;
    aborting = false;
    if (!interrupted) {
      add('iterations', 1);
      add('iteration_duration', Date.now() - t0);
    }
    globalThis.__ITER += 1;
    flush();
    port.postMessage({ t: 'done', error, interrupted });
  }
  flush();
  port.close();
}

main();
