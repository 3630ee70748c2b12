// 'k6/http' shim: get, post, put, del, patch, request -> {status, body, headers, error, timings, json()}.
import { rt } from './runtime.mjs';

export function request(method, url, body, params) {
  return rt().httpRequest(String(method).toUpperCase(), url, body, params || {});
}
export const get = (url, params) => request('GET', url, null, params);
export const post = (url, body, params) => request('POST', url, body, params);
export const put = (url, body, params) => request('PUT', url, body, params);
export const patch = (url, body, params) => request('PATCH', url, body, params);
export const del = (url, body, params) => request('DELETE', url, body, params);

export default { request, get, post, put, patch, del };
