import type { FileLock } from './file-lock.js';

/**
 * Per-thread bookkeeping of lock files by identity (st_dev:st_ino), not by
 * path, so that two spellings of one file, or a hard link, are one file here
 * as they are for the kernel.
 *
 * - holders: which FileLocks of this thread hold the file, for the
 *   self-deadlock guard of lockSync();
 * - queue: async waiters in arrival order. Only the head ever waits in the
 *   kernel, so a process parks at most one thread per file however many
 *   tasks wait, and the others are served in FIFO order.
 * - kernelBusy: a kernel wait (the head's, or an abandoned one still parked)
 *   is outstanding; nobody starts a second one until it returns.
 *
 * Module state is per JS thread: each worker_thread has its own registry, so a
 * lockSync() in a worker that waits for the main thread (which can release)
 * is not mistaken for a deadlock.
 */
export interface Waiter {
  readonly lock: FileLock;
  readonly shared: boolean;
  state: 'queued' | 'kernel' | 'done';
  tried: boolean;
  settle(err: unknown): void;
}

export interface Entry {
  readonly holders: Set<FileLock>;
  readonly queue: Waiter[];
  kernelBusy: boolean;
  /** FileLocks with an open descriptor on this file; they cache this entry. */
  users: number;
}

const entries = new Map<string, Entry>();

export function entry(id: string): Entry {
  let e = entries.get(id);
  if (!e) {
    e = { holders: new Set(), queue: [], kernelBusy: false, users: 0 };
    entries.set(id, e);
  }
  return e;
}

/**
 * Drops an entry nobody uses, so a long-running process does not accumulate
 * them. Called when a descriptor is closed, not on every release: a FileLock
 * keeps its entry while its descriptor is open, off the hot path.
 */
export function prune(id: string): void {
  const e = entries.get(id);
  if (e && e.users === 0 && e.holders.size === 0 && e.queue.length === 0 && !e.kernelBusy) entries.delete(id);
}

/** Another FileLock of this thread holds `id` in a mode that conflicts with the request. */
export function conflictingHolder(id: string, self: FileLock, shared: boolean): FileLock | undefined {
  const e = entries.get(id);
  if (!e) return undefined;
  for (const h of e.holders) {
    if (h !== self && (!shared || h.mode === 'exclusive')) return h;
  }
  return undefined;
}
