'use strict';
/*
 * Helpers to run a real Redis Cluster (redis-server --cluster-enabled yes) on
 * loopback for the integration tests: N primaries with R replicas each, every node
 * without persistence (--save '' --appendonly no), in its own temp dir (its
 * nodes.conf there too), --cluster-node-timeout 1000 for a fast failover:
 *   - startCluster({primaries = 3, replicasPerPrimary = 1, password, tls = false}):
 *                                   start the nodes, `redis-cli --cluster create`, and wait
 *                                   until every node says cluster_state:ok, all agree on
 *                                   the owner of all 16384 slots, and every replica's link
 *                                   to its primary is up. With password: --requirepass and
 *                                   --masterauth on every node. With tls: one CA + server
 *                                   certificate (redis.js makeTlsFiles) and a client
 *                                   certificate for the nodes' cluster bus links; TLS only
 *                                   on the client port, the cluster bus and the replication
 *   - clusterUrl(cl, {password}):   redis[s]://[:password@]127.0.0.1:<port of a primary>
 *   - seedList(cl):                 "127.0.0.1:p1,127.0.0.1:p2,..." (every node)
 *   - redisCli(cl, node, ...args):  redis-cli against node (tls and password flags added);
 *                                   resolves with its stdout. redis-cli exits 0 on an error
 *                                   reply: an error reply is returned as text ("MOVED ...")
 *   - primaries(cl):                the current primaries that own slots, as a live node
 *                                   sees them: [{node, id, slots: [[start, end], ...]}]
 *   - replicaOf(cl, primary) / replicasOf(cl, primary): its (first) live replica / all of them
 *   - keySlot(cl, key):             CLUSTER KEYSLOT key (a number)
 *   - ownerOf(cl, key):             the node that is the primary of key's slot now
 *   - shardChannels(cl, node):      PUBSUB SHARDCHANNELS on node (an array of names)
 *   - killNode(cl, node):           kill -9 and wait for the exit
 *   - restartNode(cl, node):        start a stopped node again (same port, arguments and
 *                                   nodes.conf): it rejoins, a killed primary as a replica
 *                                   of the one promoted in its place; waits until the
 *                                   cluster is healthy again
 *   - failover(cl, primary):        kill -9 a primary, wait until its replica has been
 *                                   promoted and the survivors are ok again -> {promoted, ms}
 *   - migrateSlot(cl, slot, to, {pauseMsBetweenSteps}): move a slot and its keys to another
 *                                   primary on the live cluster, like `redis-cli --cluster
 *                                   reshard` -> {from, to, slot, keys, ms}
 *   - stopCluster(cl):              SIGTERM (SIGKILL after 3 s) every node, remove the dirs;
 *                                   safe to call twice, or with undefined
 * Every step is bounded in time and throws naming what it waited for.
 */
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { HOST, startServer, stopServer } = require('./server');
const { makeTlsFiles } = require('./redis');

const REDIS_BIN = process.env.REDIS_SERVER || 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI || 'redis-cli';
const SLOTS = 16384;
const BUS_OFFSET = 10000;
// client ports in [PORT_MIN, PORT_MAX), bus ports (+10000) in [22000, 26000): below the
// kernel's ephemeral range (32768-60999 by default), so no outgoing connection holds
// one, and clear of the usual 6379/16379 and 7000-7xxx/17000-17xxx of other clusters
const PORT_MIN = 12000;
const PORT_MAX = 16000;
const READY_TIMEOUT_MS = 5000;
const CLI_TIMEOUT_MS = 5000;
const CREATE_TIMEOUT_MS = 30000;
const CLUSTER_OK_TIMEOUT_MS = 20000;
const FAILOVER_TIMEOUT_MS = 15000;
const MIGRATE_TIMEOUT_MS = 15000;
const OPENSSL_TIMEOUT_MS = 10000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn() (async; its truthy result is returned) every stepMs until timeoutMs, then throws. */
async function waitFor(fn, timeoutMs, what, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = null;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`redis-cluster: timed out after ${timeoutMs} ms waiting for ${what}` +
        (last ? ` (last error: ${last.message})` : ''));
    }
    await sleep(stepMs);
  }
}

/** Resolves true if 127.0.0.1:port can be bound now. */
function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A client port P with P and P+10000 (its cluster bus) free, not in `taken`. */
async function freePortPair(taken) {
  for (let i = 0; i < 200; i++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN));
    if (taken.has(port) || taken.has(port + BUS_OFFSET)) continue;
    if (await canBind(port) && await canBind(port + BUS_OFFSET)) {
      taken.add(port);
      taken.add(port + BUS_OFFSET);
      return port;
    }
  }
  throw new Error(`redis-cluster: found no free port P in [${PORT_MIN}, ${PORT_MAX}) with P+${BUS_OFFSET} free`);
}

/**
 * A client certificate (extendedKeyUsage=clientAuth) signed by makeTlsFiles' CA
 * (its key is ca.key next to ca.crt): a node accepts cluster bus connections only
 * from a verified client certificate, whatever --tls-auth-clients says, and the
 * server certificate (serverAuth only) does not pass as one.
 */
function makeClientCert(dir, tlsFiles) {
  const caKey = path.join(path.dirname(tlsFiles.ca), 'ca.key');
  if (!fs.existsSync(caKey)) throw new Error(`redis-cluster: the CA key ${caKey} of makeTlsFiles is missing`);
  const key = path.join(dir, 'client.key');
  const csr = path.join(dir, 'client.csr');
  const cert = path.join(dir, 'client.crt');
  const ext = path.join(dir, 'client.ext');
  fs.writeFileSync(ext, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth,serverAuth',
    '',
  ].join('\n'));
  const openssl = (args) => execFileSync('openssl', args,
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: OPENSSL_TIMEOUT_MS });
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', csr, '-subj', '/CN=redis-cluster-node']);
  openssl(['x509', '-req', '-in', csr, '-CA', tlsFiles.ca, '-CAkey', caKey, '-CAcreateserial',
    '-out', cert, '-days', '2', '-extfile', ext]);
  return { clientCert: cert, clientKey: key };
}

function nodeArgs({ port, dir, password, tls }) {
  const args = ['--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--loglevel', 'warning',
    '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'),
    '--cluster-node-timeout', '1000', '--cluster-port', String(port + BUS_OFFSET),
    // a replica's first sync starts at once (the default waits 5 s for more replicas)
    '--repl-diskless-sync-delay', '0'];
  if (password !== undefined) args.push('--requirepass', password, '--masterauth', password);
  if (tls) {
    args.push('--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-replication', 'yes',
      '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca,
      '--tls-client-cert-file', tls.clientCert, '--tls-client-key-file', tls.clientKey,
      '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  return args;
}

/** The redis-cli flags for TLS and the password. */
function secArgs(cl) {
  const args = [];
  if (cl.tls) args.push('--tls', '--cacert', cl.tls.ca);
  if (cl.password !== undefined) args.push('-a', cl.password, '--no-auth-warning');
  return args;
}

/** The redis-cli flags to reach node (host, port, TLS, password). */
function cliArgs(cl, node) {
  return ['-h', HOST, '-p', String(node.port), ...secArgs(cl)];
}

/** args for an error message: the password after -a / AUTH is left out. */
const shown = (args) => args.map((a, i) => (i > 0 && (args[i - 1] === '-a' || args[i - 1] === 'AUTH') ? '***' : a)).join(' ');

function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed ? `timed out after ${timeoutMs} ms` : `failed (${err.code ?? err.signal})`;
          reject(new Error(`${path.basename(command)} ${shown(args)} ${why}` +
            `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
          return;
        }
        resolve(stdout);
      });
  });
}

/** redis-cli against node; resolves with its stdout (an error reply is text on stdout). */
function redisCli(cl, node, ...args) {
  return run(REDIS_CLI, [...cliArgs(cl, node), ...args.map(String)], CLI_TIMEOUT_MS);
}

const ERROR_REPLY = /^(ERR|WRONGTYPE|MOVED|ASK|NOAUTH|WRONGPASS|NOPERM|CLUSTERDOWN|TRYAGAIN|BUSY|LOADING|READONLY|IOERR|NOREPLICAS|MASTERDOWN|EXECABORT|NOSCRIPT|CROSSSLOT)\b/;

/** redis-cli; throws on an error reply too. */
async function cli(cl, node, ...args) {
  const out = await redisCli(cl, node, ...args);
  if (ERROR_REPLY.test(out)) throw new Error(`redis-cli -p ${node.port} ${shown(args.map(String))}: ${out.trim()}`);
  return out;
}

function alive(node) {
  const proc = node.server && node.server.proc;
  return !!proc && proc.exitCode === null && proc.signalCode === null;
}

const liveNodes = (cl) => cl.nodes.filter(alive);

/** "key:value" lines of INFO / CLUSTER INFO -> object. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * CLUSTER NODES -> [{id, port, flags: Set, masterId, linkState, slots: [[s, e]],
 * migrating: [[slot, id]], importing: [[slot, id]]}]
 */
function parseNodes(text) {
  const out = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const [id, addr, flags, masterId, , , , linkState, ...rest] = f;
    const m = addr.match(/:(\d+)@/);
    const n = {
      id, port: m ? Number(m[1]) : 0, flags: new Set(flags.split(',')), masterId: masterId === '-' ? null : masterId,
      linkState, slots: [], migrating: [], importing: [],
    };
    for (const s of rest) {
      let mm;
      if ((mm = s.match(/^\[(\d+)->-(\w+)\]$/))) n.migrating.push([Number(mm[1]), mm[2]]);
      else if ((mm = s.match(/^\[(\d+)-<-(\w+)\]$/))) n.importing.push([Number(mm[1]), mm[2]]);
      else if ((mm = s.match(/^(\d+)-(\d+)$/))) n.slots.push([Number(mm[1]), Number(mm[2])]);
      else if ((mm = s.match(/^(\d+)$/))) n.slots.push([Number(mm[1]), Number(mm[1])]);
    }
    out.push(n);
  }
  return out;
}

const isFailed = (n) => n.flags.has('fail') || n.flags.has('fail?') || n.flags.has('noaddr');

/** The slot map as node `node` sees it: "id:s-e,s-e;..." of its primaries with slots, sorted. */
function slotSignature(nodes) {
  return nodes.filter((n) => n.flags.has('master') && n.slots.length)
    .map((n) => `${n.id}:${n.slots.map(([s, e]) => `${s}-${e}`).join(',')}`).sort().join(';');
}

const slotCount = (nodes) => nodes.filter((n) => n.flags.has('master'))
  .reduce((acc, n) => acc + n.slots.reduce((a, [s, e]) => a + e - s + 1, 0), 0);

async function clusterNodesOf(cl, node) {
  return parseNodes(await cli(cl, node, 'CLUSTER', 'NODES'));
}

/** The CLUSTER NODES of the first live node that answers. */
async function anyClusterNodes(cl) {
  let last;
  for (const node of liveNodes(cl)) {
    try {
      return await clusterNodesOf(cl, node);
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`redis-cluster: no live node answered CLUSTER NODES${last ? `: ${last.message}` : ''}`);
}

const nodeById = (cl, id) => cl.nodes.find((n) => n.id === id) || null;

/**
 * One check of the live nodes: every one says cluster_state:ok, all see the same
 * owners of all 16384 slots (none failed, no slot migrating or importing), every
 * live replica has its link to its primary up. Returns true or a reason string.
 */
async function healthy(cl, { expectMaster } = {}) {
  const live = liveNodes(cl);
  let sig = null;
  for (const node of live) {
    const info = parseInfo(await cli(cl, node, 'CLUSTER', 'INFO'));
    if (info.cluster_state !== 'ok') return `${node.port}: cluster_state:${info.cluster_state}`;
    const nodes = await clusterNodesOf(cl, node);
    if (slotCount(nodes) !== SLOTS) return `${node.port}: ${slotCount(nodes)} slots covered`;
    const owners = nodes.filter((n) => n.flags.has('master') && n.slots.length);
    if (owners.some(isFailed)) return `${node.port}: an owner of slots is flagged failed`;
    if (nodes.some((n) => n.migrating.length || n.importing.length)) return `${node.port}: a slot is migrating`;
    const s = slotSignature(nodes);
    if (sig === null) sig = s;
    else if (s !== sig) return `${node.port}: sees another slot map`;
    const repl = parseInfo(await cli(cl, node, 'INFO', 'replication'));
    if (repl.role === 'slave' && repl.master_link_status !== 'up') return `${node.port}: master_link_status:${repl.master_link_status}`;
    if (expectMaster === node && repl.role !== 'master') return `${node.port}: role:${repl.role}`;
  }
  return true;
}

async function waitHealthy(cl, timeoutMs, what, opts) {
  let reason = '';
  await waitFor(async () => {
    const h = await healthy(cl, opts);
    reason = h === true ? '' : h;
    return h === true;
  }, timeoutMs, what, 150).catch((err) => {
    throw new Error(`${err.message}${reason ? ` (last: ${reason})` : ''}`);
  });
}

/** Learns each node's id (CLUSTER MYID). */
async function learnIds(cl) {
  await Promise.all(cl.nodes.map(async (node) => {
    node.id = (await cli(cl, node, 'CLUSTER', 'MYID')).trim();
  }));
}

/**
 * Starts the cluster.
 * @returns {Promise<{nodes: [{port, busPort, dir, args, server, pid, id}], password,
 *   tls: null|{ca, wrongCa, cert, key, clientCert, clientKey}, dir, primaries: number, replicasPerPrimary: number, startMs}>}
 */
async function startCluster({ primaries: nPrimaries = 3, replicasPerPrimary = 1, password, tls = false } = {}) {
  if (nPrimaries < 3) throw new Error('redis-cluster: redis-cli --cluster create needs at least 3 primaries');
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-redis-cluster-'));
  const cl = { nodes: [], password, tls: null, dir, primaries: nPrimaries, replicasPerPrimary };
  try {
    if (tls) {
      const files = makeTlsFiles(dir);
      cl.tls = { ...files, ...makeClientCert(dir, files) };
    }
    const taken = new Set();
    const total = nPrimaries * (1 + replicasPerPrimary);
    for (let i = 0; i < total; i++) {
      const ndir = path.join(dir, `node-${i}`);
      fs.mkdirSync(ndir);
      cl.nodes.push({ index: i, dir: ndir });
    }
    await Promise.all(cl.nodes.map(async (node) => {
      // a port found free can be taken before redis-server binds it: another pair then
      for (let attempt = 1; ; attempt++) {
        node.port = await freePortPair(taken);
        node.busPort = node.port + BUS_OFFSET;
        node.args = nodeArgs({ port: node.port, dir: node.dir, password, tls: cl.tls });
        try {
          node.server = await startServer({ command: REDIS_BIN, args: node.args, port: node.port, readyTimeoutMs: READY_TIMEOUT_MS });
          break;
        } catch (err) {
          if (attempt >= 3 || !/exited early/.test(err.message)) throw err;
        }
      }
      node.pid = node.server.proc.pid;
    }));
    await learnIds(cl);
    await run(REDIS_CLI, [...secArgs(cl), '--cluster', 'create',
      ...cl.nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', String(replicasPerPrimary), '--cluster-yes'],
    CREATE_TIMEOUT_MS);
    await waitHealthy(cl, CLUSTER_OK_TIMEOUT_MS, 'cluster_state:ok, one slot map and every replica linked on every node');
    // every primary has its replicas attached (connected_slaves)
    await waitFor(async () => {
      const nodes = await anyClusterNodes(cl);
      const ps = nodes.filter((n) => n.flags.has('master') && n.slots.length);
      if (ps.length !== nPrimaries) return false;
      for (const p of ps) {
        const info = parseInfo(await cli(cl, nodeById(cl, p.id), 'INFO', 'replication'));
        if (Number(info.connected_slaves) !== replicasPerPrimary) return false;
      }
      return true;
    }, CLUSTER_OK_TIMEOUT_MS, `${replicasPerPrimary} connected replica(s) on each primary`);
    for (const p of await primaries(cl)) p.node.startedAsPrimary = true;
    cl.startMs = Date.now() - t0;
    return cl;
  } catch (err) {
    const logs = cl.nodes.filter((n) => n.server).map((n) => `--- redis-server :${n.port} ---\n${n.server.stderr()}`).join('\n');
    await stopCluster(cl);
    err.message += logs ? `\n${logs}` : '';
    throw err;
  }
}

/**
 * redis[s]://[:password@]127.0.0.1:<port>: the first node (in cl.nodes order) that
 * was a primary at start-up and is still running, else the first running node.
 */
function clusterUrl(cl, { password } = {}) {
  const scheme = cl.tls ? 'rediss' : 'redis';
  const auth = password !== undefined ? `:${encodeURIComponent(password)}@` : '';
  const node = cl.nodes.find((n) => n.startedAsPrimary && alive(n)) || cl.nodes.find(alive) || cl.nodes[0];
  return `${scheme}://${auth}${HOST}:${node.port}`;
}

/** "127.0.0.1:p1,127.0.0.1:p2,..." of every node. */
function seedList(cl) {
  return cl.nodes.map((n) => `${HOST}:${n.port}`).join(',');
}

/** The primaries that own slots now: [{node, id, slots: [[start, end], ...]}], by first slot. */
async function primaries(cl) {
  const nodes = await anyClusterNodes(cl);
  return nodes.filter((n) => n.flags.has('master') && n.slots.length && !n.flags.has('fail'))
    .map((n) => ({ node: nodeById(cl, n.id), id: n.id, slots: n.slots.slice().sort((a, b) => a[0] - b[0]) }))
    .sort((a, b) => a.slots[0][0] - b.slots[0][0]);
}

/** The live replicas of primaryNode (node objects), as a live node sees them. */
async function replicasOf(cl, primaryNode) {
  const nodes = await anyClusterNodes(cl);
  return nodes.filter((n) => n.flags.has('slave') && n.masterId === primaryNode.id && !isFailed(n))
    .map((n) => nodeById(cl, n.id)).filter((n) => n && alive(n));
}

/** Its first live replica, or null. */
async function replicaOf(cl, primaryNode) {
  return (await replicasOf(cl, primaryNode))[0] || null;
}

/** CLUSTER KEYSLOT key (asked to a live node). */
async function keySlot(cl, key) {
  const node = liveNodes(cl)[0];
  if (!node) throw new Error('redis-cluster: no live node');
  const slot = Number((await cli(cl, node, 'CLUSTER', 'KEYSLOT', key)).trim());
  if (!Number.isInteger(slot)) throw new Error(`redis-cluster: CLUSTER KEYSLOT ${key}: not a number`);
  return slot;
}

async function ownerOfSlot(cl, slot) {
  const p = (await primaries(cl)).find((x) => x.slots.some(([s, e]) => slot >= s && slot <= e));
  return p ? p.node : null;
}

/** The node that is the primary of key's slot now (null if none). */
async function ownerOf(cl, key) {
  return ownerOfSlot(cl, await keySlot(cl, key));
}

/** PUBSUB SHARDCHANNELS on node: the shard channels with a subscriber there. */
async function shardChannels(cl, node) {
  const out = await cli(cl, node, 'PUBSUB', 'SHARDCHANNELS');
  return out.split('\n').filter((l) => l !== '');
}

/** kill -9; resolves once the process is gone (at most ~3 s). */
async function killNode(cl, node) {
  if (!alive(node)) return;
  node.server.proc.kill('SIGKILL');
  await Promise.race([node.server.exited, sleep(3000)]);
  if (alive(node)) throw new Error(`redis-cluster: node :${node.port} still alive 3 s after SIGKILL`);
}

/**
 * Starts a killed/stopped node again with the same port, arguments and nodes.conf;
 * waits (15 s at most) until every live node is ok with one slot map and every
 * replica (the restarted node too, if it comes back as one) has its link up.
 * @returns {Promise<{node, role: 'master'|'slave', ms: number}>}
 */
async function restartNode(cl, node) {
  if (alive(node)) throw new Error(`redis-cluster: node :${node.port} is running`);
  const t0 = Date.now();
  node.server = await startServer({ command: REDIS_BIN, args: node.args, port: node.port, readyTimeoutMs: READY_TIMEOUT_MS });
  node.pid = node.server.proc.pid;
  await waitHealthy(cl, FAILOVER_TIMEOUT_MS, `the cluster to be healthy again after restarting :${node.port}`);
  const role = parseInfo(await cli(cl, node, 'INFO', 'replication')).role;
  return { node, role, ms: Date.now() - t0 };
}

/**
 * kill -9 primaryNode, then wait (15 s at most) until its replica is a primary
 * (role:master) and every surviving node says cluster_state:ok with one slot map.
 * @returns {Promise<{promoted: node, ms: number}>} ms from the kill
 */
async function failover(cl, primaryNode) {
  const replica = await replicaOf(cl, primaryNode);
  if (!replica) throw new Error(`redis-cluster: primary :${primaryNode.port} has no live replica`);
  const t0 = Date.now();
  await killNode(cl, primaryNode);
  let reason = '';
  await waitFor(async () => {
    const repl = parseInfo(await cli(cl, replica, 'INFO', 'replication'));
    if (repl.role !== 'master') { reason = `replica :${replica.port} is still role:${repl.role}`; return false; }
    const h = await healthy(cl, { expectMaster: replica });
    reason = h === true ? '' : h;
    return h === true;
  }, FAILOVER_TIMEOUT_MS - (Date.now() - t0), `the promotion of :${replica.port} after the kill of :${primaryNode.port}`)
    .catch((err) => { throw new Error(`${err.message}${reason ? ` (last: ${reason})` : ''}`); });
  return { promoted: replica, ms: Date.now() - t0 };
}

/**
 * Moves `slot` (and its keys) from its owner to the primary toNode, on the live
 * cluster, the way `redis-cli --cluster reshard` does: SETSLOT IMPORTING on the
 * target, MIGRATING on the source, GETKEYSINSLOT + MIGRATE until empty, SETSLOT NODE
 * on the target, the source and every other primary; then waits until every live
 * node sees the target as the owner. pauseMsBetweenSteps holds the slot in each
 * intermediate state that long (the ASK window: after the keys moved, before NODE).
 * @returns {Promise<{slot, from: node, to: node, keys: number, ms: number}>}
 */
async function migrateSlot(cl, slot, toNode, { pauseMsBetweenSteps = 0 } = {}) {
  const t0 = Date.now();
  const from = await ownerOfSlot(cl, slot);
  if (!from) throw new Error(`redis-cluster: no primary owns slot ${slot}`);
  if (from === toNode) return { slot, from, to: toNode, keys: 0, ms: 0 };
  const pause = () => (pauseMsBetweenSteps > 0 ? sleep(pauseMsBetweenSteps) : null);
  const deadline = t0 + MIGRATE_TIMEOUT_MS + 3 * pauseMsBetweenSteps;
  await cli(cl, toNode, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
  await cli(cl, from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toNode.id);
  await pause();
  let keys = 0;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`redis-cluster: migrating the keys of slot ${slot} took too long`);
    const batch = (await cli(cl, from, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)).split('\n').filter((k) => k !== '');
    if (!batch.length) break;
    const auth = cl.password !== undefined ? ['AUTH', cl.password] : [];
    const out = await cli(cl, from, 'MIGRATE', HOST, toNode.port, '', 0, 5000, ...auth, 'KEYS', ...batch);
    if (!/^(OK|NOKEY)/.test(out.trim())) throw new Error(`redis-cluster: MIGRATE of slot ${slot}: ${out.trim()}`);
    keys += batch.length;
  }
  await pause();
  await cli(cl, toNode, 'CLUSTER', 'SETSLOT', slot, 'NODE', toNode.id);
  await cli(cl, from, 'CLUSTER', 'SETSLOT', slot, 'NODE', toNode.id);
  for (const p of await primaries(cl)) {
    if (p.node && p.node !== toNode && p.node !== from && alive(p.node)) {
      await cli(cl, p.node, 'CLUSTER', 'SETSLOT', slot, 'NODE', toNode.id);
    }
  }
  await waitFor(async () => {
    for (const node of liveNodes(cl)) {
      const owner = (await clusterNodesOf(cl, node))
        .find((n) => n.flags.has('master') && n.slots.some(([s, e]) => slot >= s && slot <= e));
      if (!owner || owner.id !== toNode.id) return false;
    }
    return true;
  }, Math.max(1000, deadline - Date.now()), `every live node to see :${toNode.port} as the owner of slot ${slot}`);
  return { slot, from, to: toNode, keys, ms: Date.now() - t0 };
}

/** SIGTERM every node (SIGKILL after 3 s), remove the dirs. Safe twice / on a partial cluster. */
async function stopCluster(cl) {
  if (!cl) return;
  await Promise.all(cl.nodes.map(async (node) => {
    if (node.server && alive(node)) {
      try { process.kill(node.pid, 'SIGCONT'); } catch (_) { /* already gone */ }
      await stopServer(node.server);
    }
  }));
  if (cl.dir) fs.rmSync(cl.dir, { recursive: true, force: true });
}

module.exports = {
  startCluster,
  stopCluster,
  clusterUrl,
  seedList,
  redisCli,
  primaries,
  replicaOf,
  replicasOf,
  keySlot,
  ownerOf,
  shardChannels,
  killNode,
  restartNode,
  failover,
  migrateSlot,
};
