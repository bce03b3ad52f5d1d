// One contending process of the lock benchmarks. Usage:
//   node lock-worker.js <impl> rmw <lockFile> <counterFile> <durationMs> <startAtMs>
//   node lock-worker.js <impl> handoff <lockFile> <stateFile> <rounds>
// Prints one JSON line.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { FileLock } from '../dist/index.js';

const require = createRequire(import.meta.url);
const [impl, mode, lockFile, dataFile, arg, startAt] = process.argv.slice(2);

/** Each implementation as { acquire(): Promise<void>, release(): void }. */
function makeLock() {
  switch (impl) {
    case 'ours': {
      const l = new FileLock(lockFile);
      return { acquire: () => l.lock(), release: () => l.unlock() };
    }
    case 'ours-poll': {
      // The alternative design: LOCK_NB polling with a sawtooth backoff
      // (0.1 ms doubling to 10 ms, then back), for the mechanism comparison.
      const l = new FileLock(lockFile);
      return {
        async acquire() {
          let delay = 0.1;
          while (!l.tryLock()) {
            await new Promise((r) => setTimeout(r, delay));
            delay = delay >= 10 ? 0.1 : delay * 2;
          }
        },
        release: () => l.unlock(),
      };
    }
    case 'fsext-async': {
      const { flock } = require('fs-ext');
      const fd = fs.openSync(lockFile, 'a+');
      return {
        acquire: () => new Promise((res, rej) => flock(fd, 'ex', (e) => (e ? rej(e) : res()))),
        release: () => require('fs-ext').flockSync(fd, 'un'),
      };
    }
    case 'fsext-sync': {
      const { flockSync } = require('fs-ext');
      const fd = fs.openSync(lockFile, 'a+');
      return { acquire: async () => flockSync(fd, 'ex'), release: () => flockSync(fd, 'un') };
    }
    case 'proper-lockfile': {
      const lockfile = require('proper-lockfile');
      let release = null;
      return {
        async acquire() {
          release = await lockfile.lock(lockFile, { realpath: false, retries: { retries: 1e6, minTimeout: 1, maxTimeout: 20, factor: 1.5 } });
        },
        release: () => {
          const r = release;
          release = null;
          return r();
        },
      };
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
}

const lock = makeLock();
const now = () => process.hrtime.bigint();

if (mode === 'rmw') {
  // Wait for a common start so the processes really contend.
  while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
  const until = Date.now() + Number(arg);
  let n = 0;
  while (Date.now() < until) {
    await lock.acquire();
    const v = Number(fs.readFileSync(dataFile, 'utf8'));
    fs.writeFileSync(dataFile, String(v + 1));
    await lock.release();
    n++;
  }
  console.log(JSON.stringify({ n }));
} else if (mode === 'handoff') {
  // The holder writes "<pid> <release time>" just before releasing; the next
  // holder reads it just after acquiring. Only turns that changed hands count.
  // process.hrtime is CLOCK_MONOTONIC, one clock for all processes of a machine.
  // One pwrite/pread on a descriptor opened once keeps I/O out of the figure.
  const fd = fs.openSync(dataFile, 'r+');
  const buf = Buffer.alloc(64);
  const latencies = [];
  const rounds = Number(arg);
  const me = String(process.pid);
  const put = (s) => {
    buf.fill(32);
    buf.write(s);
    fs.writeSync(fd, buf, 0, 64, 0);
  };
  for (;;) {
    await lock.acquire();
    const t = now();
    const n = fs.readSync(fd, buf, 0, 64, 0);
    const [pid, ts] = buf.toString('utf8', 0, n).trim().split(' ');
    if (pid === 'done') {
      await lock.release();
      break;
    }
    if (pid && pid !== me) latencies.push(Number(t - BigInt(ts)) / 1000);
    // Hold for a moment so the other process is surely parked in its wait
    // when we release, then step back so it takes the next turn.
    await new Promise((r) => setTimeout(r, 2));
    if (latencies.length >= rounds) {
      put('done 0');
      await lock.release();
      break;
    }
    put(`${me} ${now()}`);
    await lock.release();
    await new Promise((r) => setTimeout(r, 1));
  }
  console.log(JSON.stringify({ latencies }));
}
