'use strict';
/*
 * Helpers to run a real `redis-server` for the integration tests, on a free
 * loopback port, without persistence (--save '' --appendonly no) and with its
 * working directory in a fresh temp dir:
 *   - startRedis({password, tls}):  start; with tls, generates a CA and a server
 *                                   certificate for 127.0.0.1/localhost and listens
 *                                   on the TLS port only (--port 0 --tls-port P)
 *   - killRedis(r):                 kill -9 and wait for the exit
 *   - restartRedis(r):              start again with the same arguments and port
 *   - pauseRedis(r) / resumeRedis(r): SIGSTOP / SIGCONT
 *   - stopRedis(r):                 SIGTERM (SIGKILL after 3 s) and remove the temp dir
 *   - redisUrl(r, {user, password, db}): the redis[s]:// URL (credentials percent-encoded)
 * Every step is bounded in time.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { HOST, freePort, startServer, stopServer } = require('./server');

const REDIS_BIN = process.env.REDIS_SERVER || 'redis-server';
const OPENSSL_TIMEOUT_MS = 10000;
const READY_TIMEOUT_MS = 5000;

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: OPENSSL_TIMEOUT_MS });
}

/** A self-signed CA (P-256) named `name` in dir: {cert, key}. */
function makeCa(dir, name) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert, key };
}

/**
 * CA, server certificate for IP:127.0.0.1 and DNS:localhost signed by it, and
 * an unrelated CA (to test verification failures). Paths in dir.
 */
function makeTlsFiles(dir) {
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.crt');
  const ext = path.join(dir, 'server.ext');
  fs.writeFileSync(ext, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-out', cert, '-days', '2', '-extfile', ext], dir);
  return { ca: ca.cert, wrongCa: other.cert, cert, key };
}

function redisArgs({ port, dir, password, tls }) {
  const args = ['--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--loglevel', 'warning'];
  if (password !== undefined) args.push('--requirepass', password);
  if (tls) {
    args.push('--port', '0', '--tls-port', String(port),
      '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca,
      '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  return args;
}

async function spawnRedis(r) {
  r.server = await startServer({ command: REDIS_BIN, args: r.args, port: r.port, readyTimeoutMs: READY_TIMEOUT_MS });
  r.pid = r.server.proc.pid;
  return r;
}

/**
 * Starts redis-server. opts: {password?: string, tls?: boolean}.
 * @returns {Promise<{port, dir, tls: null|{ca, wrongCa, cert, key}, password, args, server, pid}>}
 */
async function startRedis({ password, tls = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-redis-'));
  try {
    const port = await freePort();
    const tlsFiles = tls ? makeTlsFiles(dir) : null;
    const r = { port, dir, tls: tlsFiles, password, args: redisArgs({ port, dir, password, tls: tlsFiles }) };
    return await spawnRedis(r);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function alive(r) {
  const { proc } = r.server;
  return proc.exitCode === null && proc.signalCode === null;
}

/** kill -9; resolves once the process is gone (at most ~3 s). */
async function killRedis(r) {
  if (!alive(r)) return;
  r.server.proc.kill('SIGKILL');
  await Promise.race([r.server.exited, new Promise((res) => setTimeout(res, 3000))]);
}

/** Starts redis-server again on the same port with the same arguments. */
async function restartRedis(r) {
  await killRedis(r);
  return spawnRedis(r);
}

function pauseRedis(r) {
  process.kill(r.pid, 'SIGSTOP');
}

function resumeRedis(r) {
  process.kill(r.pid, 'SIGCONT');
}

/** SIGCONT (in case it is paused), SIGTERM, SIGKILL after 3 s; removes the dir. */
async function stopRedis(r) {
  if (!r) return;
  if (r.server && alive(r)) {
    try { resumeRedis(r); } catch (_) { /* already gone */ }
    await stopServer(r.server);
  }
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** redis[s]://[[user]:password@]127.0.0.1:port[/db] */
function redisUrl(r, { user, password, db } = {}) {
  const scheme = r.tls ? 'rediss' : 'redis';
  let auth = '';
  if (password !== undefined) auth = `${user ? encodeURIComponent(user) : ''}:${encodeURIComponent(password)}@`;
  return `${scheme}://${auth}${HOST}:${r.port}${db !== undefined ? `/${db}` : ''}`;
}

module.exports = {
  startRedis,
  killRedis,
  restartRedis,
  pauseRedis,
  resumeRedis,
  stopRedis,
  redisUrl,
  makeTlsFiles,
};
