// Metrics benchmark (issue 19): what the diagnostics channels cost a write loop.
//   before      the code before the channels (built from git into a temp folder)
//   no sub      this code, nobody subscribed: one hasSubscribers look per call
//   prometheus  this code with collectMetrics() subscribed (counters, histograms)
// Two loops, each variant in its own process, rounds interleaved: `writes` (open + close on a file
// log: lock, fsync, rename) and `refused` (an open refused at its validation: no I/O, so the call
// path's own cost shows).
//   npx tsc -p tsconfig.build.json && node bench/metrics.js [--quick] [--before <rev>]
// Numbers are printed, never asserted.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { fmt, runJson, table, tempDir } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const worker = path.join(here, 'metrics-worker.js');

/** The commit before the one that added the channels (store/diagnostics.ts), unless --before names one. */
function beforeRev() {
  const i = process.argv.indexOf('--before');
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  const added = execFileSync('git', ['log', '--diff-filter=A', '--format=%H', '--', 'src/store/diagnostics.ts'], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
  if (!added) throw new Error('src/store/diagnostics.ts is not in git history: pass --before <rev>');
  return `${added}^`;
}

/** dist/ of `rev`, compiled in a temp folder beside our node_modules and addon build. */
function buildBefore(rev) {
  const dir = tempDir('tse-bench-before-');
  execFileSync('sh', ['-c', `git archive ${rev} src tsconfig.json tsconfig.build.json package.json | tar -x -C ${dir}`], { cwd: root });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  if (fs.existsSync(path.join(root, 'build'))) fs.symlinkSync(path.join(root, 'build'), path.join(dir, 'build'));
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.build.json')], { cwd: dir, stdio: 'inherit' });
  return { dir, dist: path.join(dir, 'dist') };
}

export async function benchMetrics({ quick = false } = {}) {
  const rev = beforeRev();
  const before = buildBefore(rev);
  const ours = path.join(root, 'dist');
  const variants = [
    ['before', before.dist, 'none'],
    ['no sub', ours, 'none'],
    ['prometheus', ours, 'prometheus'],
  ];
  const rounds = quick ? 1 : 3;
  const ms = quick ? 300 : 1500;
  try {
    for (const kind of ['writes', 'refused']) {
      const best = new Map(variants.map(([name]) => [name, 0]));
      for (let r = 0; r < rounds; r++) {
        for (const [name, dist, mode] of variants) {
          const dir = tempDir('tse-bench-metrics-');
          try {
            const res = await runJson(worker, [dist, mode, kind, String(ms), dir]);
            best.set(name, Math.max(best.get(name), res.perSec));
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }
      }
      const base = best.get('before');
      console.log(`\n${kind === 'writes' ? 'open + close on a file log' : 'an open refused at validation (no I/O)'}: calls/s, best of ${rounds} (before = ${rev})`);
      console.log(
        table([
          ['variant', 'calls/s', 'µs/call', 'vs before'],
          ...variants.map(([name]) => {
            const v = best.get(name);
            return [name, fmt(v), fmt(1e6 / v, 2), `${fmt((v / base) * 100, 1)} %`];
          }),
        ]),
      );
    }
  } finally {
    fs.rmSync(before.dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchMetrics({ quick: process.argv.includes('--quick') });
