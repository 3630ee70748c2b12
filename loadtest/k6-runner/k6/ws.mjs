// 'k6/ws' shim: ws.connect(url, [params], fn(socket)) -> {url, status, headers, body, error}.
import { rt } from './runtime.mjs';

export function connect(url, params, fn) {
  if (typeof params === 'function') return rt().wsConnect(url, {}, params);
  return rt().wsConnect(url, params || {}, fn);
}

export default { connect };
