'use strict';
/*
 * HAProxy on loopback in front of N local nodes, configured like the deployed
 * load balancer: the config is generated from deploy/haproxy/haproxy.cfg by
 * replacing only
 *   - the `bind` lines of the frontends  -> bind 127.0.0.1:<free port>
 *   - the `server` lines of the backend  -> one per given port, 127.0.0.1:<port>, with
 *     the deployed server options (cookie <name>, check, ...) minus the DNS-only ones
 *     (resolvers, init-addr), and the `resolvers` section (no DNS on loopback);
 * and adding a stats socket (admin level) to `global` so tests can read server
 * states and drain / disable servers. Every other directive (balance, cookie io
 * prefix, health checks, timeouts) is the deployed one.
 *
 *   const h = await startHaproxy({ ports: [p1, p2, p3] });   // waits until all servers are UP
 *   h.url, h.port, h.serverNames ('sio1'..), h.cookieIds, h.cfgPath
 *   await h.serverStates()           -> { sio1: 'UP', sio2: 'DOWN', ... }
 *   await h.waitForStates({ sio1: 'DOWN' }, 8000)
 *   await h.command('set server sio/sio1 state drain')
 *   await stopHaproxy(h)
 *
 *   renderConfig({ ports, listenPort, statsSocket })  -> config text
 *   checkConfig(file)                -> { ok, status, output } of `haproxy -c -f file`
 *   haproxyAvailable()               -> true when `haproxy -v` runs
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { HOST, REPO_ROOT, freePort, startServer, stopServer } = require('./server');

const DEPLOYED_CONFIG = path.join(REPO_ROOT, 'deploy', 'haproxy', 'haproxy.cfg');

function haproxyBin() {
  return process.env.HAPROXY_BIN || 'haproxy';
}

function haproxyAvailable() {
  const r = spawnSync(haproxyBin(), ['-v'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0;
}

/** `haproxy -c -f file`: { ok, status, output }. */
function checkConfig(file) {
  const r = spawnSync(haproxyBin(), ['-c', '-f', file], { encoding: 'utf8', timeout: 10000 });
  return { ok: r.status === 0, status: r.status, output: `${r.stdout || ''}${r.stderr || ''}${r.error ? r.error.message : ''}` };
}

const SECTION_RE = /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|mailers|program|http-errors|ring|cache)\b\s*(\S*)/;

/** Splits a config into sections: [{ kind, name, header, lines: [...] }] (a preamble has kind null). */
function parseSections(text) {
  const sections = [{ kind: null, name: '', header: null, lines: [] }];
  for (const line of text.split('\n')) {
    const m = SECTION_RE.exec(line);
    if (m) sections.push({ kind: m[1], name: m[2], header: line, lines: [] });
    else sections[sections.length - 1].lines.push(line);
  }
  return sections;
}

/** Options of a `server` line after the address, without the DNS-only ones. */
function loopbackServerOptions(tokens, newCookie) {
  const out = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === 'resolvers' || t === 'init-addr' || t === 'resolve-prefer' || t === 'resolve-opts' || t === 'resolve-net') { i++; continue; }
    if (t === 'cookie') { out.push('cookie', newCookie); i++; continue; }
    out.push(t);
  }
  return out;
}

/**
 * The loopback variant of the deployed config (see the header comment).
 * @param {{ports: number[], listenPort: number, statsSocket?: string, source?: string, host?: string}} o
 */
function renderConfig({ ports, listenPort, statsSocket, source, host = HOST }) {
  if (!Array.isArray(ports) || ports.length === 0) throw new Error('renderConfig: ports is required');
  const text = source !== undefined ? source : fs.readFileSync(DEPLOYED_CONFIG, 'utf8');
  const sections = parseSections(text);
  const out = [];
  let backendsWithServers = 0;
  for (const s of sections) {
    if (s.kind === 'resolvers') continue;
    if (s.header !== null) out.push(s.header);
    let lines = s.lines;
    if (s.kind === 'global' && statsSocket) {
      lines = [`    stats socket ${statsSocket} mode 600 level admin`, ...lines];
    }
    if (s.kind === 'frontend' || s.kind === 'listen') {
      lines = lines.map((l) => (/^\s*bind\s/.test(l) ? `    bind ${host}:${listenPort}` : l));
    }
    const serverIdx = lines.map((l, i) => (/^\s*server\s/.test(l) ? i : -1)).filter((i) => i >= 0);
    if ((s.kind === 'backend' || s.kind === 'listen') && serverIdx.length > 0) {
      backendsWithServers++;
      const template = lines[serverIdx[0]].trim().split(/\s+/); // server <name> <addr> <options...>
      const generated = ports.map((port, i) => {
        const name = `sio${i + 1}`;
        return `    server ${name} ${host}:${port} ${loopbackServerOptions(template.slice(3), name).join(' ')}`.trimEnd();
      });
      const first = serverIdx[0];
      lines = lines.filter((_, i) => !serverIdx.includes(i));
      lines.splice(first, 0, ...generated);
    }
    out.push(...lines);
  }
  if (backendsWithServers !== 1) throw new Error(`renderConfig: expected one backend with server lines, found ${backendsWithServers}`);
  return out.join('\n');
}

/** Sends one command to the admin socket; resolves its whole answer. */
function socketCommand(socketPath, cmd, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    let data = '';
    const sock = net.connect({ path: socketPath });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`haproxy socket: "${cmd}" timed out`)); }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.end(`${cmd}\n`));
    sock.on('data', (d) => { data += d; });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); resolve(data); });
  });
}

/** { serverName: status } of the backend, from `show stat` (UP, DOWN, MAINT, DRAIN, "UP 1/2"...). */
async function readServerStates(socketPath, backend) {
  const csv = await socketCommand(socketPath, 'show stat');
  const lines = csv.split('\n').filter(Boolean);
  const header = lines[0].replace(/^# /, '').split(',');
  const col = (n) => header.indexOf(n);
  const states = {};
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[col('pxname')] !== backend) continue;
    const sv = f[col('svname')];
    if (sv === 'FRONTEND' || sv === 'BACKEND') continue;
    states[sv] = f[col('status')];
  }
  return states;
}

/**
 * Starts HAProxy on a free loopback port in front of 127.0.0.1:<ports>.
 * With waitUp (default), resolves once every server's health check passed.
 */
async function startHaproxy({ ports, listenPort, waitUp = true, readyTimeoutMs = 8000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-haproxy-'));
  const port = listenPort || await freePort();
  const statsSocket = path.join(dir, 'admin.sock');
  const cfgPath = path.join(dir, 'haproxy.cfg');
  const text = renderConfig({ ports, listenPort: port, statsSocket });
  fs.writeFileSync(cfgPath, text);
  const backend = parseSections(text).find((s) => s.kind === 'backend' && s.lines.some((l) => /^\s*server\s/.test(l))).name;
  let server;
  try {
    server = await startServer({ command: haproxyBin(), args: ['-db', '-f', cfgPath], port, readyTimeoutMs });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const serverNames = ports.map((_, i) => `sio${i + 1}`);
  const h = Object.assign(server, {
    dir,
    cfgPath,
    statsSocket,
    backend,
    serverNames,
    cookieIds: serverNames,
    command: (cmd) => socketCommand(statsSocket, cmd),
    serverStates: () => readServerStates(statsSocket, backend),
    async waitForStates(want, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      let last = {};
      while (Date.now() < deadline) {
        try {
          last = await readServerStates(statsSocket, backend);
        } catch (e) {
          // haproxy may listen on its port before it has created the stats socket
          if (e.code !== 'ENOENT' && e.code !== 'ECONNREFUSED') throw e;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (Object.entries(want).every(([n, s]) => last[n] === s)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`haproxy: servers did not reach ${JSON.stringify(want)} within ${timeoutMs} ms (now ${JSON.stringify(last)})`);
    },
  });
  if (waitUp) {
    try {
      await h.waitForStates(Object.fromEntries(serverNames.map((n) => [n, 'UP'])), readyTimeoutMs);
    } catch (e) {
      await stopHaproxy(h);
      throw e;
    }
  }
  return h;
}

async function stopHaproxy(h) {
  if (!h) return null;
  const info = await stopServer(h, 2000);
  if (h.dir) fs.rmSync(h.dir, { recursive: true, force: true });
  return info;
}

module.exports = {
  DEPLOYED_CONFIG,
  haproxyBin,
  haproxyAvailable,
  checkConfig,
  parseSections,
  renderConfig,
  startHaproxy,
  stopHaproxy,
};
