'use strict';
/*
 * build/sio-bench from the tests: run it to its exit (bounded) and read its
 * `RESULT {json}` line. Used by bench-tool.test.js and floor.test.js.
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { binPath } = require('./server');

/** Runs sio-bench to its exit (bounded); resolves {code, signal, stdout, stderr}. */
function runBench(args, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binPath('sio-bench'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`sio-bench ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (err) => { clearTimeout(timer); reject(err); });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The parsed RESULT line of a run (asserts there is one). */
function resultOf(run) {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in:\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(line.slice('RESULT '.length));
}

module.exports = { runBench, resultOf };
