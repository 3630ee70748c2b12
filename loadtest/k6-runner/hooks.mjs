/*
 * Module loader hooks (node:module register) of the k6 runner: how the unmodified
 * k6 scripts load under Node.
 *   - the specifiers 'k6', 'k6/ws', 'k6/http', 'k6/metrics' resolve to the shims in ./k6/;
 *     any other 'k6/...' module, and remote (https://) modules, fail loudly;
 *   - every .js file under the script's directory is loaded as an ES module (k6 scripts
 *     are ES modules; without this Node would treat a .js file outside a
 *     "type": "module" package as CommonJS), so relative imports (./lib/sio.js) work.
 * The scripts are not rewritten: they are loaded as they are, by the real ESM loader.
 */
const SHIMS = {
  k6: new URL('./k6/k6.mjs', import.meta.url).href,
  'k6/ws': new URL('./k6/ws.mjs', import.meta.url).href,
  'k6/http': new URL('./k6/http.mjs', import.meta.url).href,
  'k6/metrics': new URL('./k6/metrics.mjs', import.meta.url).href,
};

let scriptRoot = null;

export function initialize(data) {
  scriptRoot = data && data.scriptRoot;
}

export async function resolve(specifier, context, nextResolve) {
  if (Object.hasOwn(SHIMS, specifier)) return { url: SHIMS[specifier], format: 'module', shortCircuit: true };
  if (specifier.startsWith('k6/') || specifier.startsWith('k6:')) {
    throw new Error(`the k6 module '${specifier}' is not implemented by this runner (k6, k6/ws, k6/http, k6/metrics are)`);
  }
  if (/^https?:\/\//.test(specifier)) {
    throw new Error(`remote module '${specifier}' is not supported by this runner`);
  }
  const r = await nextResolve(specifier, context);
  if (scriptRoot && r.url.startsWith(scriptRoot) && r.url.endsWith('.js')) return { ...r, format: 'module' };
  return r;
}
