'use strict';
/*
 * Checks of the deployment artifacts (no Docker engine, no AWS: structure, cross-file
 * consistency and what can run here):
 *
 *   Dockerfile               stages, packages (each must exist in Debian bookworm: apt-cache;
 *                            the runtime stage must cover the shared libraries of the built
 *                            binary: ldd + dpkg -S), non-root USER, HEALTHCHECK, EXPOSE, ...
 *   docker-compose.yml       services, ports, and every environment variable set on the
 *                            sio services is one that `sio-server --help` lists
 *   deploy/haproxy/haproxy.cfg  `haproxy -c`, stickiness, health checks, timeouts; its
 *                            loopback variant (tests/lib/haproxy.js) in front of three real
 *                            sio-server processes: cookie-prefix stickiness end to end
 *   cloudformation/sio.yaml  validated against the CloudFormation resource specification
 *                            of @aws-cdk/cfnspec (tests/lib/cfnspec.js), the validator itself
 *                            proven on a deliberately broken copy, and the settings that
 *                            must agree (stickiness, timeouts, encryption, security groups),
 *                            with and without Redis cluster mode (RedisClusterMode: what each
 *                            mode sets on the replication group, the task and the alarms)
 *
 * Loopback only; every wait is bounded.
 */
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const yaml = require('js-yaml');
const WebSocket = require('ws');
const { REPO_ROOT, binPath, freePort, startServer, stopServer, httpRequest } = require('../lib/server');
const cfn = require('../lib/cfnspec');
const haproxy = require('../lib/haproxy');

const DOCKERFILE = path.join(REPO_ROOT, 'Dockerfile');
const DOCKERIGNORE = path.join(REPO_ROOT, '.dockerignore');
const COMPOSE = path.join(REPO_ROOT, 'docker-compose.yml');
const HAPROXY_CFG = haproxy.DEPLOYED_CONFIG;
const TEMPLATE = path.join(REPO_ROOT, 'cloudformation', 'sio.yaml');
const SIO_SERVICES = ['sio1', 'sio2', 'sio3'];

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

let helpCache = null;
let helpChoicesCache = null;
/** { NAME: default } of every variable `sio-server --help` prints. */
function serverHelp() {
  if (helpCache) return helpCache;
  const bin = binPath('sio-server');
  assert.ok(fs.existsSync(bin), `${bin} does not exist: build it first (cmake --build build)`);
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, `sio-server --help exited ${r.status}: ${r.stderr}`);
  const vars = {};
  const choices = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)\s+(\S.*?)\s{2,}/.exec(line);
    if (m && m[1] !== 'VARIABLE') {
      vars[m[1]] = m[2];
      // An enumerated variable ends its description with [a|b|c] (ranges are [1..n]).
      const c = /\[([^\]\s|]+(?:\|[^\]\s|]+)+)\]\s*$/.exec(line);
      if (c) choices[m[1]] = c[1].split('|');
    }
  }
  assert.ok(Object.keys(vars).length >= 10, `could not parse sio-server --help:\n${r.stdout}`);
  helpCache = vars;
  helpChoicesCache = choices;
  return vars;
}

/** { NAME: [values] } of the variables whose values `sio-server --help` enumerates. */
function serverHelpChoices() {
  serverHelp();
  return helpChoicesCache;
}

/** Dockerfile -> [{ from, as, instructions: [{ cmd, args }] }], continuation lines joined. */
function parseDockerfile(text) {
  const logical = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (cur === '' && (/^\s*#/.test(line) || line.trim() === '')) continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) { cur += `${line.slice(0, -1)} `; continue; }
    cur += line;
    logical.push(cur.trim());
    cur = '';
  }
  if (cur.trim()) logical.push(cur.trim());
  const stages = [];
  for (const l of logical) {
    const [, cmd, args] = /^(\S+)\s*(.*)$/.exec(l);
    const ins = { cmd: cmd.toUpperCase(), args };
    if (ins.cmd === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      stages.push({ from: m[1], as: m[2] || null, instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

/** Package names of the `apt-get install` commands of a stage. */
function aptPackages(stage) {
  const pkgs = [];
  for (const ins of stage.instructions.filter((i) => i.cmd === 'RUN')) {
    for (const cmd of ins.args.split(/&&|;|\|\|/)) {
      const words = cmd.trim().split(/\s+/);
      const at = words.indexOf('install');
      if (at < 1 || !/apt(-get)?$/.test(words[at - 1])) continue;
      for (const w of words.slice(at + 1)) if (!w.startsWith('-')) pkgs.push(w);
    }
  }
  return pkgs;
}

/** Why apt-cache cannot answer for Debian bookworm here, or null when it can. */
function aptCacheUnavailable() {
  const v = spawnSync('apt-cache', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'apt-cache is not installed';
  let release = '';
  try { release = fs.readFileSync('/etc/os-release', 'utf8'); } catch (_) { /* not Debian */ }
  if (!/^VERSION_CODENAME=bookworm$/m.test(release)) return 'this machine is not Debian bookworm, so its apt-cache does not describe bookworm';
  let lists = [];
  try { lists = fs.readdirSync('/var/lib/apt/lists').filter((f) => /_Packages(\.\w+)?$/.test(f)); } catch (_) { /* none */ }
  if (lists.length === 0) return 'the apt package lists are empty (run apt-get update)';
  return null;
}

function composeEnv(service) {
  const env = service.environment || {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => {
      const i = String(e).indexOf('=');
      return i < 0 ? [e, undefined] : [e.slice(0, i), e.slice(i + 1)];
    }));
  }
  return env;
}

/** Short or long compose port syntax -> { host, container } (numbers). */
function composePort(p) {
  if (typeof p === 'object') return { host: Number(p.published), container: Number(p.target) };
  const parts = String(p).split('/')[0].split(':');
  const container = Number(parts[parts.length - 1]);
  const host = parts.length >= 2 ? Number(parts[parts.length - 2]) : NaN;
  return { host, container };
}

function durationSeconds(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(s).trim());
  assert.ok(m, `cannot read duration ${s}`);
  const n = Number(m[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600 }[m[2] || 's'];
}

/** HAProxy time value in ms (default unit ms). */
function haproxyMs(v) {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(v);
  assert.ok(m, `cannot read haproxy time ${v}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2] || 'ms'];
}

const resourcesOfType = (t, type) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** Logical id behind !Ref X / !GetAtt X.GroupId / !GetAtt X.Arn, else null. */
function refName(v) {
  const fn = cfn.intrinsicOf(v);
  if (!fn) return null;
  if (fn[0] === 'Ref') return fn[1];
  if (fn[0] === 'Fn::GetAtt') return Array.isArray(fn[1]) ? fn[1][0] : String(fn[1]).split('.')[0];
  return null;
}

/* ------------------------------------------------------------------ */

describe('deployment artifacts', function () {
  describe('Dockerfile', function () {
    let stages;
    before(function () {
      stages = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
    });

    it('builds on debian:bookworm and runs on debian:bookworm-slim', function () {
      assert.equal(stages.length, 2, 'two stages: build and runtime');
      assert.equal(stages[0].from, 'debian:bookworm');
      assert.ok(stages[0].as, 'the build stage is named');
      assert.equal(stages[1].from, 'debian:bookworm-slim');
    });

    it('installs the build dependencies and runs the CMake Release build', function () {
      const pkgs = aptPackages(stages[0]);
      for (const p of ['build-essential', 'cmake', 'pkg-config', 'libwebsockets-dev', 'libwebsockets-evlib-uv',
        'libuv1-dev', 'libevent-dev', 'libhiredis-dev', 'libjansson-dev', 'libmsgpack-dev', 'libssl-dev']) {
        assert.ok(pkgs.includes(p), `build stage installs ${p}`);
      }
      const runs = stages[0].instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join('\n');
      assert.match(runs, /cmake -S \S+ -B (\S+) -DCMAKE_BUILD_TYPE=Release/);
      assert.match(runs, /cmake --build \S+.*sio-server/);
      assert.ok(stages[0].instructions.some((i) => i.cmd === 'COPY'), 'the sources are copied in');
    });

    it('the build stage has every build dependency of scripts/install-deps.sh that its configuration uses', function () {
      const script = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'install-deps.sh'), 'utf8');
      const m = /APT_PACKAGES=\(([\s\S]*?)\)/.exec(script);
      assert.ok(m, 'APT_PACKAGES in scripts/install-deps.sh');
      const declared = m[1].replace(/#.*$/gm, '').split(/\s+/).filter(Boolean);
      // Test, fuzzing and tooling packages that the Release build of the image does not need.
      const notForTheImage = /^(clang(-\d+)?|libclang-rt-\d+-dev|redis-server|redis-tools|haproxy|nodejs|npm|curl|wget|ca-certificates|git|valgrind|gdb|jq)$/;
      const build = new Set(aptPackages(stages[0]));
      // wslay is the load generator's (loadtest/): the image configures without it
      const runs = stages[0].instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join('\n');
      const loadtestOff = /-DSIO_BUILD_LOADTEST=OFF/.test(runs);
      assert.match(runs, /-DSIO_BUILD_TESTS=OFF/, 'the image builds no test binaries');
      const missing = declared.filter((p) => !notForTheImage.test(p) && !build.has(p) &&
        !(loadtestOff && p === 'libwslay-dev'));
      assert.deepEqual(missing, [], 'packages scripts/install-deps.sh installs for the build but the Dockerfile build stage does not');
    });

    it('runtime stage: runtime libraries only, non-root, ports, health check, SIGTERM, entrypoint', function () {
      const rt = stages[1];
      const pkgs = aptPackages(rt);
      for (const p of ['libwebsockets17', 'libwebsockets-evlib-uv', 'libuv1', 'libevent-2.1-7',
        'libevent-pthreads-2.1-7', 'libevent-openssl-2.1-7', 'libhiredis0.14', 'libjansson4', 'libmsgpackc2',
        'libssl3', 'ca-certificates']) {
        assert.ok(pkgs.includes(p), `runtime stage installs ${p}`);
      }
      assert.ok(pkgs.includes('curl') || pkgs.includes('wget'), 'curl or wget for the HEALTHCHECK');
      for (const p of pkgs) assert.doesNotMatch(p, /-dev$|^build-essential$|^cmake$|^gcc|^pkg-config$/, `no build tool in the runtime stage: ${p}`);

      const ins = (cmd) => rt.instructions.filter((i) => i.cmd === cmd);
      const copies = ins('COPY').map((i) => i.args);
      assert.ok(copies.some((a) => new RegExp(`--from=${stages[0].as}\\s+\\S*sio-server\\s`).test(a)), `COPY --from=${stages[0].as} of the binary`);

      const users = ins('USER');
      assert.equal(users.length >= 1, true, 'a USER instruction');
      const user = users[users.length - 1].args.split(':')[0];
      assert.ok(!['root', '0'].includes(user), `USER is not root (${user})`);

      const exposed = ins('EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => p.split('/')[0]);
      assert.ok(exposed.includes('3000') && exposed.includes('3001'), `EXPOSE 3000 3001 (${exposed})`);

      const hc = ins('HEALTHCHECK');
      assert.equal(hc.length, 1, 'one HEALTHCHECK');
      assert.match(hc[0].args, /CMD\s+.*(curl|wget).*http:\/\/127\.0\.0\.1:(3001|\$\{API_PORT:-3001\})\/health/);

      assert.deepEqual(ins('STOPSIGNAL').map((i) => i.args), ['SIGTERM']);
      const ep = ins('ENTRYPOINT');
      assert.equal(ep.length, 1);
      const argv = JSON.parse(ep[0].args);
      assert.ok(Array.isArray(argv) && /(^|\/)sio-server$/.test(argv[0]), `exec-form ENTRYPOINT of sio-server: ${ep[0].args}`);
    });

    it('the runtime packages provide every shared library of the built binary', function () {
      const dpkg = spawnSync('dpkg', ['--version']);
      if (dpkg.error) this.skip();
      const bin = binPath('sio-server');
      assert.ok(fs.existsSync(bin), `${bin} does not exist: build it first`);
      const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
      assert.equal(ldd.status, 0, ldd.stderr);
      // The binary's own NEEDED libraries: apt installs what those packages depend on
      // (libcurl4's TLS, IDN and HTTP/2 libraries, for instance).
      const needed = new Set(spawnSync('objdump', ['-p', bin], { encoding: 'utf8' }).stdout
        .split('\n').map((l) => /^\s*NEEDED\s+(\S+)/.exec(l)).filter(Boolean).map((m) => m[1]));
      assert.ok(needed.size > 3, 'objdump -p found no NEEDED entries');
      const libs = ldd.stdout.split('\n').map((l) => /^\s*(\S+)\s+=>\s+(\/\S+)/.exec(l))
        .filter((m) => m && needed.has(m[1])).map((m) => m[2]);
      assert.ok(libs.length > 3, ldd.stdout);
      const runtime = new Set(aptPackages(stages[1]));
      // In the base image, or the sanitizer runtimes of an ASan/UBSan build dir.
      const base = /^(libc6|libgcc-s1|libstdc\+\+6|lib(asan|ubsan|lsan|tsan)\d*)$/;
      // One `dpkg -S` for all paths (as linked and resolved): "pkg[:arch]: /path" lines.
      const paths = [...new Set(libs.flatMap((l) => [l, fs.realpathSync(l)]))];
      const owners = new Map();
      const r = spawnSync('dpkg', ['-S', ...paths], { encoding: 'utf8' });
      for (const line of r.stdout.split('\n')) {
        const m = /^([^:\s,]+)(?::[a-z0-9]+)?: (\/.+)$/.exec(line);
        if (m) owners.set(m[2], m[1]);
      }
      const missing = [];
      for (const lib of libs) {
        const owner = owners.get(lib) || owners.get(fs.realpathSync(lib));
        if (!owner) { missing.push(`${lib} (no package owns it)`); continue; }
        if (!base.test(owner) && !runtime.has(owner)) missing.push(`${lib} from ${owner}`);
      }
      assert.deepEqual(missing, [], 'libraries whose package the runtime stage does not install');
    });

    it('every package it installs exists in Debian bookworm (apt-cache show)', function () {
      const why = aptCacheUnavailable();
      if (why) {
        console.log(`      (skipped: ${why})`);
        this.skip();
      }
      const pkgs = [...new Set(stages.flatMap(aptPackages))];
      const r = spawnSync('apt-cache', ['show', '--no-all-versions', ...pkgs], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30000 });
      const found = new Set([...r.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
      const missing = pkgs.filter((p) => !found.has(p));
      assert.deepEqual(missing, [], `packages unknown to apt-cache: ${r.stderr}`);
    });

    it('.dockerignore keeps build trees, node_modules and .git out of the context', function () {
      const lines = fs.readFileSync(DOCKERIGNORE, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      for (const p of ['.git', 'build', 'build-*', '**/node_modules']) assert.ok(lines.includes(p), `.dockerignore has ${p}`);
      for (const keep of ['CMakeLists.txt', 'server', 'protocol', 'adapters', 'tests', 'examples']) {
        assert.ok(!lines.includes(keep), `.dockerignore must not exclude ${keep} (the CMake build needs it)`);
      }
    });
  });

  describe('docker-compose.yml', function () {
    let compose;
    before(function () {
      compose = yaml.load(fs.readFileSync(COMPOSE, 'utf8'));
    });

    it('has redis, sio1..sio3 built from the Dockerfile, and haproxy on port 3000', function () {
      const s = compose.services;
      assert.ok(s, 'services');
      assert.equal(s.redis.image, 'redis:7');
      for (const n of SIO_SERVICES) {
        const svc = s[n];
        assert.ok(svc, `service ${n}`);
        const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
        assert.ok(build, `${n} is built`);
        assert.equal(path.resolve(REPO_ROOT, build.context, build.dockerfile || 'Dockerfile'), DOCKERFILE);
        assert.equal(composeEnv(svc).REDIS_URL, 'redis://redis:6379');
        const dep = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on || {});
        assert.ok(dep.includes('redis'), `${n} depends on redis`);
      }
      const hp = s.haproxy;
      assert.match(hp.image, /^haproxy:2\.6/);
      assert.ok(hp.ports.map(composePort).some((p) => p.host === 3000 && p.container === 3000), 'haproxy publishes 3000');
      const mounts = hp.volumes.map(String);
      assert.ok(mounts.some((v) => /^\.\/deploy\/haproxy\/haproxy\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg(:ro)?$/.test(v)),
        `haproxy mounts deploy/haproxy/haproxy.cfg: ${mounts}`);
    });

    it('publishes the broadcast API on distinct host ports', function () {
      const published = [];
      for (const [name, svc] of Object.entries(compose.services)) {
        for (const p of (svc.ports || []).map(composePort)) published.push({ name, ...p });
      }
      const api = published.filter((p) => SIO_SERVICES.includes(p.name) && p.container === Number(composeEnv(compose.services[p.name]).API_PORT || 3001));
      assert.ok(api.length >= 1, 'the API port of at least one sio node is published');
      const hosts = published.map((p) => p.host);
      assert.equal(new Set(hosts).size, hosts.length, `host ports are distinct: ${hosts}`);
    });

    it('sets only variables that sio-server --help lists', function () {
      const known = serverHelp();
      for (const n of SIO_SERVICES) {
        const unknown = Object.keys(composeEnv(compose.services[n])).filter((k) => !(k in known));
        assert.deepEqual(unknown, [], `${n} sets variables unknown to sio-server --help`);
      }
    });

    it('gives each node more than DRAIN_SECONDS to stop', function () {
      const help = serverHelp();
      for (const n of SIO_SERVICES) {
        const svc = compose.services[n];
        const drain = Number(composeEnv(svc).DRAIN_SECONDS ?? help.DRAIN_SECONDS);
        assert.ok(svc.stop_grace_period, `${n} sets stop_grace_period`);
        assert.ok(durationSeconds(svc.stop_grace_period) > drain, `${n}: stop_grace_period ${svc.stop_grace_period} > DRAIN_SECONDS ${drain}`);
        assert.ok(!svc.stop_signal || svc.stop_signal === 'SIGTERM');
      }
    });

    it('the HAProxy backend lists exactly the compose sio services on port 3000', function () {
      const servers = fs.readFileSync(HAPROXY_CFG, 'utf8').split('\n').filter((l) => /^\s*server\s/.test(l))
        .map((l) => l.trim().split(/\s+/)[2]);
      assert.deepEqual(servers, SIO_SERVICES.map((n) => `${n}:${composeEnv(compose.services[n]).PORT || 3000}`));
    });
  });

  describe('deploy/haproxy/haproxy.cfg', function () {
    let text;
    let directives;
    before(function () {
      text = fs.readFileSync(HAPROXY_CFG, 'utf8');
      directives = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    });

    it('passes haproxy -c', function () {
      if (!haproxy.haproxyAvailable()) { console.log('      (skipped: haproxy is not installed)'); this.skip(); }
      const r = haproxy.checkConfig(HAPROXY_CFG);
      assert.ok(r.ok, r.output);
      assert.match(r.output, /Configuration file is valid/);
    });

    it('balances roundrobin, sticks on the io cookie, checks /health', function () {
      assert.ok(directives.includes('balance roundrobin'));
      assert.ok(directives.some((d) => /^cookie io prefix( nocache)?$/.test(d)), 'cookie io prefix');
      assert.ok(directives.includes('option httpchk'));
      assert.ok(directives.some((d) => /^http-check send meth GET uri \/health\b/.test(d)), 'GET /health');
      assert.ok(directives.includes('http-check expect status 200'));
      assert.ok(directives.includes('bind :3000'));
      const servers = directives.filter((d) => d.startsWith('server '));
      assert.equal(servers.length, 3);
      for (const s of servers) {
        const name = s.split(/\s+/)[1];
        assert.match(s, new RegExp(`\\bcookie ${name}\\b`));
        assert.match(s, /\bcheck\b/);
        assert.match(s, /\binit-addr last,libc,none\b/);
      }
    });

    it('has idle timeouts above pingInterval + pingTimeout (tunnel for WebSocket)', function () {
      const help = serverHelp();
      const ping = Number(help.PING_INTERVAL);
      const pingTimeout = Number(help.PING_TIMEOUT);
      const timeouts = Object.fromEntries(directives.filter((d) => d.startsWith('timeout '))
        .map((d) => d.split(/\s+/)).map(([, k, v]) => [k, haproxyMs(v)]));
      for (const k of ['client', 'server', 'tunnel']) {
        assert.ok(timeouts[k] !== undefined, `timeout ${k}`);
        assert.ok(timeouts[k] > ping, `timeout ${k} ${timeouts[k]} ms > pingInterval ${ping} ms`);
        assert.ok(timeouts[k] >= ping + pingTimeout, `timeout ${k} ${timeouts[k]} ms >= pingInterval + pingTimeout`);
      }
    });

    it('its loopback variant keeps every other directive and passes haproxy -c', function () {
      const rendered = haproxy.renderConfig({ ports: [40001, 40002, 40003], listenPort: 40000 });
      const norm = (t) => t.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
      const drop = (d) => d.startsWith('server ') || d.startsWith('bind ');
      const deployed = norm(text);
      const resolverLines = new Set();
      for (const s of haproxy.parseSections(text).filter((x) => x.kind === 'resolvers')) {
        resolverLines.add(s.header.trim());
        norm(s.lines.join('\n')).forEach((l) => resolverLines.add(l));
      }
      assert.deepEqual(norm(rendered).filter((d) => !drop(d)), deployed.filter((d) => !drop(d) && !resolverLines.has(d)));
      assert.deepEqual(norm(rendered).filter((d) => d.startsWith('server ')), [
        'server sio1 127.0.0.1:40001 cookie sio1 check',
        'server sio2 127.0.0.1:40002 cookie sio2 check',
        'server sio3 127.0.0.1:40003 cookie sio3 check',
      ]);
      if (!haproxy.haproxyAvailable()) this.skip();
      const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sio-haproxy-check-'));
      try {
        const f = path.join(tmp, 'haproxy.cfg');
        fs.writeFileSync(f, rendered);
        const r = haproxy.checkConfig(f);
        assert.ok(r.ok, r.output);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    describe('in front of three sio-server nodes (loopback)', function () {
      const nodes = [];
      let h = null;

      before(async function () {
        this.timeout(20000);
        if (!haproxy.haproxyAvailable()) { console.log('      (skipped: haproxy is not installed)'); this.skip(); }
        serverHelp(); // the binary exists
        for (let i = 0; i < 3; i++) {
          const port = await freePort();
          const apiPort = await freePort();
          const node = await startServer({
            command: binPath('sio-server'),
            port,
            env: {
              PORT: String(port), API_PORT: String(apiPort), BIND_ADDR: '127.0.0.1', API_BIND_ADDR: '127.0.0.1',
              DRAIN_SECONDS: '0', NODE_ID: `deploy-test-${i + 1}`, LOG_LEVEL: 'warn',
            },
          });
          node.apiPort = apiPort;
          nodes.push(node);
        }
        h = await haproxy.startHaproxy({ ports: nodes.map((n) => n.port), readyTimeoutMs: 10000 });
      });

      after(async function () {
        this.timeout(15000);
        await haproxy.stopHaproxy(h);
        await Promise.all(nodes.map((n) => stopServer(n)));
      });

      it('reports all three servers UP through their /health checks', async function () {
        assert.deepEqual(await h.serverStates(), { sio1: 'UP', sio2: 'UP', sio3: 'UP' });
        const r = await httpRequest({ port: h.port, path: '/health' });
        assert.equal(r.status, 200);
        assert.equal(JSON.parse(r.body).status, 'ok');
      });

      it('pins an Engine.IO session to its node with the prefixed io cookie', async function () {
        this.timeout(15000);
        const q = '/socket.io/?EIO=4&transport=polling';
        const hs = await httpRequest({ port: h.port, path: q });
        assert.equal(hs.status, 200, hs.body);
        const { sid } = JSON.parse(hs.body.slice(1));
        const setCookie = [].concat(hs.headers['set-cookie'] || []);
        const m = setCookie.map((c) => /^io=(sio[123])~([^;]+);/.exec(c)).find(Boolean);
        assert.ok(m, `Set-Cookie io=<server>~<sid>: ${setCookie}`);
        assert.equal(m[2], sid);
        assert.match(setCookie.join(), /Path=\/; HttpOnly; SameSite=Lax/);
        const cookie = `io=${m[1]}~${sid}`;

        // With the cookie every request reaches the owner of the sid (a wrong node would answer 400).
        const post = await httpRequest({ port: h.port, method: 'POST', path: `${q}&sid=${sid}`, headers: { Cookie: cookie, 'Content-Type': 'text/plain;charset=UTF-8' }, body: '40' });
        assert.equal(post.status, 200, post.body);
        const get = await httpRequest({ port: h.port, path: `${q}&sid=${sid}`, headers: { Cookie: cookie } });
        assert.equal(get.status, 200, get.body);
        assert.match(get.body, /^40\{"sid":"[^"]+","pid":"[^"]+"\}/); // recovery is on by default
        for (let i = 0; i < 6; i++) {
          const r = await httpRequest({ port: h.port, method: 'POST', path: `${q}&sid=${sid}`, headers: { Cookie: cookie, 'Content-Type': 'text/plain;charset=UTF-8' }, body: '42["subscribe","deploy-test"]' });
          assert.equal(r.status, 200, `request ${i} with the cookie: ${r.status} ${r.body}`);
        }

        // The WebSocket upgrade follows the same cookie.
        const ws = new WebSocket(`ws://127.0.0.1:${h.port}${q.replace('polling', 'websocket')}&sid=${sid}`, { headers: { Cookie: cookie } });
        const reply = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no 3probe within 5 s')), 5000);
          ws.on('open', () => ws.send('2probe'));
          ws.on('message', (d) => { clearTimeout(timer); resolve(d.toString()); });
          ws.on('error', (e) => { clearTimeout(timer); reject(e); });
        });
        assert.equal(reply, '3probe');
        ws.send('5');
        await new Promise((resolve) => { ws.once('close', resolve); ws.close(1000); setTimeout(resolve, 2000); });

        // Without the cookie, round robin spreads the same sid over the nodes: some
        // requests reach a node that does not know it (as with the ALB, stickiness
        // needs the client to send the cookie back).
        const hs2 = await httpRequest({ port: h.port, path: q });
        const sid2 = JSON.parse(hs2.body.slice(1)).sid;
        const statuses = [];
        for (let i = 0; i < 6; i++) {
          const r = await httpRequest({ port: h.port, method: 'POST', path: `${q}&sid=${sid2}`, headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: '40' });
          statuses.push(r.status);
        }
        assert.ok(statuses.includes(400), `without the cookie some requests miss the session's node: ${statuses}`);
      });

      it('serves socket.io-client with withCredentials (it keeps the cookie): polling, upgrade, API broadcast', async function () {
        this.timeout(15000);
        const { io } = require('socket.io-client');
        const socket = io(`http://127.0.0.1:${h.port}`, { withCredentials: true, reconnection: false, timeout: 5000 });
        try {
          await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no connect within 5 s')), 5000);
            socket.once('connect', () => { clearTimeout(timer); resolve(); });
            socket.once('connect_error', (e) => { clearTimeout(timer); reject(e); });
          });
          const ack = await socket.timeout(3000).emitWithAck('subscribe', 'deploy-room');
          assert.equal(ack.ok, true, JSON.stringify(ack));
          if (socket.io.engine.transport.name !== 'websocket') {
            await new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error('no upgrade to websocket within 5 s')), 5000);
              socket.io.engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
            });
          }
          // No Redis here: each node delivers to its own clients, so posting to all three
          // reaches the client exactly once, from the node it is pinned to.
          const got = [];
          socket.on('deploy-event', (d) => got.push(d));
          for (const n of nodes) {
            const r = await httpRequest({ port: n.apiPort, method: 'POST', path: '/v1/broadcast', headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ namespace: '/', rooms: ['deploy-room'], event: 'deploy-event', data: { n: 1 } }) });
            assert.equal(r.status, 202, r.body);
          }
          const deadline = Date.now() + 3000;
          while (got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          await new Promise((r) => setTimeout(r, 100));
          assert.deepEqual(got, [{ n: 1 }]);
        } finally {
          socket.close();
        }
      });
    });
  });

  describe('cloudformation/sio.yaml', function () {
    let t;
    const ev = (v, parameters) => cfn.evaluate(v, t, { parameters });
    const res = (name) => {
      assert.ok(t.Resources[name], `resource ${name}`);
      return t.Resources[name];
    };
    const attrs = (list) => Object.fromEntries(ev(list).map((a) => [a.Key, String(a.Value)]));
    const container = () => res('TaskDefinition').Properties.ContainerDefinitions.find((c) => c.Name === 'sio');
    const CLUSTER = { RedisClusterMode: 'enabled' };
    const NO_VALUE = { Ref: 'AWS::NoValue' };
    /** Whether condition `name` holds for these parameter values (the Defaults otherwise). */
    const cond = (name, parameters) => {
      assert.ok(t.Conditions[name] !== undefined, `condition ${name}`);
      return ev(t.Conditions[name], parameters) === true;
    };
    /** Whether a resource or output exists for these parameter values. */
    const included = (r, parameters) => r.Condition === undefined || cond(r.Condition, parameters);
    /**
     * The attributes of RedisReplicationGroup that `v` reads (Fn::GetAtt, ${RedisReplicationGroup.X}
     * in Fn::Sub) for these parameter values: only the branch of each Fn::If that is taken.
     */
    const rgAttrs = (v, parameters, out = new Set()) => {
      if (Array.isArray(v)) { v.forEach((x) => rgAttrs(x, parameters, out)); return out; }
      if (v === null || typeof v !== 'object') return out;
      const fn = cfn.intrinsicOf(v);
      if (fn && fn[0] === 'Fn::If') return rgAttrs(cond(fn[1][0], parameters) ? fn[1][1] : fn[1][2], parameters, out);
      if (fn && fn[0] === 'Fn::GetAtt') {
        const [r, a] = Array.isArray(fn[1]) ? fn[1] : [fn[1].slice(0, fn[1].indexOf('.')), fn[1].slice(fn[1].indexOf('.') + 1)];
        if (r === 'RedisReplicationGroup') out.add(a);
        return out;
      }
      if (fn && fn[0] === 'Fn::Sub') {
        const str = Array.isArray(fn[1]) ? fn[1][0] : fn[1];
        for (const m of str.matchAll(/\$\{RedisReplicationGroup\.([^}]+)\}/g)) out.add(m[1]);
        if (Array.isArray(fn[1])) rgAttrs(fn[1][1], parameters, out);
        return out;
      }
      for (const x of Object.values(v)) rgAttrs(x, parameters, out);
      return out;
    };
    /** Every combination of the cluster-mode parameters the template allows. */
    const clusterCombinations = () => {
      const range = (p) => {
        const { MinValue, MaxValue } = t.Parameters[p];
        return Array.from({ length: Number(MaxValue) - Number(MinValue) + 1 }, (_, i) => Number(MinValue) + i);
      };
      return range('RedisNodeGroups').flatMap((n) => range('RedisReplicasPerNodeGroup').map((r) => (
        { RedisClusterMode: 'enabled', RedisNodeGroups: n, RedisReplicasPerNodeGroup: r })));
    };

    before(function () {
      t = cfn.parseTemplateFile(TEMPLATE);
    });

    it('parses every short-form tag into its long form', function () {
      const doc = cfn.parseTemplate([
        'A: !Ref X',
        "B: !Sub 'a-${X}'",
        "C: !Sub ['a-${v}', {v: !Ref X}]",
        'D: !GetAtt R.PrimaryEndPoint.Address',
        'E: !GetAtt [R, Arn]',
        'F: !If [C1, 1, !Ref AWS::NoValue]',
        "G: !Select [0, !GetAZs '']",
        "H: !Join ['-', [a, b]]",
        "I: !Split [',', 'a,b']",
        'J: !Equals [a, b]',
        'K: !Not [!Condition C1]',
        'L: !And [!Condition C1, !Condition C2]',
        'M: !Or [!Condition C1, !Condition C2]',
        'N: !FindInMap [Map, a, b]',
        'O: !Base64 abc',
        'P: !ImportValue exported',
        'Q: !Condition C1',
        'R: !Cidr [10.0.0.0/16, 4, 8]',
        'S: 2010-09-09',
      ].join('\n'));
      assert.deepEqual(doc, {
        A: { Ref: 'X' },
        B: { 'Fn::Sub': 'a-${X}' },
        C: { 'Fn::Sub': ['a-${v}', { v: { Ref: 'X' } }] },
        D: { 'Fn::GetAtt': ['R', 'PrimaryEndPoint.Address'] },
        E: { 'Fn::GetAtt': ['R', 'Arn'] },
        F: { 'Fn::If': ['C1', 1, { Ref: 'AWS::NoValue' }] },
        G: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
        H: { 'Fn::Join': ['-', ['a', 'b']] },
        I: { 'Fn::Split': [',', 'a,b'] },
        J: { 'Fn::Equals': ['a', 'b'] },
        K: { 'Fn::Not': [{ Condition: 'C1' }] },
        L: { 'Fn::And': [{ Condition: 'C1' }, { Condition: 'C2' }] },
        M: { 'Fn::Or': [{ Condition: 'C1' }, { Condition: 'C2' }] },
        N: { 'Fn::FindInMap': ['Map', 'a', 'b'] },
        O: { 'Fn::Base64': 'abc' },
        P: { 'Fn::ImportValue': 'exported' },
        Q: { Condition: 'C1' },
        R: { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] },
        S: '2010-09-09',
      });
    });

    it('is valid against the CloudFormation resource specification (@aws-cdk/cfnspec)', function () {
      const info = cfn.specInfo();
      assert.match(info.version, /^\d+\.\d+\.\d+$/);
      const errors = cfn.validateTemplate(t);
      assert.deepEqual(errors, [], `template errors (spec ${info.version} from ${info.file})`);
    });

    it('the validator rejects a deliberately broken copy', function () {
      const broken = JSON.parse(JSON.stringify(t));
      const cd = broken.Resources.TaskDefinition.Properties.ContainerDefinitions[0];
      cd.HealthCheck.Intervall = 10; // unknown property three levels deep
      cd.LogConfiguration.Options = ['not', 'a', 'map']; // list where a map is expected
      delete broken.Resources.HttpsListener.Properties.DefaultActions[0].Type; // required, deep
      delete broken.Resources.RedisSubnetGroup.Properties.SubnetIds; // required, top level
      broken.Resources.LogGroup.Type = 'AWS::Logs::LogGroupp'; // unknown type
      broken.Outputs.LoadBalancerDnsName.Value = { 'Fn::GetAtt': ['LoadBalancer', 'DnsName'] }; // bad attribute
      const urlIf = broken.Resources.RedisUrlSecret.Properties.SecretString['Fn::If']; // [cluster mode, configuration endpoint, primary endpoint]
      urlIf[2]['Fn::Sub'] = urlIf[2]['Fn::Sub'].replace('PrimaryEndPoint.Address', 'PrimaryEndpoint.Address'); // bad attribute inside !Sub inside !If
      cd.DockerLabels['sio.redis-endpoint']['Fn::If'][1]['Fn::GetAtt'][1] = 'ConfigurationEndpoint.Address'; // bad attribute in the cluster-mode branch
      broken.Resources.Service.Properties.Cluster = { Ref: 'EcsCluster' }; // no such resource
      broken.Resources.DnsRecord.Condition = 'HasDomain'; // no such condition
      broken.Resources.TargetGroup.Properties.VpcId = { Ref: 'PrivateSubnetIds' }; // list where a string is expected
      broken.Resources.TargetGroup.Properties.Port = 'http'; // not an integer
      const errors = cfn.validateTemplate(broken);
      const expected = [
        /ContainerDefinitions\[0\]\.HealthCheck\.Intervall: unknown property Intervall of AWS::ECS::TaskDefinition\.HealthCheck/,
        /ContainerDefinitions\[0\]\.LogConfiguration\.Options: expected a map/,
        /HttpsListener\.Properties\.DefaultActions\[0\]\.Type: missing required property Type of AWS::ElasticLoadBalancingV2::Listener\.Action/,
        /RedisSubnetGroup\.Properties\.SubnetIds: missing required property SubnetIds/,
        /LogGroup\.Type: unknown resource type AWS::Logs::LogGroupp/,
        /Outputs\.LoadBalancerDnsName\.Value\.Fn::GetAtt: AWS::ElasticLoadBalancingV2::LoadBalancer has no attribute DnsName/,
        /RedisUrlSecret\.Properties\.SecretString\[Fn::If\]\[2\]\.Fn::Sub \$\{RedisReplicationGroup\.PrimaryEndpoint\.Address\}: .*no attribute PrimaryEndpoint\.Address/,
        /TaskDefinition\.Properties\.ContainerDefinitions\[0\]\.DockerLabels\.sio\.redis-endpoint\[Fn::If\]\[1\]\.Fn::GetAtt: .*no attribute ConfigurationEndpoint\.Address/,
        /Service\.Properties\.Cluster\.Ref: Ref to EcsCluster, which is no parameter or resource/,
        /DnsRecord\.Condition: condition "HasDomain" is not defined/,
        /TargetGroup\.Properties\.VpcId: expected a String, but Ref gives a list/,
        /TargetGroup\.Properties\.Port: expected an Integer/,
      ];
      for (const re of expected) assert.ok(errors.some((e) => re.test(e)), `expected an error like ${re}, got:\n${errors.join('\n')}`);
      // LogGroup's type is unknown, so `Ref LogGroup` users still validate; nothing else is reported.
      assert.equal(errors.length, expected.length, errors.join('\n'));
    });

    it('has the parameters of the deployment', function () {
      for (const p of ['VpcId', 'PublicSubnetIds', 'PrivateSubnetIds', 'CertificateArn', 'ContainerImage', 'TaskCpu',
        'TaskMemory', 'DesiredCount', 'MinTasks', 'MaxTasks', 'DrainSeconds', 'PingIntervalMs', 'ApiTokenSecretArn',
        'RedisNodeType', 'RedisEngineVersion', 'RedisClusterMode', 'RedisNodeGroups', 'RedisReplicasPerNodeGroup']) {
        assert.ok(t.Parameters[p], `parameter ${p}`);
      }
      assert.equal(t.Parameters.PublicSubnetIds.Type, 'List<AWS::EC2::Subnet::Id>');
      assert.equal(t.Parameters.PrivateSubnetIds.Type, 'List<AWS::EC2::Subnet::Id>');
    });

    it('Redis cluster mode parameters: off by default, 3 shards x (1 + 1 replica), in the Redis parameter group', function () {
      const P = t.Parameters;
      assert.deepEqual(P.RedisClusterMode.AllowedValues, ['disabled', 'enabled']);
      assert.equal(P.RedisClusterMode.Default, 'disabled');
      assert.equal(cond('RedisClusterModeEnabled'), false, 'cluster mode is off by default');
      assert.equal(cond('RedisClusterModeEnabled', CLUSTER), true);
      assert.equal(cond('RedisClusterModeDisabled', CLUSTER), false);
      assert.equal(P.RedisNodeGroups.Type, 'Number');
      assert.equal(Number(P.RedisNodeGroups.Default), 3);
      assert.equal(Number(P.RedisNodeGroups.MinValue), 1);
      // The alarms name the nodes of shards 0001-0010 (see the alarm test): no more shards than that.
      assert.ok(Number(P.RedisNodeGroups.MaxValue) >= 1 && Number(P.RedisNodeGroups.MaxValue) <= 10);
      assert.equal(P.RedisReplicasPerNodeGroup.Type, 'Number');
      assert.equal(Number(P.RedisReplicasPerNodeGroup.Default), 1);
      assert.equal(Number(P.RedisReplicasPerNodeGroup.MinValue), 0);
      assert.equal(Number(P.RedisReplicasPerNodeGroup.MaxValue), 5, 'ElastiCache: 0 to 5 replicas per shard');
      // Sharded pub/sub is Redis 7: the default is 7.x and a rule refuses anything else in cluster mode.
      assert.match(String(P.RedisEngineVersion.Default), /^7\.\d+$/);
      const rule = t.Rules.RedisClusterModeNeedsRedis7;
      assert.deepEqual(rule.RuleCondition, { 'Fn::Equals': [{ Ref: 'RedisClusterMode' }, 'enabled'] });
      const [versions, version] = rule.Assertions[0].Assert['Fn::Contains'];
      assert.deepEqual(version, { Ref: 'RedisEngineVersion' });
      assert.ok(versions.length > 0 && versions.every((v) => /^7\.\d+$/.test(v)), `Redis 7 versions only: ${versions}`);
      assert.ok(versions.includes(String(P.RedisEngineVersion.Default)), 'the default engine version passes the rule');

      const iface = t.Metadata['AWS::CloudFormation::Interface'];
      const redis = iface.ParameterGroups.find((g) => g.Label.default === 'Redis').Parameters;
      for (const p of ['RedisNodeType', 'RedisEngineVersion', 'RedisClusterMode', 'RedisNodeGroups', 'RedisReplicasPerNodeGroup']) {
        assert.ok(redis.includes(p), `${p} in the Redis parameter group`);
      }
      for (const p of ['RedisClusterMode', 'RedisNodeGroups', 'RedisReplicasPerNodeGroup']) {
        assert.ok(iface.ParameterLabels[p]?.default, `a label for ${p}`);
      }
      const grouped = iface.ParameterGroups.flatMap((g) => g.Parameters);
      assert.deepEqual(Object.keys(P).filter((p) => !grouped.includes(p)), [], 'every parameter is in a parameter group');
    });

    it('matches the server defaults: DRAIN_SECONDS, PING_INTERVAL, PING_TIMEOUT', function () {
      const help = serverHelp();
      assert.equal(Number(t.Parameters.DrainSeconds.Default), Number(help.DRAIN_SECONDS));
      assert.equal(Number(t.Parameters.PingIntervalMs.Default), Number(help.PING_INTERVAL));
      assert.equal(Number(t.Parameters.PingTimeoutMs.Default), Number(help.PING_TIMEOUT));
      const env = Object.fromEntries(container().Environment.map((e) => [e.Name, e.Value]));
      assert.deepEqual(env.DRAIN_SECONDS, { Ref: 'DrainSeconds' });
      assert.deepEqual(env.PING_INTERVAL, { Ref: 'PingIntervalMs' });
      assert.deepEqual(env.PING_TIMEOUT, { Ref: 'PingTimeoutMs' });
      assert.equal(env.PORT, '3000');
      assert.equal(env.API_PORT, '3001');
    });

    it('target group: HTTP 3000, /health -> 200, app_cookie stickiness on io, deregistration delay = DRAIN_SECONDS', function () {
      const tg = res('TargetGroup').Properties;
      assert.equal(tg.Protocol, 'HTTP');
      assert.equal(tg.Port, 3000);
      assert.equal(tg.TargetType, 'ip');
      assert.equal(tg.HealthCheckPath, '/health');
      assert.equal(String(tg.Matcher.HttpCode), '200');
      const a = attrs(tg.TargetGroupAttributes);
      assert.equal(a['stickiness.enabled'], 'true');
      assert.equal(a['stickiness.type'], 'app_cookie');
      assert.equal(a['stickiness.app_cookie.cookie_name'], 'io');
      assert.deepEqual(tg.TargetGroupAttributes.find((x) => x.Key === 'deregistration_delay.timeout_seconds').Value, { Ref: 'DrainSeconds' });
      assert.equal(Number(a['deregistration_delay.timeout_seconds']), Number(serverHelp().DRAIN_SECONDS));
    });

    it('deregistration delay <= stopTimeout <= 120 s for every allowed DrainSeconds', function () {
      const tg = res('TargetGroup').Properties;
      const c = container();
      for (const drain of t.Parameters.DrainSeconds.AllowedValues.map(Number)) {
        const parameters = { DrainSeconds: drain };
        const dereg = Number(Object.fromEntries(ev(tg.TargetGroupAttributes, parameters).map((x) => [x.Key, x.Value]))['deregistration_delay.timeout_seconds']);
        const stop = Number(ev(c.StopTimeout, parameters));
        const envDrain = Number(ev(c.Environment, parameters).find((e) => e.Name === 'DRAIN_SECONDS').Value);
        assert.equal(dereg, drain);
        assert.equal(envDrain, drain);
        assert.ok(Number.isInteger(stop), `stopTimeout for DrainSeconds=${drain}`);
        assert.ok(stop >= drain + 10, `stopTimeout ${stop} leaves >= 10 s after DRAIN_SECONDS ${drain}`);
        assert.ok(stop <= 120, `stopTimeout ${stop} <= 120 (Fargate)`);
        assert.ok(dereg <= stop);
      }
    });

    it('ALB: idle timeout above pingInterval (+ pingTimeout), HTTPS with the certificate, HTTP redirects', function () {
      const lb = res('LoadBalancer').Properties;
      assert.equal(lb.Scheme, 'internet-facing');
      assert.deepEqual(lb.Subnets, { Ref: 'PublicSubnetIds' });
      const idle = Number(attrs(lb.LoadBalancerAttributes)['idle_timeout.timeout_seconds']) * 1000;
      const ping = Number(t.Parameters.PingIntervalMs.Default);
      const pingTimeout = Number(t.Parameters.PingTimeoutMs.Default);
      assert.ok(idle > ping, `idle ${idle} ms > pingInterval ${ping} ms`);
      assert.ok(idle >= ping + pingTimeout, `idle ${idle} ms >= pingInterval + pingTimeout`);
      // and for every value the parameter ranges allow
      const minIdle = Number(t.Parameters.AlbIdleTimeoutSeconds.MinValue) * 1000;
      assert.ok(minIdle > Number(t.Parameters.PingIntervalMs.MaxValue));
      assert.ok(minIdle >= Number(t.Parameters.PingIntervalMs.MaxValue) + Number(t.Parameters.PingTimeoutMs.MaxValue));

      const listeners = resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::Listener').map(([, r]) => r.Properties);
      const https = listeners.find((l) => l.Protocol === 'HTTPS');
      assert.equal(https.Port, 443);
      assert.deepEqual(https.Certificates, [{ CertificateArn: { Ref: 'CertificateArn' } }]);
      assert.equal(https.DefaultActions[0].Type, 'forward');
      assert.deepEqual(https.DefaultActions[0].TargetGroupArn, { Ref: 'TargetGroup' });
      const http = listeners.find((l) => l.Protocol === 'HTTP');
      assert.equal(http.Port, 80);
      assert.equal(http.DefaultActions[0].Type, 'redirect');
      assert.equal(http.DefaultActions[0].RedirectConfig.Protocol, 'HTTPS');
      assert.equal(String(http.DefaultActions[0].RedirectConfig.Port), '443');
    });

    it('task definition: Fargate, ports 3000/3001, secrets, awslogs, health check, only --help variables', function () {
      const td = res('TaskDefinition').Properties;
      assert.deepEqual(td.RequiresCompatibilities, ['FARGATE']);
      assert.equal(td.NetworkMode, 'awsvpc');
      assert.deepEqual(td.Cpu, { Ref: 'TaskCpu' });
      assert.deepEqual(td.Memory, { Ref: 'TaskMemory' });
      assert.ok(refName(td.ExecutionRoleArn) && refName(td.TaskRoleArn));
      const c = container();
      assert.deepEqual(c.PortMappings.map((p) => p.ContainerPort).sort(), [3000, 3001]);
      assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
      assert.equal(refName(c.LogConfiguration.Options['awslogs-group']), 'LogGroup');
      assert.match(c.HealthCheck.Command.join(' '), /127\.0\.0\.1:3001\/health/);

      const known = serverHelp();
      const names = [...c.Environment.map((e) => e.Name), ...c.Secrets.map((s) => s.Name)];
      assert.deepEqual(names.filter((n) => !(n in known)), [], 'variables unknown to sio-server --help');
      assert.equal(new Set(names).size, names.length, 'no variable set twice');
      const secrets = Object.fromEntries(c.Secrets.map((s) => [s.Name, s.ValueFrom]));
      assert.ok(secrets.API_TOKEN, 'API_TOKEN from Secrets Manager');
      assert.ok(secrets.REDIS_URL, 'REDIS_URL (with the AUTH token) from Secrets Manager');
    });

    it('REDIS_URL is rediss:// with the AUTH token to the ElastiCache primary endpoint, in cluster mode to the configuration endpoint', function () {
      const urlSecret = res(refName(container().Secrets.find((s) => s.Name === 'REDIS_URL').ValueFrom));
      assert.equal(urlSecret.Type, 'AWS::SecretsManager::Secret');
      const [which, clusterUrl, singleUrl] = urlSecret.Properties.SecretString['Fn::If'] || [];
      assert.equal(which, 'RedisClusterModeEnabled', 'the URL is chosen by the cluster mode');
      const url = (endpoint) => new RegExp('^rediss://:\\{\\{resolve:secretsmanager:\\$\\{RedisAuthSecret\\}:SecretString:token\\}\\}@' +
        `\\$\\{RedisReplicationGroup\\.${endpoint}\\.Address\\}:\\$\\{RedisReplicationGroup\\.${endpoint}\\.Port\\}$`);
      assert.match(singleUrl['Fn::Sub'], url('PrimaryEndPoint'));
      assert.match(clusterUrl['Fn::Sub'], url('ConfigurationEndPoint'));
      assert.match(ev(urlSecret.Properties.SecretString), url('PrimaryEndPoint'), 'by default');
      assert.match(ev(urlSecret.Properties.SecretString, CLUSTER), url('ConfigurationEndPoint'), 'with RedisClusterMode=enabled');
      const rg = res('RedisReplicationGroup').Properties;
      assert.equal(rg.AuthToken['Fn::Sub'], '{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}');
      assert.equal(res('RedisAuthSecret').Type, 'AWS::SecretsManager::Secret');
      assert.equal(res('RedisAuthSecret').Properties.GenerateSecretString.GenerateStringKey, 'token');
      assert.equal(res('RedisAuthSecret').Properties.GenerateSecretString.ExcludePunctuation, true, 'URL-safe token');
    });

    it('Redis: Multi-AZ, automatic failover, encryption in transit and at rest, private subnets', function () {
      const raw = res('RedisReplicationGroup').Properties;
      const rg = ev(raw); // the defaults: cluster mode disabled, the single-shard group
      assert.equal(rg.TransitEncryptionEnabled, true);
      assert.equal(rg.AtRestEncryptionEnabled, true);
      assert.equal(rg.MultiAZEnabled, true);
      assert.equal(rg.AutomaticFailoverEnabled, true);
      assert.ok(rg.NumCacheClusters >= 2);
      assert.equal(rg.CacheParameterGroupName, undefined, 'the default parameter group');
      assert.deepEqual(raw.CacheNodeType, { Ref: 'RedisNodeType' });
      assert.equal(Number(rg.Port), 6379);
      const sg = res(refName(raw.CacheSubnetGroupName));
      assert.equal(sg.Type, 'AWS::ElastiCache::SubnetGroup');
      assert.deepEqual(sg.Properties.SubnetIds, { Ref: 'PrivateSubnetIds' });
    });

    it('Redis cluster mode: every cluster-mode property of the replication group is guarded by RedisClusterModeEnabled, and the two modes never mix', function () {
      const rgRes = res('RedisReplicationGroup');
      const raw = rgRes.Properties;
      // Written as !If [RedisClusterModeEnabled, x, !Ref AWS::NoValue] (NumCacheClusters the other way round).
      assert.deepEqual(raw.NumNodeGroups, { 'Fn::If': ['RedisClusterModeEnabled', { Ref: 'RedisNodeGroups' }, NO_VALUE] });
      assert.deepEqual(raw.ReplicasPerNodeGroup, { 'Fn::If': ['RedisClusterModeEnabled', { Ref: 'RedisReplicasPerNodeGroup' }, NO_VALUE] });
      assert.deepEqual(raw.CacheParameterGroupName, { 'Fn::If': ['RedisClusterModeEnabled', { Ref: 'RedisClusterParameterGroup' }, NO_VALUE] });
      assert.deepEqual(raw.NumCacheClusters, { 'Fn::If': ['RedisClusterModeEnabled', NO_VALUE, 2] });
      assert.equal(raw.NodeGroupConfiguration, undefined, 'shards are described by NumNodeGroups / ReplicasPerNodeGroup only');
      assert.equal(raw.ReplicationGroupId, undefined, 'no fixed name, so that CloudFormation can replace the group');
      assert.equal(rgRes.UpdatePolicy?.UseOnlineResharding, true, 'NumNodeGroups changes by online resharding, not by replacement');

      // What the README says about updates rests on these UpdateTypes of the resource specification.
      const spec = cfn.loadSpec().ResourceTypes['AWS::ElastiCache::ReplicationGroup'];
      assert.equal(spec.Properties.ReplicasPerNodeGroup.UpdateType, 'Immutable');
      assert.equal(spec.Properties.NumNodeGroups.UpdateType, 'Conditional');
      assert.equal(spec.Properties.NumCacheClusters.UpdateType, 'Mutable');
      assert.equal(spec.Properties.CacheParameterGroupName.UpdateType, 'Mutable');

      const CLUSTER_ONLY = ['CacheParameterGroupName', 'NodeGroupConfiguration', 'NumNodeGroups', 'ReplicasPerNodeGroup'];
      const settings = [{}, { RedisClusterMode: 'disabled', RedisReplicasPerNodeGroup: 0 }, ...clusterCombinations()];
      for (const parameters of settings) {
        const at = JSON.stringify(parameters);
        const rg = ev(raw, parameters);
        // in both modes, exactly as without cluster mode
        assert.equal(rg.Engine, 'redis', at);
        assert.equal(rg.TransitEncryptionEnabled, true, at);
        assert.equal(rg.AtRestEncryptionEnabled, true, at);
        assert.equal(rg.AuthToken, '{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}', at);
        assert.equal(Number(rg.Port), 6379, at);
        assert.equal(rg.AutomaticFailoverEnabled, true, `${at}: required in cluster mode, and Multi-AZ needs it`);
        if (parameters.RedisClusterMode === 'enabled') {
          assert.deepEqual(CLUSTER_ONLY.filter((k) => k in rg), ['CacheParameterGroupName', 'NumNodeGroups', 'ReplicasPerNodeGroup'], at);
          assert.equal(rg.NumCacheClusters, undefined, `${at}: NumCacheClusters is for a group without cluster mode`);
          assert.equal(Number(rg.NumNodeGroups), parameters.RedisNodeGroups, at);
          assert.equal(Number(rg.ReplicasPerNodeGroup), parameters.RedisReplicasPerNodeGroup, at);
          assert.equal(rg.CacheParameterGroupName, '<Ref RedisClusterParameterGroup>', at);
          assert.equal(rg.MultiAZEnabled, parameters.RedisReplicasPerNodeGroup >= 1, `${at}: Multi-AZ needs a replica in each shard`);
        } else {
          assert.deepEqual(CLUSTER_ONLY.filter((k) => k in rg), [], `${at}: no cluster-mode property without cluster mode`);
          assert.equal(rg.NumCacheClusters, 2, at);
          assert.equal(rg.MultiAZEnabled, true, at);
        }
      }
    });

    it('Redis cluster mode: the cluster-enabled parameter group (family redis7) exists only in cluster mode', function () {
      const pg = res('RedisClusterParameterGroup');
      assert.equal(pg.Type, 'AWS::ElastiCache::ParameterGroup');
      assert.equal(pg.Condition, 'RedisClusterModeEnabled');
      assert.equal(pg.Properties.CacheParameterGroupFamily, 'redis7');
      assert.equal(pg.Properties.Properties['cluster-enabled'], 'yes');
      assert.equal(included(pg, {}), false);
      assert.equal(included(pg, CLUSTER), true);
    });

    it('Redis cluster mode: only the configuration endpoint is read in cluster mode, only the primary endpoint without it', function () {
      // A cluster-mode group has no PrimaryEndPoint and a group without cluster mode no
      // ConfigurationEndPoint: Fn::GetAtt of the missing one fails the stack.
      const read = (parameters) => {
        const out = new Set();
        for (const r of Object.values(t.Resources)) if (included(r, parameters)) rgAttrs(r, parameters, out);
        for (const o of Object.values(t.Outputs)) if (included(o, parameters)) rgAttrs(o.Value, parameters, out);
        return [...out].sort();
      };
      assert.deepEqual(read({}), ['PrimaryEndPoint.Address', 'PrimaryEndPoint.Port']);
      assert.deepEqual(read(CLUSTER), ['ConfigurationEndPoint.Address', 'ConfigurationEndPoint.Port']);
      // The task definition names the endpoint, so a replaced group (new endpoint) rolls the tasks,
      // which read REDIS_URL only when they start.
      assert.deepEqual([...rgAttrs(container().DockerLabels, {})], ['PrimaryEndPoint.Address']);
      assert.deepEqual([...rgAttrs(container().DockerLabels, CLUSTER)], ['ConfigurationEndPoint.Address']);
      // Outputs: the primary endpoint without cluster mode, the configuration endpoint with it.
      assert.equal(t.Outputs.RedisPrimaryEndpoint.Condition, 'RedisClusterModeDisabled');
      assert.equal(t.Outputs.RedisConfigurationEndpoint.Condition, 'RedisClusterModeEnabled');
      assert.equal(ev(t.Outputs.RedisConfigurationEndpoint.Value, CLUSTER),
        '${RedisReplicationGroup.ConfigurationEndPoint.Address}:${RedisReplicationGroup.ConfigurationEndPoint.Port}');
    });

    it('Redis cluster mode: the task runs REDIS_CLUSTER=true with REDIS_ADAPTER=sharded, without it REDIS_CLUSTER=false with pubsub (values --help lists)', function () {
      const raw = Object.fromEntries(container().Environment.map((e) => [e.Name, e.Value]));
      assert.deepEqual(raw.REDIS_CLUSTER, { 'Fn::If': ['RedisClusterModeEnabled', 'true', 'false'] });
      assert.deepEqual(raw.REDIS_ADAPTER, { 'Fn::If': ['RedisClusterModeEnabled', 'sharded', 'pubsub'] });
      const choices = serverHelpChoices();
      assert.ok(choices.REDIS_CLUSTER, 'sio-server --help lists REDIS_CLUSTER [true|false]');
      assert.ok((choices.REDIS_ADAPTER || []).includes('sharded'), `sio-server --help lists REDIS_ADAPTER=sharded: ${choices.REDIS_ADAPTER}`);
      for (const mode of t.Parameters.RedisClusterMode.AllowedValues) {
        const parameters = { RedisClusterMode: mode };
        const env = Object.fromEntries(ev(container().Environment, parameters).map((e) => [e.Name, String(e.Value)]));
        for (const [k, v] of Object.entries(env)) {
          if (choices[k]) assert.ok(choices[k].includes(v), `${k}=${v} (RedisClusterMode=${mode}): --help lists ${choices[k].join('|')}`);
        }
        const cluster = mode === 'enabled';
        assert.equal(env.REDIS_CLUSTER, String(cluster), mode);
        // REDIS_CLUSTER=true needs sharded pub/sub; classic pub/sub is the single-shard default.
        assert.equal(env.REDIS_ADAPTER, cluster ? 'sharded' : 'pubsub', mode);
        // The configuration endpoint (REDIS_URL) is the seed; the subscription mode stays at
        // its default, the one a Node service's createShardedAdapter defaults to too.
        assert.equal(env.REDIS_CLUSTER_SEEDS, undefined, mode);
        assert.equal(env.REDIS_SHARDED_SUBSCRIPTION_MODE, undefined, mode);
        assert.deepEqual(raw.REDIS_PREFIX, { Ref: 'RedisPrefix' });
      }
      assert.equal(serverHelp().REDIS_SHARDED_SUBSCRIPTION_MODE, 'dynamic', 'the default the template relies on');
    });

    it('security groups: internet -> ALB 443/80, ALB -> tasks 3000, tasks -> Redis 6379, nothing else inbound', function () {
      const groups = resourcesOfType(t, 'AWS::EC2::SecurityGroup').map(([n]) => n).sort();
      assert.deepEqual(groups, ['AlbSecurityGroup', 'RedisSecurityGroup', 'TaskSecurityGroup']);
      const source = (r) => (r.CidrIp || r.CidrIpv6 || (refName(r.SourceSecurityGroupId) ? `sg:${refName(r.SourceSecurityGroupId)}` : JSON.stringify(r)));
      const rule = (group, r, condition) => `${group} ${r.IpProtocol} ${r.FromPort}-${r.ToPort} from ${source(r)}${condition ? ` if ${condition}` : ''}`;
      const ingress = [];
      for (const [n, r] of resourcesOfType(t, 'AWS::EC2::SecurityGroup')) {
        for (const i of r.Properties.SecurityGroupIngress || []) ingress.push(rule(n, i, r.Condition));
      }
      for (const [, r] of resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress')) ingress.push(rule(refName(r.Properties.GroupId), r.Properties, r.Condition));
      assert.deepEqual(ingress.sort(), [
        'AlbSecurityGroup tcp 443-443 from 0.0.0.0/0',
        'AlbSecurityGroup tcp 80-80 from 0.0.0.0/0',
        'RedisSecurityGroup tcp 6379-6379 from sg:TaskSecurityGroup',
        'TaskSecurityGroup tcp 3000-3000 from sg:AlbSecurityGroup',
        'TaskSecurityGroup tcp 3001-3001 from sg:ApiClientSecurityGroupId if HasApiClients',
      ].sort());
      assert.equal(ev(t.Conditions.HasApiClients), false, 'the API port is closed unless ApiClientSecurityGroupId is given');
      assert.equal(ev(t.Conditions.HasApiClients, { ApiClientSecurityGroupId: 'sg-0123456789abcdef0' }), true);

      // Egress is replaced (no default allow-all): ALB only to the tasks, tasks to Redis and HTTPS, Redis nowhere.
      const egress = (n) => res(n).Properties.SecurityGroupEgress;
      assert.deepEqual(egress('AlbSecurityGroup').map((r) => `${r.IpProtocol} ${r.FromPort} ${refName(r.DestinationSecurityGroupId)}`), ['tcp 3000 TaskSecurityGroup']);
      assert.ok(egress('TaskSecurityGroup').some((r) => r.FromPort === 6379 && r.ToPort === 6379 && refName(r.DestinationSecurityGroupId) === 'RedisSecurityGroup'));
      assert.ok(egress('TaskSecurityGroup').every((r) => r.IpProtocol === 'tcp'));
      assert.deepEqual(egress('RedisSecurityGroup').map((r) => r.CidrIp), ['255.255.255.255/32']);
      assert.equal(resourcesOfType(t, 'AWS::EC2::SecurityGroupEgress').length, 0);

      // Each group is used where it belongs.
      assert.deepEqual(res('LoadBalancer').Properties.SecurityGroups.map(refName), ['AlbSecurityGroup']);
      assert.deepEqual(res('Service').Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups.map(refName), ['TaskSecurityGroup']);
      assert.deepEqual(res('RedisReplicationGroup').Properties.SecurityGroupIds.map(refName), ['RedisSecurityGroup']);
    });

    it('service: Fargate in private subnets behind the target group, rolling deploys', function () {
      const s = res('Service').Properties;
      assert.equal(s.LaunchType, 'FARGATE');
      assert.deepEqual(s.DesiredCount, { Ref: 'DesiredCount' });
      const nc = s.NetworkConfiguration.AwsvpcConfiguration;
      assert.deepEqual(nc.Subnets, { Ref: 'PrivateSubnetIds' });
      assert.equal(nc.AssignPublicIp, 'DISABLED');
      assert.deepEqual(s.LoadBalancers, [{ ContainerName: 'sio', ContainerPort: 3000, TargetGroupArn: { Ref: 'TargetGroup' } }]);
      const dc = s.DeploymentConfiguration;
      assert.ok(dc.MinimumHealthyPercent >= 100 && dc.MaximumPercent >= 200, 'new tasks start before old ones drain');
      assert.ok([].concat(res('Service').DependsOn).includes('HttpsListener'));
    });

    it('auto scaling: CPU and connections-per-task target tracking', function () {
      const st = resourcesOfType(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
      assert.equal(st.length, 1);
      const [stName, target] = st[0];
      assert.deepEqual(target.Properties.MinCapacity, { Ref: 'MinTasks' });
      assert.deepEqual(target.Properties.MaxCapacity, { Ref: 'MaxTasks' });
      assert.equal(target.Properties.ScalableDimension, 'ecs:service:DesiredCount');
      const policies = resourcesOfType(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => p.Properties);
      for (const p of policies) {
        assert.equal(p.PolicyType, 'TargetTrackingScaling');
        assert.equal(refName(p.ScalingTargetId), stName);
      }
      const configs = policies.map((p) => p.TargetTrackingScalingPolicyConfiguration);
      assert.ok(configs.some((c) => c.PredefinedMetricSpecification?.PredefinedMetricType === 'ECSServiceAverageCPUUtilization'));
      const conn = configs.find((c) => c.CustomizedMetricSpecification);
      assert.ok(conn, 'a policy on the custom connections metric');
      assert.equal(conn.CustomizedMetricSpecification.Statistic, 'Average');
      assert.deepEqual(conn.CustomizedMetricSpecification.MetricName, { Ref: 'ConnectionsMetricName' });
      assert.deepEqual(conn.TargetValue, { Ref: 'ConnectionsPerTaskTarget' });
      // The sidecar that publishes that metric scrapes the API port of the same task.
      const agent = res('TaskDefinition').Properties.ContainerDefinitions.find((c) => c.Name !== 'sio');
      assert.equal(agent.Essential, false);
      const prom = agent.Environment.find((e) => e.Name === 'PROMETHEUS_CONFIG_CONTENT').Value['Fn::Sub'];
      assert.match(prom, /127\.0\.0\.1:3001/);
      assert.match(prom, /metrics_path: \/metrics/);
      const cw = JSON.parse(ev(agent.Environment.find((e) => e.Name === 'CW_CONFIG_CONTENT').Value).replace(/\$\{[^}]+\}/g, 'X'));
      assert.equal(cw.logs.metrics_collected.prometheus.emf_processor.metric_namespace, conn.CustomizedMetricSpecification.Namespace);
    });

    it('auto scaling: the average the connections policy tracks is a task\'s connections, measured on a live sio-server', async function () {
      // What the sidecar does: scrape :3001/metrics, keep the series whose name the
      // template's metric_selectors match, drop every label but ClusterName and
      // ServiceName (so each series is one data point of the same metric), and
      // CloudWatch averages those data points.
      const agent = res('TaskDefinition').Properties.ContainerDefinitions.find((c) => c.Name !== 'sio');
      const metricName = t.Parameters.ConnectionsMetricName.Default;
      const cwText = agent.Environment.find((e) => e.Name === 'CW_CONFIG_CONTENT').Value['Fn::Sub']
        .replace(/\$\{ConnectionsMetricName\}/g, metricName).replace(/\$\{[^}]+\}/g, 'X');
      const decl = JSON.parse(cwText).logs.metrics_collected.prometheus.emf_processor.metric_declaration[0];
      assert.deepEqual(decl.dimensions, [['ClusterName', 'ServiceName']]);
      const selectors = decl.metric_selectors.map((r) => new RegExp(r));
      const { startSioServer, stopAlive, connect, connected, closeAll } = require('../lib/sio');
      const server = await startSioServer({});
      try {
        const clients = [
          connect(server.url, { transports: ['websocket'] }),
          connect(server.url, { transports: ['websocket'] }),
          connect(server.url, { transports: ['polling'] }),
        ];
        await Promise.all(clients.map((c) => connected(c)));
        const text = (await httpRequest({ port: server.apiPort, path: '/metrics' })).body;
        const points = text.split('\n').filter((l) => l && !l.startsWith('#'))
          .map((l) => /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(l))
          .filter((m) => m && selectors.some((r) => r.test(m[1])))
          .map((m) => Number(m[3]));
        assert.ok(points.length >= 1, `no series of /metrics matches ${decl.metric_selectors}`);
        const average = points.reduce((a, b) => a + b, 0) / points.length;
        assert.equal(average, 3, `3 connections, but the policy would see ${average} (data points ${points})`);
      } finally {
        closeAll();
        await stopAlive(server);
      }
    });

    it('alarms: connections, p99 latency, ALB 5xx, Redis engine CPU and memory', function () {
      const metrics = resourcesOfType(t, 'AWS::CloudWatch::Alarm').flatMap(([, a]) => {
        const p = a.Properties;
        const list = [{ name: p.MetricName, ns: p.Namespace, ext: p.ExtendedStatistic }];
        for (const m of p.Metrics || []) if (m.MetricStat) list.push({ name: m.MetricStat.Metric.MetricName, ns: m.MetricStat.Metric.Namespace });
        return list.filter((x) => x.name);
      });
      const has = (ns, name, extra = () => true) => metrics.some((m) => m.ns === ns && JSON.stringify(m.name) === JSON.stringify(name) && extra(m));
      assert.ok(has('SIO', { Ref: 'ConnectionsMetricName' }), 'connections');
      assert.ok(has('AWS/ApplicationELB', 'TargetResponseTime', (m) => m.ext === 'p99'), 'p99 latency');
      assert.ok(has('AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count'), 'ALB 5xx');
      assert.ok(has('AWS/ElastiCache', 'EngineCPUUtilization'), 'Redis engine CPU');
      assert.ok(has('AWS/ElastiCache', 'DatabaseMemoryUsagePercentage'), 'Redis memory');
      assert.ok(Number(t.Parameters.LatencyP99AlarmSeconds.Default) * 1000 > Number(t.Parameters.PingIntervalMs.Default),
        'the p99 threshold is above pingInterval (held long-polling GETs)');
    });

    it('alarms: Redis engine CPU and memory watch every node of the replication group, with and without cluster mode', function () {
      const THRESHOLDS = { EngineCPUUtilization: 75, DatabaseMemoryUsagePercentage: 80 };
      const alarms = resourcesOfType(t, 'AWS::CloudWatch::Alarm');
      /** CacheClusterIds of `metric` that the alarms existing for these parameters read. */
      const watched = (metric, parameters) => {
        const ids = new Set();
        for (const [name, a] of alarms) {
          if (!included(a, parameters)) continue;
          const queries = a.Properties.Metrics || [];
          const stats = queries.filter((q) => q.MetricStat?.Metric.Namespace === 'AWS/ElastiCache' && q.MetricStat.Metric.MetricName === metric);
          if (stats.length === 0) continue;
          assert.ok(stats.length <= 10, `${name}: a metric-math alarm reads at most 10 metrics (${stats.length})`);
          const out = queries.filter((q) => q.ReturnData === true);
          assert.equal(out.length, 1, `${name}: one expression is alarmed on`);
          const m = /^MAX\(\[(.*)\]\)$/.exec(out[0].Expression);
          assert.ok(m, `${name}: the busiest node, MAX([...]): ${out[0].Expression}`);
          assert.deepEqual(m[1].split(/,\s*/).sort(), stats.map((q) => q.Id).sort(), `${name}: MAX() over every node it reads`);
          assert.equal(a.Properties.Threshold, THRESHOLDS[metric], name);
          assert.equal(a.Properties.ComparisonOperator, 'GreaterThanThreshold', name);
          for (const q of stats) {
            assert.equal(q.MetricStat.Period, 60, name);
            const dims = ev(q.MetricStat.Metric.Dimensions, parameters);
            assert.equal(dims.length, 1, name);
            assert.equal(dims[0].Name, 'CacheClusterId', name);
            ids.add(dims[0].Value);
          }
        }
        return ids;
      };
      const RG = '${RedisReplicationGroup}';
      for (const metric of Object.keys(THRESHOLDS)) {
        // Without cluster mode: the primary and the replica, <group>-001 and -002, nothing else.
        assert.deepEqual([...watched(metric, {})].sort(), [`${RG}-001`, `${RG}-002`], metric);
        // Cluster mode: <group>-<shard>-<node> of every shard and node the parameters give.
        for (const parameters of clusterCombinations()) {
          const ids = watched(metric, parameters);
          const at = `${metric} ${JSON.stringify(parameters)}`;
          for (let shard = 1; shard <= parameters.RedisNodeGroups; shard++) {
            for (let node = 1; node <= 1 + parameters.RedisReplicasPerNodeGroup; node++) {
              const id = `${RG}-${String(shard).padStart(4, '0')}-${String(node).padStart(3, '0')}`;
              assert.ok(ids.has(id), `${at}: ${id} is watched`);
            }
          }
          for (const id of ids) {
            const m = /^\$\{RedisReplicationGroup\}-(\d{4})-(\d{3})$/.exec(id);
            assert.ok(m, `${at}: ${id} is a cluster-mode node id`);
            assert.ok(Number(m[2]) <= 1 + parameters.RedisReplicasPerNodeGroup, `${at}: no alarm for node ${m[2]} of shards of ${1 + parameters.RedisReplicasPerNodeGroup} nodes`);
          }
        }
      }
    });

    it('outputs the WebSocket URL and the ALB DNS name', function () {
      assert.deepEqual(t.Outputs.WebSocketUrl.Value, { 'Fn::Sub': 'wss://${LoadBalancer.DNSName}/socket.io/' });
      assert.deepEqual(t.Outputs.LoadBalancerDnsName.Value, { 'Fn::GetAtt': ['LoadBalancer', 'DNSName'] });
    });

    it('cloudformation/README.md documents Redis cluster mode: its parameters, the sharded adapter, recovery, replacement', function () {
      const readme = fs.readFileSync(path.join(REPO_ROOT, 'cloudformation', 'README.md'), 'utf8');
      const section = /^## Redis cluster mode$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme);
      assert.ok(section, 'a "## Redis cluster mode" section');
      for (const word of ['RedisClusterMode', 'RedisNodeGroups', 'RedisReplicasPerNodeGroup', 'RedisEngineVersion',
        'REDIS_CLUSTER=true', 'REDIS_ADAPTER=sharded', 'REDIS_SHARDED_SUBSCRIPTION_MODE', 'RECOVERY_WINDOW_MS',
        'createShardedAdapter', 'ConfigurationEndPoint', 'UseOnlineResharding', 'Immutable']) {
        assert.ok(section[1].includes(word), `the section mentions ${word}`);
      }
    });
  });
});
