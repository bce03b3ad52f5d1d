import { WaitQueue } from './wait-queue.js';

/** A FileLock, as far as the self-deadlock guard looks at it (typed here so the registry does not import file-lock.ts). */
export interface Holder {
  readonly mode: 'shared' | 'exclusive' | null;
}

/**
 * This thread's record of one lock file. Files are known by identity
 * (st_dev:st_ino), not by path, so that two spellings of one file, or a hard
 * link, are one file here as they are for the kernel.
 *
 * Module state is per JS thread: each worker_thread has its own registry, so a
 * lockSync() in a worker that waits for the main thread (which can release)
 * is not mistaken for a deadlock.
 */
export interface FileRecord {
  /** FileLocks of this thread holding the file, for the self-deadlock guard of lockSync(). */
  readonly holders: Set<Holder>;
  /** Async waits for the file. */
  readonly waits: WaitQueue;
  /** FileLocks with an open descriptor on this file; they cache this record. */
  users: number;
}

const records = new Map<string, FileRecord>();

export function record(id: string): FileRecord {
  let r = records.get(id);
  if (!r) {
    r = { holders: new Set(), waits: new WaitQueue(() => prune(id)), users: 0 };
    records.set(id, r);
  }
  return r;
}

/**
 * Drops a record nobody uses, so a long-running process does not accumulate
 * them. Called when a descriptor is closed and after each round of the wait
 * queue, not on every release: a FileLock keeps its record while its
 * descriptor is open, off the hot path.
 */
export function prune(id: string): void {
  const r = records.get(id);
  if (r && r.users === 0 && r.holders.size === 0 && r.waits.idle) records.delete(id);
}

/** Another FileLock of this thread holds `id` in a mode that conflicts with the request. */
export function conflictingHolder(id: string, self: Holder, shared: boolean): Holder | undefined {
  const r = records.get(id);
  if (!r) return undefined;
  for (const h of r.holders) {
    if (h !== self && (!shared || h.mode === 'exclusive')) return h;
  }
  return undefined;
}

/**
 * This thread has a kernel wait for `id` outstanding (a lock() parked in the
 * kernel, wanted or abandoned, whose callback has not run yet) that a blocking
 * request in this mode could end up waiting for.
 */
export function parkedConflict(id: string, shared: boolean): boolean {
  return records.get(id)?.waits.blocksSync(shared) ?? false;
}
