/**
 * The pool, the transaction frame and what the server's errors mean to a caller. The `pg` package
 * is loaded on first use, so that importing this subpath costs nothing and a missing `pg` is one
 * clear error (PgMissingError), not a module-resolution stack.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';

import type { QueryResultLike } from './account-log.js';

import { AccountAccessError, DatabaseError, LockTimeoutError, PgMissingError, TradeStateError, ValidationError } from '../errors.js';
import type { ConnectionOptions } from './options.js';

// Re-exported for the modules of this folder; public types import it from options.ts (no pg types there).
export type { ConnectionOptions };
import { MIGRATE_LOCK_KEY, MIGRATIONS, SCHEMA, SCHEMA_VERSION, VERSION_TABLE_SQL } from './schema.js';

type PgModule = typeof import('pg');
/** How long getting a connection may take (connect, TLS, authentication) before EDBUNAVAILABLE. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * What the client waits beyond a statement's own timeout before it takes the server for silent:
 * the server enforces statement_timeout itself and answers 57014 (EDBTIMEOUT) first; the margin
 * covers the round trip. docs/postgres.md states the bounds built on it.
 */
export const SILENCE_MARGIN_MS = 1000;
/** statementTimeoutMs when none is given: the store's, and its reads' (a source's, the CLI's). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;
let pgModule: Promise<PgModule> | null = null;

/** The `pg` module, imported once. */
export function loadPg(): Promise<PgModule> {
  pgModule ??= import('pg').then(
    (m) => ((m as unknown as { default?: PgModule }).default ?? m) as PgModule,
    (err: unknown) => {
      pgModule = null;
      throw new PgMissingError(err);
    },
  );
  return pgModule;
}

/**
 * Type parsers that read json and jsonb with JSON.parse whatever the process's global pg parsers
 * say: the rows' key order and extension fields live in json columns, and a bot that set a global
 * json parser (to get strings, say) must not get records rebuilt wrong. Other types: pg's own.
 */
function jsonParsingTypes(pg: PgModule): PoolConfig['types'] {
  const global = pg.types;
  return {
    getTypeParser: ((oid: number, format?: string) =>
      (oid === 114 || oid === 3802) && format !== 'binary' ? (text: string) => JSON.parse(text) as unknown : global.getTypeParser(oid, format as 'text')) as typeof global.getTypeParser,
  };
}

/**
 * The pool as this library uses it: `query` runs one statement on a client of the pool and settles
 * within the connection's read bound (statementTimeoutMs + SILENCE_MARGIN_MS), a silent
 * connection destroyed, never returned to the pool; `connect` hands out a client as pg does (the
 * transaction runner bounds its own statements).
 */
export interface BoundedPool {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<QueryResultLike>;
  connect(): Promise<PoolClient>;
}

/** A lazily created pg.Pool whose idle clients' errors (a restarted server) are absorbed, not fatal. */
export class Connection {
  readonly #config: PoolConfig;
  /** How long one read may wait for the server's answer before its connection is abandoned. */
  readonly readBoundMs: number;
  #pool: Promise<BoundedPool & { end(): Promise<void> }> | null = null;
  #ended = false;

  /** `statementTimeoutMs`: the owner's statement timeout, which bounds each read (default 15 000). */
  constructor(options: ConnectionOptions, bounds: { statementTimeoutMs?: number } = {}) {
    // connectionTimeoutMillis: a server that accepts the connection and never answers (hung, a
    // half-open connection, a stuck proxy) must fail as unreachable, not hang the caller forever.
    // keepAlive: the kernel then notices a peer gone without a FIN even while a lock wait with no
    // client-side bound (lockTimeoutMs Infinity) is on the wire.
    this.#config = {
      max: 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
      ...(options.pool as PoolConfig | undefined),
    };
    this.readBoundMs = (bounds.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS) + SILENCE_MARGIN_MS;
  }

  async pool(): Promise<BoundedPool> {
    if (this.#ended) throw new TradeStateError('ECLOSED', 'This store was closed: create a new one');
    this.#pool ??= loadPg().then((pg) => {
      const pool = new pg.Pool({ types: jsonParsingTypes(pg), ...this.#config });
      // An idle client whose server went away emits 'error' on the pool; unhandled it would kill
      // the process. pg drops that client; the next call connects anew.
      pool.on('error', () => {});
      return boundedPool(pool, this.readBoundMs);
    });
    return this.#pool;
  }

  /** A client of the pool; a failure to connect is EDBUNAVAILABLE. */
  async connect(account: string | null): Promise<PoolClient> {
    const pool = await this.pool();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw databaseError(err, account);
    }
    return guardClient(client);
  }

  /**
   * The role this connection logs in as, as pg picks it (pool's user, the URL's, PGUSER, the OS
   * user): named in AccountAccessError when the server refused without saying whom.
   */
  get role(): string | null {
    const user = (this.#config as { user?: unknown }).user;
    if (typeof user === 'string' && user !== '') return user;
    const url = (this.#config as { connectionString?: unknown }).connectionString;
    if (typeof url === 'string') {
      try {
        const name = decodeURIComponent(new URL(url).username);
        if (name !== '') return name;
      } catch {
        // a libpq key=value string: fall through to the environment
      }
    }
    return process.env.PGUSER || process.env.USER || null;
  }

  async end(): Promise<void> {
    this.#ended = true;
    const pool = this.#pool;
    this.#pool = null;
    if (pool !== null) await (await pool).end();
  }
}

/** pg's pool with every `query` settled within `boundMs` (BoundedPool). */
function boundedPool(pool: Pool, boundMs: number): BoundedPool & { end(): Promise<void> } {
  const query = async (config: string | { name?: string; text: string; values?: unknown[] }, values?: unknown[]): Promise<QueryResultLike> => {
    const client = guardClient(await pool.connect());
    try {
      const r = await answerWithin(client, boundMs, () => client.query(config as string, values) as unknown as Promise<QueryResultLike>);
      client.release();
      return r;
    } catch (err) {
      client.release(isConnectionError(err) ? asError(err) : undefined);
      throw err;
    }
  };
  return { query: query as BoundedPool['query'], connect: () => pool.connect(), end: () => pool.end() };
}

/**
 * The server sent no answer to a query within its bound, and the connection was abandoned (its
 * socket destroyed: a silent server, a partition without RST, a hung proxy). A lost connection
 * to the callers (isConnectionError), but never retried: a retry would wait as long again.
 */
export class ServerSilent extends Error {
  constructor(readonly waitedMs: number) {
    super(`no answer from the server within ${Math.round(waitedMs)} ms; the connection was abandoned`);
  }
}

/** What answerWithin abandons: a pg client (end() with a query in flight destroys its socket). */
interface Abandonable {
  end?(): Promise<void> | void;
}

/**
 * `run()`, a query on `client`, settled within `ms` (Infinity: unbounded): past it, the client's
 * socket is destroyed and the call rejects with ServerSilent. Release the client with an error
 * afterwards, so that the pool drops it.
 */
export function answerWithin<T>(client: Abandonable, ms: number, run: () => Promise<T>): Promise<T> {
  if (ms === Infinity) return run();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      // An answer that came while the event loop was blocked is read first: a busy bot is not a silent server.
      setImmediate(() => {
        if (settled) return;
        settled = true;
        try {
          Promise.resolve(client.end?.()).catch(() => {});
        } catch {
          // already ended
        }
        reject(new ServerSilent(ms));
      });
    }, timerMs(ms));
    run().then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The longest timeout PostgreSQL and a Node timer take: 2^31 - 1 ms, ~24.8 days (a longer one is as good as none). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** `ms` as a Node timer takes it: a longer one would fire at once (and warn). */
export function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMEOUT_MS);
}

/** A timeout for SET LOCAL: whole ms, at most PostgreSQL's maximum (MAX_TIMEOUT_MS). */
export function pgTimeout(ms: number): number {
  return Math.min(Math.ceil(ms), MAX_TIMEOUT_MS);
}

/** Whether `err` is a lost or refused connection (no SQLSTATE from the server, or one of its shutdown states). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ServerSilent) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now
    if (/^08/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return true;
    if (/^E[A-Z]+$/.test(code)) return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code);
    return false;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
}

/**
 * Whether `err` came only after a wait ran out (a silent server, a connect that timed out) rather
 * than at once (a reset, a refused connection): such a failure is not tried again, as a second try
 * would wait as long again.
 */
export function waitedOut(err: unknown): boolean {
  return err instanceof ServerSilent || /timeout exceeded when trying to connect|connection timeout/i.test(err instanceof Error ? err.message : '');
}

/** What an error of the server or the connection means to the caller; TradeStateErrors pass through. */
export function databaseError(err: unknown, account: string | null, lock?: { what: string; timeoutMs: number }): Error {
  if (err instanceof TradeStateError) return err;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown; table?: unknown } | null;
  const sqlstate = typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const who = account !== null ? ` (account "${account}")` : '';
  if (isConnectionError(err)) {
    return new DatabaseError('EDBUNAVAILABLE', `PostgreSQL is unreachable${who}: ${message}. Nothing was written; retry when it is back`, {
      account, sqlstate, cause: err,
    });
  }
  if (sqlstate === '55P03' && lock !== undefined) return new LockTimeoutError(lock.what, lock.timeoutMs);
  if (sqlstate === '57014') {
    return new DatabaseError('EDBTIMEOUT', `A statement ran past the store's statement timeout${who}: ${message}. Nothing was written`, {
      account, sqlstate, cause: err,
    });
  }
  if (sqlstate !== null && sqlstate.startsWith('23')) {
    const constraint = typeof e?.constraint === 'string' ? e.constraint : /freeze_closed_trades|refused/.test(message) ? 'freeze_closed_trades' : null;
    return new DatabaseError(
      'EDBCONSTRAINT',
      `The database refused the write${who}: ${message}${constraint ? ` [${constraint}]` : ''}. Nothing was written; ` +
        'the library checks its writes first, so the rows were probably changed outside it',
      { account, sqlstate, constraint, cause: err },
    );
  }
  // insufficient_privilege: a bot role outside the accounts granted to it (row-level security), or without the schema's privileges
  if (sqlstate === '42501') return new AccountAccessError(account, null, message, { sqlstate, cause: err });
  if (sqlstate === '42P01' || sqlstate === '3F000') {
    return new DatabaseError('EDBSCHEMA', `The trade_state schema is missing${who}: run migrate() (or \`trade-state migrate --db …\`) first. (${message})`, {
      account, sqlstate, cause: err,
    });
  }
  return new DatabaseError('EDBERROR', `PostgreSQL refused${who}: ${message}`, { account, sqlstate, cause: err });
}

/**
 * Applies the migrations the database lacks, each in its own transaction, under an advisory lock
 * (two hosts migrating at once: the second waits, then finds nothing to do). Idempotent. Refuses
 * a database already migrated past this library's SCHEMA_VERSION. Returns the versions applied.
 */
export async function migrateDatabase(connection: Connection): Promise<number[]> {
  const client = await connection.connect(null);
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    try {
      await client.query(VERSION_TABLE_SQL);
      const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_version`)).rows.map((r) => r.version));
      const newest = Math.max(0, ...done);
      if (newest > SCHEMA_VERSION) {
        throw new DatabaseError(
          'EDBSCHEMA',
          `The database's trade_state schema is version ${newest}, newer than this library's ${SCHEMA_VERSION}: upgrade trade-state-engine`,
        );
      }
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          if (m.script !== undefined) await m.script(client);
          await client.query(`INSERT INTO ${SCHEMA}.schema_version (version, description) VALUES ($1, $2)`, [m.version, m.description]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => {});
    }
  } catch (err) {
    broken = isConnectionError(err);
    throw databaseError(err, null);
  } finally {
    client.release(broken);
  }
}

/** The schema version the database holds (0: not migrated). */
export async function schemaVersion(connection: Connection): Promise<number> {
  const pool = await connection.pool();
  try {
    // Two statements: a query naming a table that does not exist fails at parse time, whatever its CASE says.
    const exists = await pool.query(`SELECT to_regclass('${SCHEMA}.schema_version')::text AS t`);
    if ((exists.rows[0] as { t: string | null } | undefined)?.t == null) return 0;
    const r = await pool.query(`SELECT coalesce(max(version), 0)::int AS v FROM ${SCHEMA}.schema_version`);
    return (r.rows[0] as { v: number } | undefined)?.v ?? 0;
  } catch (err) {
    throw databaseError(err, null);
  }
}

/** A statement timeout option: a finite number >= 0 (ms), or `fallback` when absent. */
export function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ValidationError(name, value, 'must be a number >= 0');
  return value;
}

/**
 * A checked-out client has lost the pool's 'error' listener: a connection lost while it is out
 * would be an uncaught 'error' event that kills the bot, though the query in flight is rejected
 * with that error anyway (and handled there). Listens until the client is released.
 */
export function guardClient<C extends { release(err?: Error | boolean): void }>(client: C): C {
  const events = client as unknown as { on?: (e: string, f: () => void) => void; off?: (e: string, f: () => void) => void };
  if (typeof events.on !== 'function' || typeof events.off !== 'function') return client;
  const onError = (): void => {};
  events.on.call(client, 'error', onError);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean): void => {
    events.off?.call(client, 'error', onError);
    release(err);
  };
  return client;
}

/**
 * A lock-free read, tried again once when the connection it got was lost: after a server restart
 * the pool's idle clients are dead until their error is seen, and a read writes nothing, so a second
 * try on a fresh connection is safe (a write is retried only before COMMIT: transaction.ts).
 */
export async function readAgainIfLost<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isConnectionError(err) || waitedOut(err)) throw err;
    return read();
  }
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** `err`, naming `role` when it is an AccountAccessError that could not say which role was refused. */
export function withRole(err: unknown, role: string | null): unknown {
  if (!(err instanceof AccountAccessError) || err.role !== null || role === null) return err;
  const detail = (err.cause as { message?: unknown } | undefined)?.message;
  return new AccountAccessError(err.account, role, typeof detail === 'string' ? detail : 'permission denied', { sqlstate: err.sqlstate, cause: err.cause });
}
