'use strict';
/*
 * Regressions of the root causes that made the official Engine.IO / Socket.IO
 * suites (github.com/socketio/engine.io-protocol and socket.io-protocol,
 * test-suite/) fail against sio while the project's own suites passed. Each
 * test reproduces the way the official suites' clients behave:
 *
 *  1. node-fetch 3 sends "Connection: close" on every request but uses Node's
 *     global agent, which keeps sockets alive (Node 20). A server that closes
 *     the connection without answering "Connection: close" sees the agent reuse
 *     the closed socket for the next request: "socket hang up".
 *  2. The suites' ws client (ws 8) emits every frame of one read synchronously,
 *     and the suites wait for each frame with a once-listener attached after
 *     the previous one resolved: two frames written in one system call reach
 *     such a client as one read, and the second is never seen.
 *  3. Methods other than GET/POST on a live polling sid, an invalid payload,
 *     and a WebSocket naming an already upgraded sid, as the suites expect.
 *
 * Target: build/sio-conformance (or the Node reference with SIO_TARGET=ref).
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const WebSocket = require('ws');
const { startTarget, stopServer, httpRequest, isRef, HOST } = require('../lib/server');

function useServer() {
  const ctx = { server: null, port: 0 };
  before(async function () {
    ctx.server = await startTarget();
    ctx.port = ctx.server.port;
  });
  after(async function () {
    if (!ctx.server) return;
    const { proc } = ctx.server;
    const alive = proc.exitCode === null && proc.signalCode === null;
    const info = await stopServer(ctx.server);
    assert.ok(alive, `server died during the tests (${JSON.stringify(info)}):\n${ctx.server.stderr()}`);
  });
  return ctx;
}

/** A request through `agent`, with node-fetch's headers (Connection: close). */
function fetchLike(agent, port, path, { method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { Accept: '*/*', 'User-Agent': 'node-fetch', Connection: 'close' };
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    const req = http.request({ host: HOST, port, path, method, headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

const handshakePath = (base) => `${base}?EIO=4&transport=polling`;

async function openSession(agent, port, base) {
  const res = await fetchLike(agent, port, handshakePath(base));
  assert.equal(res.status, 200);
  return JSON.parse(res.body.slice(1)).sid;
}

/** The suites' waitFor(): resolves with the next event of that type only. */
function waitFor(ws, type) {
  return new Promise((resolve) => ws.addEventListener(type, resolve, { once: true }));
}

describe('official suites: root causes of their failures', function () {
  const ctx = useServer();
  let agent;
  beforeEach(() => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 }); // as Node 20's global agent
  });
  afterEach(() => agent.destroy());

  describe('requests with Connection: close (node-fetch through a keep-alive agent)', function () {
    it('an error answer says Connection: close, and the next request on the same agent is answered', async function () {
      await openSession(agent, ctx.port, '/engine.io/');
      for (const q of ['EIO=abc&transport=polling', 'transport=polling', 'EIO=4&transport=abc']) {
        const res = await fetchLike(agent, ctx.port, `/engine.io/?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.headers.connection, 'close', q);
      }
    });

    it('a held poll answered later, a POST and a handshake all say Connection: close', async function () {
      const sid = await openSession(agent, ctx.port, '/engine.io/');
      const poll = fetchLike(new http.Agent({ keepAlive: true }), ctx.port, `/engine.io/?EIO=4&transport=polling&sid=${sid}`);
      await new Promise((r) => setTimeout(r, 50));
      const push = await fetchLike(agent, ctx.port, `/engine.io/?EIO=4&transport=polling&sid=${sid}`,
        { method: 'POST', body: '4hello' });
      assert.equal(push.status, 200);
      assert.equal(push.headers.connection, 'close');
      const held = await poll;
      assert.equal(held.status, 200);
      assert.equal(held.body, '4hello');
      assert.equal(held.headers.connection, 'close');
    });
  });

  describe('polling, as the suites expect it', function () {
    it('PUT, DELETE and PATCH on a live sid are answered 400 (not 500)', async function () {
      if (isRef()) this.skip(); // engine.io answers 500, which the suite also accepts
      const sid = await openSession(agent, ctx.port, '/engine.io/');
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const res = await fetchLike(agent, ctx.port, `/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method, body: '' });
        assert.equal(res.status, 400, method);
      }
    });

    it('a POST of an invalid packet ends the session', async function () {
      const sid = await openSession(agent, ctx.port, '/engine.io/');
      try {
        await fetchLike(agent, ctx.port, `/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: 'abc' });
      } catch (e) { /* the suite accepts an abrupt close as well */ }
      const res = await fetchLike(agent, ctx.port, `/engine.io/?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(res.status, 400);
      assert.match(res.body, /Session ID unknown/);
    });

    it('a WebSocket naming an already upgraded sid is accepted and closed, never hung up', async function () {
      const sid = await openSession(agent, ctx.port, '/engine.io/');
      const url = `ws://${HOST}:${ctx.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`;
      const ws1 = new WebSocket(url);
      await waitFor(ws1, 'open');
      ws1.send('2probe');
      ws1.send('5');
      const ws2 = new WebSocket(url);
      const errors = [];
      ws2.on('error', (e) => errors.push(e.message));
      const closed = await waitFor(ws2, 'close');
      assert.deepEqual(errors, [], 'the second WebSocket must be closed, not fail with an HTTP hang-up');
      assert.ok(closed.code === 1005 || closed.code === 1000, `close code ${closed.code}`);
      const echo = new Promise((resolve) => ws1.on('message', (d) => d.toString() === '4hello' && resolve()));
      ws1.send('4hello');
      await echo;
      ws1.close();
    });
  });

  describe('a client that waits for each frame with a once-listener (the suites\' ws client)', function () {
    it('sees the CONNECT answer and the "auth" event the server emits on connection, one at a time', async function () {
      // Node's reference writes them apart but loses this race now and then too
      // (the suite passes 28 to 30 of 32 against it without retries).
      if (isRef()) this.skip();
      for (let i = 0; i < 20; i++) {
        const ws = new WebSocket(`ws://${HOST}:${ctx.port}/socket.io/?EIO=4&transport=websocket`);
        await waitFor(ws, 'message'); // Engine.IO open
        ws.send('40');
        const connect = await waitFor(ws, 'message');
        assert.match(connect.data.toString(), /^40\{"sid":/);
        const auth = await Promise.race([
          waitFor(ws, 'message'),
          new Promise((r) => setTimeout(() => r({ data: 'nothing within 250 ms (before the first ping)' }), 250)),
        ]);
        assert.equal(auth.data.toString(), '42["auth",{}]', `attempt ${i}`);
        ws.close();
      }
    });
  });
});
