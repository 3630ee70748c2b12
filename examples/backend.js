'use strict';
/*
 * A complete application backend for sio-server (README "Backends"), in plain
 * Node (node:http; the worker needs the `redis` npm package):
 *
 *   node examples/backend.js                      # HTTP backend on 127.0.0.1:4000
 *   CONNECT_PROXY_URL=http://127.0.0.1:4000/connect \
 *   EVENT_PROXY_URL=http://127.0.0.1:4000/events PROXY_LIFECYCLE=true build/sio-server
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node examples/backend.js --worker
 *   REDIS_URL=redis://127.0.0.1:6379 EVENT_STREAM=jobs PROXY_EVENTS=transcribe build/sio-server
 *
 * - /connect: a session cookie (`session=<user>`) or `auth.token` decides; the
 *   user joins `user:<name>`, gets a welcome message, may publish to chat:*;
 * - /events: `ping` is answered `pong`, `echo` returns its arguments (binary
 *   included), everything else is acked {unknown: event};
 *   `connected` / `disconnected` keep a presence count per user;
 * - --worker: reads the EVENT_STREAM with a consumer group and answers each
 *   `transcribe` job to the socket's own room through sio-server's API
 *   (API_URL, default http://127.0.0.1:3001), as a speech-to-text worker would.
 */
const http = require('node:http');

const PORT = Number(process.env.BACKEND_PORT || 4000);
const API_URL = process.env.API_URL || 'http://127.0.0.1:3001';
const API_TOKEN = process.env.API_TOKEN || '';
const online = new Map(); // user -> sockets

function userOf(req) {
  const cookie = (req.headers && req.headers.cookie) || '';
  const m = /(?:^|;\s*)session=([A-Za-z0-9_-]{1,64})/.exec(cookie);
  if (m) return m[1];
  const token = req.auth && req.auth.token;
  return typeof token === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(token) ? token : null;
}

function onConnect(req) {
  const user = userOf(req);
  if (!user) return { allow: false, reason: 'no session', data: { login: '/login' } };
  return {
    allow: true,
    user,
    data: { since: Date.now() },
    rooms: [`user:${user}`],
    publish: ['chat:*'],
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    emit: [{ event: 'welcome', args: [`hi ${user}`] }],
  };
}

function onEvent(req) {
  switch (req.type) {
    case 'event':
      if (req.event === 'ping') return { ack: ['pong'] };
      if (req.event === 'echo') return { ack: req.args, attachments: req.attachments };
      return { ack: [{ unknown: req.event }] };
    case 'connected':
      online.set(req.user, (online.get(req.user) || 0) + 1);
      return {};
    case 'disconnected':
      online.set(req.user, Math.max(0, (online.get(req.user) || 1) - 1));
      return {};
    case 'refresh':
      return { allow: true, expires_at: Math.floor(Date.now() / 1000) + 3600 };
    case 'server_side_emit':
      return { ack: [{ online: Object.fromEntries(online) }] };
    default:
      return {};
  }
}

function serve() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size < 1 << 20) chunks.push(c); });
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(Buffer.concat(chunks)); } catch (_) { /* answered 400 */ }
      const answer = !body ? null : req.url === '/connect' ? (body.type === 'refresh' ? onEvent(body) : onConnect(body)) : onEvent(body);
      res.writeHead(answer ? 200 : 400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer || { error: 'bad request' }));
    });
  });
  server.listen(PORT, '127.0.0.1', () => console.log(`backend on http://127.0.0.1:${PORT}`));
}

async function reply(sid, event, data) {
  const res = await fetch(`${API_URL}/v1/broadcast`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(API_TOKEN ? { Authorization: `Bearer ${API_TOKEN}` } : {}) },
    body: JSON.stringify({ namespace: '/', rooms: [sid], event, data }),
  });
  if (res.status !== 202) throw new Error(`API answered ${res.status}`);
}

async function work() {
  const { createClient } = require('redis');
  const stream = process.env.EVENT_STREAM || 'jobs';
  const redis = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
  await redis.connect();
  await redis.xGroupCreate(stream, 'workers', '0', { MKSTREAM: true }).catch(() => {}); // exists
  const me = `worker-${process.pid}`;
  console.log(`worker ${me} on stream ${stream}`);
  for (;;) {
    const got = await redis.xReadGroup('workers', me, { key: stream, id: '>' }, { COUNT: 16, BLOCK: 5000 });
    for (const { messages } of got || []) {
      for (const { id, message } of messages) {
        const job = JSON.parse(message.payload);
        if (job.type === 'event' && job.event === 'transcribe') {
          await reply(job.sid, 'transcript', { partial: false, text: `(${JSON.stringify(job.args[0])} transcribed)` });
        }
        await redis.xAck(stream, 'workers', id);
      }
    }
  }
}

if (require.main === module) {
  if (process.argv.includes('--worker')) work().catch((e) => { console.error(e); process.exit(1); });
  else serve();
}

module.exports = { onConnect, onEvent, work, serve };
