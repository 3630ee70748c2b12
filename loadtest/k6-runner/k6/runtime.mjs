// The runtime the runner installs before loading a script: the VU runtime in a VU
// thread (vu.js), the init-context runtime in the main thread (run.js).
export function rt() {
  const r = globalThis[Symbol.for('k6-runner.runtime')];
  if (!r) throw new Error('k6 runner runtime not installed');
  return r;
}
