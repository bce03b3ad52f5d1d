#!/usr/bin/env node
// Builds the prebuilt addon for this machine's platform and arch into prebuilds/<platform>-<arch>/
// with prebuildify (N-API: one binary serves every Node version), then checks that it loads.
//
// Linux glibc binaries are compiled by zig against glibc 2.17: g++ on a current distribution links
// stat/fstat and pthread_create at GLIBC_2.33/2.34, which would refuse to load on Debian 11,
// Ubuntu 20.04 or RHEL 8, all of which run Node 20. zig also links its libc++ statically, so there
// is no GLIBCXX floor either. musl (Alpine) and macOS binaries use the machine's own compiler (on
// macOS the linker adds the ad-hoc signature arm64 requires).
//
//   node scripts/prebuild.mjs            (zig for glibc: npm ci --prefix tools/zig)
//   node scripts/prebuild.mjs --native   (the system compiler everywhere; raises the glibc floor)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { findZig, nodeHeaders, ROOT } from './toolchain.mjs';

export const GLIBC_FLOOR = '2.17';
const ZIG_ARCH = { x64: 'x86_64', arm64: 'aarch64' };

const libc = process.platform !== 'linux' ? null : fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const env = { ...process.env };
const native = process.argv.includes('--native');

if (libc === 'glibc' && !native) {
  const zig = findZig();
  const arch = ZIG_ARCH[process.arch];
  if (!zig || !arch) {
    console.error(`prebuild: a glibc build needs zig for ${process.arch} (npm ci --prefix tools/zig), or --native to use the system compiler`);
    process.exit(1);
  }
  // node-gyp's Makefile takes CC, CXX and LINK from the environment; wrappers carry the target
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-zigcc-'));
  for (const [name, mode] of [['cc', 'cc'], ['c++', 'c++']]) {
    const file = path.join(bin, name);
    fs.writeFileSync(file, `#!/bin/sh\nexec "${zig}" ${mode} -target ${arch}-linux-gnu.${GLIBC_FLOOR} "$@"\n`, { mode: 0o755 });
  }
  Object.assign(env, { CC: path.join(bin, 'cc'), CXX: path.join(bin, 'c++'), LINK: path.join(bin, 'c++') });
  console.log(`prebuild: compiling with zig for ${arch}-linux-gnu.${GLIBC_FLOOR}`);
}

// N-API binaries are built against this Node's headers (not prebuildify's default, the newest Node,
// whose headers would have to be downloaded): the N-API version is pinned by NAPI_VERSION anyway
const target = process.versions.node;
try {
  env.npm_config_nodedir ??= path.resolve(nodeHeaders(), '..', '..');
} catch {
  // no local headers: node-gyp downloads them for `target`
}
const prebuildify = path.join(ROOT, 'node_modules', 'prebuildify', 'bin.js');
const run = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc', `--target=${target}`], { cwd: ROOT, env, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith(libc ? `.${libc}.node` : '.node'));
if (!file) throw new Error(`prebuild: prebuildify wrote nothing for ${libc ?? process.platform} in ${dir}`);

// it must load in a fresh process and expose the calls src/native/addon.ts types
const probe = `const a = require(${JSON.stringify(file)}); for (const k of ['flock','lockChecked','identity','waitLock','commitReplace']) if (typeof a[k] !== 'function') throw new Error('missing ' + k); console.log(Object.keys(a).join(' '))`;
console.log(`prebuild: ${path.relative(ROOT, file)} loads: ${execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim()}`);

if (libc === 'glibc') {
  const floor = glibcFloor(file);
  if (floor === undefined) console.log('prebuild: objdump not found: glibc floor not checked');
  else if (!native && compareVersions(floor, GLIBC_FLOOR) > 0) throw new Error(`prebuild: ${file} needs GLIBC_${floor}, above the ${GLIBC_FLOOR} floor`);
  else console.log(`prebuild: needs glibc ${floor} or later`);
}

/** The highest GLIBC_x.y symbol version the binary needs, from objdump -T (undefined when no objdump). */
function glibcFloor(binary) {
  const dump = spawnSync('objdump', ['-T', binary], { encoding: 'utf8' });
  if (dump.error) return undefined;
  const versions = [...dump.stdout.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]);
  return versions.sort(compareVersions).at(-1) ?? '0';
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
