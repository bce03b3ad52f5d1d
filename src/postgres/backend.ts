/**
 * The PostgreSQL backend (store/backend.ts): the lock is the account row (SELECT ... FOR NO KEY
 * UPDATE), the log is the account's rows read through AccountLog (cached by version), a group's
 * changes are one write statement (postgres/sql.ts) in one transaction of the runner
 * (postgres/transaction.ts), the rulebook is the account's settings column.
 *
 *   BEGIN (READ COMMITTED, SET LOCAL timeouts) + lock the account row (under READ COMMITTED every
 *   later statement sees the previous holder's commit) -> take the queued calls -> fetch the trades
 *   changed since the version this process knows -> the store's pure steps -> one statement writing
 *   the changed rows, one event per accepted call, the account's counters and a NOTIFY -> COMMIT.
 */
import { randomUUID } from 'node:crypto';

import type { ClientConfig } from 'pg';

import { changedTradeIndices } from '../domain/log-index.js';
import { checkSettingsFile } from '../domain/settings.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { DatabaseError, ValidationError } from '../errors.js';
import { RulebookValue, type RulebookRead } from '../io/rulebook.js';
import type { Applied, ChangeFeed, ChangeFeedOptions, GroupCall, LockWait, LogRead, StoreBackend } from '../store/backend.js';
import type { StoreIdentity } from '../store/diagnostics.js';
import type { Outcome } from '../store/write-group.js';
import { AccountLog, accountRowOf, type AccountState, type Queryable } from './account-log.js';
import { accountChanges } from './changes.js';
import { Connection, databaseError, readAgainIfLost, withRole } from './connection.js';
import { settingsLabel, type PostgresIntegrityContext } from './options.js';
import { logTopOf, tradeToRow, unstorable, type RowInput } from './rows.js';
import { SETTINGS_SQL, WRITE_SQL } from './sql.js';
import { commitOnce, lockAccount, type PoolClientLike, type TransactionFrame } from './transaction.js';


export class PostgresBackend implements StoreBackend<PostgresIntegrityContext>, TransactionFrame {
  readonly account: string;
  readonly where: string;
  readonly identity: StoreIdentity;
  readonly statementTimeoutMs: number;
  readonly prepared: boolean;
  readonly #connection: Connection;
  readonly #log: AccountLog;
  /** The account's settings column, checked once per distinct JSON text. */
  readonly #rulebook: RulebookValue;
  /** The LISTEN client's configuration, for store.watch(). */
  readonly #listener: ClientConfig;

  constructor(account: string, connection: Connection, options: { statementTimeoutMs: number; prepared: boolean; listener: ClientConfig }) {
    this.account = account;
    this.where = `postgres account "${account}"`;
    this.identity = Object.freeze({ backend: 'postgres', store: this.where, account });
    this.#connection = connection;
    this.statementTimeoutMs = options.statementTimeoutMs;
    this.prepared = options.prepared;
    this.#log = new AccountLog(account, { prepared: options.prepared });
    this.#rulebook = new RulebookValue((raw) => checkSettingsFile(raw, settingsLabel(account)));
    this.#listener = options.listener;
  }

  /** store.watch()'s feed (changes.ts): the events table after `since` or the account's version now. */
  changes(options: ChangeFeedOptions): Promise<ChangeFeed> {
    return accountChanges(this, this.#listener, options);
  }

  context(operation: string): PostgresIntegrityContext {
    return { operation, account: this.account };
  }

  connect(): Promise<PoolClientLike> {
    return this.#connection.connect(this.account);
  }

  async pool(): Promise<Queryable> {
    return (await this.#connection.pool()) as unknown as Queryable;
  }

  /** One lock-free statement: the rows changed since the version this process knows, and the rulebook. */
  async read(): Promise<LogRead> {
    const state = await this.state();
    return { log: state.log, rulebook: this.#rulebookOf(state.settings) };
  }

  async state(): Promise<AccountState> {
    const pool = await this.pool();
    try {
      return await readAgainIfLost(() => this.#log.read(pool));
    } catch (err) {
      throw withRole(databaseError(err, this.account), this.#connection.role);
    }
  }

  /**
   * A call whose input holds a string PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) is
   * refused alone (after its own step): the group's one write statement would otherwise fail for
   * every call in it.
   */
  refuseInput(input: unknown): Error | null {
    const bad = unstorable(input, '');
    if (bad === null) return null;
    return new ValidationError(bad.path, bad.value, 'holds a NUL character or an unpaired UTF-16 surrogate, which PostgreSQL cannot store');
  }

  /**
   * One group in one transaction. The events carry each accepted call's input and result; a call
   * that changed nothing (a client_id retry) writes no event. Returns once COMMIT returned — or,
   * its reply lost, once the events table shows it landed.
   */
  async runGroup(wait: LockWait, take: () => readonly GroupCall[], apply: (before: TradeLog, rulebook: RulebookRead) => Applied): Promise<Applied> {
    let applied: Applied | null = null;
    let committed: AccountState | null = null;
    let events: WriteEvent[] = [];
    /** The transaction's id, from the write statement: after a lost COMMIT reply, its status says when to look. */
    let xid: string | null = null;
    await this.#named(commitOnce(
      this,
      wait,
      async (client, locked) => {
        // A retry after a dead connection starts over: nothing of the first attempt stands.
        committed = null;
        events = [];
        xid = null;
        const account = accountRowOf(await lockAccount(this, client, locked));
        const group = take();
        const before = await this.#log.readLocked(client, account);
        const start = withNextIdFloor(before.log, this.#log.nextIdFloor);
        const done = apply(start, this.#rulebookOf(before.settings));
        applied = done;
        if (done.log === start) {
          // Nothing accepted on an account this transaction created: leave no account behind, as
          // a refused write on a missing file log leaves no file (the COMMIT after it is empty).
          if (locked === undefined) await client.query('ROLLBACK AND CHAIN');
          else committed = before;
          return;
        }
        events = eventsOf(group, done.outcomes, before.version);
        const version = before.version + events.length;
        const top = logTopOf(done.log);
        const rows = changedRows(start, done.log);
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
        committed = Object.freeze({ log: done.log, version, lastOp: events[events.length - 1]?.op_id ?? null, settings: before.settings, exists: true });
      },
      // Nothing written by this group (a client_id retry): what it read was committed before.
      () => ({ opIds: events.map((e) => e.op_id), xid, result: undefined }),
    ));
    if (committed !== null) this.#log.set(committed);
    return applied as unknown as Applied;
  }

  /**
   * Sets the account's rulebook in one transaction of the runner, as a write: it changes what the
   * next open may do, the audit trail records it, and watchers wake for it.
   */
  async saveSettings(json: string | null, wait: LockWait): Promise<void> {
    const opId = randomUUID();
    let xid: string | null = null;
    await this.#named(commitOnce(
      this,
      wait,
      async (client, locked) => {
        await lockAccount(this, client, locked);
        const r = await client.query(this.#statement('tse_settings', SETTINGS_SQL, [this.account, json, opId]));
        xid = (r.rows[0] as { xid: string } | undefined)?.xid ?? null;
      },
      () => ({ opIds: [opId], xid, result: undefined }),
    ));
  }

  /** A refusal of the server that could not say which role it refused names the one this store logs in as. */
  async #named<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw withRole(err, this.#connection.role);
    }
  }

  /** The account's rulebook as a read found it: its JSON text is its version. */
  #rulebookOf(raw: unknown): RulebookRead {
    return () => this.#rulebook.look(raw);
  }

  /** A query config: named (prepared once per connection) unless preparedStatements is off. */
  #statement(name: string, text: string, values: unknown[]): { name?: string; text: string; values: unknown[] } {
    return this.prepared ? { name, text, values } : { text, values };
  }
}

/**
 * `log` with next_id raised to `floor`: after a restore rewound the account's next_id, the next
 * trade still gets a number this process never saw (the write stores the raised next_id).
 */
function withNextIdFloor(log: TradeLog, floor: number): TradeLog {
  return log.next_id >= floor ? log : Object.freeze({ ...log, next_id: floor });
}

/** The rows of the trades `next` changed or added relative to `prev`. */
function changedRows(prev: TradeLog, next: TradeLog): RowInput[] {
  return changedTradeIndices(prev.trades, next.trades).map((i) => tradeToRow(next.trades[i] as Trade, i));
}

/** A row of trade_state.events, as the write statement takes it. */
interface WriteEvent {
  event_seq: number;
  op_id: string;
  kind: string;
  trade_ids: string[];
  payload: { input: unknown; result: unknown; trades: readonly Trade[] };
}

/** One event per accepted call that changed the log: a fresh op id, its kind, the trades it touched, its input, result and those trades after it. */
function eventsOf(group: readonly GroupCall[], outcomes: readonly Outcome[], version: number): WriteEvent[] {
  const events: WriteEvent[] = [];
  group.forEach((call, i) => {
    const o = outcomes[i];
    if (o === undefined || !o.ok || o.after === o.before) return;
    const changed = changedTradeIndices(o.before.trades, o.after.trades).map((k) => o.after.trades[k] as Trade);
    events.push({
      event_seq: version + events.length + 1,
      op_id: randomUUID(),
      kind: call.operation,
      trade_ids: changed.map((t) => t.id),
      // `trades`: each record right after this call, what store.watch() hands out (changes.ts)
      payload: { input: call.input ?? null, result: o.value ?? null, trades: changed },
    });
  });
  return events;
}
