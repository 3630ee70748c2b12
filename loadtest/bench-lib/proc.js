'use strict';
/*
 * Processes of the benchmark and what /proc says about them.
 *
 *   spawnTracked(name, cmd, args, opts)  start a child (killed with the bench: a
 *                                        parent-death signal through setpriv, and
 *                                        stopAll() on exit, Ctrl-C and errors)
 *   stopProc(p, graceMs)                 SIGTERM, SIGKILL after graceMs; resolves on exit
 *   stopAll()                            every child still running
 *   freePort(), waitPort(port, ms, p)    loopback ports
 *   httpGet(port, path, timeoutMs)       GET on loopback: {status, body} or {status: 0, error}
 *   cleanEnv()                           the developer's sio variables unset, for spawn's env
 *   cpuTicks(pid), threadTicks(pid), rssKb(pid), fdCount(pid), socketCount(pid),
 *   childrenOf(pid), systemBusy()        /proc readers (ticks are 1/CLK_TCK s)
 */
const http = require('node:http');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

const HOST = '127.0.0.1';
let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch (_) { /* 100 on Linux */ }

let HAVE_SETPRIV = false;
try {
  HAVE_SETPRIV = /pdeathsig/.test(execFileSync('setpriv', ['--help'], { encoding: 'utf8' }));
} catch (_) { /* no setpriv: stopAll() still runs on exit and signals */ }

const live = new Set();

function spawnTracked(name, cmd, args, { env = {}, cwd, logFile, onStderrLine, onStdoutLine, stdin = false } = {}) {
  const full = HAVE_SETPRIV ? ['setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
  const proc = spawn(full[0], full[1], {
    cwd,
    env: { ...process.env, ...env },
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const p = { name, proc, pid: proc.pid, stdout: '', stderr: '', exit: null };
  live.add(p);
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  const lines = (stream, key, cb) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      if (log) log.write(d);
      if (p[key].length < 1 << 20) p[key] += d;
      if (!cb) return;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try { cb(line); } catch (e) { console.error(`bench: ${name}: ${e.stack}`); }
      }
    });
  };
  lines(proc.stdout, 'stdout', onStdoutLine);
  lines(proc.stderr, 'stderr', onStderrLine);
  p.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(p);
      p.exit = { code, signal };
      if (log) log.end();
      resolve(p.exit);
    });
    proc.once('error', (err) => {
      live.delete(p);
      p.exit = { code: -1, signal: null, error: err.message };
      resolve(p.exit);
    });
  });
  return p;
}

async function stopProc(p, graceMs = 3000) {
  if (!p || p.exit) return p && p.exit;
  try { p.proc.kill('SIGTERM'); } catch (_) { /* gone */ }
  const t = setTimeout(() => { try { p.proc.kill('SIGKILL'); } catch (_) { /* gone */ } }, graceMs);
  const r = await p.exited;
  clearTimeout(t);
  return r;
}

async function stopAll() {
  await Promise.all([...live].map((p) => stopProc(p, 2000)));
}

function killAllNow() {
  for (const p of live) {
    try { p.proc.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
}
process.on('exit', killAllNow);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Distinct free ports (a port handed out once is not handed out again in this run). */
const given = new Set();
async function freePorts(n) {
  const out = [];
  while (out.length < n) {
    const port = await freePort();
    if (!given.has(port)) {
      given.add(port);
      out.push(port);
    }
  }
  return out;
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (ok) => { s.removeAllListeners(); s.on('error', () => {}); s.destroy(); resolve(ok); };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until HOST:port accepts TCP; fails when p exits or after ms. */
async function waitPort(port, ms, p) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (p && p.exit) throw new Error(`${p.name} exited (${JSON.stringify(p.exit)}) before listening on ${port}:\n${p.stderr.slice(-2000)}`);
    if (await tryConnect(port)) return;
    await sleep(100);
  }
  throw new Error(`${p ? p.name : 'server'} did not listen on ${port} within ${ms} ms:\n${p ? p.stderr.slice(-2000) : ''}`);
}

/* ---- /proc --------------------------------------------------------------- */

function readStat(file) {
  const s = fs.readFileSync(file, 'utf8');
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const f = s.slice(close + 2).split(' '); /* f[0] is field 3 (state) */
  return { comm, utime: Number(f[11]), stime: Number(f[12]) };
}

/** {utime, stime} in ticks of the whole process (every thread), or null when gone. */
function cpuTicks(pid) {
  try {
    const { utime, stime } = readStat(`/proc/${pid}/stat`);
    return { utime, stime };
  } catch (_) {
    return null;
  }
}

/** [{tid, comm, utime, stime}] of every live thread. */
function threadTicks(pid) {
  let tids = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch (_) { return []; }
  const out = [];
  for (const tid of tids) {
    try { out.push({ tid: Number(tid), ...readStat(`/proc/${pid}/task/${tid}/stat`) }); } catch (_) { /* gone */ }
  }
  return out;
}

function statusField(pid, field) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  } catch (_) {
    return null;
  }
}
const rssKb = (pid) => statusField(pid, 'VmRSS');

function fdCount(pid) {
  try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch (_) { return null; }
}

/** Open sockets of a process (fds pointing at socket:[...]). */
function socketCount(pid) {
  let n = 0;
  let fds = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (_) { return null; }
  for (const fd of fds) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++; } catch (_) { /* closed */ }
  }
  return n;
}

function childrenOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch (_) {
    return [];
  }
}

/** Busy and total ticks of the whole machine (all CPUs) from /proc/stat. */
function systemBusy() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] || 0);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/* variables a developer's shell might hold that would change the servers under test */
const FOREIGN = /^(PORT|API_|BIND_ADDR|JWT_|NAMESPACES|SUBSCRIBE_PATTERNS|PUBLISH_PATTERNS|CORS_ORIGINS|REDIS_|SIO_PATH|PING_|MAX_|RECOVERY_|MAILBOX_|EVENT_|PROXY_|CONNECT_PROXY_|TRANSPORTS|STICKY_COOKIE|PER_MESSAGE_DEFLATE|HTTP_COMPRESSION|PARSER|ALLOW_EIO3|UPGRADE_TIMEOUT|CONNECT_TIMEOUT|HEALTH_|DRAIN_SECONDS|NODE_ID|LOG_LEVEL|PLAIN_WS_|METRICS_EMF|ECS_)/;

/** process.env's sio variables, each set to undefined (left out by spawn). */
function cleanEnv() {
  const out = {};
  for (const k of Object.keys(process.env)) if (FOREIGN.test(k)) out[k] = undefined;
  return out;
}

/** GET on loopback: {status, body}, or {status: 0, error} (never rejects). */
function httpGet(port, pathName, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: pathName, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
  });
}

module.exports = {
  httpGet, cleanEnv, HOST, CLK_TCK, spawnTracked, stopProc, stopAll, killAllNow, freePort, freePorts, waitPort, sleep,
  cpuTicks, threadTicks, rssKb, fdCount, socketCount, childrenOf, systemBusy,
};
