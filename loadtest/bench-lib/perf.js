'use strict';
/*
 * System-wide CPU sampling with `perf record -a` (cpu-clock at a frequency that is
 * not a multiple of the 1 ms publishing tick, so samples do not lock onto the
 * traffic's phase). Attaching perf to a pid gives no samples in this VM, system-wide
 * sampling works. Used for two things:
 *   - the user/system split of the servers' CPU in a window (the share of samples
 *     in user code vs in the kernel, per thread), applied to their exact run time;
 *     the kernel's own utime/stime come from the 250 Hz scheduler tick, which the
 *     periodic traffic biases (whole windows with zero user ticks were seen);
 *   - the profile: where a server spends its CPU (self time per symbol).
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');
const { spawnTracked, stopProc } = require('./proc');

const FREQ = 1999;
let available = null;

function perfAvailable(tmp) {
  if (available !== null) return available;
  const file = path.join(tmp, 'perf-check.data');
  try {
    execFileSync('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(FREQ), '-a', '-o', file, '--', 'sleep', '0.3'],
      { stdio: 'ignore', timeout: 10000 });
    const out = execFileSync('perf', ['report', '-i', file, '--stdio', '-q', '--sort', 'dso', '-n'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
    available = /kernel/.test(out);
  } catch (_) {
    available = false;
  }
  fs.rmSync(file, { force: true });
  return available;
}

let seq = 0;
/** Starts sampling for at most `seconds`; returns {file, done: Promise, stop()} (stop ends it early). */
function startPerf(tmp, seconds) {
  const file = path.join(tmp, `perf-${process.pid}-${++seq}.data`);
  const p = spawnTracked('perf', 'perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(FREQ), '-a', '-o', file,
    '--', 'sleep', seconds.toFixed(2)]);
  const guard = setTimeout(() => stopProc(p, 2000), (seconds + 20) * 1000);
  return {
    file,
    done: p.exited.then((e) => { clearTimeout(guard); return e; }),
    stop: () => { try { p.proc.kill('SIGINT'); } catch (_) { /* gone */ } },
  };
}

function report(args) {
  return new Promise((resolve) => {
    execFile('perf', ['report', ...args], { maxBuffer: 64 << 20, timeout: 120000 }, (err, out) => resolve(err ? '' : out));
  });
}

/** {tid: {user, kernel}} sample counts. */
async function samplesByThread(file) {
  const out = await report(['-i', file, '--stdio', '-q', '--no-children', '-g', 'none', '--sort', 'pid,dso', '-n']); /* 'pid' is the thread id */
  const by = {};
  for (const line of out.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(\d+):.*?\s(\S+)\s*$/.exec(line); /* comm may hold spaces */
    if (!m) continue;
    const tid = Number(m[2]);
    const e = by[tid] || (by[tid] = { user: 0, kernel: 0 });
    if (m[3].startsWith('[kernel')) e.kernel += Number(m[1]); else e.user += Number(m[1]);
  }
  return by;
}

/**
 * Where the given processes spent their samples: {samples, dsos: [{pct, dso}],
 * symbols: [{pct, samples, dso, kernel, sym}]}, percentages of their own samples.
 */
async function topSymbols(file, pids, limit = 25) {
  /* (perf 6.1 prints nothing for --sort dso alone with --pid: the binaries are summed from dso,sym) */
  const out = await report(['-i', file, '--stdio', '-q', '--no-children', '-g', 'none', '--pid', pids.join(','), '-n',
    '--sort', 'dso,sym']);
  const all = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[([.kgu])\]\s+(.*?)\s*$/.exec(line);
    if (m) all.push({ samples: Number(m[2]), dso: m[3], kernel: m[4] === 'k', sym: m[5] });
  }
  const samples = all.reduce((s, x) => s + x.samples, 0);
  const pct = (n) => (samples ? (100 * n) / samples : 0);
  const byDso = new Map();
  for (const x of all) byDso.set(x.dso, (byDso.get(x.dso) || 0) + x.samples);
  const dsos = [...byDso].sort((a, b) => b[1] - a[1]).map(([dso, n]) => ({ pct: pct(n), dso }));
  const symbols = all.sort((a, b) => b.samples - a.samples).slice(0, limit).map((x) => ({ ...x, pct: pct(x.samples) }));
  return { samples, dsos, symbols };
}

module.exports = { perfAvailable, startPerf, samplesByThread, topSymbols, FREQ };
