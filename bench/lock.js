// Lock benchmarks (issue 2): (a) uncontended lock+unlock, (b) 4 processes of
// read-modify-write critical sections, (c) hand-off latency between processes.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { FileLock } from '../dist/index.js';
import { fmt, opsPerSec, percentile, runJson, table, tempDir } from './lib.js';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(here, 'lock-worker.js');

export async function benchLock({ quick = false } = {}) {
  const dir = tempDir('tse-bench-lock-');
  const lockFile = path.join(dir, 'bench.lock');
  const out = {};
  try {
    // (a) uncontended cycle
    const { flockSync } = require('fs-ext');
    const lockfile = require('proper-lockfile');
    const ours = new FileLock(lockFile);
    const fd = fs.openSync(lockFile, 'a+');
    const plTarget = path.join(dir, 'pl-target');
    fs.writeFileSync(plTarget, '');
    const ms = quick ? 150 : 400;
    const a = {
      'trade-state-engine tryLock+unlock (inode check included)': opsPerSec(() => {
        ours.tryLock();
        ours.unlock();
      }, ms),
      'trade-state-engine lockSync+unlock': opsPerSec(() => {
        ours.lockSync();
        ours.unlock();
      }, ms),
      'fs-ext flockSync ex+un': opsPerSec(() => {
        flockSync(fd, 'ex');
        flockSync(fd, 'un');
      }, ms),
      'proper-lockfile lockSync+unlockSync': opsPerSec(() => {
        lockfile.lockSync(plTarget, { realpath: false });
        lockfile.unlockSync(plTarget, { realpath: false });
      }, ms, 1),
    };
    ours.close();
    fs.closeSync(fd);
    const ref = a['fs-ext flockSync ex+un'];
    console.log('\n(a) uncontended lock+unlock cycle, one process');
    console.log(
      table([
        ['implementation', 'cycles/s', 'ns/cycle', 'time vs fs-ext flockSync'],
        ...Object.entries(a).map(([k, v]) => [k, fmt(v), fmt(1e9 / v), `${fmt(ref / v, 2)}x`]),
      ]),
    );
    out.uncontended = a;

    // (b) 4 processes, read-modify-write critical sections
    const impls = ['ours', 'ours-poll', 'fsext-async', 'fsext-sync', 'proper-lockfile'];
    const duration = quick ? 700 : 2000;
    const b = {};
    for (const impl of impls) {
      const counter = path.join(dir, `counter-${impl}`);
      fs.writeFileSync(counter, '0');
      const startAt = Date.now() + 400;
      const results = await Promise.all(
        Array.from({ length: 4 }, () => runJson(WORKER, [impl, 'rmw', lockFile, counter, String(duration), String(startAt)])),
      );
      const total = results.reduce((s, r) => s + r.n, 0);
      const final = Number(fs.readFileSync(counter, 'utf8'));
      if (final !== total) throw new Error(`${impl}: counter ${final} != ${total} critical sections (lost update)`);
      b[impl] = total / (duration / 1000);
    }
    console.log('\n(b) 4 processes, read-modify-write critical sections (async API unless noted)');
    const names = {
      ours: 'trade-state-engine lock() (kernel wait on a dedicated thread)',
      'ours-poll': 'alternative: LOCK_NB polling, sawtooth 0.1-10 ms',
      'fsext-async': 'fs-ext flock async (threadpool)',
      'fsext-sync': 'fs-ext flockSync (blocks the event loop)',
      'proper-lockfile': 'proper-lockfile lock (mkdir, retries)',
    };
    console.log(
      table([
        ['implementation', 'sections/s', 'ours vs it'],
        ...impls.map((k) => [names[k], fmt(b[k]), `${fmt(b.ours / b[k], 2)}x`]),
      ]),
    );
    out.contended = b;

    // (c) hand-off latency
    const rounds = quick ? 150 : 600;
    const c = {};
    for (const impl of ['ours', 'ours-poll', 'fsext-async', 'fsext-sync']) {
      const state = path.join(dir, `handoff-${impl}`);
      fs.writeFileSync(state, '');
      const results = await Promise.all(
        Array.from({ length: 2 }, () => runJson(WORKER, [impl, 'handoff', lockFile, state, String(rounds)])),
      );
      const lat = results.flatMap((r) => r.latencies).sort((x, y) => x - y);
      c[impl] = { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99) };
    }
    console.log('\n(c) hand-off latency: release in one process -> acquire in the waiting process (µs)');
    console.log(
      table([
        ['implementation', 'samples', 'p50 µs', 'p99 µs'],
        ...Object.entries(c).map(([k, v]) => [names[k], v.n, fmt(v.p50, 1), fmt(v.p99, 1)]),
      ]),
    );
    out.handoff = c;
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchLock({ quick: process.argv.includes('--quick') });
}
