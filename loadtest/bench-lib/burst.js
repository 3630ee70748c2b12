'use strict';
/*
 * The burst publisher: every intervalMs, perRoom broadcasts to each of the rooms,
 * all issued in the same tick (node-redis pipelines them into one write, Redis hands
 * them to each subscriber in one write), published by the real
 * @socket.io/redis-emitter (from tests/node_modules) as a backend would. A client
 * in K of the rooms then has K x perRoom frames queued at once. The events carry what
 * sio-bench measures: {"t": publish time in us since the epoch, "room", "seq"}.
 */
const path = require('node:path');
const { createRequire } = require('node:module');
const { performance } = require('node:perf_hooks');

function load(root) {
  const req = createRequire(path.join(root, 'tests', 'package.json'));
  return { createClient: req('redis').createClient, Emitter: req('@socket.io/redis-emitter').Emitter };
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * Publishes bursts for durationMs (the first at once; onStart(ms) gets its time).
 * Resolves {bursts, published, times: [ms]}.
 */
async function publishBursts({ root, redisUrl, prefix = 'socket.io', rooms, perRoom = 1, roomPrefix = 'room-', intervalMs, durationMs, onStart }) {
  const { createClient, Emitter } = load(root);
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
  let lastErr = null;
  client.on('error', (e) => { lastErr = e; });
  await client.connect();
  const emitter = new Emitter(client, { key: prefix });
  const seq = new Array(rooms).fill(0);
  const out = { bursts: 0, published: 0, times: [] };
  const start = Date.now();
  if (onStart) onStart(start);
  try {
    for (let i = 0; ; i++) {
      const due = start + i * intervalMs;
      if (due - start >= durationMs) break;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (lastErr) throw lastErr;
      out.times.push(Date.now());
      for (let j = 0; j < perRoom; j++) {
        for (let r = 0; r < rooms; r++) {
          const room = `${roomPrefix}${r + 1}`;
          emitter.to(room).emit('bench', { t: nowUs(), room, seq: ++seq[r] });
          out.published++;
        }
      }
      out.bursts++;
    }
    await client.ping(); /* every PUBLISH before it has been answered */
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
  return out;
}

module.exports = { publishBursts };
