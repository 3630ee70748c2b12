'use strict';
/*
 * Fan-out load: 1,000 socket.io-client websocket clients in one room of
 * build/sio-server each receive 100 broadcasts sent through the HTTP API
 * (POST /v1/broadcast), exactly once and in order. Prints the time taken and
 * the server's CPU time (utime+stime from /proc/<pid>/stat) per delivered message.
 */
const assert = require('node:assert/strict');
const {
  sleep, within, startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, cpuTimeMs,
} = require('../lib/sio');

const CLIENTS = 1000;
const BROADCASTS = 100;
const BATCH = 100;

describe('sio-server fan-out: 1,000 websocket clients x 100 broadcasts', function () {
  this.timeout(60000);
  let server;
  before(async function () {
    server = await startSioServer({ env: { SUBSCRIBE_PATTERNS: 'big,ctl-*' } });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });

  it('every client receives every broadcast exactly once and in order', async function () {
    const t0 = Date.now();
    const clients = [];
    for (let b = 0; b < CLIENTS; b += BATCH) {
      const batch = [];
      for (let i = b; i < Math.min(CLIENTS, b + BATCH); i++) {
        const s = connect(server.url, { transports: ['websocket'] });
        s.received = [];
        s.on('tick', (n) => s.received.push(n));
        batch.push(s);
      }
      await Promise.all(batch.map((s) => connected(s, 15000)));
      const acks = await Promise.all(batch.map((s) => emitAck(s, 'subscribe', 'big')));
      for (const a of acks) assert.deepEqual(a, { ok: true, rooms: ['big'] });
      clients.push(...batch);
    }
    const connectMs = Date.now() - t0;

    const cpu0 = cpuTimeMs(server.proc.pid);
    const t1 = Date.now();
    for (let i = 0; i < BROADCASTS; i++) {
      const res = await apiPost(server.apiPort, { namespace: '/', rooms: ['big'], event: 'tick', data: i });
      assert.equal(res.status, 202, res.body);
    }
    const expected = Array.from({ length: BROADCASTS }, (_, i) => i);
    await within((async () => {
      while (clients.some((s) => s.received.length < BROADCASTS)) await sleep(5);
    })(), 30000, `${CLIENTS * BROADCASTS} deliveries`).catch((e) => {
      const short = clients.filter((s) => s.received.length < BROADCASTS);
      throw new Error(`${e.message}: ${short.length} clients short (e.g. ${short[0]?.received.length} received, ` +
        `connected=${short[0]?.connected})`);
    });
    const deliverMs = Date.now() - t1;
    const cpuMs = cpuTimeMs(server.proc.pid) - cpu0;

    await sleep(200); // nothing more may arrive
    const wrong = clients.filter((s) => s.received.length !== BROADCASTS ||
      s.received.some((n, i) => n !== expected[i]));
    assert.equal(wrong.length, 0, `${wrong.length} clients got duplicates, gaps or disorder, e.g. ` +
      `${JSON.stringify(wrong[0]?.received.slice(0, 20))}`);
    assert.ok(clients.every((s) => s.connected));

    const deliveries = CLIENTS * BROADCASTS;
    const usPerMsg = (cpuMs * 1000) / deliveries;
    console.log(`      connected and subscribed ${CLIENTS} clients in ${connectMs} ms`);
    console.log(`      ${BROADCASTS} broadcasts -> ${deliveries} deliveries in ${deliverMs} ms ` +
      `(${Math.round(deliveries / (deliverMs / 1000))} msg/s end to end)`);
    console.log(`      server CPU ${cpuMs.toFixed(0)} ms; server CPU per delivered message: ${usPerMsg.toFixed(2)} us`);
    if (!Number.isNaN(cpuMs)) assert.ok(cpuMs >= 0);
  });
});
