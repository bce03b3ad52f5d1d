/**
 * Fault injection at the durable write's last steps. io/durable-write.ts runs fsync of the new
 * file, the rename over the log and the directory's fsync as one job of the addon
 * (commitReplace), which it looks up on the addon object at each call, as it looks up fs.writeSync:
 * a test wraps it here. The real job always runs; a fault makes the native code report an errno
 * at one step instead of making that syscall, as a failing disk would.
 */
import os from 'node:os';

import { addon, type Addon } from '../src/native/addon.js';

type CommitReplace = Addon['commitReplace'];
export type CommitCallback = Parameters<CommitReplace>[5];

export const EIO = os.constants.errno.EIO;

/** The faults argument: per step, the errno to report instead of running it (0: run it). */
export function faults(f: { fsync?: number; rename?: number; dir?: number }): Int32Array {
  return Int32Array.of(-(f.fsync ?? 0), -(f.rename ?? 0), -(f.dir ?? 0));
}

/**
 * Replaces addon.commitReplace with what `wrap` makes of the real one, until the returned restore().
 * `wrap` gets each call's target and may pass faults, delay or drop the callback.
 */
export function wrapCommit(
  wrap: (real: (faults: Int32Array | null, callback: CommitCallback) => void, target: string, callback: CommitCallback) => void,
): () => void {
  const real = addon.commitReplace;
  (addon as { commitReplace: CommitReplace }).commitReplace = (fd, tmp, target, dir, f, callback) =>
    wrap((injected, cb) => real(fd, tmp, target, dir, injected ?? f, cb), target, callback);
  return () => {
    (addon as { commitReplace: CommitReplace }).commitReplace = real;
  };
}

/** Every commit of `target` fails at the steps `f` names (for `times` commits, then real again); counts them. */
export function failCommits(target: string, f: { fsync?: number; rename?: number; dir?: number }, times = Infinity): { calls: () => number; restore: () => void } {
  let calls = 0;
  const restore = wrapCommit((real, to, callback) => {
    if (to !== target) return real(null, callback);
    calls++;
    real(calls <= times ? faults(f) : null, callback);
  });
  return { calls: () => calls, restore };
}
