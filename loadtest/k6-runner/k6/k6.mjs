// 'k6' shim: check, sleep, group, fail.
import { rt } from './runtime.mjs';

export function check(val, sets, tags) {
  let all = true;
  for (const [name, fn] of Object.entries(sets || {})) {
    // as in k6, an exception thrown by a check function propagates
    const ok = typeof fn === 'function' ? Boolean(fn(val)) : Boolean(fn);
    rt().check(name, ok);
    if (!ok) all = false;
  }
  void tags;
  return all;
}

export function sleep(seconds) {
  rt().sleep(Number(seconds));
}

export function group(name, fn) {
  void name; // groups are not tracked (no group_duration, no nested check paths)
  return fn();
}

export function fail(msg) {
  throw new Error(msg);
}

export default { check, sleep, group, fail };
