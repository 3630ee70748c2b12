'use strict';
/*
 * A worker process of `loadtest/bench --recovery` (the reconnect phase): many
 * socket.io-client 4 clients (from tests/node_modules), each its own Manager, all
 * subscribed to one room, recording what they get. Driven by JSON lines on stdin,
 * answered by JSON lines on stdout:
 *
 *   {"cmd":"connect","url","n","batch","room","event","transports","idBase"}
 *       opens n clients, `batch` at a time; each batch waits (10 s at most) until
 *       its clients are connected and their `subscribe` acked
 *       -> {"type":"connected","ready","failed","ms","errors":[…]}
 *   {"cmd":"mark"}          from now on a disconnect marks a client as moved
 *       -> {"type":"marked"}
 *   {"cmd":"status","pubs":[[seq,tSentMs],…]}
 *       -> {"type":"status","moved","back","recovered","caught","connected"}
 *          caught = moved clients whose last connect was recovered and that hold
 *          every broadcast sent before that connect
 *   {"cmd":"report","cut","pubs":[[seq,tSentMs],…]}
 *       -> {"type":"report","clients":[{…one summary per client…}]}
 *   {"cmd":"close"}         closes every client and exits
 *
 * Each client keeps socket.io-client's reconnection defaults (delay 1 s,
 * randomization 0.5, max 5 s) unless the connect command says otherwise: the
 * reconnect timing measured is what an application gets out of the box.
 * On a connect that was not recovered the client subscribes again (as an
 * application would), and the report says so.
 */
const path = require('node:path');
const readline = require('node:readline');
const { createRequire } = require('node:module');

const ROOT = path.resolve(__dirname, '..', '..');
const { io } = createRequire(path.join(ROOT, 'tests', 'package.json'))('socket.io-client');

const clients = [];
let marked = false;

const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeClient(url, opts, room, event) {
  const socket = io(url, { forceNew: true, reconnection: true, timeout: 10000, ...opts });
  const c = {
    socket, seqs: [], times: [], connects: [], disconnects: [], attempts: [], opens: [], errors: [],
    subscribed: 0, subscribeFailed: 0, firstId: null, moved: false, lastBeforeCut: null,
  };
  const subscribe = () => socket.emit('subscribe', room, (res) => {
    if (res && res.ok) c.subscribed++; else c.subscribeFailed++;
  });
  socket.on('connect', () => {
    const recovered = socket.recovered === true;
    c.connects.push({ t: Date.now(), id: socket.id, recovered });
    if (c.firstId === null) c.firstId = socket.id;
    if (c.connects.length === 1 || !recovered) subscribe();
  });
  socket.on('disconnect', (reason) => {
    const t = Date.now();
    c.disconnects.push({ t, reason });
    if (marked && !c.moved) {
      c.moved = true;
      c.lastBeforeCut = c.seqs.length ? c.seqs[c.seqs.length - 1] : null;
    }
  });
  socket.io.on('reconnect_attempt', (n) => { if (c.attempts.length < 50) c.attempts.push({ t: Date.now(), n }); });
  /* the Engine.IO session is open (TCP, WebSocket upgrade, open packet): what follows
   * until 'connect' is the Socket.IO CONNECT, i.e. the server's restore */
  socket.io.on('open', () => { if (c.opens.length < 50) c.opens.push(Date.now()); });
  socket.on('connect_error', (e) => { if (c.errors.length < 10) c.errors.push(String(e && e.message)); });
  socket.on(event, (...args) => {
    c.seqs.push(args[0]);
    c.times.push(Date.now());
  });
  return c;
}

async function connectAll(m) {
  const t0 = Date.now();
  const opts = { transports: m.transports || ['websocket'], ...(m.clientOpts || {}) };
  let failed = 0;
  const errors = new Map();
  for (let i = 0; i < m.n; i += m.batch) {
    const batch = [];
    for (let j = i; j < Math.min(m.n, i + m.batch); j++) batch.push(makeClient(m.url, opts, m.room, m.event));
    clients.push(...batch);
    const end = Date.now() + 10000;
    while (Date.now() < end && !batch.every((c) => c.subscribed >= 1 || c.subscribeFailed)) await sleep(20);
    for (const c of batch) {
      if (c.subscribed < 1) {
        failed++;
        for (const e of c.errors) errors.set(e, (errors.get(e) || 0) + 1);
        if (c.subscribeFailed) errors.set('subscribe refused', (errors.get('subscribe refused') || 0) + 1);
      }
    }
  }
  send({ type: 'connected', ready: clients.filter((c) => c.subscribed >= 1).length, failed, ms: Date.now() - t0,
    errors: [...errors].slice(0, 5).map(([e, n]) => `${e} (${n})`) });
}

/** seq -> the time it was first received. */
function receiptTimes(c) {
  const m = new Map();
  for (let i = 0; i < c.seqs.length; i++) if (!m.has(c.seqs[i])) m.set(c.seqs[i], c.times[i]);
  return m;
}

/** The last connect, and when the client held every broadcast sent before it (null: not all). */
function caughtUp(c, pubs, rt = receiptTimes(c)) {
  const last = c.connects[c.connects.length - 1];
  if (!last || c.connects.length < 2) return { last, t: null };
  let t = last.t;
  for (const [seq, sent] of pubs) {
    if (sent >= last.t) break;
    const got = rt.get(seq);
    if (got === undefined) return { last, t: null };
    if (got > t) t = got;
  }
  return { last, t };
}

function status(pubs) {
  let moved = 0;
  let back = 0;
  let recovered = 0;
  let caught = 0;
  let connected = 0;
  for (const c of clients) {
    if (c.socket.connected) connected++;
    if (!c.moved) continue;
    moved++;
    if (c.connects.length < 2) continue;
    back++;
    const last = c.connects[c.connects.length - 1];
    if (!last.recovered || !c.socket.connected) continue;
    recovered++;
    if (caughtUp(c, pubs).t !== null) caught++;
  }
  send({ type: 'status', moved, back, recovered, caught, connected });
}

function report(cut, pubs) {
  const accepted = pubs.map((p) => p[0]);
  const acceptedSet = new Set(accepted);
  const out = clients.map((c) => {
    const rt = receiptTimes(c);
    const count = new Map();
    for (const s of c.seqs) count.set(s, (count.get(s) || 0) + 1);
    let outOfOrder = 0;
    for (let i = 1; i < c.seqs.length; i++) if (!(c.seqs[i] > c.seqs[i - 1])) outOfOrder++;
    /* every client was subscribed (acked) before the publisher started: it should hold all */
    const missed = accepted.filter((s) => !count.has(s));
    const { last, t } = caughtUp(c, pubs, rt);
    const again = c.connects.slice(1);
    const firstAttempt = c.attempts.find((a) => a.t >= cut);
    const lastOpen = last && again.length ? c.opens.filter((t) => t <= last.t).pop() : undefined;
    const disc = c.disconnects.find((d) => d.t >= cut);
    /* broadcasts sent between the client's last one before the cut and its reconnect: replayed */
    let replayed = null;
    if (c.moved && last && again.length) {
      replayed = 0;
      for (const [seq, sent] of pubs) {
        if (sent >= last.t) break;
        if (c.lastBeforeCut === null || seq > c.lastBeforeCut) replayed++;
      }
    }
    return {
      moved: c.moved,
      reconnects: again.length,
      recovered: again.length > 0 && again.every((x) => x.recovered),
      same_id: again.length > 0 && again.every((x) => x.id === c.firstId),
      connected: c.socket.connected,
      t_disconnect: disc ? disc.t - cut : null,
      disconnect_reason: disc ? disc.reason : null,
      t_first_attempt: firstAttempt ? firstAttempt.t - cut : null,
      attempts: c.attempts.filter((a) => a.t >= cut).length,
      t_connect: again.length ? again[again.length - 1].t - cut : null,
      t_open: lastOpen !== undefined && lastOpen >= cut ? lastOpen - cut : null,
      t_caught: t !== null ? t - cut : null,
      replayed,
      received: c.seqs.length,
      missed: missed.length,
      missed_sample: missed.slice(0, 5),
      duplicates: [...count.values()].filter((n) => n > 1).length,
      unexpected: [...count.keys()].filter((s) => !acceptedSet.has(s)).length,
      out_of_order: outOfOrder,
      errors: c.errors.slice(0, 3),
      resubscribed: c.subscribed > 1,
    };
  });
  send({ type: 'report', clients: out });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let m;
  try { m = JSON.parse(line); } catch (_) { return; }
  try {
    if (m.cmd === 'connect') await connectAll(m);
    else if (m.cmd === 'mark') { marked = true; send({ type: 'marked' }); }
    else if (m.cmd === 'status') status(m.pubs || []);
    else if (m.cmd === 'report') report(m.cut, m.pubs || []);
    else if (m.cmd === 'close') {
      for (const c of clients) c.socket.disconnect();
      await sleep(200);
      process.exit(0);
    }
  } catch (e) {
    send({ type: 'error', error: e.stack || e.message });
  }
});
rl.on('close', () => process.exit(0));
