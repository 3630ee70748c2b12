'use strict';
/*
 * What sio-server does for AWS without a sidecar (README "AWS without an agent",
 * "The ECS drain", "Health"),
 * against the real binary, a real redis-server, and a loopback HTTP server
 * that answers the ECS task metadata endpoint v4 the way the ECS agent does:
 *   - METRICS_EMF: one CloudWatch Embedded Metric Format line per interval on
 *     stdout, checked against the specification (the _aws object, its
 *     directive, dimensions and metric definitions naming root members, units)
 *     and against what happened (connections, deliveries, latency, Redis up);
 *   - the ECS drain: when the task metadata's DesiredStatus turns STOPPED, the
 *     drain starts (health 503, clients closed 1001), and the process exits
 *     when SIGTERM comes;
 *   - /health: one body on both ports, HEALTH_REDIS_DOWN_STATUS on both;
 *   - JWT_PUBLIC_KEY: the RS256 key as PEM text in the environment.
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const { HOST, freePort, stopServer } = require('../lib/server');
const { startRedis, stopRedis, killRedis, redisUrl } = require('../lib/redis');
const {
  sleep, eventually, startSioServer, runSioServer, stopAlive, connect, connected, connectError, emitAck,
  closeAll, apiPost, apiGet, jwtRS256, readFixture,
} = require('../lib/sio');
const { plainWs, closeAllPlain } = require('../lib/plain');

const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Count', 'Percent', 'Count/Second', 'None']);

/** The EMF lines a server wrote so far, parsed. */
function emfLines(server) {
  return server.stdout().split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
}

/** CloudWatch's rules for one EMF object; returns the metric names it defines. */
function checkEmf(o) {
  assert.equal(typeof o, 'object');
  const aws = o._aws;
  assert.ok(aws && Number.isInteger(aws.Timestamp), '_aws.Timestamp: integer ms');
  assert.ok(Math.abs(aws.Timestamp - Date.now()) < 60000, 'Timestamp is now, in ms');
  assert.ok(Array.isArray(aws.CloudWatchMetrics) && aws.CloudWatchMetrics.length >= 1);
  const names = [];
  for (const d of aws.CloudWatchMetrics) {
    assert.equal(typeof d.Namespace, 'string');
    assert.ok(d.Namespace.length >= 1 && d.Namespace.length <= 255);
    assert.ok(Array.isArray(d.Dimensions));
    for (const set of d.Dimensions) {
      assert.ok(Array.isArray(set) && set.length <= 30);
      for (const dim of set) assert.equal(typeof o[dim], 'string', `dimension ${dim} is a root string member`);
    }
    assert.ok(Array.isArray(d.Metrics) && d.Metrics.length <= 100);
    for (const m of d.Metrics) {
      assert.equal(typeof m.Name, 'string');
      assert.ok(UNITS.has(m.Unit), `unit ${m.Unit}`);
      assert.equal(typeof o[m.Name], 'number', `metric ${m.Name} is a root number member`);
      names.push(m.Name);
    }
  }
  return names;
}

const sioUrl = (s, path = '/') => `http://${HOST}:${s.port}${path}`;

describe('METRICS_EMF: CloudWatch Embedded Metric Format on stdout', function () {
  this.timeout(30000);
  let redis;
  before(async function () { redis = await startRedis(); });
  after(async function () { await stopRedis(redis); });
  afterEach(() => { closeAll(); closeAllPlain(); });

  it('one line per interval, valid EMF, with connections, deliveries, latency percentiles and RedisUp; RedisUp 0 once Redis is gone', async function () {
    const server = await startSioServer({
      env: {
        REDIS_URL: redisUrl(redis), METRICS_EMF: '1', METRICS_EMF_INTERVAL_MS: '1000',
        METRICS_EMF_NAMESPACE: 'sio-test', METRICS_EMF_CLUSTER_NAME: 'prod', METRICS_EMF_SERVICE_NAME: 'scores',
        PLAIN_WS_PATH: '/ws', RECOVERY_WINDOW_MS: '0', LOG_LEVEL: 'info',
      },
    });
    try {
      const a = await connected(connect(sioUrl(server), { transports: ['websocket'] }));
      const b = await connected(connect(sioUrl(server), { transports: ['websocket'] }));
      const p = plainWs(server.port);
      await p.opened;
      for (const s of [a, b]) assert.deepEqual(await emitAck(s, 'subscribe', 'scores'), { ok: true, rooms: ['scores'] });
      assert.deepEqual(await p.request({ event: 'subscribe', data: 'scores', id: 1 }), { id: 1, data: { ok: true, rooms: ['scores'] } });
      let got = 0;
      a.on('score', () => got++);
      b.on('score', () => got++);
      p.ws.on('message', () => got++);
      const before = emfLines(server).length;
      for (let i = 0; i < 10; i++) {
        const res = await apiPost(server.apiPort, { namespace: '/', rooms: ['scores'], event: 'score', data: i });
        assert.equal(res.status, 202);
      }
      await eventually(async () => got === 30, 5000, '30 deliveries');
      await eventually(async () => emfLines(server).length >= before + 2, 5000, 'two more EMF lines');
      const lines = emfLines(server);
      for (const o of lines) {
        const names = checkEmf(o);
        for (const n of ['Connections', 'Sockets', 'Handshakes', 'Deliveries', 'SlowConsumerDisconnects',
          'RateLimitDisconnects', 'RedisUp', 'Draining']) assert.ok(names.includes(n), `${n} defined`);
        const d = o._aws.CloudWatchMetrics[0];
        assert.equal(d.Namespace, 'sio-test');
        assert.deepEqual(d.Dimensions, [['ClusterName', 'ServiceName']]);
        assert.equal(o.ClusterName, 'prod');
        assert.equal(o.ServiceName, 'scores');
        assert.equal(d.Metrics.find((m) => m.Name === 'Connections').Unit, 'Count');
      }
      const last = lines[lines.length - 1];
      assert.equal(last.Connections, 3, 'one value per task: every transport (2 Socket.IO + 1 plain)');
      assert.equal(last.Sockets, 3);
      assert.equal(last.RedisUp, 1);
      assert.equal(lines.reduce((n, o) => n + o.Deliveries, 0), 30, 'deliveries per interval add up to the 30 made');
      assert.equal(lines.reduce((n, o) => n + o.Handshakes, 0), 3);
      const withLatency = lines.filter((o) => o.Deliveries > 0);
      assert.ok(withLatency.length >= 1);
      for (const o of withLatency) {
        assert.ok(o.DeliveryLatencyP50 >= 0 && o.DeliveryLatencyP50 <= o.DeliveryLatencyP95 &&
          o.DeliveryLatencyP95 <= o.DeliveryLatencyP99, 'p50 <= p95 <= p99');
        assert.ok(o.DeliveryLatencyP99 < 1000, 'loopback: well under a second');
        assert.equal(o._aws.CloudWatchMetrics[0].Metrics.find((m) => m.Name === 'DeliveryLatencyP99').Unit, 'Milliseconds');
      }
      for (const o of lines.filter((x) => x.Deliveries === 0)) assert.equal(o.DeliveryLatencyP50, undefined, 'no delivery: no latency');
      const n = emfLines(server).length;
      await killRedis(redis);
      await eventually(async () => emfLines(server).slice(n).some((o) => o.RedisUp === 0), 6000, 'RedisUp 0');
      assert.ok(server.stdout().split('\n').filter((l) => l.includes('"_aws"')).every((l) => l.startsWith('{"_aws"') && !l.includes('"level"')),
        'EMF lines are whole lines, never mixed with log lines');
    } finally {
      closeAll();
      closeAllPlain();
      await stopAlive(server);
      await stopRedis(redis);
      redis = await startRedis();
    }
  });

  it('standalone: RedisUp is left out; without METRICS_EMF nothing of it is written', async function () {
    const on = await startSioServer({ env: { METRICS_EMF: '1', METRICS_EMF_INTERVAL_MS: '1000' } });
    const off = await startSioServer({ env: {} });
    try {
      await eventually(async () => emfLines(on).length >= 1, 5000, 'an EMF line');
      const o = emfLines(on)[0];
      const names = checkEmf(o);
      assert.ok(!names.includes('RedisUp') && o.RedisUp === undefined);
      assert.equal(o.ClusterName, 'default');
      assert.equal(o._aws.CloudWatchMetrics[0].Namespace, 'sio');
      await sleep(1200);
      assert.equal(emfLines(off).length, 0);
    } finally {
      await stopAlive(on);
      await stopAlive(off);
    }
  });

  it('METRICS_EMF_INTERVAL_MS below 1000 is refused at start-up (exit 2)', async function () {
    const r = await runSioServer({ METRICS_EMF: '1', METRICS_EMF_INTERVAL_MS: '10', PORT: String(await freePort()), API_PORT: '0' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /METRICS_EMF_INTERVAL_MS/);
  });
});

/** A loopback stand-in for the ECS agent's task metadata endpoint v4. */
async function startTaskMetadata() {
  const md = { desired: 'RUNNING', gets: 0 };
  md.server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/v4/0123abcd/task') {
      res.writeHead(404).end();
      return;
    }
    md.gets++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({
      Cluster: 'arn:aws:ecs:eu-west-1:111122223333:cluster/prod',
      TaskARN: 'arn:aws:ecs:eu-west-1:111122223333:task/prod/0123abcd',
      Family: 'sio', Revision: '7', DesiredStatus: md.desired, KnownStatus: 'RUNNING',
      Containers: [{ Name: 'sio', DesiredStatus: md.desired, KnownStatus: 'RUNNING' }],
      LaunchType: 'FARGATE',
    }));
  });
  const port = await freePort();
  await new Promise((r) => md.server.listen(port, HOST, r));
  md.uri = `http://${HOST}:${port}/v4/0123abcd`;
  md.close = () => new Promise((r) => md.server.close(r));
  return md;
}

describe('the ECS drain: it starts when the task metadata says STOPPED, the process exits at SIGTERM', function () {
  this.timeout(30000);
  let md;
  beforeEach(async function () { md = await startTaskMetadata(); });
  afterEach(async function () { closeAll(); closeAllPlain(); await md.close(); });

  it('DesiredStatus STOPPED: /health 503 on both ports, clients closed (1001 for WebSockets), new handshakes refused; SIGTERM then exits 0 at once', async function () {
    const server = await startSioServer({
      env: { ECS_CONTAINER_METADATA_URI_V4: md.uri, ECS_METADATA_POLL_MS: '100', DRAIN_SECONDS: '1', PLAIN_WS_PATH: '/ws', LOG_LEVEL: 'info' },
    });
    try {
      const s = await connected(connect(sioUrl(server), { transports: ['websocket'] }));
      const p = plainWs(server.port);
      await p.opened;
      const reason = new Promise((r) => s.once('disconnect', r));
      await eventually(async () => md.gets >= 3, 3000, 'the metadata polled');
      assert.equal((await apiGet(server.port, '/health')).status, 200, 'RUNNING: no drain');
      assert.ok(s.connected);
      md.desired = 'STOPPED';
      const t0 = Date.now();
      assert.equal((await p.closed).code, 1001, 'the plain client closed with 1001');
      assert.equal(await reason, 'transport close', 'the Socket.IO client told to go (close 1001)');
      assert.ok(Date.now() - t0 < 3000, 'within the 1 s drain window (and a poll)');
      for (const port of [server.port, server.apiPort]) {
        const h = await apiGet(port, '/health');
        assert.equal(h.status, 503);
        assert.equal(h.json.status, 'draining');
      }
      assert.equal(await connectError(connect(sioUrl(server), { transports: ['polling'] })).then(() => 'refused'), 'refused');
      assert.match(server.stdout(), /"ECS task stopping"/);
      await sleep(1500);
      assert.equal(server.proc.exitCode, null, 'drained, still running: it waits for SIGTERM');
      const gets = md.gets;
      await sleep(300);
      assert.equal(md.gets, gets, 'no more polling once it fired');
      const t1 = Date.now();
      const info = await stopServer(server);
      assert.deepEqual(info, { code: 0, signal: null });
      assert.ok(Date.now() - t1 < 1500, 'SIGTERM after the drain: exits at once');
    } finally {
      if (server.proc.exitCode === null) await stopServer(server);
    }
  });

  it('SIGTERM during an ECS drain: the drain goes on and the process exits when it is over', async function () {
    const server = await startSioServer({
      env: { ECS_CONTAINER_METADATA_URI_V4: md.uri, ECS_METADATA_POLL_MS: '100', DRAIN_SECONDS: '3' },
    });
    try {
      const socks = [];
      for (let i = 0; i < 6; i++) socks.push(await connected(connect(sioUrl(server), { transports: ['websocket'] })));
      md.desired = 'STOPPED';
      await eventually(async () => (await apiGet(server.port, '/health')).status === 503, 3000, 'draining');
      const t0 = Date.now();
      server.proc.kill('SIGTERM');
      const info = await server.exited;
      assert.deepEqual(info, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 4500, 'within the drain window');
      assert.ok(socks.every((s) => !s.connected));
    } finally {
      if (server.proc.exitCode === null) await stopServer(server);
    }
  });

  it('ECS_DRAIN=false, or no ECS_CONTAINER_METADATA_URI_V4: STOPPED changes nothing until SIGTERM', async function () {
    const off = await startSioServer({ env: { ECS_CONTAINER_METADATA_URI_V4: md.uri, ECS_METADATA_POLL_MS: '100', ECS_DRAIN: 'false' } });
    try {
      md.desired = 'STOPPED';
      await sleep(700);
      assert.equal(md.gets, 0, 'not polled');
      assert.equal((await apiGet(off.port, '/health')).status, 200);
    } finally {
      await stopAlive(off);
    }
  });

  it('an endpoint that fails or answers garbage is ignored (the agent may not be up yet)', async function () {
    const bad = http.createServer((req, res) => { res.writeHead(req.url.length % 2 ? 500 : 200).end('{not json'); });
    const port = await freePort();
    await new Promise((r) => bad.listen(port, HOST, r));
    const server = await startSioServer({ env: { ECS_CONTAINER_METADATA_URI_V4: `http://${HOST}:${port}/v4/x`, ECS_METADATA_POLL_MS: '100' } });
    try {
      await sleep(600);
      assert.equal((await apiGet(server.port, '/health')).status, 200);
      const s = await connected(connect(sioUrl(server), { transports: ['websocket'] }));
      assert.ok(s.connected);
    } finally {
      closeAll();
      await stopAlive(server);
      await new Promise((r) => bad.close(r));
    }
  });
});

describe('/health: one body on both ports', function () {
  this.timeout(30000);
  afterEach(() => closeAll());

  it('status, timestamp, uptime, version, node, connections, sockets, redis on PORT and API_PORT alike', async function () {
    const server = await startSioServer({ env: { NODE_ID: 'node-7' } });
    try {
      await connected(connect(sioUrl(server), { transports: ['websocket'] }));
      const edge = await apiGet(server.port, '/health');
      const api = await apiGet(server.apiPort, '/health');
      for (const h of [edge, api]) {
        assert.equal(h.status, 200);
        assert.deepEqual(Object.keys(h.json).sort(),
          ['connections', 'node', 'redis', 'sockets', 'status', 'timestamp', 'uptime', 'version']);
        assert.equal(h.json.status, 'ok');
        assert.equal(h.json.node, 'node-7');
        assert.equal(h.json.redis, 'none');
        assert.match(h.json.version, /^\d+\.\d+\.\d+$/);
        assert.ok(Math.abs(Date.parse(h.json.timestamp) - Date.now()) < 5000, 'timestamp: ISO 8601, now');
        assert.ok(h.json.uptime > 0 && h.json.uptime < 60);
      }
      assert.equal(edge.json.connections, 1);
      assert.equal(edge.json.sockets, 1);
    } finally {
      closeAll();
      await stopAlive(server);
    }
  });

  it('Redis down: "degraded" with HEALTH_REDIS_DOWN_STATUS on both ports (200 by default)', async function () {
    const redis = await startRedis();
    const strict = await startSioServer({ env: { REDIS_URL: redisUrl(redis), HEALTH_REDIS_DOWN_STATUS: '503' } });
    const lenient = await startSioServer({ env: { REDIS_URL: redisUrl(redis) } });
    try {
      for (const s of [strict, lenient]) {
        await eventually(async () => (await apiGet(s.port, '/health')).json.redis === 'up', 5000, 'redis up');
        const h = await apiGet(s.apiPort, '/health');
        assert.equal(h.json.redis_reconnects, 0);
        assert.equal(typeof h.json.redis_publish_failed, 'number');
      }
      await killRedis(redis);
      for (const port of [strict.port, strict.apiPort]) {
        await eventually(async () => (await apiGet(port, '/health')).json.status === 'degraded', 5000, 'degraded');
        assert.equal((await apiGet(port, '/health')).status, 503);
      }
      for (const port of [lenient.port, lenient.apiPort]) {
        await eventually(async () => (await apiGet(port, '/health')).json.redis === 'down', 5000, 'down');
        assert.equal((await apiGet(port, '/health')).status, 200);
      }
    } finally {
      await stopAlive(strict);
      await stopAlive(lenient);
      await stopRedis(redis);
    }
  });
});

describe('JWT_PUBLIC_KEY: the RS256 key as PEM text (from a secret, not a file)', function () {
  this.timeout(20000);
  afterEach(() => closeAll());

  it('a token signed with the key is admitted, another refused; a bad PEM stops start-up (exit 2)', async function () {
    const server = await startSioServer({ env: { JWT_PUBLIC_KEY: readFixture('rsa_public.pem') } });
    try {
      const ok = await connected(connect(sioUrl(server), {
        transports: ['websocket'], auth: { token: jwtRS256({ sub: 'alice' }, readFixture('rsa_private.pem')) },
      }));
      assert.ok(ok.connected);
      const err = await connectError(connect(sioUrl(server), {
        transports: ['websocket'], auth: { token: jwtRS256({ sub: 'eve' }, readFixture('rsa_private.pem')).replace(/.$/, 'A') },
      }));
      assert.equal(err.message, 'unauthorized');
    } finally {
      closeAll();
      await stopAlive(server);
    }
    const bad = await runSioServer({ JWT_PUBLIC_KEY: 'not a key', PORT: String(await freePort()), API_PORT: '0' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /JWT_PUBLIC_KEY/);
    const both = await runSioServer({ JWT_PUBLIC_KEY: readFixture('rsa_public.pem'), JWT_SECRET: 's', PORT: String(await freePort()), API_PORT: '0' });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exclusive/);
  });
});
