'use strict';
/*
 * PNG plots with gnuplot (Debian: gnuplot-nox; a bench-only package, so not in
 * scripts/install-deps.sh: install() gets it when the bench runs as root).
 *
 *   available()                 whether `gnuplot` runs here (and which PNG terminal it has)
 *   install()                   apt-get install gnuplot-nox when root and apt-get is there; then available()
 *   render(spec, file, tmpDir)  writes the plot of spec to file (PNG); rejects on failure
 *   INSTALL                     how to install it, for the messages
 *
 * spec: {title, xlabel, ylabel, logx, categorical, series: [names], points:
 * [{x, label, values: [number|null per series]}]}: lines and points over x (a log scale
 * when logx, ticks at the points), or clustered bars per point when categorical.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFile, spawnSync } = require('node:child_process');

const INSTALL = 'apt-get install -y gnuplot-nox';
let terminal;

function available() {
  if (terminal !== undefined) return terminal !== null;
  terminal = null;
  /* `set terminal` lists the terminals on stderr or stdout, depending on the build */
  const r = spawnSync('gnuplot', ['-e', 'set terminal'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
  if (!r.error) {
    const out = `${r.stdout || ''}${r.stderr || ''}`;
    terminal = /\bpngcairo\b/.test(out) ? 'pngcairo' : /\bpng\b/.test(out) ? 'png' : null;
  }
  return terminal !== null;
}

function install() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  console.error('bench: installing gnuplot-nox for the plots (apt-get)');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'gnuplot-nox'],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error || r.status !== 0) return false;
  terminal = undefined;
  return available();
}

const q = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '-');

function script(spec, file, dataFile) {
  const S = [];
  S.push('set encoding utf8');
  S.push(terminal === 'pngcairo' ? 'set terminal pngcairo size 900,520 enhanced font "DejaVu Sans,11"' : 'set terminal png size 900,520');
  S.push(`set output ${q(file)}`);
  S.push(`set title ${q(spec.title)} noenhanced`);
  S.push(`set xlabel ${q(spec.xlabel)} noenhanced`);
  S.push(`set ylabel ${q(spec.ylabel)} noenhanced`);
  S.push("set datafile missing '-'", 'set datafile separator "\\t"', 'set grid ytics', 'set key outside right top', 'set yrange [0:*]');
  const cols = spec.series.map((name, i) => ({ name, col: i + 3 }));
  if (spec.categorical) {
    S.push('set style data histogram', 'set style histogram cluster gap 1', 'set style fill solid 0.8 border -1', 'set boxwidth 0.9');
    S.push(`plot ${cols.map((c, i) => `${q(dataFile)} using ${c.col}${i === 0 ? ':xtic(2)' : ''} title ${q(c.name)} noenhanced`).join(', ')}`);
  } else {
    const xs = spec.points.map((p) => p.x);
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    if (spec.logx) {
      S.push('set logscale x', `set xrange [${lo / 1.6}:${hi * 1.6}]`);
    } else {
      const pad = (hi - lo) * 0.08 || 0.5;
      S.push(`set xrange [${lo - pad}:${hi + pad}]`);
    }
    S.push(`set xtics (${spec.points.map((p) => `${q(p.label)} ${p.x}`).join(', ')})`);
    S.push(`plot ${cols.map((c) => `${q(dataFile)} using 1:${c.col} with linespoints lw 2 pt 7 ps 1.2 title ${q(c.name)} noenhanced`).join(', ')}`);
  }
  return `${S.join('\n')}\n`;
}

function render(spec, file, tmpDir) {
  if (!available()) return Promise.reject(new Error(`gnuplot not found (${INSTALL})`));
  const base = path.join(tmpDir, `plot-${path.basename(file, '.png')}`);
  const dataFile = `${base}.tsv`;
  const gp = `${base}.gp`;
  /* columns: x, label, one per series; '-' where a value is missing */
  fs.writeFileSync(dataFile, `${spec.points.map((p) => [p.x, p.label.replace(/\t/g, ' '), ...p.values.map(num)].join('\t')).join('\n')}\n`);
  fs.writeFileSync(gp, script(spec, file, dataFile));
  return new Promise((resolve, reject) => {
    execFile('gnuplot', [gp], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`gnuplot: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`));
      else if (!fs.existsSync(file) || fs.statSync(file).size === 0) reject(new Error('gnuplot wrote no image'));
      else resolve(file);
    });
  });
}

module.exports = { available, install, render, INSTALL };
