'use strict';
/*
 * Helpers for the integration tests:
 *   - freePort():        a free TCP port on 127.0.0.1
 *   - startServer():     spawn a server process and wait until it accepts TCP
 *   - startTarget():     start the server under test (C binary or Node reference)
 *   - stopServer():      SIGTERM, then SIGKILL after 3 s; resolves {code, signal}
 *   - httpRequest():     tiny raw HTTP client (agent:false) -> {status, headers, body}
 *
 * Target selection (env):
 *   SIO_TARGET=ref          -> node tests/ref/conformance.js (reference, engine.io 6)
 *   otherwise (default)     -> the C binary, SIO_CONFORMANCE_BIN or $SIO_BUILD_DIR/sio-conformance
 *   SIO_BUILD_DIR           -> where the C binaries are (default <repo>/build); CI points it
 *                              at the ASan/UBSan build for a second run of every suite
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const HOST = '127.0.0.1';
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const REF_SCRIPT = path.join(REPO_ROOT, 'tests', 'ref', 'conformance.js');

/** 'ref' when SIO_TARGET=ref, else 'c'. */
function targetName() {
  return process.env.SIO_TARGET === 'ref' ? 'ref' : 'c';
}
const isRef = () => targetName() === 'ref';

/** Directory of the C binaries under test. */
function buildDir() {
  return process.env.SIO_BUILD_DIR ? path.resolve(process.env.SIO_BUILD_DIR) : path.join(REPO_ROOT, 'build');
}

/** Path of a C binary in the build directory, e.g. binPath('sio-server'). */
function binPath(name) {
  return path.join(buildDir(), name);
}

function conformanceBin() {
  return process.env.SIO_CONFORMANCE_BIN
    ? path.resolve(process.env.SIO_CONFORMANCE_BIN)
    : binPath('sio-conformance');
}

/** Find a free loopback port (bind to port 0, read it back, release it). */
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

function tryConnect(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const live = new Set();
process.once('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
});

/**
 * Spawn `command args...` and wait until 127.0.0.1:port accepts TCP.
 * Rejects (with the process's stderr) if it exits early or does not listen
 * within readyTimeoutMs.
 *
 * @returns {Promise<{proc, port, url, stderr(): string, stdout(): string, exited: Promise<{code, signal}>}>}
 */
function startServer({ command, args = [], env = {}, port, readyTimeoutMs = 10000, cwd = REPO_ROOT }) {
  return new Promise((resolve, reject) => {
    if (!Number.isInteger(port)) {
      reject(new Error('startServer: port is required'));
      return;
    }
    let stderr = '';
    let stdout = '';
    let settled = false;
    let exitInfo = null;
    const proc = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { if (stdout.length < 65536) stdout += d; });
    proc.stderr.on('data', (d) => { if (stderr.length < 65536) stderr += d; });

    const exited = new Promise((res) => {
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        exitInfo = { code, signal };
        res(exitInfo);
      });
    });

    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (!exitInfo) proc.kill('SIGKILL');
      reject(new Error(`${msg}\n--- stderr of ${path.basename(command)} ---\n${stderr}`));
    };
    proc.once('error', (err) => fail(`failed to spawn ${command}: ${err.message}`));
    exited.then(({ code, signal }) =>
      fail(`${command} exited early (code ${code}, signal ${signal})`));

    const deadline = setTimeout(
      () => fail(`${command} did not accept TCP on ${HOST}:${port} within ${readyTimeoutMs} ms`),
      readyTimeoutMs,
    );

    (async () => {
      while (!settled) {
        if (await tryConnect(port)) {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve({
            proc,
            port,
            url: `http://${HOST}:${port}`,
            exited,
            stderr: () => stderr,
            stdout: () => stdout,
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });
}

/** SIGTERM, then SIGKILL after killAfterMs. Resolves {code, signal}. */
async function stopServer(server, killAfterMs = 3000) {
  if (!server) return null;
  const { proc, exited } = server;
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }, killAfterMs);
  const info = await exited;
  clearTimeout(timer);
  return info;
}

/**
 * Start the server under test on a fresh free port.
 * @param {{args?: string[], env?: object}} [opts] extra args / env
 */
async function startTarget({ args = [], env = {}, readyTimeoutMs } = {}) {
  const port = await freePort();
  let command;
  let fullArgs;
  if (isRef()) {
    command = process.execPath;
    fullArgs = [REF_SCRIPT, '--port', String(port), ...args];
  } else {
    command = conformanceBin();
    if (!fs.existsSync(command)) {
      throw new Error(`${command} does not exist: build it first, set SIO_CONFORMANCE_BIN, ` +
        'or run the suite against the Node reference with SIO_TARGET=ref');
    }
    fullArgs = ['--port', String(port), ...args];
  }
  const server = await startServer({ command, args: fullArgs, env, port, readyTimeoutMs });
  server.target = targetName();
  return server;
}

/**
 * Raw HTTP request to 127.0.0.1 with agent:false (one TCP connection per
 * request, no pooling, no automatic Accept-Encoding).
 *
 * @param {object} o
 * @param {number} o.port
 * @param {string} [o.method='GET']
 * @param {string} o.path
 * @param {object} [o.headers]
 * @param {string|Buffer} [o.body]
 * @param {number} [o.timeoutMs=5000]  the whole exchange must finish in this time
 * @returns {Promise<{status:number, headers:object, body:string, raw:Buffer}>}
 */
function httpRequest({ port, method = 'GET', path: reqPath, headers = {}, body, timeoutMs = 5000 }) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err); else resolve(value);
    };
    const hdrs = { ...headers };
    if (body !== undefined && hdrs['Content-Length'] === undefined && hdrs['content-length'] === undefined) {
      hdrs['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: HOST, port, method, path: reqPath, headers: hdrs, agent: false });
    const timer = setTimeout(() => {
      finish(new Error(`HTTP ${method} ${reqPath} timed out after ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        finish(null, { status: res.statusCode, headers: res.headers, body: raw.toString('utf8'), raw });
      });
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new Error(`HTTP ${method} ${reqPath}: response aborted`)));
    });
    // Errors after the response was fully received (e.g. EPIPE/ECONNRESET while
    // still writing a request body the server refused) are ignored.
    req.on('error', (err) => finish(err));
    if (body !== undefined) req.end(body); else req.end();
  });
}

module.exports = {
  HOST,
  REPO_ROOT,
  REF_SCRIPT,
  targetName,
  isRef,
  conformanceBin,
  tryConnect,
  buildDir,
  binPath,
  freePort,
  startServer,
  stopServer,
  startTarget,
  httpRequest,
};
