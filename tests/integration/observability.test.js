'use strict';
const fs = require('fs');
/*
 * GET /metrics (Prometheus text, computed from live state at scrape time) and
 * the JSON log lines on stdout, filtered by LOG_LEVEL.
 */
const assert = require('node:assert/strict');
const { HOST } = require('../lib/server');
const { startRedis, stopRedis, redisUrl } = require('../lib/redis');
const {
  sleep, eventually, startSioServer, stopAlive, connect, connected, emitAck, closeAll, apiPost, apiGet,
} = require('../lib/sio');

/** name{labels} value -> [{labels, value}] */
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-z_:]+)\{([^}]*)\} (\S+)$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[3]) });
  }
  return out;
}

const value = (metrics, name, labels = {}) => {
  const rows = (metrics.get(name) || []).filter((r) => Object.entries(labels).every(([k, v]) => r.labels[k] === v));
  assert.equal(rows.length, 1, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(rows)}`);
  return rows[0].value;
};

describe('observability: /metrics and JSON logs', function () {
  this.timeout(30000);
  let redis;
  let server;
  before(async function () {
    redis = await startRedis();
    server = await startSioServer({
      env: { REDIS_URL: redisUrl(redis), NODE_ID: 'obs-1', NAMESPACES: '/,/admin', LOG_LEVEL: 'info' },
    });
  });
  after(async function () {
    closeAll();
    await stopAlive(server);
    await stopRedis(redis);
  });

  it('/metrics reflects live state at scrape time, labelled with the node id', async function () {
    const a = connect(`http://${HOST}:${server.port}`, { transports: ['websocket'] });
    const b = connect(`http://${HOST}:${server.port}`, { transports: ['polling'] });
    const c = connect(`http://${HOST}:${server.port}/admin`, { transports: ['websocket'] });
    await Promise.all([connected(a), connected(b), connected(c)]);
    await emitAck(a, 'subscribe', ['m1', 'm2']);
    await emitAck(b, 'subscribe', 'm1');
    let got = 0;
    a.on('tick', () => got++);
    b.on('tick', () => got++);
    for (let i = 0; i < 3; i++) await apiPost(server.apiPort, { rooms: ['m1'], event: 'tick', data: i });
    await eventually(() => got === 6, 5000, 'ticks');

    const res = await apiGet(server.apiPort, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain/);
    const m = parseMetrics(res.body);
    for (const [, rows] of m) for (const r of rows) assert.equal(r.labels.node, 'obs-1');
    assert.equal(value(m, 'sio_connections', { transport: 'websocket' }), 2);
    assert.equal(value(m, 'sio_connections', { transport: 'polling' }), 1);
    assert.equal(value(m, 'sio_clients'), 3, 'sio_clients is every session in one series');
    assert.equal(value(m, 'sio_sockets', { namespace: '/' }), 2);
    assert.equal(value(m, 'sio_sockets', { namespace: '/admin' }), 1);
    // "/" has m1, m2 and each socket's own room
    assert.equal(value(m, 'sio_rooms', { namespace: '/' }), 4);
    assert.equal(value(m, 'sio_broadcasts_total'), 3);
    assert.equal(value(m, 'sio_broadcast_deliveries_total'), 6);
    assert.equal(value(m, 'sio_delivery_latency_seconds_count'), 3);
    assert.equal(value(m, 'sio_delivery_latency_seconds_bucket', { le: '+Inf' }), 3);
    assert.ok(value(m, 'sio_handshakes_total') >= 3);
    assert.ok(value(m, 'sio_messages_received_total') >= 2);
    assert.ok(value(m, 'sio_bytes_sent_total') > 0);
    assert.equal(value(m, 'sio_redis_up'), 1);
    assert.equal(value(m, 'sio_redis_published_total'), 3);
    // the process figures are the kernel's: compare with /proc/<pid> read around the scrape
    const procCpu = () => {
      const f = fs.readFileSync(`/proc/${server.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
    };
    const procRss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]) * 1024;
    // some work first, so that the figure is measurably above zero (10 ms ticks)
    for (let i = 0; i < 20000 && procCpu() < 0.05; i++) {
      await apiPost(server.apiPort, { rooms: ['nobody'], event: 'burn', data: 'x'.repeat(2000) });
    }
    const cpuBefore = procCpu();
    const rssBefore = procRss();
    const p = parseMetrics((await apiGet(server.apiPort, '/metrics')).body);
    const cpuAfter = procCpu();
    const rssAfter = procRss();
    const cpu = value(p, 'process_cpu_seconds_total');
    const rss = value(p, 'process_resident_memory_bytes');
    assert.ok(cpu >= cpuBefore - 0.011 && cpu <= cpuAfter + 0.011, `cpu ${cpu} s, /proc says ${cpuBefore}..${cpuAfter}`);
    assert.ok(cpu >= 0.04, `the server worked ${cpuBefore} s of CPU, the metric says ${cpu}`);
    assert.ok(rss >= Math.min(rssBefore, rssAfter) * 0.8 && rss <= Math.max(rssBefore, rssAfter) * 1.2,
      `rss ${rss}, /proc says ${rssBefore}..${rssAfter}`);
    for (const name of ['sio_send_queue_bytes', 'sio_slow_consumer_disconnects_total',
      'sio_rate_limit_disconnects_total', 'sio_redis_reconnects_total', 'sio_redis_publish_failed_total',
      'sio_redis_received_total', 'sio_draining', 'sio_api_broadcasts_total']) {
      assert.ok(m.has(name), `missing ${name}`);
    }

    a.close();
    await sleep(300);
    const after = parseMetrics((await apiGet(server.apiPort, '/metrics')).body);
    assert.equal(value(after, 'sio_connections', { transport: 'websocket' }), 1, 'not live: a closed client is still counted');
  });

  it('logs one JSON object per line on stdout', async function () {
    const lines = server.stdout().split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, server.stdout());
    for (const line of lines) {
      const obj = JSON.parse(line);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(obj.level), line);
      assert.equal(typeof obj.msg, 'string');
      assert.match(obj.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.ok(lines.some((l) => JSON.parse(l).msg === 'listening'));
    assert.ok(lines.some((l) => JSON.parse(l).msg === 'redis connection up'));
  });

  it('LOG_LEVEL=warn keeps info lines out', async function () {
    const quiet = await startSioServer({ env: { LOG_LEVEL: 'warn' } });
    await sleep(200);
    const out = quiet.stdout();
    await stopAlive(quiet);
    assert.equal(out.split('\n').filter(Boolean).filter((l) => JSON.parse(l).level === 'info').length, 0, out);
  });
});
