/**
 * What must be released before the process ends: the pools of the database commands (an idle
 * pg.Pool keeps the event loop, and so the process, alive). Registered by whoever opens one,
 * run by run.ts once the command is done, whatever its outcome. Kept apart from store.ts so that
 * run.ts loads nothing heavy for it.
 */
const pending: (() => Promise<void> | void)[] = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  pending.push(fn);
}

/** Runs every registered release, the last registered first; a failing one does not stop the others. */
export async function runCleanups(): Promise<void> {
  for (let fn = pending.pop(); fn !== undefined; fn = pending.pop()) {
    try {
      await fn();
    } catch {
      // Releasing after the command: its result is already decided, and the process is ending.
    }
  }
}
