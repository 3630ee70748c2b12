'use strict';
/*
 * Runs build/sio-bench once and follows it: the start of its main phase (the line
 * "N/M clients ready; publishing|holding for Xs"), its progress lines (cumulative
 * deliveries, once a second) and its RESULT line.
 *
 *   runSioBench(ctx, args, {label, onSpawn(pid), onMain(t0Ms, mode, pid), onProgress(pt), timeoutMs})
 *     -> {result, progress: [{t, ready, deliveries}], t0, exit, stderr, args}
 *   deliveriesAt(progress, tMs)   cumulative deliveries at a time (linear interpolation)
 */
const path = require('node:path');
const { spawnTracked, stopProc } = require('./proc');

const PROGRESS = /^sio-bench:\s+([\d.]+)s\s+ready (\d+)\/(\d+)\s+deliveries (\d+)/;
const MAIN = /clients ready; (publishing|holding) for/;

function num(args, name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

async function runSioBench(ctx, args, { label = 'sio-bench', onSpawn, onMain, onProgress, timeoutMs } = {}) {
  const run = { args, progress: [], t0: null, result: null, label };
  const limit = timeoutMs || 1000 * (num(args, '--ramp-timeout', 30) + num(args, '--duration', 10) +
    num(args, '--drain', 3) + 40);
  if (ctx.verbose) console.error(`bench: ${label}: sio-bench ${args.join(' ')}`);
  const p = spawnTracked(label, ctx.sioBench, args, {
    logFile: path.join(ctx.tmp, 'sio-bench.log'),
    onStderrLine: (line) => {
      const now = Date.now();
      if (ctx.verbose) console.error(`  ${line}`);
      let m;
      if (run.t0 === null && (m = MAIN.exec(line))) {
        run.t0 = now;
        run.mode = m[1];
        if (onMain) onMain(now, m[1], run.pid);
      } else if ((m = PROGRESS.exec(line))) {
        const pt = { t: now, ready: Number(m[2]), deliveries: Number(m[4]) };
        run.progress.push(pt);
        if (onProgress) onProgress(pt);
      }
    },
    onStdoutLine: (line) => {
      if (line.startsWith('RESULT ')) {
        try { run.result = JSON.parse(line.slice(7)); } catch (_) { /* reported below */ }
      }
    },
  });
  run.pid = p.pid;
  if (onSpawn) onSpawn(p.pid);
  const guard = setTimeout(() => {
    console.error(`bench: ${label}: sio-bench still running after ${limit / 1000}s: stopping it`);
    stopProc(p, 3000);
  }, limit);
  run.exit = await p.exited;
  clearTimeout(guard);
  run.stderr = p.stderr;
  run.stdout = p.stdout;
  if (!run.result) {
    throw new Error(`${label}: sio-bench gave no RESULT (exit ${JSON.stringify(run.exit)}):\n` +
      `${p.stdout.slice(-1500)}\n${p.stderr.slice(-1500)}`);
  }
  return run;
}

function deliveriesAt(progress, t) {
  if (!progress.length) return null;
  if (t <= progress[0].t) return progress[0].deliveries;
  for (let i = 1; i < progress.length; i++) {
    const a = progress[i - 1];
    const b = progress[i];
    if (t <= b.t) return a.deliveries + ((b.deliveries - a.deliveries) * (t - a.t)) / (b.t - a.t || 1);
  }
  return progress[progress.length - 1].deliveries;
}

module.exports = { runSioBench, deliveriesAt };
