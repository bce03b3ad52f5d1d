import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';

import {
  AbortError,
  LockStateError,
  LockTimeoutError,
  LockUnsupportedError,
  SelfDeadlockError,
  ValidationError,
} from '../errors.js';
import { addon, IDENTITY_HEADER } from '../native/addon.js';
import * as registry from './registry.js';
import { type Contender, LockRequest } from './wait-queue.js';

const { LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB } = addon;

/** A path replaced this many times in a row while we lock it is a bug elsewhere, not a race. */
const MAX_IDENTITY_RETRIES = 1000;
const UNSUPPORTED = new Set(['ENOLCK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export interface LockOptions {
  /** Take a shared (reader) lock instead of an exclusive one. Default: false. */
  shared?: boolean;
}

export interface AsyncLockOptions extends LockOptions {
  /** Give up after this many milliseconds with LockTimeoutError. 0 tries once. Default: wait forever. */
  timeoutMs?: number;
  /** Give up when aborted, with AbortError. */
  signal?: AbortSignal;
}

/** Identities held by the current withLock() call chain, with whether each is shared. */
const heldInContext = new AsyncLocalStorage<ReadonlyMap<string, boolean>>();

/**
 * The identity of the file `lock` has open, for withLock's re-entry guard.
 * Assigned in FileLock's static block: the identity is private to FileLock
 * and to this module, not API.
 */
let fileIdOf: (lock: FileLock) => string | null;

/**
 * The descriptor of `lock`'s file while it holds the exclusive lock, else null. Not API: the file
 * store keeps a one-line note in its lock file (io/log-mark.ts), written only under that lock.
 */
export let exclusiveDescriptorOf: (lock: FileLock) => number | null;

/**
 * A flock(2) lock on one file, through one descriptor of its own.
 *
 * The kernel's rules apply as they are: two FileLocks on one file exclude each
 * other even in one process; the lock dies with the process. On top of them:
 * waits never block the event loop nor occupy the libuv threadpool, they can
 * time out or be aborted without ever acquiring later, a wait that can only
 * deadlock this thread fails at once, and a lock file replaced or deleted
 * under us is noticed after acquiring and the lock retaken on the new file.
 */
export class FileLock {
  /** Absolute path of the lock file. */
  readonly path: string;
  /** dev and ino of #fd, then the path: what the addon compares after each grant. */
  readonly #identityBuf: Buffer;
  #fd: number | null = null;
  /** "dev:ino" of #fd, the registry key. */
  #id: string | null = null;
  /** The registry's record of #id, cached while #fd is open. */
  #file: registry.FileRecord | null = null;
  #mode: 'shared' | 'exclusive' | null = null;
  /** The pending lock() call, if any. */
  #request: LockRequest | null = null;
  #closed = false;

  static {
    fileIdOf = (lock) => lock.#id;
    exclusiveDescriptorOf = (lock) => (lock.#mode === 'exclusive' ? lock.#fd : null);
  }

  constructor(file: string) {
    if (typeof file !== 'string' || file === '') throw new ValidationError('lockFile', file, 'must be a non-empty path');
    this.path = path.resolve(file);
    this.#identityBuf = Buffer.concat([Buffer.alloc(IDENTITY_HEADER), Buffer.from(`${this.path}\0`)]);
  }

  /** Whether this FileLock holds the lock now. */
  get held(): boolean {
    return this.#mode !== null;
  }

  /** 'exclusive', 'shared', or null when not held. */
  get mode(): 'shared' | 'exclusive' | null {
    return this.#mode;
  }

  /** Tries once; true when acquired, false when another descriptor holds a conflicting lock. Never waits. */
  tryLock(options: LockOptions = {}): boolean {
    this.#assertIdle();
    return this.#attempt(options.shared === true, true);
  }

  /**
   * Blocks this thread until acquired. Throws SelfDeadlockError at once when
   * the wait could end up waiting for this thread: it already holds the file
   * through another FileLock, or a lock() of this thread on the file is parked
   * in the kernel (even one that timed out or was aborted), whose grant only
   * the event loop can release or take up.
   */
  lockSync(options: LockOptions = {}): void {
    this.#assertIdle();
    this.#attempt(options.shared === true, false);
  }

  /** Waits for the lock without blocking the event loop. */
  async lock(options: AsyncLockOptions = {}): Promise<void> {
    this.#assertIdle();
    const shared = options.shared === true;
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
      throw new ValidationError('timeoutMs', timeoutMs, 'must be a number >= 0');
    }
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const id = this.#identity();
    this.#assertNotReentrant(id, shared);
    // Fast path: nobody of ours is waiting, so trying first cannot jump a queue.
    if ((timeoutMs === 0 || (this.#file as registry.FileRecord).waits.idle) && this.#attempt(shared, true)) return;
    if (timeoutMs === 0) throw new LockTimeoutError(this.path, 0);
    return new Promise<void>((resolve, reject) => {
      const request = new LockRequest(this.#contender(shared, resolve, reject), timeoutMs, signal);
      this.#request = request;
      // #file, not the record of `id`: a failed try may have followed a replaced lock file.
      (this.#file as registry.FileRecord).waits.enqueue(request);
    });
  }

  /** Releases the lock. A no-op when not held. The lock file is never deleted. */
  unlock(): void {
    if (this.#mode === null || this.#fd === null || this.#id === null) return;
    const file = this.#file as registry.FileRecord;
    file.holders.delete(this);
    this.#mode = null;
    addon.flock(this.#fd, LOCK_UN);
    file.waits.released();
  }

  /** Releases the lock, ends a pending wait with ELOCKCLOSED and closes the descriptor. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#request?.abandon(new LockStateError('ELOCKCLOSED', `FileLock for ${this.path} was closed while waiting`));
    try {
      this.unlock();
    } finally {
      this.#dropFd();
      this.#closed = true;
    }
  }

  #assertIdle(): void {
    if (this.#closed) throw new LockStateError('ELOCKCLOSED', `FileLock for ${this.path} is closed`);
    if (this.#mode !== null) throw new LockStateError('ELOCKHELD', `FileLock for ${this.path} already holds the lock`);
    if (this.#request !== null) throw new LockStateError('ELOCKHELD', `FileLock for ${this.path} is already waiting for the lock`);
  }

  /**
   * Before a blocking flock: refuse the waits that only this thread could end,
   * since it will be stuck in the kernel and unable to end them. Checked for
   * every file #attempt locks, including one that replaced the path meanwhile.
   */
  #assertCanBlock(id: string, shared: boolean): void {
    if (registry.conflictingHolder(id, this, shared)) {
      throw new SelfDeadlockError(this.path, 'lockSync() would wait for a lock this thread already holds through another FileLock');
    }
    if (registry.parkedConflict(id, shared)) {
      throw new SelfDeadlockError(
        this.path,
        'lockSync() would wait beside a lock() of this thread on the same file that is still parked in the kernel ' +
          '(even if it timed out or was aborted): a lock it is granted is released or taken up only on the event loop, ' +
          'which lockSync() would block',
        'Use lock(), or retry lockSync() after the event loop has run',
      );
    }
    this.#assertNotReentrant(id, shared);
  }

  #assertNotReentrant(id: string, shared: boolean): void {
    const held = heldInContext.getStore()?.get(id);
    if (held !== undefined && !(held && shared)) {
      throw new SelfDeadlockError(this.path, 'the lock was requested inside a withLock() callback that already holds this file');
    }
  }

  /** Opens the lock file if needed (O_CLOEXEC comes from libuv; never O_TRUNC) and returns its identity. */
  #identity(): string {
    if (this.#fd === null) {
      let fd: number;
      try {
        fd = fs.openSync(this.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o666);
      } catch (err) {
        // A lock file we may read but not write still locks (flock needs no write access locally).
        if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
        try {
          fd = fs.openSync(this.path, fs.constants.O_RDONLY);
        } catch (err2) {
          // No lock file, and a directory we may not create one in: the EACCES is the
          // answer (naming the lock file), not the ENOENT of the read-only retry.
          if ((err2 as NodeJS.ErrnoException).code === 'ENOENT') throw err;
          throw err2;
        }
      }
      this.#fd = fd;
      try {
        this.#id = addon.identity(fd, this.#identityBuf);
        this.#file = registry.record(this.#id);
        this.#file.users++;
      } catch (err) {
        this.#dropFd();
        throw err;
      }
    }
    return this.#id as string;
  }

  #dropFd(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#forgetFd();
  }

  #forgetFd(): void {
    if (this.#file !== null) this.#file.users--;
    if (this.#id !== null) registry.prune(this.#id);
    this.#fd = null;
    this.#id = null;
    this.#file = null;
  }

  /** One acquisition attempt, following the path to a new file as often as it was replaced. */
  #attempt(shared: boolean, nonBlocking: boolean): boolean {
    const op = (shared ? LOCK_SH : LOCK_EX) | (nonBlocking ? LOCK_NB : 0);
    for (let i = 0; ; i++) {
      const id = this.#identity();
      if (!nonBlocking) this.#assertCanBlock(id, shared);
      const fd = this.#fd as number;
      let r: 0 | 1 | 2;
      try {
        r = addon.lockChecked(fd, op, this.#identityBuf);
      } catch (err) {
        throw this.#translate(err);
      }
      if (r === 1) return false;
      if (r === 0) {
        this.#granted(shared);
        return true;
      }
      this.#releaseStale(i);
    }
  }

  #granted(shared: boolean): void {
    this.#mode = shared ? 'shared' : 'exclusive';
    (this.#file as registry.FileRecord).holders.add(this);
  }

  /**
   * We hold a file the path no longer names: whoever opens the path now would
   * lock a different inode, so our lock excludes nobody. Let go; the caller
   * locks what the path names.
   */
  #releaseStale(attempt: number): void {
    addon.flock(this.#fd as number, LOCK_UN);
    this.#dropFd();
    if (attempt >= MAX_IDENTITY_RETRIES) {
      throw new LockStateError('ELOCKREPLACED', `Lock file ${this.path} kept being replaced while locking it`);
    }
  }

  #translate(err: unknown): unknown {
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string' && UNSUPPORTED.has(e.code)) return new LockUnsupportedError(this.path, e);
    if (e && typeof e === 'object') e.path = this.path;
    return err;
  }

  /** This lock as the wait queue drives it through one wait. */
  #contender(shared: boolean, resolve: () => void, reject: (err: unknown) => void): Contender {
    return {
      path: this.path,
      shared,
      tryNow: () => this.#attempt(shared, true),
      queue: () => (this.#file as registry.FileRecord).waits,
      park: (returned) => addon.waitLock(this.#fd as number, shared ? LOCK_SH : LOCK_EX, this.#identityBuf, returned),
      accept: (err, status) => {
        if (err) throw this.#translate(err);
        if (status === 0) {
          this.#granted(shared);
          return true;
        }
        this.#releaseStale(0);
        return false;
      },
      disown: () => {
        const fd = this.#fd as number;
        // The parked wait closes it when the kernel returns; the next attempt opens a fresh one.
        this.#forgetFd();
        return fd;
      },
      finished: (err) => {
        this.#request = null;
        if (err === undefined) resolve();
        else reject(err);
      },
    };
  }
}

/**
 * Runs `fn` while holding the lock on `file`, and releases it however `fn`
 * ends. Locking the same file again inside `fn` throws SelfDeadlockError
 * instead of waiting for itself.
 */
export async function withLock<T>(file: string, fn: () => T | Promise<T>, options: AsyncLockOptions = {}): Promise<T> {
  const lock = new FileLock(file);
  try {
    await lock.lock(options);
    return await runHolding(lock, fn);
  } finally {
    lock.close();
  }
}

/**
 * Whether the current async context holds `file` (in either mode) through a withLock() callback:
 * a lock of it requested here would throw SelfDeadlockError. For a caller that only queues work
 * now and takes the lock later in another context (TradeStore's group commit), so that it can
 * refuse at the call, as lock() would. Files are compared by identity, as the guard does; a file
 * that does not exist is held by nobody. Not part of the package's API (src/index.ts).
 */
export function heldInWithLock(file: string): boolean {
  const held = heldInContext.getStore();
  // Outside every withLock() callback (the usual case): no stat.
  if (held === undefined || held.size === 0) return false;
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(path.resolve(file), { bigint: true, throwIfNoEntry: false });
  } catch {
    return false; // unreachable or not a file: the lock step itself reports it, with its own error
  }
  // The same "dev:ino" key as the addon's identity() (decimal st_dev, st_ino).
  return st !== undefined && held.has(`${st.dev}:${st.ino}`);
}

const NOTHING_HELD: ReadonlyMap<string, boolean> = new Map();

/**
 * Runs `fn` in a context that holds no file through withLock(), for work started by one caller
 * on behalf of others (TradeStore's drain): it must not inherit that caller's locks, which it
 * does not hold and which are released while it runs. Not part of the package's API.
 */
export function outsideWithLock<T>(fn: () => T): T {
  return heldInContext.run(NOTHING_HELD, fn);
}

/** Runs `fn` with the file `lock` holds recorded in the async context, for the re-entry guard. */
function runHolding<T>(lock: FileLock, fn: () => T): T {
  const id = fileIdOf(lock);
  if (id === null || lock.mode === null) return fn();
  const held = new Map(heldInContext.getStore() ?? []);
  held.set(id, lock.mode === 'shared');
  return heldInContext.run(held, fn);
}
