/**
 * PostgresLogSource: an account's log as a LogSource (reconcile/source.ts), for the reconciler and
 * the report. Reads are AccountLog's: one lock-free statement fetching only the rows changed since
 * the version known. The rulebook is the account's `settings`, checked as the store checks it.
 *
 * Watch mode wakes on two things, because either alone misses writes:
 * - LISTEN trade_state_events on a client of its own (not the pool's: a pooled client is handed
 *   to other queries and LISTEN is per session). Every write transaction sends
 *   `<account>:<version>`; other accounts' are ignored.
 * - a poll of the account's version every pollMs: a NOTIFY sent while the listener is
 *   disconnected is lost for good, and PgBouncer in transaction mode delivers none at all.
 * The listener reconnects with back-off, and on every (re)connect checks the version at once.
 */
import type { Client, ClientConfig } from 'pg';

import { checkSettingsFile } from '../domain/settings.js';
import { RulebookValue } from '../io/rulebook.js';
import { AccountError, ValidationError } from '../errors.js';
import { StateReconciler, type ReconcilerOptions } from '../reconcile/state-reconciler.js';
import type { LogSource, SourceSnapshot, SourceWatch } from '../reconcile/source.js';
import { AccountLog, type Queryable } from './account-log.js';
import { Connection, databaseError, loadPg } from './connection.js';
import type { ConnectionOptions } from './options.js';
import { SCHEMA } from './schema.js';
import { checkAccountName, settingsLabel } from './options.js';

export interface PostgresLogSourceOptions extends ConnectionOptions {
  /** The account whose log this is. */
  account: string;
  /** Watch mode: how often the account's version is polled, as a safety net for lost notifications. Default 3000 ms; Infinity: never. */
  pollMs?: number;
  /** Watch mode: LISTEN for the writers' notifications. Default true; false: polling only (e.g. behind PgBouncer in transaction mode). */
  listen?: boolean;
  /** Watch mode: the first wait before reconnecting a lost listener; doubled on each failure, up to 30 s. Default 250 ms. */
  reconnectMs?: number;
}

/** The channel every write transaction notifies (postgres/store.ts WRITE_SQL). */
export const NOTIFY_CHANNEL = 'trade_state_events';
/** The listener's application_name, so that an operator (or a test) can find its session in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'trade-state-engine listener';
const DEFAULT_POLL_MS = 3000;
const DEFAULT_RECONNECT_MS = 250;
const MAX_RECONNECT_MS = 30_000;
const VERSION_SQL = `SELECT version FROM ${SCHEMA}.accounts WHERE account = $1`;

export class PostgresLogSource implements LogSource {
  readonly account: string;
  readonly name: string;
  readonly #connection: Connection;
  readonly #clientConfig: ClientConfig;
  readonly #log: AccountLog;
  readonly #pollMs: number;
  readonly #listen: boolean;
  readonly #reconnectMs: number;
  /** The last snapshot handed out: returned again, the same object, while the version is unchanged. */
  #last: SourceSnapshot | null = null;
  /** The rulebook, checked once per distinct JSON text: an unchanged one is the same look. */
  readonly #rules: RulebookValue;
  readonly #watches = new Set<SourceWatch>();
  #closed = false;

  constructor(options: PostgresLogSourceOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const account = checkAccountName(options.account);
    this.account = account;
    this.#rules = new RulebookValue((raw) => checkSettingsFile(raw, settingsLabel(account)));
    if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
      throw new ValidationError('connectionString', options.connectionString, 'must be a postgres:// URL');
    }
    if (options.connectionString === undefined && options.pool === undefined) {
      throw new ValidationError('connectionString', undefined, 'is required (or pool, node-postgres pool options)');
    }
    this.#pollMs = positive('pollMs', options.pollMs, DEFAULT_POLL_MS, true);
    this.#reconnectMs = positive('reconnectMs', options.reconnectMs, DEFAULT_RECONNECT_MS, false);
    if (options.listen !== undefined && typeof options.listen !== 'boolean') throw new ValidationError('listen', options.listen, 'must be a boolean');
    this.#listen = options.listen ?? true;
    // A reconciler's reads are one statement each: two connections are plenty (a read and a poll).
    this.#connection = new Connection({ ...options, pool: { max: 2, ...options.pool } });
    const { max: _max, idleTimeoutMillis: _idle, ...client } = { ...options.pool } as Record<string, unknown>;
    this.#clientConfig = {
      ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
      // an unreachable host must not hold close() (which waits for a connect in flight) for minutes
      connectionTimeoutMillis: 10_000,
      ...client,
      application_name: LISTENER_APPLICATION_NAME,
    } as ClientConfig;
    this.#log = new AccountLog(this.account);
    this.name = describeDatabase(options.connectionString, options.pool, this.account);
  }

  /** The account's log now (frozen), its version and its rulebook. Rejects with a DatabaseError. */
  async read(): Promise<SourceSnapshot> {
    const pool = await this.#connection.pool();
    let state;
    try {
      state = await this.#log.read(pool as unknown as Queryable);
    } catch (err) {
      throw databaseError(err, this.account);
    }
    // The rulebook is saved without a new version (saveSettings): compared on its own.
    // A broken one is handed over as such: the reconciler and the report warn and go on.
    const rulebook = this.#rules.look(state.settings);
    const last = this.#last;
    const same = last !== null && last.version === state.version && last.exists === state.exists;
    if (same && last.rulebook === rulebook) return last;
    const snapshot: SourceSnapshot = Object.freeze({
      log: same ? last.log : state.log,
      version: state.version,
      settings: rulebook.file,
      rulebook,
      exists: state.exists,
    });
    this.#last = snapshot;
    return snapshot;
  }

  /** The account's version, one cheap statement (-1: the account does not exist yet). */
  async version(): Promise<number> {
    const pool = await this.#connection.pool();
    try {
      const r = await pool.query<{ version: string | number }>(VERSION_SQL, [this.account]);
      const row = r.rows[0];
      return row === undefined ? -1 : Number(row.version);
    } catch (err) {
      throw databaseError(err, this.account);
    }
  }

  /** See the module comment. close() of the watch (or of the source) ends its timers and its client. */
  watch(onChange: () => void, onError: (err: unknown) => void): SourceWatch {
    if (this.#closed) throw new ValidationError('source', this.name, 'is closed');
    const w = new AccountWatch(this, this.#clientConfig, { pollMs: this.#pollMs, listen: this.#listen, reconnectMs: this.#reconnectMs }, onChange, onError);
    const handle: SourceWatch = {
      close: async () => {
        this.#watches.delete(handle);
        await w.close();
      },
    };
    this.#watches.add(handle);
    w.start();
    return handle;
  }

  /** The version of the last read, for the watch to compare with (-1: none yet). */
  get readVersion(): number {
    return this.#last === null ? -1 : this.#last.exists ? this.#last.version : -1;
  }

  /** Ends every watch and the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#watches].map((w) => w.close()));
    await this.#connection.end();
  }

}

/** One watch: the listener client with its reconnects, and the poll timer. */
class AccountWatch {
  readonly #source: PostgresLogSource;
  readonly #config: ClientConfig;
  readonly #options: { pollMs: number; listen: boolean; reconnectMs: number };
  readonly #onChange: () => void;
  readonly #onError: (err: unknown) => void;
  #closed = false;
  #client: Client | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #delay: number;
  #poll: NodeJS.Timeout | null = null;
  /** The last version a change was signalled for: a poll does not signal it again while a cycle catches up. */
  #signalled = -1;
  /** A failing poll is reported once per outage, not every pollMs. */
  #pollFailing = false;
  /** The same for the listener: its loss is reported, not every failed reconnect after it. */
  #listenFailing = false;
  #checking = false;
  /** In flight (connect, check): awaited by close() so that no handle outlives it. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    source: PostgresLogSource,
    config: ClientConfig,
    options: { pollMs: number; listen: boolean; reconnectMs: number },
    onChange: () => void,
    onError: (err: unknown) => void,
  ) {
    this.#source = source;
    this.#config = config;
    this.#options = options;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#delay = options.reconnectMs;
  }

  start(): void {
    if (Number.isFinite(this.#options.pollMs)) this.#poll = setInterval(() => this.#check(), this.#options.pollMs);
    if (this.#options.listen) this.#track(this.#connect());
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll !== null) clearInterval(this.#poll);
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    this.#poll = null;
    this.#reconnect = null;
    const client = this.#client;
    this.#client = null;
    if (client !== null) await client.end().catch(() => {});
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #signal(version: number): void {
    if (this.#closed) return;
    this.#signalled = version;
    this.#onChange();
  }

  /** Signals a change when the account's version is not the one last read (nor one already signalled). */
  #check(): void {
    if (this.#closed || this.#checking) return;
    this.#checking = true;
    this.#track(
      this.#source.version().then(
        (v) => {
          this.#checking = false;
          this.#pollFailing = false;
          if (v !== this.#source.readVersion && v !== this.#signalled) this.#signal(v);
        },
        (err: unknown) => {
          this.#checking = false;
          // After the outage, the version is signalled again even if it was before: the cycle it
          // woke probably failed to read as well.
          this.#signalled = -1;
          if (this.#pollFailing || this.#closed) return;
          this.#pollFailing = true;
          this.#onError(err);
        },
      ),
    );
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let client: Client;
    try {
      const pg = await loadPg();
      client = new pg.Client(this.#config);
    } catch (err) {
      this.#onError(err);
      return; // pg missing: nothing to retry
    }
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = null;
      client.end().catch(() => {});
      if (this.#closed) return;
      if (err !== undefined && !this.#listenFailing) this.#onError(databaseError(err, this.#source.account));
      this.#listenFailing = true;
      this.#scheduleReconnect();
    };
    // Without a listener an 'error' (the server went away) would be thrown and kill the process.
    client.on('error', (err) => onLost(err));
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== NOTIFY_CHANNEL || msg.payload === undefined) return;
      // `<account>:<version>`; an account name may hold ':' itself, the version never does.
      const at = msg.payload.lastIndexOf(':');
      if (at < 0 || msg.payload.slice(0, at) !== this.#source.account) return;
      const version = Number(msg.payload.slice(at + 1));
      if (version !== this.#source.readVersion) this.#signal(version);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      onLost(err);
      return;
    }
    if (this.#closed || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#delay = this.#options.reconnectMs;
    this.#listenFailing = false;
    // Writes made while no one listened sent notifications nobody received: a difference from
    // the version last read is signalled, even one signalled before the connection was lost.
    this.#signalled = -1;
    this.#check();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnect !== null) return;
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, MAX_RECONNECT_MS);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      this.#track(this.#connect());
    }, delay);
  }
}

/**
 * A source on an account that must exist (AccountError EACCOUNTMISSING otherwise, its pool
 * closed): for a command line, where a mistyped account must not read as an account with no
 * trades, as a mistyped log path must not. `allowMissing`: a missing account is an empty log.
 */
export async function openAccountSource(options: PostgresLogSourceOptions & { allowMissing?: boolean }): Promise<PostgresLogSource> {
  const { allowMissing, ...rest } = options;
  const source = new PostgresLogSource(rest);
  if (allowMissing === true) return source;
  let exists: boolean;
  try {
    exists = (await source.read()).exists;
  } catch (err) {
    await source.close();
    throw err;
  }
  if (exists) return source;
  await source.close();
  throw new AccountError(
    'EACCOUNTMISSING',
    source.account,
    `There is no account "${source.account}" in ${source.name.slice(0, source.name.lastIndexOf('#'))}: check the account name and the ` +
      'database; the first write (or an import) creates it',
  );
}

/**
 * How the reconciler and messages name an account: its database without the password, and the
 * account, e.g. `postgres://bot@db.example:5432/trading#main`.
 */
function describeDatabase(connectionString: string | undefined, pool: Record<string, unknown> | undefined, account: string): string {
  let where = 'postgres:';
  if (connectionString !== undefined) {
    try {
      const u = new URL(connectionString);
      u.password = '';
      u.search = '';
      u.hash = '';
      where = u.toString();
    } catch {
      where = 'postgres:(connection string)';
    }
  } else if (pool !== undefined) {
    const host = typeof pool.host === 'string' ? pool.host : 'localhost';
    const port = typeof pool.port === 'number' || typeof pool.port === 'string' ? `:${pool.port}` : '';
    const user = typeof pool.user === 'string' ? `${pool.user}@` : '';
    const database = typeof pool.database === 'string' ? pool.database : '';
    where = `postgres://${user}${host}${port}/${database}`;
  }
  return `${where}#${account}`;
}

function positive(name: string, value: unknown, fallback: number, infinite: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!infinite && !Number.isFinite(value))) {
    throw new ValidationError(name, value, infinite ? 'must be a number > 0 (Infinity: never)' : 'must be a finite number > 0');
  }
  return value;
}

export interface PostgresReconcilerOptions extends Omit<ReconcilerOptions, 'tradeLog' | 'source'>, PostgresLogSourceOptions {}

/**
 * A StateReconciler on an account: `new StateReconciler({ source: new PostgresLogSource(...), ... })`
 * in one call. close() ends its connections (and its watch).
 */
export function reconcilerFor(options: PostgresReconcilerOptions): StateReconciler {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const { account, connectionString, pool, pollMs, listen, reconnectMs, ...rest } = options;
  const source = new PostgresLogSource({
    account,
    ...(connectionString !== undefined && { connectionString }),
    ...(pool !== undefined && { pool }),
    ...(pollMs !== undefined && { pollMs }),
    ...(listen !== undefined && { listen }),
    ...(reconnectMs !== undefined && { reconnectMs }),
  });
  return new StateReconciler({ ...rest, source });
}
