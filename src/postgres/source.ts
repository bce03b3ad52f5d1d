/**
 * PostgresLogSource: an account's log as a LogSource (reconcile/source.ts), for the reconciler and
 * the report. Reads are AccountLog's: one lock-free statement fetching only the rows changed since
 * the version known. The rulebook is the account's `settings`, checked as the store checks it.
 * Its watch (LISTEN/NOTIFY and a poll of the version) is watch.ts.
 */
import type { ClientConfig } from 'pg';

import { checkSettingsFile } from '../domain/settings.js';
import { RulebookValue } from '../io/rulebook.js';
import { AccountError, ValidationError } from '../errors.js';
import { StateReconciler, type ReconcilerOptions } from '../reconcile/state-reconciler.js';
import type { LogSource, SourceSnapshot, SourceWatch } from '../reconcile/source.js';
import { AccountLog, type Queryable } from './account-log.js';
import { Connection, DEFAULT_STATEMENT_TIMEOUT_MS, databaseError, readAgainIfLost, timeoutOption, withRole } from './connection.js';
import { SCHEMA } from './schema.js';
import { checkAccountName, checkConnectionOptions, redactConnectionString, settingsLabel, type ConnectionOptions, type WatchedAccount } from './options.js';
import { AccountWatch, listenerConfig, watchSettings, type WatchSettings } from './watch.js';

export interface PostgresLogSourceOptions extends ConnectionOptions {
  /** The account whose log this is. */
  account: string;
  /** Watch mode: how often the account's version is polled, as a safety net for lost notifications. Default 3000 ms; Infinity: never. */
  pollMs?: number;
  /** Watch mode: LISTEN for the writers' notifications. Default true; false: polling only (e.g. behind PgBouncer in transaction mode). */
  listen?: boolean;
  /** Watch mode: the first wait before reconnecting a lost listener; doubled on each failure, up to 30 s. Default 250 ms. */
  reconnectMs?: number;
  /** A read on a server that has not answered within this + 1 s is abandoned (EDBUNAVAILABLE). Default 15000 ms. */
  statementTimeoutMs?: number;
}

const VERSION_SQL = `SELECT version FROM ${SCHEMA}.accounts WHERE account = $1`;

export class PostgresLogSource implements LogSource, WatchedAccount {
  readonly account: string;
  readonly name: string;
  /** `account main (PostgreSQL)`: the account without its server, for a report handed to others. */
  readonly label: string;
  readonly #connection: Connection;
  readonly #clientConfig: ClientConfig;
  readonly #log: AccountLog;
  readonly #watch: WatchSettings;
  /** The last snapshot handed out: returned again, the same object, while the version and its event are unchanged. */
  #last: SourceSnapshot | null = null;
  /** The op_id of the event at #last's version: a restore can bring the version back with other content. */
  #lastOp: string | null = null;
  /** The rulebook, checked once per distinct JSON text: an unchanged one is the same look. */
  readonly #rules: RulebookValue;
  readonly #watches = new Set<SourceWatch>();
  #closed = false;

  constructor(options: PostgresLogSourceOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const account = checkAccountName(options.account);
    this.account = account;
    this.#rules = new RulebookValue((raw) => checkSettingsFile(raw, settingsLabel(account)));
    checkConnectionOptions(options);
    this.#watch = watchSettings(options);
    // A reconciler's reads are one statement each: two connections are plenty (a read and a poll).
    const statementTimeoutMs = timeoutOption('statementTimeoutMs', options.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS);
    this.#connection = new Connection({ ...options, pool: { max: 2, ...options.pool } }, { statementTimeoutMs });
    this.#clientConfig = listenerConfig(options);
    this.#log = new AccountLog(this.account);
    this.label = `account ${this.account} (PostgreSQL)`;
    this.name = describeDatabase(options.connectionString, options.pool, this.account);
  }

  /** The account's log now (frozen), its version and its rulebook. Rejects with a DatabaseError. */
  async read(): Promise<SourceSnapshot> {
    const pool = await this.#connection.pool();
    let state;
    try {
      state = await readAgainIfLost(() => this.#log.read(pool as unknown as Queryable));
    } catch (err) {
      throw withRole(databaseError(err, this.account), this.#connection.role);
    }
    // The rulebook is saved without a new version (saveSettings): compared on its own.
    // A broken one is handed over as such: the reconciler and the report warn and go on.
    const rulebook = this.#rules.look(state.settings);
    const last = this.#last;
    const same = last !== null && last.version === state.version && last.exists === state.exists && this.#lastOp === state.lastOp;
    if (same && last.rulebook === rulebook) return last;
    const snapshot: SourceSnapshot = Object.freeze({
      log: same ? last.log : state.log,
      version: state.version,
      settings: rulebook.file,
      rulebook,
      exists: state.exists,
    });
    this.#last = snapshot;
    this.#lastOp = state.lastOp;
    return snapshot;
  }

  /** The account's version, one cheap statement (-1: the account does not exist yet). */
  async version(): Promise<number> {
    const pool = await this.#connection.pool();
    try {
      const r = await pool.query(VERSION_SQL, [this.account]);
      const row = r.rows[0] as { version: string | number } | undefined;
      return row === undefined ? -1 : Number(row.version);
    } catch (err) {
      throw databaseError(err, this.account);
    }
  }

  /** LISTEN/NOTIFY and a poll of the version (watch.ts). close() of the watch (or of the source) ends its timers and its client. */
  watch(onChange: () => void, onError: (err: unknown) => void): SourceWatch {
    if (this.#closed) throw new ValidationError('source', this.name, 'is closed');
    const w = new AccountWatch(this, this.#clientConfig, this.#watch, onChange, onError);
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
 * How the reconciler and messages name an account: its database with the password masked
 * (redactConnectionString), and the account, e.g. `postgres://bot:***@db.example:5432/trading#main`.
 */
function describeDatabase(connectionString: string | undefined, pool: Record<string, unknown> | undefined, account: string): string {
  let where = 'postgres:';
  if (connectionString !== undefined) {
    where = redactConnectionString(connectionString);
  } else if (pool !== undefined) {
    const host = typeof pool.host === 'string' ? pool.host : 'localhost';
    const port = typeof pool.port === 'number' || typeof pool.port === 'string' ? `:${pool.port}` : '';
    const user = typeof pool.user === 'string' ? `${pool.user}@` : '';
    const database = typeof pool.database === 'string' ? pool.database : '';
    where = `postgres://${user}${host}${port}/${database}`;
  }
  return `${where}#${account}`;
}

export interface PostgresReconcilerOptions extends Omit<ReconcilerOptions, 'tradeLog' | 'source'>, PostgresLogSourceOptions {}

/**
 * A StateReconciler on an account: `new StateReconciler({ source: new PostgresLogSource(...), ... })`
 * in one call. close() ends its connections (and its watch).
 */
export function reconcilerFor(options: PostgresReconcilerOptions): StateReconciler {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const { account, connectionString, pool, pollMs, listen, reconnectMs, statementTimeoutMs, ...rest } = options;
  const source = new PostgresLogSource({
    account,
    ...(connectionString !== undefined && { connectionString }),
    ...(pool !== undefined && { pool }),
    ...(pollMs !== undefined && { pollMs }),
    ...(listen !== undefined && { listen }),
    ...(reconnectMs !== undefined && { reconnectMs }),
    ...(statementTimeoutMs !== undefined && { statementTimeoutMs }),
  });
  return new StateReconciler({ ...rest, source });
}
