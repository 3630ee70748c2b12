'use strict';
/*
 * Snapshots of CPU (servers and their threads, Redis, sio-bench, this script, the
 * whole machine) and differences between two snapshots; RSS and sockets; TCP data
 * segments the servers sent to clients (ss), to tell frames per write.
 *
 * CPU time: the exact run time of each process (and thread) comes from the kernel's
 * taskstats (sum_exec_runtime). It is split into user and system by perf samples
 * over the window (perf.js) when perf works, else by the scheduler-tick samples of
 * the window (taskstats' raw utime/stime). The utime/stime of /proc/<pid>/stat are
 * not used for the split: the kernel scales them over the whole life of the process
 * and never lets either go backwards, so over a window after a ramp-up with another
 * mix they can show e.g. zero user time. Without taskstats
 * (bench-lib/taskstats.py --check fails) /proc is used and the report says so.
 */
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');
const {
  CLK_TCK, spawnTracked, cpuTicks, threadTicks, rssKb, socketCount, childrenOf, systemBusy,
} = require('./proc');

const HELPER = path.join(__dirname, 'taskstats.py');
let helper = null;
let helperOk = null;
const waiting = [];

function taskstatsAvailable() {
  if (helperOk === null) {
    try {
      execFileSync('python3', [HELPER, '--check'], { stdio: 'ignore', timeout: 5000 });
      helperOk = true;
    } catch (_) {
      helperOk = false;
    }
  }
  return helperOk;
}

/** {token: {utime_us, stime_us, run_ns} | null} for tokens "<pid>" (thread group) or "t<tid>". */
function taskstats(tokens) {
  if (!taskstatsAvailable() || tokens.length === 0) return Promise.resolve({});
  if (!helper || helper.exit) {
    helper = spawnTracked('taskstats', 'python3', [HELPER], {
      stdin: true,
      onStdoutLine: (line) => {
        const w = waiting.shift();
        if (!w) return;
        try { w(JSON.parse(line)); } catch (_) { w({}); }
      },
    });
    helper.exited.then(() => { while (waiting.length) waiting.shift()({}); });
  }
  return new Promise((resolve) => {
    waiting.push(resolve);
    helper.proc.stdin.write(`${tokens.join(' ')}\n`);
  });
}

function benchPids(benchPid) {
  if (!benchPid) return [];
  return [benchPid, ...childrenOf(benchPid)];
}

/** CPU of a process: from taskstats when there, else /proc (ticks -> seconds). */
function cpuOf(ts, procTicks) {
  if (ts) return { run: ts.run_ns / 1e9, u: ts.utime_us / 1e6, s: ts.stime_us / 1e6, exact: true };
  if (procTicks) return { run: (procTicks.utime + procTicks.stime) / CLK_TCK, u: procTicks.utime / CLK_TCK, s: procTicks.stime / CLK_TCK, exact: false };
  return null;
}

async function snapshot(cluster, benchPid) {
  const t = Date.now();
  const sys = systemBusy();
  const self = process.cpuUsage();
  const servers = cluster.nodes.map((n) => ({ pid: n.pid, proc: cpuTicks(n.pid), threads: threadTicks(n.pid) }));
  const redisProc = cpuTicks(cluster.redis.pid);
  const bpids = benchPids(benchPid);
  const bproc = bpids.map((p) => cpuTicks(p));
  const tokens = [...servers.flatMap((s) => [String(s.pid), ...s.threads.map((x) => `t${x.tid}`)]),
    String(cluster.redis.pid), ...bpids.map(String)];
  const ts = await taskstats(tokens);
  for (const s of servers) {
    s.cpu = cpuOf(ts[String(s.pid)], s.proc);
    for (const th of s.threads) th.cpu = cpuOf(ts[`t${th.tid}`], th);
  }
  const bench = bpids.map((p, i) => ({ pid: p, cpu: cpuOf(ts[String(p)], bproc[i]) }));
  return { t, servers, redis: cpuOf(ts[String(cluster.redis.pid)], redisProc), bench, sys, self };
}

/**
 * Run time difference, split into user and system by `frac` (the user share from
 * perf samples) when given, else by the scheduler-tick samples of the window.
 */
function split(a, b, frac = null) {
  if (!a || !b) return { user: NaN, sys: NaN, run: NaN, exact: false };
  const run = b.run - a.run;
  const du = b.u - a.u;
  const ds = b.s - a.s;
  const f = frac !== null ? frac : du + ds > 0 ? du / (du + ds) : 0;
  return { run, user: run * f, sys: run * (1 - f), exact: a.exact && b.exact };
}

const MIN_SAMPLES = 20;

/** User share of the perf samples of these threads, or null when too few. */
function userShare(samples, tids) {
  if (!samples) return null;
  let u = 0;
  let k = 0;
  for (const tid of tids) {
    const e = samples[tid];
    if (e) { u += e.user; k += e.kernel; }
  }
  return u + k >= MIN_SAMPLES ? u / (u + k) : null;
}

/**
 * Differences b - a, in seconds of CPU. samples: {tid: {user, kernel}} from perf over
 * the same window, for the user/system split (else the tick samples are used).
 */
function delta(a, b, samples = null) {
  const wall = (b.t - a.t) / 1000;
  let user = 0;
  let sys = 0;
  let exact = true;
  let splitBy = samples ? 'perf' : 'ticks';
  const perServer = [];
  const threads = [];
  for (let i = 0; i < a.servers.length; i++) {
    const tids = b.servers[i].threads.map((x) => x.tid);
    const share = userShare(samples, tids);
    if (share === null) splitBy = 'ticks';
    const d = split(a.servers[i].cpu, b.servers[i].cpu, share);
    exact = exact && d.exact;
    user += d.user;
    sys += d.sys;
    perServer.push({ pid: a.servers[i].pid, user: d.user, sys: d.sys, perf_user_share: share });
    for (const tb of b.servers[i].threads) {
      const ta = a.servers[i].threads.find((x) => x.tid === tb.tid);
      if (!ta) continue;
      const dt = split(ta.cpu, tb.cpu, userShare(samples, [tb.tid]));
      if (!(dt.run > 0)) continue;
      threads.push({ node: i + 1, main: tb.tid === a.servers[i].pid, tid: tb.tid, comm: tb.comm, user: dt.user, sys: dt.sys });
    }
  }
  const redis = a.redis && b.redis ? b.redis.run - a.redis.run : NaN;
  let bench = 0;
  for (const x of b.bench) {
    const y = a.bench.find((z) => z.pid === x.pid);
    if (x.cpu) bench += x.cpu.run - (y && y.cpu ? y.cpu.run : 0);
  }
  const self = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  const busy = (b.sys.busy - a.sys.busy) / CLK_TCK;
  return {
    wall, user, sys, total: user + sys, exact, splitBy, perServer, threads, redis, bench, self, busy,
    other: Math.max(0, busy - user - sys - redis - bench - self),
  };
}

function rssSum(cluster) {
  return cluster.nodes.reduce((s, n) => s + (rssKb(n.pid) || 0), 0);
}

function sockets(cluster) {
  return cluster.nodes.map((n) => socketCount(n.pid));
}

/** Sum of data_segs_out over established TCP sockets whose local port is one of ports. */
function dataSegsOut(ports) {
  return new Promise((resolve) => {
    const filter = `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`;
    execFile('ss', ['-tinH', 'state', 'established', filter], { maxBuffer: 64 << 20, timeout: 10000 }, (err, out) => {
      if (err) { resolve(null); return; }
      let segs = 0;
      let socks = 0;
      const re = /data_segs_out:(\d+)/g;
      let m;
      while ((m = re.exec(out))) { segs += Number(m[1]); socks++; }
      resolve({ segs, socks });
    });
  });
}

/**
 * CPU used by everything except this cluster and this script over `ms` (cores):
 * the machine's background load.
 */
async function otherLoad(cluster, ms = 1000) {
  const mine = () => {
    let t = 0;
    for (const pid of [...cluster.nodes.map((n) => n.pid), cluster.redis.pid]) {
      const c = cpuTicks(pid);
      if (c) t += c.utime + c.stime;
    }
    return t / CLK_TCK;
  };
  const s0 = systemBusy();
  const m0 = mine();
  const p0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const s1 = systemBusy();
  const m1 = mine();
  const p1 = process.cpuUsage(p0);
  const busy = (s1.busy - s0.busy) / CLK_TCK;
  return Math.max(0, busy - (m1 - m0) - (p1.user + p1.system) / 1e6) / (ms / 1000);
}

/** How this run's CPU time is taken and split (for the reports' method paragraphs). */
function cpuSourceText(ctx) {
  return `${ctx.taskstats ? 'the exact run time from the kernel\'s taskstats' : 'utime + stime from /proc/<pid>/stat'}, ` +
    `split into user and system ${ctx.perf ? 'by the share of `perf record -a` samples (cpu-clock, 1,999 Hz) over the same window' : 'by the scheduler-tick samples of the window (perf unavailable)'}`;
}

module.exports = { snapshot, delta, rssSum, sockets, dataSegsOut, benchPids, taskstats, taskstatsAvailable, otherLoad, cpuSourceText };
