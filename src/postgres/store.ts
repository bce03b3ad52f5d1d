/**
 * PostgresTradeStore: the TradeStore API on a PostgreSQL account, for bots on several hosts that
 * share one risk budget. It is the one store (store/store.ts) over the PostgreSQL backend
 * (postgres/backend.ts): the same pure domain decides everything (validation, risk checks, P&L,
 * rounding, trade ids: domain/); the database only replaces the flock and the file, each group of
 * write calls one transaction of the runner (postgres/transaction.ts).
 *
 * The schema's constraints are a backstop, not the rules: they refuse what no write of this
 * library produces (a second open trade on a symbol, a reused client_id, NaN, a changed closed
 * trade). docs/postgres.md is the user's guide.
 */
import type { Violation } from '../domain/integrity.js';
import { checkSettingsFile, type SettingsInput } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { ValidationError } from '../errors.js';
import { checkOptionsObject, Store } from '../store/store.js';
import { PostgresBackend } from './backend.js';
import { Connection, DEFAULT_STATEMENT_TIMEOUT_MS, migrateDatabase, timeoutOption } from './connection.js';
import { listenerConfig } from './watch.js';
import { checkAccountName, checkConnectionOptions, settingsLabel, type ConnectionOptions, type PostgresIntegrityContext } from './options.js';

export type { PostgresIntegrityContext } from './options.js';

export interface PostgresTradeStoreOptions extends SettingsInput, ConnectionOptions {
  /** The account: one trade log, one budget. Letters, digits and . _ : @ - (up to 128), starting with a letter or digit. */
  account: string;
  /** Longest wait for the account lock before LockTimeoutError, counted from the call. Default 30000 ms; Infinity: as long as it takes. */
  lockTimeoutMs?: number;
  /** Longest a statement may run besides the lock wait (a stuck server) before EDBTIMEOUT. Default 15000 ms. */
  statementTimeoutMs?: number;
  /**
   * Called after a write whose result breaks an invariant, with every violation. Reported, never blocking.
   * Default: one process warning (TSE_INTEGRITY) of at most 2 KB: the count, each code, the first ids.
   */
  onIntegrityViolation?: (violations: Violation[], context: PostgresIntegrityContext) => void;
  /** The clock, for tests and replays. Default: () => new Date(). */
  now?: () => Date;
  /**
   * Run the store's statements as named prepared statements, parsed once per connection (a write
   * costs about a third less). Default true. Set false behind PgBouncer in transaction mode older
   * than 1.21 (or without max_prepared_statements), which cannot carry them across its connections.
   */
  preparedStatements?: boolean;
}

export class PostgresTradeStore extends Store<PostgresIntegrityContext> {
  readonly account: string;
  readonly #connection: Connection;
  readonly #db: PostgresBackend;
  readonly #lockTimeoutMs: number;

  constructor(options: PostgresTradeStoreOptions) {
    checkOptionsObject(options);
    const account = checkAccountName(options.account);
    // Checked before the store is built only as far as building needs; the rest in the order they always were.
    const statementTimeoutMs = timeoutOption('statementTimeoutMs', options.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS);
    const connection = new Connection(options, { statementTimeoutMs });
    const db = new PostgresBackend(account, connection, { statementTimeoutMs, prepared: options.preparedStatements !== false, listener: listenerConfig(options) });
    // The options alone until the first call reads the account's rulebook (a constructor cannot query).
    super(options, db);
    this.account = account;
    checkConnectionOptions(options);
    if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') {
      throw new ValidationError('preparedStatements', options.preparedStatements, 'must be true or false');
    }
    this.#connection = connection;
    this.#db = db;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  /** Creates or upgrades the schema (idempotent; safe from several hosts at once). Returns the versions applied. */
  async migrate(): Promise<number[]> {
    return migrateDatabase(this.#connection);
  }

  /** Ends the store's watches, then the pool. The store cannot be used afterwards. */
  async close(): Promise<void> {
    await this.closeWatches();
    await this.#connection.end();
  }

  /** Whether the account exists (has been written to, imported or created by `trade-state init`). */
  async exists(): Promise<boolean> {
    return (await this.#db.state()).exists;
  }

  /**
   * Sets the account's rulebook (what trade-state.json is beside a file log): every store of the
   * account, on every host, applies it from its next write on; options may only be stricter.
   * null removes it. Creates the account when missing.
   */
  async saveSettings(settings: SettingsInput | null): Promise<void> {
    if (settings !== null) checkSettingsFile(settings, settingsLabel(this.account));
    const json = settings === null ? null : JSON.stringify(settings);
    await this.#db.saveSettings(json, { until: performance.now() + this.#lockTimeoutMs, timeoutMs: this.#lockTimeoutMs });
  }

  /** The whole log of the account, as a file store would hold it (frozen). */
  async getLog(): Promise<TradeLog> {
    return this.readLog();
  }
}
