'use strict';
/*
 * The mailboxes between the two threads are bounded (MAILBOX_MAX_MESSAGES,
 * MAILBOX_MAX_BYTES). With the edge thread stalled (tests/sio-server-stall:
 * SIGUSR1 blocks it for SIO_TEST_STALL_MS), the HTTP API refuses broadcasts
 * with 503 once the edge's mailbox is full instead of queueing without limit,
 * /metrics shows the depth and the refusals, and everything accepted before
 * is delivered once the edge runs again.
 */
const assert = require('node:assert/strict');
const {
  startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, apiGet, sleep, eventually,
} = require('../lib/sio');

function metric(text, name, labels = '') {
  const m = text.match(new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

describe('overload: bounded mailboxes between the threads', function () {
  this.timeout(30000);
  let server;
  before(async function () {
    server = await startSioServer({
      bin: 'tests/sio-server-stall',
      env: { MAILBOX_MAX_MESSAGES: '50', SIO_TEST_STALL_MS: '2500' },
    });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
  });

  it('a stalled edge: the API answers 503 past the bound, nothing accepted is lost, /metrics counts it', async function () {
    const c = await connected(connect(server.url, { transports: ['websocket'] }));
    assert.equal((await emitAck(c, 'subscribe', 'scores')).ok, true);
    const got = [];
    c.on('score', (n) => got.push(n));

    process.kill(server.proc.pid, 'SIGUSR1');
    await sleep(200); // the edge thread is now asleep
    const statuses = [];
    let retryAfter;
    for (let i = 0; i < 120; i++) {
      const res = await apiPost(server.apiPort, { rooms: ['scores'], event: 'score', data: i });
      statuses.push(res.status);
      if (res.status === 503) {
        retryAfter = res.headers['retry-after'];
        assert.equal(JSON.parse(res.body).error, 'edge overloaded');
      }
    }
    const accepted = statuses.filter((s) => s === 202).length;
    assert.equal(accepted, 50, `the edge mailbox holds 50: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 503).length, 70);
    assert.equal(retryAfter, '1');
    // every broadcast accepted is delivered, in order, once the edge runs again
    await eventually(() => got.length === accepted, 10000, 'deliveries after the stall');
    assert.deepEqual(got, Array.from({ length: accepted }, (_, i) => i));
    const text = (await apiGet(server.apiPort, '/metrics')).body;
    assert.equal(metric(text, 'sio_api_overloaded_total'), 70);
    assert.equal(metric(text, 'sio_mailbox_messages', 'mailbox="edge"'), 0, 'drained');
    assert.ok(Number.isFinite(metric(text, 'sio_mailbox_dropped_total', 'mailbox="edge"')));
    // and the API accepts again
    assert.equal((await apiPost(server.apiPort, { rooms: ['scores'], event: 'score', data: 'after' })).status, 202);
  });
});
