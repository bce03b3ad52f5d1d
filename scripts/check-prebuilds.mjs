#!/usr/bin/env node
// Runs before `npm pack` / `npm publish` (prepack): a tarball without a prebuilt addon would make
// every user compile, or fail where no compiler exists. Checks this machine's platform by default;
// --all checks the six the release ships (the release job runs it after gathering them).
import fs from 'node:fs';
import path from 'node:path';

import { ROOT } from './toolchain.mjs';

export const SHIPPED = [
  'linux-x64/*.glibc.node',
  'linux-x64/*.musl.node',
  'linux-arm64/*.glibc.node',
  'linux-arm64/*.musl.node',
  'darwin-x64/*.node',
  'darwin-arm64/*.node',
];

function host() {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}/*.node`;
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return `${process.platform}-${process.arch}/*.${libc}.node`;
}

function present(pattern) {
  const [dir, glob] = pattern.split('/');
  const suffix = glob.slice(1);
  try {
    return fs.readdirSync(path.join(ROOT, 'prebuilds', dir)).some((f) => f.endsWith(suffix));
  } catch {
    return false;
  }
}

const wanted = process.argv.includes('--all') ? SHIPPED : [host()];
const missing = wanted.filter((p) => !present(p));
if (missing.length > 0) {
  console.error(`check-prebuilds: prebuilds/ lacks ${missing.join(', ')}.`);
  console.error('  Build this machine\'s with `npm run build:prebuild`; the release job gathers the others from CI.');
  process.exit(1);
}
console.log(`check-prebuilds: ${wanted.map((p) => p.replace('/*', ' ')).join(', ')} present`);
