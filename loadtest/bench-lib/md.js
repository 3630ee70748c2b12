'use strict';
/*
 * Shared by the reports of loadtest/bench's own sections of RESULTS.md
 * (recovery-report.js, sharded-report.js):
 *   section(name, beginNote)  {BEGIN, END, extract(text), splice(text, section)}: the
 *                             marked section `<!-- name:begin ... -->` .. `<!-- name:end -->`
 *                             of a file, and the file with it replaced (or appended)
 *   ok, f, n0, ratio          number formatting ('–' for what is not a finite number)
 *   mdTable, textTable        a markdown table, the same as aligned plain text
 */

function section(name, beginNote) {
  const BEGIN = `<!-- ${name}:begin (${beginNote}) -->`;
  const END = `<!-- ${name}:end -->`;
  const key = `<!-- ${name}:begin`;
  const bounds = (text) => {
    const a = text.indexOf(key);
    const b = text.indexOf(END, a);
    return a >= 0 && b > a ? [a, b + END.length] : null;
  };
  return {
    BEGIN,
    END,
    extract: (text) => {
      const r = bounds(text);
      return r ? text.slice(r[0], r[1]) : null;
    },
    splice: (text, sec) => {
      const r = bounds(text);
      if (r) return text.slice(0, r[0]) + sec + text.slice(r[1]);
      return `${text.replace(/\n*$/, '\n\n')}${sec}\n`;
    },
  };
}

const ok = (x) => typeof x === 'number' && Number.isFinite(x);
function f(x, d = 2) {
  if (!ok(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(Math.min(d, 1));
  return x.toFixed(d);
}
const n0 = (x) => (ok(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (a, b) => (ok(a) && ok(b) && b !== 0 ? a / b : null);

function mdTable(header, rows, align) {
  const al = align || header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${header.join(' | ')} |`, `| ${al.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function textTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c).replace(/\*\*/g, '').replace(/`/g, '')));
  const w = all[0].map((_, i) => Math.max(...all.map((r) => (r[i] || '').length)));
  return all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

module.exports = { section, ok, f, n0, ratio, mdTable, textTable };
