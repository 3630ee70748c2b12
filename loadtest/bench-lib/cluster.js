'use strict';
/*
 * A cluster under test: a fresh redis-server on loopback and 2 server nodes on it.
 *   kind 'sio'  : build/sio-server (env configuration, API disabled; `env` adds to it,
 *                 e.g. PLAIN_WS_PATH for loadtest/bench --plain)
 *   kind 'node' : node tests/ref/node-gateway.js (socket.io 4 + @socket.io/redis-adapter)
 *   kind 'floor', 'floor-writev'
 *               : build/sio-floor (loadtest/floor/), the floor: the same clients, the
 *                 same prebuilt frame written with plain write() per delivery
 *                 ('floor', --mode write) or with one writev of every frame queued for a
 *                 socket per loop turn ('floor-writev', --mode writev)
 * All answer the client event `subscribe` with {ok:true}, and all receive what
 * @socket.io/redis-emitter publishes on <prefix>#/#<room>#.
 */
const fs = require('node:fs');
const path = require('node:path');
const { HOST, spawnTracked, stopProc, freePorts, waitPort, sleep, cleanEnv } = require('./proc');

const PREFIX = 'socket.io';

/* the floor's kinds and their --mode */
const FLOOR_MODES = { floor: 'write', 'floor-writev': 'writev' };
const isFloor = (kind) => Object.prototype.hasOwnProperty.call(FLOOR_MODES, kind);

async function startRedis(ctx) {
  const [port] = await freePorts(1);
  const dir = fs.mkdtempSync(path.join(ctx.tmp, 'redis-'));
  const p = spawnTracked('redis-server', ctx.redisBin, [
    '--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--loglevel', 'warning', '--maxclients', '1000',
  ], { logFile: path.join(ctx.tmp, `redis-${port}.log`) });
  await waitPort(port, 5000, p);
  return { p, pid: p.pid, port, url: `redis://${HOST}:${port}`, dir };
}

async function startNode(ctx, kind, redisUrl, index, extraEnv = {}, nodeArgs = []) {
  const [port, control] = await freePorts(2);
  const logFile = path.join(ctx.tmp, `${kind}-${index}-${port}.log`);
  let p;
  if (kind === 'sio') {
    p = spawnTracked(`sio-server#${index}`, ctx.sioServer, [], {
      env: {
        ...cleanEnv(),
        PORT: String(port), API_PORT: '0', BIND_ADDR: HOST, REDIS_URL: redisUrl, REDIS_PREFIX: PREFIX,
        LOG_LEVEL: 'warn', DRAIN_SECONDS: '0', NODE_ID: `bench-sio-${index}`,
        ...extraEnv,
      },
      logFile,
    });
  } else if (isFloor(kind)) {
    p = spawnTracked(`${kind}#${index}`, ctx.floorBin, [
      '--port', String(port), '--bind', HOST, '--redis', redisUrl, '--prefix', PREFIX, '--mode', FLOOR_MODES[kind],
    ], { env: cleanEnv(), logFile });
  } else {
    p = spawnTracked(`node-gateway#${index}`, ctx.nodeBin, [
      ctx.nodeGateway, '--port', String(port), '--control', String(control), '--redis', redisUrl, ...nodeArgs,
    ], { logFile, cwd: ctx.root });
  }
  await waitPort(port, 15000, p);
  return { p, pid: p.pid, port, url: `ws://${HOST}:${port}/socket.io/`, logFile };
}

/** A fresh Redis and 2 nodes of `kind` (sio: with `env` added; node: with `nodeArgs`,
 * node-gateway.js's options); stop() ends all three (SIGTERM, SIGKILL after 5 s). */
async function startCluster(ctx, kind, nodes = 2, env = {}, nodeArgs = []) {
  const c = { kind, redis: null, nodes: [] };
  c.stop = async () => {
    await Promise.all(c.nodes.map((n) => stopProc(n.p, 5000)));
    if (c.redis) {
      await stopProc(c.redis.p, 3000);
      fs.rmSync(c.redis.dir, { recursive: true, force: true });
    }
  };
  try {
    c.redis = await startRedis(ctx);
    for (let i = 1; i <= nodes; i++) c.nodes.push(await startNode(ctx, kind, c.redis.url, i, env, nodeArgs));
    await sleep(1000); /* let the nodes finish starting (Redis subscriptions, JIT warm-up of startup code) */
    for (const n of c.nodes) {
      if (n.p.exit) throw new Error(`${n.p.name} exited at start (${JSON.stringify(n.p.exit)}): ${(n.p.stderr + n.p.stdout).slice(-2000)}`);
    }
  } catch (e) {
    await c.stop();
    throw e;
  }
  c.pids = () => c.nodes.map((n) => n.pid);
  c.alive = () => c.nodes.every((n) => !n.p.exit) && !c.redis.p.exit;
  return c;
}

module.exports = { startCluster, startRedis, PREFIX, FLOOR_MODES, isFloor };
