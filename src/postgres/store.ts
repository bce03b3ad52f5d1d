/**
 * PostgresTradeStore: the TradeStore API on a PostgreSQL account, for bots on several hosts that
 * share one risk budget. The same pure domain decides everything (validation, risk checks, P&L,
 * rounding, trade ids: domain/); the database only replaces the flock and the file:
 *
 *   BEGIN (READ COMMITTED, SET LOCAL timeouts) -> SELECT the account row FOR NO KEY UPDATE (the
 *   cross-host lock; under READ COMMITTED every later statement sees the previous holder's
 *   commit) -> fetch the trades changed since the version this process knows -> each queued
 *   call's pure step, as the file store runs it -> one statement writing the changed rows, one
 *   event per accepted call, the account's counters and a NOTIFY -> COMMIT.
 *
 * The schema's constraints are a backstop, not the rules: they refuse what no write of this
 * library produces (a second open trade on a symbol, a reused client_id, NaN, a changed closed
 * trade). docs/postgres.md is the user's guide.
 */
import { randomUUID } from 'node:crypto';

import type { PoolClient } from 'pg';

import { IntegrityTracker, violationSummary, type Violation } from '../domain/integrity.js';
import { checkSettingsFile, type SettingsInput } from '../domain/settings.js';
import { applyClose, applyPartial, applyUpdate, applyUpdatesBatch, type PartialResult } from '../domain/trade-ops.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { validateCloseInput, validateOpenInput, validatePartialInput, validatePatch, validateUpdates, type OpenInput } from '../domain/validate.js';
import { DatabaseError, OutcomeUnknownError, ValidationError } from '../errors.js';
import { RulebookValue } from '../io/rulebook.js';
import { RulesInForce, type RulebookRead } from '../store/rules.js';
import { StoreBase, type RulesNeed } from '../store/store-base.js';
import { applyGroup, doneOperations, settleGroup, WriteQueue, type Outcome, type PendingWrite } from '../store/write-group.js';
import { AccountLog, accountRowOf, LOCK_ACCOUNT_SQL, type AccountState, type Queryable } from './account-log.js';
import { Connection, databaseError, isConnectionError, migrateDatabase, pgTimeout } from './connection.js';
import { checkAccountName, settingsLabel, type ConnectionOptions } from './options.js';
import { logTopOf, ROW_COLUMNS, tradeToRow, unstorable, type RowInput } from './rows.js';
import { SCHEMA } from './schema.js';

export interface PostgresIntegrityContext {
  operation: string;
  account: string;
}

export interface PostgresTradeStoreOptions extends SettingsInput, ConnectionOptions {
  /** The account: one trade log, one budget. Letters, digits and . _ : @ - (up to 128), starting with a letter or digit. */
  account: string;
  /** Longest wait for the account lock before LockTimeoutError, counted from the call. Default 30000 ms. */
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

/** The write statement: the changed rows, the events and the account's counters in one round trip, then a NOTIFY. */
const WRITE_SQL = `
WITH upserted AS (
  INSERT INTO ${SCHEMA}.trades (account, version, ${ROW_COLUMNS.map(([c]) => c).join(', ')})
  SELECT $1, $2, ${ROW_COLUMNS.map(([c]) => `x.${c}`).join(', ')}
  FROM json_to_recordset($3::json) AS x(${ROW_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})
  ON CONFLICT (account, id) DO UPDATE SET version = EXCLUDED.version, ${ROW_COLUMNS.filter(([c]) => c !== 'id')
    .map(([c]) => `${c} = EXCLUDED.${c}`)
    .join(', ')}
  -- a changed trade stays where it is: a new trade whose id is taken elsewhere updates nothing, and the count below refuses the write
  WHERE ${SCHEMA}.trades.position = EXCLUDED.position
  RETURNING 1
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  SELECT $1, e.event_seq, e.op_id, e.kind, ARRAY(SELECT json_array_elements_text(e.trade_ids)), e.payload
  FROM json_to_recordset($4::json) AS e(event_seq bigint, op_id uuid, kind text, trade_ids json, payload jsonb)
  RETURNING 1
)
UPDATE ${SCHEMA}.accounts SET version = $2, next_id = $5, log_extra = $6::json, log_keys = $7::json, updated_at = now()
WHERE account = $1
RETURNING (SELECT count(*) FROM upserted) AS rows, (SELECT count(*) FROM logged) AS events,
  pg_notify('trade_state_events', account || ':' || version::text) AS notified, pg_current_xact_id()::text AS xid`;

/** saveSettings: the rulebook, one event, the version, a NOTIFY. */
const SETTINGS_SQL = `
WITH bumped AS (
  UPDATE ${SCHEMA}.accounts SET settings = $2::json, version = version + 1, updated_at = now() WHERE account = $1
  RETURNING account, version
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  SELECT account, version, $3, 'saveSettings', '{}', jsonb_build_object('input', $2::jsonb, 'result', null) FROM bumped
  RETURNING 1
)
SELECT pg_notify('trade_state_events', account || ':' || version::text), (SELECT count(*) FROM logged) AS events,
  pg_current_xact_id()::text AS xid FROM bumped`;

export class PostgresTradeStore extends StoreBase {
  readonly account: string;
  readonly #connection: Connection;
  readonly #lockTimeoutMs: number;
  readonly #statementTimeoutMs: number;
  readonly #prepared: boolean;
  readonly #onViolation: (violations: Violation[], context: PostgresIntegrityContext) => void;
  readonly #log: AccountLog;
  readonly #writes = new WriteQueue(() => this.#commitGroup());
  readonly #integrity = new IntegrityTracker();
  /** The account's settings column, checked once per distinct JSON text. */
  readonly #rulebook: RulebookValue;

  constructor(options: PostgresTradeStoreOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const account = checkAccountName(options.account);
    // The options alone until the first call reads the account's rulebook (a constructor cannot query).
    super(new RulesInForce(options, `postgres account "${account}"`), options.now ?? (() => new Date()));
    this.account = account;
    this.#rulebook = new RulebookValue((raw) => checkSettingsFile(raw, settingsLabel(account)));
    if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
      throw new ValidationError('connectionString', options.connectionString, 'must be a postgres:// URL');
    }
    if (options.connectionString === undefined && options.pool === undefined) {
      throw new ValidationError('connectionString', undefined, 'is required (or pool, node-postgres pool options)');
    }
    this.#lockTimeoutMs = timeoutOption('lockTimeoutMs', options.lockTimeoutMs, 30_000);
    this.#statementTimeoutMs = timeoutOption('statementTimeoutMs', options.statementTimeoutMs, 15_000);
    this.#onViolation = options.onIntegrityViolation ?? defaultViolationHandler;
    this.#connection = new Connection(options);
    if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') {
      throw new ValidationError('preparedStatements', options.preparedStatements, 'must be true or false');
    }
    this.#prepared = options.preparedStatements ?? true;
    this.#log = new AccountLog(this.account, { prepared: this.#prepared });
  }

  /** A query config: named (prepared once per connection) unless preparedStatements is off. */
  #statement(name: string, text: string, values: unknown[]): { name?: string; text: string; values: unknown[] } {
    return this.#prepared ? { name, text, values } : { text, values };
  }

  /** Creates or upgrades the schema (idempotent; safe from several hosts at once). Returns the versions applied. */
  async migrate(): Promise<number[]> {
    return migrateDatabase(this.#connection);
  }

  /** Ends the pool. The store cannot be used afterwards. */
  async close(): Promise<void> {
    await this.#connection.end();
  }

  /** Whether the account exists (has been written to, imported or created by `trade-state init`). */
  async exists(): Promise<boolean> {
    return (await this.#read()).exists;
  }

  /**
   * Sets the account's rulebook (what trade-state.json is beside a file log): every store of the
   * account, on every host, applies it from its next write on; options may only be stricter.
   * null removes it. Creates the account when missing.
   */
  async saveSettings(settings: SettingsInput | null): Promise<void> {
    if (settings !== null) checkSettingsFile(settings, settingsLabel(this.account));
    const json = settings === null ? null : JSON.stringify(settings);
    const opId = randomUUID();
    let xid: string | null = null;
    try {
      await this.#transaction(async (client, locked) => {
        await this.#lockAccount(client, locked);
        // A change of the rulebook is an event like a write: it changes what the next open may do,
        // the audit trail records it, and watchers (reconcile --watch) wake for it.
        const r = await client.query(this.#statement('tse_settings', SETTINGS_SQL, [this.account, json, opId]));
        xid = (r.rows[0] as { xid: string } | undefined)?.xid ?? null;
      });
    } catch (err) {
      if (!(err instanceof CommitLost)) throw err;
      if (!(await this.#landed([opId], xid, err.cause))) throw databaseError(err.cause, this.account);
    }
  }

  // ------------------------------------------------------------------ writes (as TradeStore)

  /**
   * Queues a write call. Its step is refused, alone, when its input holds a string PostgreSQL
   * cannot store: the group's one write statement would otherwise fail for every call in it.
   */
  #push<T>(operation: string, input: unknown, step: (log: TradeLog) => { log: TradeLog; result: T }, rules: 'strict' | 'lenient'): Promise<T> {
    return this.#writes.push(operation, input, (log) => {
      const next = step(log);
      const bad = unstorable(input, '');
      if (bad !== null) {
        throw new ValidationError(bad.path, bad.value, 'holds a NUL character or an unpaired UTF-16 surrogate, which PostgreSQL cannot store');
      }
      return next;
    }, rules);
  }

  async openTrade(input: OpenInput): Promise<Trade> {
    const valid = validateOpenInput(input);
    return this.#push('openTrade', valid, this.openStep(valid), 'strict');
  }

  async closeTrade(id: string, input: { exit_price: number; exit_reason?: string | null; lessons?: string | null }): Promise<Trade> {
    const valid = validateCloseInput(input);
    return this.#push('closeTrade', { id, ...valid }, (log) => {
      const next = applyClose(log, id, valid, this.clock());
      return { log: next.log, result: next.trade };
    }, 'lenient');
  }

  async partialClose(id: string, input: { fraction: number; exit_price: number; reason?: string | null }): Promise<PartialResult> {
    const valid = validatePartialInput(input);
    return this.#push('partialClose', { id, ...valid }, (log) => {
      const next = applyPartial(log, id, valid, this.clock());
      return { log: next.log, result: next.result };
    }, 'lenient');
  }

  async updateTrade(id: string, patch: Record<string, unknown>): Promise<Trade> {
    // Checked and copied now: the caller may change its object before the group runs.
    const valid = validatePatch(patch);
    return this.#push('updateTrade', { id, patch: valid }, (log) => {
      const next = applyUpdate(log, id, valid);
      return { log: next.log, result: next.trade };
    }, 'lenient');
  }

  async updateTradesBatch(updates: ReadonlyArray<readonly [string, Record<string, unknown>]>): Promise<number> {
    const valid = validateUpdates(updates);
    return this.#push('updateTradesBatch', { updates: valid }, (log) => {
      const next = applyUpdatesBatch(log, valid);
      return { log: next.log, result: valid.length };
    }, 'lenient');
  }

  // ------------------------------------------------------------------- reads (StoreBase)

  /** The whole log of the account, as a file store would hold it (frozen). */
  async getLog(): Promise<TradeLog> {
    return this.readLog('none');
  }

  /**
   * One lock-free statement: the rows changed since the version this store knows. The account's
   * rulebook comes with it: applied leniently on every read (store.settings follows it), strictly
   * for the open checks.
   */
  protected async readLog(rules: RulesNeed): Promise<TradeLog> {
    const state = await this.#read();
    if (rules === 'strict') this.rules.apply(this.#rulebookOf(state.settings));
    return state.log;
  }

  // --------------------------------------------------------------- internals

  async #read(): Promise<AccountState> {
    const pool = await this.#connection.pool();
    try {
      const state = await this.#log.read(pool as unknown as Queryable);
      // Every read brings the account's rulebook too: store.settings follows it (a broken or
      // conflicting one is a warning here, as on the file store's reads; opens refuse it).
      this.rules.applyLeniently(this.#rulebookOf(state.settings));
      return state;
    } catch (err) {
      throw databaseError(err, this.account);
    }
  }

  /** The account's rulebook as a read found it: its JSON text is its version. */
  #rulebookOf(raw: unknown): RulebookRead {
    return () => this.#rulebook.look(raw);
  }

  /**
   * The account row, locked. `locked`: the row the transaction's first round trip already locked
   * (#transaction), undefined when the account has none yet: it is created, then locked (a new
   * account starts empty, as a missing file log does).
   */
  async #lockAccount(client: PoolClient, locked: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    if (locked !== undefined) return locked;
    await client.query(`INSERT INTO ${SCHEMA}.accounts (account) VALUES ($1) ON CONFLICT (account) DO NOTHING`, [this.account]);
    const created = await client.query(this.#statement('tse_lock', LOCK_ACCOUNT_SQL, [this.account]));
    return created.rows[0] as Record<string, unknown>;
  }

  /**
   * Runs `body` in one READ COMMITTED transaction with the store's timeouts, on a client of the
   * pool, and commits. The lock wait is bounded by the remaining lockTimeoutMs of the oldest call
   * (`arrivedAt`). A connection lost before COMMIT is retried once on a fresh connection (after a
   * server restart the pool's idle clients are dead), nothing having been written. A connection
   * lost during COMMIT throws CommitLost: whether it landed is for the caller to find out.
   */
  async #transaction<T>(
    body: (client: PoolClient, locked: Record<string, unknown> | undefined) => Promise<T>,
    arrivedAt = performance.now(),
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const waitMs = Math.max(1, Math.ceil(arrivedAt + this.#lockTimeoutMs - performance.now()));
      let client: PoolClient | null = null;
      let phase: 'connect' | 'body' | 'commit' = 'connect';
      try {
        client = await this.#connection.connect(this.account);
        phase = 'body';
        // One round trip for the frame and the lock: SET takes no parameters (both values are
        // integers computed here), and a multi-statement query none, so the account is a literal
        // (its name was checked against a strict pattern, and escapeLiteral quotes it anyway).
        const opened = (await client.query(
          `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = ${pgTimeout(waitMs)}; ` +
            `SET LOCAL statement_timeout = ${pgTimeout(waitMs + this.#statementTimeoutMs)}; ` +
            `SET LOCAL idle_in_transaction_session_timeout = ${pgTimeout(this.#statementTimeoutMs)}; ` +
            // Acknowledged means durable: a database or role with synchronous_commit = off would
            // acknowledge commits a server crash can lose. 'local', 'remote_write', 'remote_apply'
            // are at least as strong as 'on' and are left as they are.
            `SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'; ` +
            LOCK_ACCOUNT_SQL.replace('$1', client.escapeLiteral(this.account)),
        )) as unknown as Array<{ rows: Record<string, unknown>[] }>;
        const locked = opened[opened.length - 1]?.rows[0];
        const result = await body(client, locked);
        phase = 'commit';
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        const lost = isConnectionError(err);
        if (client !== null) {
          if (!lost) await client.query('ROLLBACK').catch(() => {});
          client.release(lost ? asError(err) : undefined);
        }
        if (lost && phase === 'commit') throw new CommitLost(err);
        if (lost && phase === 'body' && attempt === 0) continue;
        throw databaseError(err, this.account, { what: `postgres account "${this.account}"`, timeoutMs: this.#lockTimeoutMs });
      }
    }
  }

  /**
   * The connection was lost while COMMIT was on its way: whether the transaction landed is read
   * from the events it wrote (op_id is unique). Returns whether it landed; throws
   * OutcomeUnknownError when the server stays unreachable for twice statementTimeoutMs.
   */
  async #landed(opIds: readonly string[], xid: string | null, cause: unknown): Promise<boolean> {
    // The server may still be committing when the connection drops (a slow fsync, a synchronous
    // standby): the events are invisible until it decides, so wait for the transaction's status
    // first. A transaction whose client vanished without a FIN stays "in progress" until
    // idle_in_transaction_session_timeout (statementTimeoutMs) ends it: hence twice that.
    const deadline = performance.now() + 2 * this.#statementTimeoutMs;
    let last: unknown = cause;
    for (;;) {
      try {
        const pool = await this.#connection.pool();
        const status =
          xid === null ? null : ((await pool.query('SELECT pg_xact_status($1::xid8) AS s', [xid])).rows[0] as { s: string | null }).s;
        if (status !== 'in progress') {
          const r = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.events WHERE op_id = ANY($1::uuid[])`, [opIds]);
          return (r.rows[0] as { n: number }).n > 0;
        }
      } catch (err) {
        if (!isConnectionError(err)) throw databaseError(err, this.account);
        last = err;
      }
      if (performance.now() + 250 > deadline) throw new OutcomeUnknownError(this.account, opIds, last);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * One group, as TradeStore#commitGroup: every queued call in one transaction under the account
   * lock, each call's pure step in turn, one write. The events carry each accepted call's input
   * and result; a call that changed nothing (a client_id retry) writes no event. Nothing resolves
   * before COMMIT returned — or, its reply lost, before the events table shows it landed.
   */
  async #commitGroup(): Promise<void> {
    const group = this.#writes.pending.splice(0);
    let outcomes: Outcome[] = [];
    let committed: AccountState | null = null;
    let events: WriteEvent[] = [];
    /** The transaction's id, from the write statement: after a lost COMMIT reply, its status says when to look. */
    let xid: string | null = null;
    try {
      try {
        await this.#transaction(async (client, locked) => {
          // A retry after a dead connection starts over: nothing of the first attempt stands.
          committed = null;
          events = [];
          xid = null;
          const account = accountRowOf(await this.#lockAccount(client, locked));
          const before = await this.#log.readLocked(client as unknown as Queryable, account);
          const settingsError = this.rules.applyForGroup(this.#rulebookOf(before.settings), group.some((c) => c.rules === 'lenient'));
          const applied = applyGroup(before.log, group, settingsError);
          outcomes = applied.outcomes;
          if (applied.log === before.log) {
            if (locked === undefined) {
              // Nothing accepted on an account this transaction created: leave no account behind, as
              // a refused write on a missing file log leaves no file (the COMMIT after it is empty).
              await client.query('ROLLBACK AND CHAIN');
              return;
            }
            committed = before;
            return;
          }
          events = eventsOf(group, outcomes, before.version);
          const version = before.version + events.length;
          const top = logTopOf(applied.log);
          const rows = changedRows(before.log, applied.log);
          const r = await client.query(this.#statement('tse_write', WRITE_SQL, [
            this.account,
            version,
            JSON.stringify(rows),
            JSON.stringify(events),
            top.next_id,
            JSON.stringify(top.extra),
            JSON.stringify(top.keys),
          ]));
          const wrote = r.rows[0] as { rows: string; events: string; xid: string } | undefined;
          xid = wrote?.xid ?? null;
          if (wrote === undefined || Number(wrote.rows) !== rows.length || Number(wrote.events) !== events.length) {
            // Cannot happen while the domain keeps ids unique; if it does, roll back rather than half-write.
            throw new DatabaseError('EDBCONSTRAINT', `The write to account "${this.account}" touched ${wrote?.rows ?? 0} of ${rows.length} trade rows; rolled back`, {
              account: this.account,
              constraint: 'trades_pkey',
            });
          }
          committed = Object.freeze({ log: applied.log, version, settings: before.settings, exists: true });
        }, (group[0] as PendingWrite).arrivedAt);
      } catch (err) {
        if (!(err instanceof CommitLost)) throw err;
        // Nothing written by this group (a client_id retry): what it read was committed before.
        if (events.length > 0 && !(await this.#landed(events.map((e) => e.op_id), xid, err.cause))) {
          throw databaseError(err.cause, this.account);
        }
      }
    } catch (error) {
      for (const call of group) call.reject(error);
      return;
    }
    const after = committed as AccountState | null;
    if (after !== null) this.#log.set(after);
    settleGroup(group, outcomes);
    const operation = doneOperations(group, outcomes);
    if (after !== null && operation !== null) setImmediate(() => this.#verify(after.log, operation));
  }

  #verify(log: TradeLog, operation: string): void {
    const violations = this.#integrity.check(log, { maxPositions: this.risk.maxPositions });
    if (violations.length === 0) return;
    try {
      this.#onViolation(violations, { operation, account: this.account });
    } catch {
      // A failing handler must not turn a committed write into a reported failure.
    }
  }
}

/**
 * The indices of the trades `next` changed or added relative to `prev`: a pure step shares every
 * trade it leaves alone, so identity tells. A plain loop: at 10,000 trades a callback per element
 * was a measurable part of a write.
 */
function changedIndices(prev: readonly Trade[], next: readonly Trade[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < next.length; i++) if (next[i] !== prev[i]) out.push(i);
  return out;
}

/** The rows of the trades `next` changed or added relative to `prev`. */
function changedRows(prev: TradeLog, next: TradeLog): RowInput[] {
  return changedIndices(prev.trades, next.trades).map((i) => tradeToRow(next.trades[i] as Trade, i));
}

/** A row of trade_state.events, as the write statement takes it. */
interface WriteEvent {
  event_seq: number;
  op_id: string;
  kind: string;
  trade_ids: string[];
  payload: { input: unknown; result: unknown };
}

/** One event per accepted call that changed the log: a fresh op id, its kind, the trades it touched, its input and result. */
function eventsOf(group: readonly PendingWrite[], outcomes: readonly Outcome[], version: number): WriteEvent[] {
  const events: WriteEvent[] = [];
  group.forEach((call, i) => {
    const o = outcomes[i];
    if (o === undefined || !o.ok || o.after === o.before) return;
    const ids = changedIndices(o.before.trades, o.after.trades).map((k) => (o.after.trades[k] as Trade).id);
    events.push({
      event_seq: version + events.length + 1,
      op_id: randomUUID(),
      kind: call.operation,
      trade_ids: ids,
      payload: { input: call.input ?? null, result: o.value ?? null },
    });
  });
  return events;
}

/** The connection was lost while COMMIT was on its way (#transaction). */
class CommitLost extends Error {
  constructor(cause: unknown) {
    super('connection lost during COMMIT', { cause });
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ValidationError(name, value, 'must be a number >= 0');
  return value;
}


function defaultViolationHandler(violations: Violation[], context: PostgresIntegrityContext): void {
  process.emitWarning(violationSummary(violations, `postgres account "${context.account}"`, context.operation), { code: 'TSE_INTEGRITY' });
}

