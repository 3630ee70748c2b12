'use strict';
/*
 * Helpers shared by the recovery suites across nodes (recovery-cluster.test.js,
 * recovery-streams.test.js): stopping nodes, bounded cleanup and waits, and the
 * analysis of what each client received (every broadcast once, in order).
 */
const assert = require('node:assert/strict');
const { sleep, eventually } = require('./sio');

const isAlive = (node) => node.proc.exitCode === null && node.proc.signalCode === null;

/** SIGINT (no drain), then checks the node exited cleanly with no sanitizer report. */
async function stopNow(node) {
  if (!node || !isAlive(node)) return;
  const exited = new Promise((resolve) => node.proc.once('exit', (code, signal) => resolve({ code, signal })));
  node.proc.kill('SIGINT');
  const info = await Promise.race([exited, sleep(5000).then(() => 'still running')]);
  if (info === 'still running') node.proc.kill('SIGKILL');
  assert.deepEqual(info, { code: 0, signal: null }, node.stderr());
  assert.ok(!/Sanitizer|runtime error:/.test(node.stderr()), node.stderr());
}

/** Runs every cleanup step even when one throws; rethrows the first error. */
async function cleanup(steps) {
  let first = null;
  for (const step of steps) {
    try { await step(); } catch (e) { if (!first) first = e; }
  }
  if (first) throw first;
}

/** Like eventually(), but resolves true/false instead of throwing (assertions come later). */
async function settled(cond, ms) {
  try {
    await eventually(cond, ms, 'settling');
    return true;
  } catch (_) {
    return false;
  }
}

/** What a client got against what it should have got (`expected`, ascending). */
function analyse(seqs, expected) {
  const want = new Set(expected);
  const count = new Map();
  for (const s of seqs) count.set(s, (count.get(s) || 0) + 1);
  let outOfOrder = 0;
  for (let i = 1; i < seqs.length; i++) if (!(seqs[i] > seqs[i - 1])) outOfOrder++;
  return {
    missed: expected.filter((s) => !count.has(s)),
    duplicates: [...count].filter(([, n]) => n > 1).map(([s]) => s),
    unexpected: [...count.keys()].filter((s) => !want.has(s)),
    outOfOrder,
  };
}

const short = (list, n = 12) => (list.length > n ? `[${list.slice(0, n).join(',')},... (${list.length})]` : `[${list.join(',')}]`);

/** The moved clients came back recovered, with their id. */
function assertRecovered(clients) {
  for (const [i, c] of clients.entries()) {
    if (!c.moved) continue;
    assert.ok(c.socket.connected, `client ${i} of the stopped node is not connected again (errors ${short(c.errors, 5)})`);
    const again = c.connects.slice(1);
    assert.ok(again.length >= 1, `client ${i} of the stopped node never reconnected`);
    for (const r of again) {
      assert.equal(r.recovered, true, `client ${i}: socket.recovered is not true after reconnecting (connects ${JSON.stringify(c.connects)})`);
      assert.equal(r.id, c.firstId, `client ${i}: the recovered socket has another id`);
    }
  }
}

/** Waits until every client's first `subscribe` was acked {ok:true}; the error counts them. */
async function allSubscribed(clients, ms) {
  if (await settled(() => clients.every((c) => c.subscribed >= 1), ms)) return;
  const n = clients.filter((c) => c.subscribed >= 1).length;
  const up = clients.filter((c) => c.socket.connected).length;
  throw new Error(`only ${n} of ${clients.length} clients got their subscribe acked {ok:true} within ${ms} ms ` +
    `(${up} connected)`);
}

module.exports = { isAlive, stopNow, cleanup, settled, analyse, short, assertRecovered, allSubscribed };
