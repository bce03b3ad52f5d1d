import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileLock, withLock } from '../src/index.js';
import { addon } from '../src/native/addon.js';
import { FIXTURES, runNode, sleep, spawnNode, tempDir, wrap } from './helpers.js';

const CHILD = path.join(FIXTURES, 'lock-child.mjs');
const execFileP = promisify(execFile);

let dir: string;
let file: string;
const open: FileLock[] = [];
const track = (l: FileLock) => (open.push(l), l);

beforeEach(() => {
  dir = tempDir('tse-lock-');
  file = path.join(dir, 'trades.lock');
});
afterEach(() => {
  for (const l of open.splice(0)) l.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('native flock', () => {
  it('turns errno into a Node-style error (EBADF on a closed descriptor)', () => {
    const fd = fs.openSync(file, 'w');
    fs.closeSync(fd);
    let err: NodeJS.ErrnoException | undefined;
    try {
      addon.flock(fd, addon.LOCK_EX | addon.LOCK_NB);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toBe('EBADF: bad file descriptor, flock');
    expect(err?.code).toBe('EBADF');
    expect(err?.errno).toBe(-9);
    expect(err?.syscall).toBe('flock');
  });

  it('reports contention as false, not as an error', () => {
    const a = fs.openSync(file, 'a+');
    const b = fs.openSync(file, 'a+');
    try {
      expect(addon.flock(a, addon.LOCK_EX | addon.LOCK_NB)).toBe(true);
      expect(addon.flock(b, addon.LOCK_EX | addon.LOCK_NB)).toBe(false);
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
    }
  });
});

describe('FileLock in one process', () => {
  it('two FileLocks on one file exclude each other (per-descriptor semantics)', () => {
    const a = track(new FileLock(file));
    const b = track(new FileLock(file));
    expect(a.tryLock()).toBe(true);
    expect(a.held).toBe(true);
    expect(b.tryLock()).toBe(false);
    a.unlock();
    expect(b.tryLock()).toBe(true);
  });

  it('shared locks coexist and keep an exclusive one out', () => {
    const a = track(new FileLock(file));
    const b = track(new FileLock(file));
    const c = track(new FileLock(file));
    expect(a.tryLock({ shared: true })).toBe(true);
    expect(b.tryLock({ shared: true })).toBe(true);
    expect(c.tryLock()).toBe(false);
    a.unlock();
    b.unlock();
    expect(c.tryLock()).toBe(true);
    expect(c.mode).toBe('exclusive');
  });

  it('lockSync on a file this thread holds through another FileLock throws ESELFDEADLOCK at once', () => {
    const a = track(new FileLock(file));
    const b = track(new FileLock(file));
    a.lockSync();
    expect(() => b.lockSync()).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK', name: 'SelfDeadlockError' }));
    expect(b.held).toBe(false);
  });

  it('the guard knows the file by inode, not by path (hard link, other spelling)', () => {
    const link = path.join(dir, 'alias.lock');
    fs.writeFileSync(file, '');
    fs.linkSync(file, link);
    const a = track(new FileLock(file));
    const b = track(new FileLock(link));
    const c = track(new FileLock(path.join(dir, '.', 'sub', '..', 'trades.lock')));
    a.lockSync();
    expect(() => b.lockSync()).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK' }));
    expect(() => c.lockSync()).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK' }));
  });

  it('re-entry from inside withLock on the same file throws ESELFDEADLOCK instead of hanging', async () => {
    const inner = withLock(file, async () => withLock(file, async () => 'never'));
    await expect(inner).rejects.toMatchObject({ code: 'ESELFDEADLOCK' });
    // and the outer lock was released on the way out
    expect(track(new FileLock(file)).tryLock()).toBe(true);
  });

  it('re-entry through a FileLock of another path spelling inside withLock is caught too', async () => {
    const link = path.join(dir, 'alias.lock');
    fs.writeFileSync(file, '');
    fs.linkSync(file, link);
    await expect(withLock(file, () => track(new FileLock(link)).lock())).rejects.toMatchObject({
      code: 'ESELFDEADLOCK',
    });
  });

  it('concurrent async acquisitions from independent tasks queue and each gets the lock alone', async () => {
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withLock(file, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(5);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(order.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('withLock releases when the callback throws and passes the error on', async () => {
    await expect(
      withLock(file, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(track(new FileLock(file)).tryLock()).toBe(true);
  });

  it('waiting does not block the event loop', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    let ticks = 0;
    const t = setInterval(() => ticks++, 10);
    const waiter = track(new FileLock(file));
    const p = waiter.lock();
    await sleep(300);
    holder.unlock();
    await p;
    clearInterval(t);
    expect(waiter.held).toBe(true);
    expect(ticks).toBeGreaterThan(5);
  });

  it('timeoutMs ends a wait with ELOCKTIMEOUT, and the abandoned wait never takes the lock later', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    const waiter = track(new FileLock(file));
    const t0 = performance.now();
    await expect(waiter.lock({ timeoutMs: 150 })).rejects.toMatchObject({
      code: 'ELOCKTIMEOUT',
      name: 'LockTimeoutError',
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(waiter.held).toBe(false);
    holder.unlock();
    // The parked kernel wait is granted now and must let go at once: another
    // process gets the lock.
    const r = await runNode(CHILD, ['try-until', file, '5000']);
    expect(r.stdout).toBe('got');
    expect(waiter.held).toBe(false);
  });

  it('timeoutMs: 0 tries once', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    await expect(track(new FileLock(file)).lock({ timeoutMs: 0 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
    holder.unlock();
    const l = track(new FileLock(file));
    await l.lock({ timeoutMs: 0 });
    expect(l.held).toBe(true);
  });

  it('an AbortSignal ends a wait with AbortError and the lock is never taken behind the caller', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    const waiter = track(new FileLock(file));
    const ac = new AbortController();
    const p = waiter.lock({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    holder.unlock();
    const r = await runNode(CHILD, ['try-until', file, '5000']);
    expect(r.stdout).toBe('got');
    // The FileLock stays usable after an abandoned wait.
    await waiter.lock({ timeoutMs: 5000 });
    expect(waiter.held).toBe(true);
  });

  it('an already aborted signal rejects without trying', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(track(new FileLock(file)).lock({ signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('queued waiters behind an abandoned one still get the lock', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    const first = track(new FileLock(file));
    const second = track(new FileLock(file));
    const p1 = first.lock({ timeoutMs: 50 });
    const p2 = second.lock({ timeoutMs: 10_000 });
    await expect(p1).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
    holder.unlock();
    await p2;
    expect(second.held).toBe(true);
    expect(first.held).toBe(false);
  });

  it('close() ends a pending wait with ELOCKCLOSED', async () => {
    const holder = track(new FileLock(file));
    holder.lockSync();
    const waiter = new FileLock(file);
    const p = waiter.lock();
    waiter.close();
    await expect(p).rejects.toMatchObject({ code: 'ELOCKCLOSED' });
  });

  it('refuses misuse with stable codes', async () => {
    const l = track(new FileLock(file));
    l.lockSync();
    expect(() => l.lockSync()).toThrow(expect.objectContaining({ code: 'ELOCKHELD' }));
    await expect(l.lock()).rejects.toMatchObject({ code: 'ELOCKHELD' });
    l.close();
    expect(() => l.tryLock()).toThrow(expect.objectContaining({ code: 'ELOCKCLOSED' }));
    await expect(track(new FileLock(file)).lock({ timeoutMs: -1 })).rejects.toMatchObject({
      code: 'EVALIDATION',
      field: 'timeoutMs',
    });
  });

  it('never truncates nor deletes the lock file', () => {
    fs.writeFileSync(file, 'pid 123\n');
    const l = new FileLock(file);
    l.lockSync();
    l.unlock();
    l.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('pid 123\n');
  });
});

describe('FileLock across processes', () => {
  it('keeps a read-modify-write counter exact with 4 processes', async () => {
    const counter = path.join(dir, 'counter');
    fs.writeFileSync(counter, '0');
    const n = 150;
    const results = await Promise.all(Array.from({ length: 4 }, () => runNode(CHILD, ['counter', file, counter, String(n)])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(Number(fs.readFileSync(counter, 'utf8'))).toBe(4 * n);
  });

  it('is released when the holder is SIGKILLed', async () => {
    const child = spawnNode(CHILD, ['hold', file]);
    await child.waitFor('locked');
    const l = track(new FileLock(file));
    expect(l.tryLock()).toBe(false);
    const p = l.lock({ timeoutMs: 10_000 });
    child.proc.kill('SIGKILL');
    await p;
    expect(l.held).toBe(true);
    expect((await child.exited).signal).toBe('SIGKILL');
  });

  it('keeps waiters off the libuv threadpool (UV_THREADPOOL_SIZE=2, 6 waiters, fs.promises still works)', async () => {
    const r = await runNode(path.join(FIXTURES, 'threadpool-child.mjs'), [file, dir], { UV_THREADPOOL_SIZE: '2' });
    expect(r.stdout, r.stderr).toBe('fs ok\nall acquired');
    expect(r.code).toBe(0);
  });

  it('a lock file replaced while a process waits: the waiter retries on the new file, never two holders', async () => {
    // A holds the original inode; B waits on it; A renames a fresh file over
    // the path and releases; C locks the new file and holds it. B is granted
    // the dead inode first, must notice, and wait for C.
    const journal = path.join(dir, 'journal');
    const a = track(new FileLock(file));
    a.lockSync();
    const b = spawnNode(CHILD, ['acquire-log', file, 'B', journal, '50']);
    await b.waitFor('waiting');
    await sleep(200); // B is parked in the kernel on the old inode
    const fresh = path.join(dir, 'fresh.lock');
    fs.writeFileSync(fresh, '');
    const c = track(new FileLock(fresh));
    c.lockSync();
    fs.renameSync(fresh, file);
    a.unlock();
    fs.appendFileSync(journal, `C in ${process.hrtime.bigint()}\n`);
    await sleep(400);
    fs.appendFileSync(journal, `C out ${process.hrtime.bigint()}\n`);
    c.unlock();
    await b.waitFor('released');
    const events = fs
      .readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(events.map((e) => `${e[0]} ${e[1]}`)).toEqual(['C in', 'C out', 'B in', 'B out']);
  });

  it('a lock file deleted while a process waits: the waiter locks the recreated file, not the dead inode', async () => {
    const journal = path.join(dir, 'journal');
    const a = track(new FileLock(file));
    a.lockSync();
    const b = spawnNode(CHILD, ['acquire-log', file, 'B', journal, '600']);
    await b.waitFor('waiting');
    await sleep(200);
    fs.unlinkSync(file);
    a.unlock();
    // C (a third process) creates and locks the path anew while B, granted
    // the dead inode, would otherwise be holding it for 600 ms.
    const c = spawnNode(CHILD, ['acquire-log', file, 'C', journal, '50']);
    await c.waitFor('released');
    await b.waitFor('released');
    const ev = fs.readFileSync(journal, 'utf8').trim().split('\n').map((l) => l.split(' '));
    // Whoever went first, the two holds never overlap.
    const [first, second] = [ev[0]?.[0], ev[2]?.[0]];
    expect(ev.map((e) => e[1])).toEqual(['in', 'out', 'in', 'out']);
    expect(ev[1]?.[0]).toBe(first);
    expect(ev[3]?.[0]).toBe(second);
    expect(first).not.toBe(second);
  });

  it('does not leak the lock into spawned children (O_CLOEXEC)', async () => {
    const l = new FileLock(file);
    l.lockSync();
    const sleeper = wrap(spawn('sleep', ['5'], { stdio: 'ignore' }));
    l.close(); // if `sleep` had inherited the descriptor, the lock would live on
    const r = await runNode(CHILD, ['try', file]);
    sleeper.proc.kill('SIGKILL');
    expect(r.stdout).toBe('true');
  });

  it('interoperates with util-linux flock(1) both ways', async () => {
    // flock(1) hands its descriptor to the command, so `sleep` holds the lock
    // too: kill the whole process group, as the README's fork caveat says.
    const holder = wrap(
      spawn('flock', ['-x', file, '-c', 'echo locked; sleep 30'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
    );
    await holder.waitFor('locked');
    const l = track(new FileLock(file));
    expect(l.tryLock()).toBe(false);
    process.kill(-(holder.proc.pid as number), 'SIGKILL');
    await holder.exited;
    await l.lock({ timeoutMs: 5000 });
    await expect(execFileP('flock', ['-n', '-x', file, 'true'])).rejects.toMatchObject({ code: 1 });
    l.unlock();
    await expect(execFileP('flock', ['-n', '-x', file, 'true'])).resolves.toBeDefined();
  });
});

describe('worker_threads', () => {
  function startWorker() {
    const w = new Worker(path.join(FIXTURES, 'worker-child.mjs'), { workerData: { file } });
    const messages: unknown[] = [];
    const next = () => new Promise<unknown>((resolve) => w.once('message', (m) => resolve(m)));
    return { w, messages, next };
  }

  it('loads the addon in a worker; the worker conflicts with the main thread and waits for it', async () => {
    const main = track(new FileLock(file));
    main.lockSync();
    const { w, next } = startWorker();
    expect(await next()).toEqual({ tryLock: false });
    w.postMessage('lockSync');
    const got = next();
    await sleep(150);
    main.unlock();
    expect(await got).toEqual({ lockSync: 'acquired' });
    await w.terminate();
  });

  it('a worker terminated while its wait is parked never takes the lock afterwards', async () => {
    const main = track(new FileLock(file));
    main.lockSync();
    const { w, next } = startWorker();
    expect(await next()).toEqual({ tryLock: false });
    w.postMessage('waitForever');
    expect(await next()).toEqual({ waiting: true });
    await sleep(100); // parked in the kernel
    await w.terminate();
    main.unlock();
    // Node closes a worker's descriptors when it exits, and the addon's orphaned
    // wait must neither deliver nor touch that (maybe reused) descriptor number.
    const r = await runNode(CHILD, ['try-until', file, '5000']);
    expect(r.stdout).toBe('got');
  });

  it('async waits work inside a worker', async () => {
    const main = track(new FileLock(file));
    main.lockSync();
    const { w, next } = startWorker();
    expect(await next()).toEqual({ tryLock: false });
    w.postMessage('lockAsync');
    const got = next();
    await sleep(100);
    main.unlock();
    expect(await got).toEqual({ lockAsync: 'acquired' });
    await w.terminate();
  });
});
