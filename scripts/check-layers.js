#!/usr/bin/env node
'use strict';
/*
 * check-layers.js BUILD_DIR: the layering rules, checked on the real include
 * graph. For every product source in BUILD_DIR/compile_commands.json (configure
 * with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON), `gcc -MM`-style dependencies are
 * taken with the compiler's own command line (-M), and:
 *   - protocol/ includes nothing of server/ or adapters/, and no I/O library;
 *   - server/core/ includes no libwebsockets, libuv, libevent or hiredis header,
 *     and nothing of the edge (server/net, engine, socketio, gateway) or of
 *     adapters/;
 *   - the edge (server/net, engine, socketio, gateway) includes nothing of
 *     adapters/ and no libevent or hiredis header;
 *   - the cluster thread (adapters/redis) includes nothing of the edge and no
 *     libwebsockets or libuv header;
 *   - only server/app/ (the binaries' main()s) sees both threads.
 * Prints each violation (file -> header) and exits 1 if there is any.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execSync } = require('node:child_process');

const build = path.resolve(process.argv[2] || 'build');
const root = path.resolve(__dirname, '..');
const db = JSON.parse(fs.readFileSync(path.join(build, 'compile_commands.json'), 'utf8'));

const EDGE = /^server\/(net|engine|socketio|gateway|include)\//;
const CLUSTER = /^adapters\//;
const LWS_UV = /\/(libwebsockets|lws-[^/]*|uv)(\.h|\/)/;
const EVENT_HIREDIS = /\/(event2|hiredis)\//;
const rules = [
  { layer: /^protocol\//, bad: (h) => /^(server|adapters)\//.test(h) || LWS_UV.test(h) || EVENT_HIREDIS.test(h) },
  { layer: /^server\/core\//, bad: (h) => EDGE.test(h) || CLUSTER.test(h) || LWS_UV.test(h) || EVENT_HIREDIS.test(h) },
  { layer: EDGE, bad: (h) => CLUSTER.test(h) || EVENT_HIREDIS.test(h) },
  { layer: CLUSTER, bad: (h) => EDGE.test(h) || LWS_UV.test(h) },
];

let violations = 0;
let checked = 0;
for (const entry of db) {
  const file = path.relative(root, path.resolve(entry.directory, entry.file));
  const rule = rules.find((r) => r.layer.test(file));
  if (!rule) continue; // tests, loadtest, examples, server/app
  const cmd = (entry.command || entry.arguments.join(' '))
    .replace(/\s-o\s+\S+/, '').replace(/\s-c\s/, ' ') + ' -M -MG';
  const deps = execSync(cmd, { cwd: entry.directory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .replace(/\\\n/g, ' ').split(/\s+/).slice(1).filter((d) => d && !d.endsWith(':'));
  checked++;
  for (const d of deps) {
    const abs = path.resolve(entry.directory, d);
    const h = abs.startsWith(root + path.sep) ? path.relative(root, abs) : abs;
    if (rule.bad(h)) {
      console.log(`layering: ${file} -> ${h}`);
      violations++;
    }
  }
}
console.log(`check-layers: ${checked} product sources checked, ${violations} violation(s)`);
process.exit(violations ? 1 : 0);
