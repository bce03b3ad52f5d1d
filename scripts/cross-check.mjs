#!/usr/bin/env node
// Compiles native/ for every platform we ship but cannot run here (macOS x64 and arm64, Linux
// arm64, musl, and glibc 2.17) with zig, warnings as errors. The only macOS signal a Linux machine
// gives: it fails when native code stops compiling on any one target. Compile only: each target's
// real link and load happen in the GitHub workflow's prebuild jobs, on that platform.
//
//   node scripts/cross-check.mjs [--target <zig-triple>]...     (zig: npm ci --prefix tools/zig)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { addonApiInclude, findZig, gypTarget, nodeHeaders } from './toolchain.mjs';

const TARGETS = {
  'darwin-x64': 'x86_64-macos.11.0',
  'darwin-arm64': 'aarch64-macos.11.0',
  'linux-arm64': 'aarch64-linux-gnu.2.17',
  'linux-x64-musl': 'x86_64-linux-musl',
  'linux-arm64-musl': 'aarch64-linux-musl',
  'linux-x64-glibc2.17': 'x86_64-linux-gnu.2.17',
};
// Stricter than binding.gyp's -Wall -Wextra: a narrowing that is harmless on one ABI is a bug on another.
const WARNINGS = ['-Wall', '-Wextra', '-Wpedantic', '-Wconversion', '-Wsign-conversion', '-Wshorten-64-to-32', '-Werror'];

const zig = findZig();
if (!zig) {
  console.error('cross-check: zig not found. Install it with: npm ci --prefix tools/zig (or set ZIG)');
  process.exit(1);
}
const wanted = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--target' ? [a] : []));
const targets = wanted.length > 0 ? wanted : Object.keys(TARGETS);
const { sources, defines } = gypTarget();
// third-party headers as system headers: -Werror judges our code, not node-addon-api's
const includes = ['-iquote', path.dirname(sources[0]), '-isystem', nodeHeaders(), '-isystem', addonApiInclude()];
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-cross-'));

function compile(name, source) {
  const triple = TARGETS[name];
  if (!triple) return Promise.resolve({ name, source, code: 2, output: `unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}` });
  const args = ['c++', '-target', triple, '-std=c++17', '-O2', '-fPIC', ...WARNINGS, ...defines.map((d) => `-D${d}`), ...includes,
    '-c', source, '-o', path.join(out, `${name}-${path.basename(source)}.o`)];
  return new Promise((resolve) => {
    const child = spawn(zig, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ name, source, code, output }));
  });
}

const jobs = targets.flatMap((t) => sources.map((s) => [t, s]));
const results = [];
// two at a time: zig is CPU-bound and the machine has two cores
for (let i = 0; i < jobs.length; i += 2) results.push(...(await Promise.all(jobs.slice(i, i + 2).map(([t, s]) => compile(t, s)))));

// The canary: the same check must fail on a narrowing planted for arm64 macOS only, and pass on
// another target with it. A check that cannot fail would be worse than none.
let canaryOk = true;
if (wanted.length === 0) {
  const planted = path.join(out, 'planted.cc');
  const body = fs.readFileSync(sources[0], 'utf8');
  fs.writeFileSync(planted, `${body}\n#if defined(__APPLE__) && defined(__aarch64__)\nlong tse_planted(long v) { int narrow = v; return narrow; }\n#endif\n`);
  const [arm, x64] = await Promise.all([compile('darwin-arm64', planted), compile('darwin-x64', planted)]);
  canaryOk = arm.code !== 0 && /Wshorten-64-to-32/.test(arm.output) && x64.code === 0;
  console.log(`cross-check: ${canaryOk ? 'ok  ' : 'FAIL'} canary: a narrowing planted for darwin-arm64 ${canaryOk ? 'fails there and only there' : `was not caught as expected\n${arm.output}${x64.output}`}`);
}
fs.rmSync(out, { recursive: true, force: true });

let failed = 0;
for (const t of targets) {
  const mine = results.filter((r) => r.name === t);
  const bad = mine.filter((r) => r.code !== 0);
  failed += bad.length > 0 ? 1 : 0;
  console.log(`cross-check: ${bad.length === 0 ? 'ok  ' : 'FAIL'} ${t.padEnd(20)} (${TARGETS[t] ?? '?'})`);
  for (const r of bad) console.log(`--- ${path.relative(process.cwd(), r.source)} for ${t}:\n${r.output.trim()}\n`);
}
if (!canaryOk) {
  console.error('cross-check: the canary was not caught: this check cannot be trusted');
  process.exit(1);
}
if (failed > 0) {
  console.error(`cross-check: native/ does not compile cleanly for ${failed} of ${targets.length} targets`);
  process.exit(1);
}
console.log(`cross-check: native/ compiles with ${WARNINGS.join(' ')} for all ${targets.length} targets`);
