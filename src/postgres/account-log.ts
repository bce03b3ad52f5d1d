/**
 * An account's trade log as the database holds it, cached by version. Every write bumps the
 * account's version and stamps the rows it changed with it, so a reader that knows version v
 * fetches only the rows stamped after v — one round trip, a few rows — and splices them into the
 * log it has, instead of reading 10,000 trades again. Used by the store (under the account lock
 * and without it), the reconciler's database source and the export.
 *
 * A version alone names no content: after a restore (a point-in-time recovery, an asynchronous
 * replica promoted) the account can reach a version again through other writes. So what is cached
 * is keyed by the version AND the random op_id of the event that made it, read in the statement
 * that reads the version; every read checks that the event at the version known still has the op
 * id known. When it does not, the history known was rewound: the account is read whole, a warning
 * (TSE_ACCOUNT_REWOUND) says so, and the highest next_id seen is kept (`nextIdFloor`) so that a
 * store never hands out again a trade id it saw.
 */
import { deepFreeze } from '../domain/freeze.js';
import { deriveTrades } from '../domain/log-index.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { AccountAccessError } from '../errors.js';
import { logFrom, rowToTrade } from './rows.js';
import { SCHEMA } from './schema.js';

/** Something that runs a query: a pool or a client checked out of one. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
  /** `name`: a prepared statement of that name (parsed once per connection). */
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<QueryResultLike>;
}

export interface QueryResultLike {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** The account row's fields a reader needs. */
export interface AccountRow {
  version: number;
  next_id: number;
  rebuilt_at: number;
  log_extra: Record<string, unknown>;
  log_keys: string[];
  settings: unknown;
  /** The op_id of the event at `version` (null: version 0, or not visible to the statement that locked the row). */
  last_op: string | null;
}

export interface AccountState {
  /** Frozen, as a store hands it out. */
  readonly log: TradeLog;
  /** The account's version: the event_seq of its last event (0: none). */
  readonly version: number;
  /** The op_id of that event (null: version 0): with the version, the key of this state. */
  readonly lastOp: string | null;
  /** The account's rulebook (null: none), as stored. */
  readonly settings: unknown;
  /** Whether the account row exists. */
  readonly exists: boolean;
}

const ACCOUNT_FIELDS = 'version, next_id, rebuilt_at, log_extra, log_keys, settings';

/** The op_id of the event at the version of the account row `a`. */
const LAST_OP = `(SELECT e.op_id::text FROM ${SCHEMA}.events e WHERE e.account = a.account AND e.event_seq = a.version)`;

/**
 * The account row under the account lock: the cross-host equivalent of the flock (READ COMMITTED).
 * Its last_op is NULL when the row was written by a transaction that committed during the lock
 * wait (the subquery keeps the statement's snapshot): the reader then reads again (readLocked).
 * `$1` once only: the transaction runner splices the account in as a literal.
 */
export const LOCK_ACCOUNT_SQL = `SELECT ${ACCOUNT_FIELDS}, ${LAST_OP} AS last_op FROM ${SCHEMA}.accounts a WHERE account = $1 FOR NO KEY UPDATE`;
/** The trades changed after version $2 (all of them when the trades were replaced after it), in log order. */
export const CHANGED_TRADES_SQL = `SELECT t.* FROM ${SCHEMA}.trades t JOIN ${SCHEMA}.accounts a USING (account)
  WHERE t.account = $1 AND (t.version > $2 OR a.rebuilt_at > $2) ORDER BY t.position`;
/**
 * The account row, the op_id of its last event and the trades changed after version $2 in ONE
 * statement, so one snapshot: a lock-free read sees one whole version, as a file reader does
 * thanks to rename. `rewound`: the event at version $2 is not the one known ($3, its op_id), so
 * the history known is not the server's (a restore): then every trade is returned.
 */
const READ_SQL = `SELECT a.version AS a_version, a.next_id AS a_next_id, a.rebuilt_at AS a_rebuilt_at, a.log_extra AS a_log_extra,
    a.log_keys AS a_log_keys, a.settings AS a_settings, k.last_op AS a_last_op, k.rewound AS a_rewound, t.*
  FROM ${SCHEMA}.accounts a
  CROSS JOIN LATERAL (SELECT ${LAST_OP} AS last_op,
    (SELECT e.op_id FROM ${SCHEMA}.events e WHERE e.account = a.account AND e.event_seq = $2) IS DISTINCT FROM $3::uuid AS rewound) k
  LEFT JOIN ${SCHEMA}.trades t ON t.account = a.account AND (t.version > $2 OR a.rebuilt_at > $2 OR k.rewound)
  WHERE a.account = $1 ORDER BY t.position`;

/** Whether row-level security limits this session's role on the accounts (a bot role), and which role it is. */
const ROLE_SQL = `SELECT row_security_active('${SCHEMA}.accounts') AS limited, current_user::text AS role`;

/**
 * Called where the account row was not found: under row-level security an account not granted to
 * the role looks absent, and must not read as an empty account (nor be created beside the real one):
 * AccountAccessError naming the role. The owner (not limited) reads a missing account as empty.
 */
export async function refuseHiddenAccount(db: Queryable, account: string): Promise<void> {
  const r = (await db.query(ROLE_SQL)).rows[0] as { limited: boolean; role: string } | undefined;
  if (r?.limited === true) {
    throw new AccountAccessError(account, r.role, 'row-level security shows a role only the accounts granted to it, and this one is not');
  }
}

export function accountRowOf(r: Record<string, unknown>, prefix = ''): AccountRow {
  return {
    version: Number(r[`${prefix}version`]),
    next_id: Number(r[`${prefix}next_id`]),
    rebuilt_at: Number(r[`${prefix}rebuilt_at`]),
    log_extra: r[`${prefix}log_extra`] as Record<string, unknown>,
    log_keys: r[`${prefix}log_keys`] as string[],
    settings: r[`${prefix}settings`] ?? null,
    last_op: (r[`${prefix}last_op`] as string | null | undefined) ?? null,
  };
}

const EMPTY: AccountState = Object.freeze({ log: deepFreeze({ trades: [], next_id: 1 }), version: 0, lastOp: null, settings: null, exists: false });

export class AccountLog {
  readonly account: string;
  /** Whether to run the reads as named prepared statements (parsed once per connection). */
  readonly #prepared: boolean;
  #state: AccountState | null = null;
  /** The highest next_id of any state of the account this log read or was given since the last rebuild (0: none). */
  #seenNextId = 0;

  constructor(account: string, options: { prepared?: boolean } = {}) {
    this.account = account;
    this.#prepared = options.prepared === true;
  }

  #query(db: Queryable, name: string, text: string, values: unknown[]): Promise<QueryResultLike> {
    return db.query(this.#prepared ? { name, text, values } : { text, values });
  }

  /** The version known (-1: nothing read yet, so every row is new). */
  get version(): number {
    return this.#state?.version ?? -1;
  }

  get state(): AccountState | null {
    return this.#state;
  }

  /**
   * The lowest next_id a write of this process may start from: the highest it saw on the account
   * (read or written), so that after a restore rewound next_id no trade id it saw is issued again.
   */
  get nextIdFloor(): number {
    return this.#seenNextId;
  }

  /** After a write: the log this process just committed, at its version. */
  set(state: AccountState): void {
    this.#state = state;
    this.#seenNextId = Math.max(this.#seenNextId, state.log.next_id);
  }

  /** A lock-free read: one statement, one snapshot. */
  async read(db: Queryable): Promise<AccountState> {
    // The state the rows are fetched against: another read or a write may replace #state while
    // this one is in flight, and the rows fetched since `base` fit `base` only.
    const base = this.#state;
    const known = base === null ? -1 : base.version;
    const r = await this.#query(db, 'tse_read', READ_SQL, [this.account, known, base?.lastOp ?? null]);
    const first = r.rows[0];
    if (first === undefined) {
      await refuseHiddenAccount(db, this.account);
      // No account row: an account nobody wrote to yet reads as an empty log, as a missing file does.
      if (base !== null && base.exists) {
        this.#rewound(base, null);
        this.#state = EMPTY;
      } else this.#keep(EMPTY);
      return EMPTY;
    }
    const rows = first.id === null ? [] : r.rows;
    return this.#apply(base, accountRowOf(first, 'a_'), first.a_rewound === true, rows, db);
  }

  /**
   * Under the account lock: `account` from LOCK_ACCOUNT_SQL. The state known when it is the
   * account's (same version, same last event); otherwise the lock-free read's statement, whose
   * snapshot, taken under the lock, sees every commit before it.
   */
  async readLocked(db: Queryable, account: AccountRow): Promise<AccountState> {
    const base = this.#state;
    if (base !== null && base.exists && account.version === base.version && account.last_op === base.lastOp) return base;
    return this.read(db);
  }

  /** `state` becomes the cached one unless the cache meanwhile holds a newer version (a read answered late). */
  #keep(state: AccountState): void {
    const current = this.#state;
    if (current === null || !current.exists || state.version >= current.version) this.#state = state;
  }

  /** The warning of a rewound history: `base` known, `now` the server's state (null: no account row). */
  #rewound(base: AccountState, now: AccountRow | null): void {
    process.emitWarning(
      `PostgreSQL account "${this.account}": version ${base.version} (event ${base.lastOp ?? 'none'}) as this process read it is not in the ` +
        `server's history any more (${now === null ? 'the account is gone' : `the server is at version ${now.version}`}): the database was ` +
        'restored or a replica promoted. The account is read again; writes acknowledged after the restore point are gone with it, and ' +
        `this process issues no trade id below next_id ${this.#seenNextId}, the highest it saw (docs/postgres.md, "Restore and failover")`,
      { code: 'TSE_ACCOUNT_REWOUND' },
    );
  }

  /** `prev`: the state the rows were fetched against (its version and last event were the query's). */
  async #apply(prev: AccountState | null, account: AccountRow, rewound: boolean, rows: Record<string, unknown>[], db: Queryable): Promise<AccountState> {
    const known = prev !== null && prev.exists ? prev : null;
    if (known !== null && rewound) this.#rewound(known, account);
    // An import that replaced the trades in the history known starts the ids over; a restore does not.
    if (known !== null && !rewound && account.rebuilt_at > known.version) this.#seenNextId = 0;
    let trades: Trade[] | null;
    if (known === null || rewound || account.rebuilt_at > known.version) trades = splice([], rows);
    else trades = account.version === known.version && rows.length === 0 ? (known.log.trades as Trade[]) : splice(known.log.trades, rows);
    if (trades === null) {
      // Rows that do not fit the log known (cannot happen while every writer stamps versions as
      // this library does): read the whole account again.
      this.#state = null;
      const all = await this.#query(db, 'tse_changed', CHANGED_TRADES_SQL, [this.account, -1]);
      trades = splice([], all.rows);
      if (trades === null) throw new Error(`account ${this.account}: trade positions are not contiguous`);
    }
    const state: AccountState = Object.freeze({
      log: deepFreeze(logFrom({ next_id: account.next_id, extra: account.log_extra, keys: account.log_keys }, trades)),
      version: account.version,
      lastOp: account.last_op,
      settings: account.settings,
      exists: true,
    });
    this.#seenNextId = Math.max(this.#seenNextId, account.next_id);
    // After a rewind the state known is no one's any more, even at a higher version.
    if (rewound) this.#state = state;
    else this.#keep(state);
    return state;
  }
}

/**
 * `known` with the changed rows put at their positions (ascending: the query orders them); null when
 * a row's position leaves a hole. Derived through deriveTrades, so that the new array stays sealed
 * and remembers which positions another process's write changed (log-index.ts): the freeze, the
 * index, the open checks and the integrity counts then touch those only.
 */
function splice(known: readonly Trade[], rows: readonly Record<string, unknown>[]): Trade[] | null {
  const writes: [number, Trade][] = [];
  let length = known.length;
  for (const row of rows) {
    const position = Number(row.position);
    if (position === length) length++;
    else if (!(position >= 0 && position < length && Number.isInteger(position))) return null;
    writes.push([position, rowToTrade(row)]);
  }
  return deriveTrades(known, writes);
}
