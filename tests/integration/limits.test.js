'use strict';
/*
 * Misbehaving clients against sio-server: one that never reads while
 * broadcasts flow (bounded server memory, the client is cut, others carry on),
 * one that floods events (token bucket, then disconnect), and one that opens
 * connections in a loop (per-IP and global connection limits).
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const crypto = require('node:crypto');
const { HOST, httpRequest } = require('../lib/server');
const {
  sleep, startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, apiGet,
} = require('../lib/sio');

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
  return Number(m[1]);
}

async function metric(server, name) {
  const res = await apiGet(server.apiPort, '/metrics');
  const m = res.body.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/**
 * A WebSocket client on a raw TCP socket that completes the Engine.IO and
 * Socket.IO handshakes, subscribes to `room`, then stops reading entirely.
 */
function stalledClient(port, room) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let stage = 'http';
    const frame = (text) => { // a masked client text frame (payload < 126 bytes)
      const payload = Buffer.from(text);
      const mask = crypto.randomBytes(4);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
      return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
    };
    const timer = setTimeout(() => reject(new Error('stalled client: handshake timed out')), 5000);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 'http') {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        assert.match(buf.subarray(0, end).toString(), /^HTTP\/1.1 101/);
        buf = buf.subarray(end + 4);
        stage = 'open';
      }
      const text = buf.toString('latin1');
      if (stage === 'open' && text.includes('0{"sid"')) {
        sock.write(frame('40'));
        stage = 'connect';
      }
      if (stage === 'connect' && text.includes('40{"sid"')) {
        sock.write(frame(`421["subscribe","${room}"]`));
        stage = 'subscribe';
      }
      if (stage === 'subscribe' && text.includes('431[{"ok":true')) {
        clearTimeout(timer);
        sock.pause(); // never read again: the kernel buffers fill, then the server's queue
        stage = 'stalled';
        resolve(sock);
      }
    });
    sock.write(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${HOST}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n');
  });
}

describe('misbehaving clients', function () {
  this.timeout(60000);

  describe('a client that never reads while broadcasts flow', function () {
    let server;
    before(async function () {
      server = await startSioServer({
        env: {
          // the default bound: room for a reading client that lags behind on a
          // busy machine, far below the 32 MB aimed at the stalled one
          MAX_QUEUE_BYTES: '4194304',
          MAX_QUEUE_FRAMES: '100000',
          // under AddressSanitizer, freed memory waits in a 256 MB quarantine by
          // default, which would read as growth here (ignored by other builds)
          ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=1`,
        },
      });
    });
    after(async function () {
      closeAll();
      await stopAlive(server);
    });

    it('is cut as a slow consumer with server memory bounded, while a normal client keeps receiving', async function () {
      const stalled = await stalledClient(server.port, 'firehose');
      const good = connect(`http://${HOST}:${server.port}`, { transports: ['websocket'] });
      let received = 0;
      good.on('blob', () => { received++; });
      await connected(good);
      await emitAck(good, 'subscribe', 'firehose');
      const rssBefore = rssKb(server.proc.pid);
      let stalledClosed = false;
      stalled.on('close', () => { stalledClosed = true; });
      const blob = 'x'.repeat(16 * 1024);
      let sent = 0;
      let cut = 0;
      // 16 KB at a time aimed at a client that reads nothing, until the server cuts
      // it: loopback kernel buffers alone may hold 32 MB (tcp_rmem) + 4 MB
      // (tcp_wmem) before the server's own queue (4 MB) fills, so up to 128 MB
      while (sent < 8192 && cut === 0) {
        const res = await apiPost(server.apiPort, { rooms: ['firehose'], event: 'blob', data: blob });
        assert.equal(res.status, 202);
        sent++;
        if (sent % 50 === 0) await sleep(5);
        if (sent % 256 === 0) cut = await metric(server, 'sio_slow_consumer_disconnects_total');
      }
      const deadline = Date.now() + 10000;
      while (received < sent && Date.now() < deadline) await sleep(50);
      assert.equal(received, sent, 'the reading client lost broadcasts');
      const grownKb = rssKb(server.proc.pid) - rssBefore;
      console.log(`      server RSS grew ${grownKb} KB while ${sent * 16 / 1024} MB were aimed at a stalled client; slow-consumer disconnects: ${cut}`);
      assert.equal(cut, 1, 'the stalled client was not cut');
      assert.ok(grownKb < 16 * 1024, `server RSS grew by ${grownKb} KB`);
      // the server has closed its end: once the client reads again, it drains what
      // the kernel held and sees the connection end (a reset counts as well)
      stalled.on('data', () => {});
      stalled.resume();
      const closeBy = Date.now() + 5000;
      while (!stalledClosed && Date.now() < closeBy) await sleep(50);
      assert.ok(stalledClosed, 'the server did not close the stalled connection');
      assert.equal(good.connected, true);
    });
  });

  describe('a client that reads slowly while broadcasts flow', function () {
    let server;
    before(async function () {
      server = await startSioServer({ env: { MAX_QUEUE_BYTES: String(64 << 20), MAX_QUEUE_FRAMES: '100000' } });
    });
    after(async function () {
      closeAll();
      await stopAlive(server);
    });

    it('receives every broadcast once it reads again: a socket buffer full in the middle of a write is no error', async function () {
      // 16 MB while the client reads nothing: the socket takes part of a batch
      // of frames, lws keeps the rest, and the next frames queue behind it.
      // (lws 4.1's lws_write() returns less than asked in that case, which was
      // taken for a failed write: the connection was dropped without a word.)
      const sock = await stalledClient(server.port, 'slow');
      let seen = 0;
      let tail = '';
      let closed = false;
      sock.on('close', () => { closed = true; });
      const blob = 'y'.repeat(16 * 1024);
      const n = 1000;
      for (let i = 0; i < n; i++) {
        const res = await apiPost(server.apiPort, { rooms: ['slow'], event: 'blob', data: blob });
        assert.equal(res.status, 202);
        if (i % 50 === 0) await sleep(5);
      }
      sock.on('data', (d) => {
        const text = tail + d.toString('latin1');
        seen += text.split('["blob",').length - 1;
        tail = text.slice(-8);
      });
      sock.resume();
      const deadline = Date.now() + 15000;
      while (seen < n && !closed && Date.now() < deadline) await sleep(50);
      assert.equal(seen, n, `received ${seen} of ${n} broadcasts${closed ? ' before the server closed the connection' : ''}`);
      assert.equal(closed, false);
      assert.equal(await metric(server, 'sio_slow_consumer_disconnects_total'), 0);
      sock.destroy();
    });
  });

  describe('a client that floods events', function () {
    let server;
    before(async function () {
      server = await startSioServer({ env: { EVENT_RATE: '50', EVENT_BURST: '100' } });
    });
    after(async function () {
      closeAll();
      await stopAlive(server);
    });

    it('is disconnected by the token bucket ("io server disconnect"); a polite client is not', async function () {
      const flooder = connect(`http://${HOST}:${server.port}`, { transports: ['websocket'] });
      const polite = connect(`http://${HOST}:${server.port}`, { transports: ['websocket'] });
      await connected(flooder);
      await connected(polite);
      const reason = new Promise((resolve) => flooder.once('disconnect', resolve));
      for (let i = 0; i < 1000; i++) flooder.emit('subscribe', `room-${i}`);
      assert.equal(await Promise.race([reason, sleep(5000).then(() => 'timeout')]), 'io server disconnect');
      for (let i = 0; i < 20; i++) {
        assert.equal((await emitAck(polite, 'subscribe', `ok-${i}`)).ok, true);
        await sleep(25);
      }
      assert.equal(polite.connected, true);
      assert.equal(await metric(server, 'sio_rate_limit_disconnects_total'), 1);
    });
  });

  describe('a client that opens connections in a loop', function () {
    let server;
    before(async function () {
      server = await startSioServer({ env: { MAX_CONNECTIONS_PER_IP: '20', MAX_CONNECTIONS: '30' } });
    });
    after(async function () {
      closeAll();
      await stopAlive(server);
    });

    it('gets 503 past MAX_CONNECTIONS_PER_IP, for polling and WebSocket handshakes alike', async function () {
      const statuses = [];
      for (let i = 0; i < 40; i++) {
        const res = await httpRequest({ port: server.port, path: '/socket.io/?EIO=4&transport=polling' });
        statuses.push(res.status);
      }
      assert.equal(statuses.filter((s) => s === 200).length, 20, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 503).length, 20);
      const ws = connect(`http://${HOST}:${server.port}`, { transports: ['websocket'] });
      const err = await new Promise((resolve) => ws.once('connect_error', resolve));
      assert.match(String(err.description && err.description.message || err.message), /503|websocket error|Unexpected server response/i);
      assert.ok(await metric(server, 'sio_handshakes_refused_total') >= 21);
    });

    it('a different client address (X-Forwarded-For from the load balancer) still gets in, up to MAX_CONNECTIONS', async function () {
      const statuses = [];
      for (let i = 0; i < 12; i++) {
        const res = await httpRequest({
          port: server.port,
          path: '/socket.io/?EIO=4&transport=polling',
          headers: { 'X-Forwarded-For': `203.0.113.${i}` },
        });
        statuses.push(res.status);
      }
      // 20 sessions of 127.0.0.1 are still open (idle polling sessions live until
      // their ping timeout): 10 more fit under MAX_CONNECTIONS = 30
      assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 503).length, 2);
    });
  });
});
