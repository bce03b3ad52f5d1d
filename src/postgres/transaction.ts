/**
 * The one transaction runner of every write to an account — a group of store calls, saveSettings,
 * an import: BEGIN with the caller's timeouts and synchronous_commit on, the account row locked in
 * the same round trip (the cross-host flock), the body, COMMIT; a connection lost before COMMIT
 * retried once; a connection lost during COMMIT (CommitLost) resolved by `landed`, from the events
 * the transaction wrote (op_id is unique) once the server has decided its fate (pg_xact_status).
 * A silent server is abandoned client-side: each attempt settles by its lock deadline +
 * statementTimeoutMs + SILENCE_MARGIN_MS, `landed` within 2 × statementTimeoutMs.
 */
import { OutcomeUnknownError } from '../errors.js';
import { traceLockWait, type StoreIdentity } from '../store/diagnostics.js';
import { LOCK_ACCOUNT_SQL, refuseHiddenAccount, type Queryable, type QueryResultLike } from './account-log.js';
import { answerWithin, asError, databaseError, isConnectionError, pgTimeout, ServerSilent, SILENCE_MARGIN_MS, timerMs, waitedOut } from './connection.js';
import { SCHEMA } from './schema.js';

/** A client checked out of a pool (a pg.PoolClient). Structural, so that the public types never name pg's. */
export interface PoolClientLike extends Queryable {
  release(err?: Error | boolean): void;
  /** pg's: with a query in flight it destroys the socket (how a silent connection is abandoned). */
  end?(): Promise<void> | void;
}

/** Where and how an account's transactions run. */
export interface TransactionFrame {
  readonly account: string;
  /** A client for one transaction; a failure to connect is a TradeStateError (EDBUNAVAILABLE). */
  connect(): Promise<PoolClientLike>;
  /** For the lost-COMMIT check: any connection. */
  pool(): Promise<Queryable>;
  /** Longest a statement may run besides the lock wait; also the idle-in-transaction timeout. */
  readonly statementTimeoutMs: number;
  /** Run the frame's own statements as named prepared statements. */
  readonly prepared: boolean;
  /** A store's frame: its lock round trip is published on the lock-wait channel (store/diagnostics.ts). */
  readonly identity?: StoreIdentity;
}

/** How long the account lock may be waited for: until `until` (performance.now() time); `timeoutMs` names it in LockTimeoutError. */
export interface AccountLockWait {
  readonly until: number;
  readonly timeoutMs: number;
}

/** The connection was lost while COMMIT was on its way (runTransaction): whether it landed is for the caller to find out. */
export class CommitLost extends Error {
  constructor(cause: unknown) {
    super('connection lost during COMMIT', { cause });
  }
}

/** The account's name as an SQL literal: it matched a strict pattern (options.ts), quoted anyway. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Runs `body` in one READ COMMITTED transaction on a client of the frame, and commits. `locked`:
 * the account row the first round trip locked, undefined when the account has none yet (see
 * lockAccount). A connection lost before COMMIT is retried once on a fresh connection (after a
 * server restart the pool's idle clients are dead), nothing having been written: `body` must start
 * over. A connection lost during COMMIT throws CommitLost.
 */
export async function runTransaction<T>(
  frame: TransactionFrame,
  wait: AccountLockWait,
  body: (client: PoolClientLike, locked: Record<string, unknown> | undefined) => Promise<T>,
): Promise<T> {
  const what = `postgres account "${frame.account}"`;
  for (let attempt = 0; ; attempt++) {
    const forever = wait.until === Infinity;
    let client: PoolClientLike | null = null;
    let phase: 'connect' | 'body' | 'commit' = 'connect';
    try {
      client = await frame.connect();
      const c = client;
      phase = 'body';
      // What is left of the lock wait once connected (the deadline counts from the call).
      const waitMs = forever ? 0 : Math.max(1, Math.ceil(wait.until - performance.now()));
      // The client's own bound, for a server that goes silent: the server's timeouts (the lock
      // wait left, then statementTimeoutMs) plus a margin, for the whole attempt. Waiting forever,
      // the lock's round trip has none (a lock wait and a silence look alike); the rest has.
      let deadline = forever ? Infinity : performance.now() + waitMs + frame.statementTimeoutMs + SILENCE_MARGIN_MS;
      const bounded = boundedBy(client, () => deadline);
      // One round trip for the frame and the lock: SET takes no parameters (the values are
      // integers computed here), and a multi-statement query none, so the account is a literal.
      // Waiting forever (0 disables both timeouts), the statement timeout comes back after the lock.
      const opened = (await traceLockWait(frame.identity, () => bounded.query(
        `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = ${forever ? 0 : pgTimeout(waitMs)}; ` +
          `SET LOCAL statement_timeout = ${forever ? 0 : pgTimeout(waitMs + frame.statementTimeoutMs)}; ` +
          `SET LOCAL idle_in_transaction_session_timeout = ${pgTimeout(frame.statementTimeoutMs)}; ` +
          // Acknowledged means durable: a database or role with synchronous_commit = off would
          // acknowledge commits a server crash can lose. 'local', 'remote_write', 'remote_apply'
          // are at least as strong as 'on' and are left as they are.
          `SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'; ` +
          `${LOCK_ACCOUNT_SQL.replace('$1', literal(frame.account))}` +
          (forever ? `; SET LOCAL statement_timeout = ${pgTimeout(frame.statementTimeoutMs)}` : ''),
      ))) as unknown as QueryResultLike[];
      if (forever) deadline = performance.now() + frame.statementTimeoutMs + SILENCE_MARGIN_MS;
      const locked = opened[opened.length - (forever ? 2 : 1)]?.rows[0];
      const result = await body(bounded, locked);
      phase = 'commit';
      await bounded.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      const lost = isConnectionError(err);
      if (client !== null) {
        if (!lost) await client.query('ROLLBACK').catch(() => {});
        client.release(lost ? asError(err) : undefined);
      }
      if (lost && phase === 'commit') throw new CommitLost(err);
      if (lost && phase === 'body' && attempt === 0 && !waitedOut(err)) continue;
      throw databaseError(err, frame.account, { what, timeoutMs: wait.timeoutMs });
    }
  }
}

/** `client`, each query settled by `deadline()` (performance.now() time; Infinity: unbounded), its socket destroyed past it. */
function boundedBy(client: PoolClientLike, deadline: () => number): PoolClientLike {
  const query = (config: string | { name?: string; text: string; values?: unknown[] }, values?: unknown[]): Promise<QueryResultLike> =>
    answerWithin(client, deadline() - performance.now(), () => client.query(config as string, values));
  return { query: query as PoolClientLike['query'], release: (err) => client.release(err) };
}

/**
 * The account row, locked. `locked`: the row runTransaction's first round trip locked, undefined
 * when the account has none yet: it is created, then locked (a new account starts empty, as a
 * missing file log does).
 */
export async function lockAccount(frame: TransactionFrame, client: Queryable, locked: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
  if (locked !== undefined) return locked;
  await refuseHiddenAccount(client, frame.account);
  await client.query(`INSERT INTO ${SCHEMA}.accounts (account) VALUES ($1) ON CONFLICT (account) DO NOTHING`, [frame.account]);
  const values = [frame.account];
  const created = await client.query(frame.prepared ? { name: 'tse_lock', text: LOCK_ACCOUNT_SQL, values } : { text: LOCK_ACCOUNT_SQL, values });
  return created.rows[0] as Record<string, unknown>;
}

/**
 * After CommitLost: whether the transaction landed, read from the events it wrote (`opIds`).
 * Throws OutcomeUnknownError when the server stays unreachable, or silent, for twice statementTimeoutMs.
 */
export async function landed(frame: TransactionFrame, opIds: readonly string[], xid: string | null, cause: unknown): Promise<boolean> {
  // The server may still be committing when the connection drops (a slow fsync, a synchronous
  // standby): the events are invisible until it decides, so wait for the transaction's status
  // first. A transaction whose client vanished without a FIN stays "in progress" until
  // idle_in_transaction_session_timeout (statementTimeoutMs) ends it: hence twice that.
  const deadline = performance.now() + 2 * frame.statementTimeoutMs;
  let last: unknown = cause;
  const look = async (): Promise<boolean | null> => {
    const pool = await frame.pool();
    const status = xid === null ? null : ((await pool.query('SELECT pg_xact_status($1::xid8) AS s', [xid])).rows[0] as { s: string | null }).s;
    if (status === 'in progress') return null;
    const r = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.events WHERE op_id = ANY($1::uuid[])`, [opIds]);
    return (r.rows[0] as { n: number }).n > 0;
  };
  for (;;) {
    try {
      // Bounded by the deadline as a whole (a silent server, a connect that hangs); a look
      // left behind is ended by the pool's own read bound.
      const found = await settleBy(look(), deadline);
      if (found !== null) return found;
    } catch (err) {
      if (!isConnectionError(err)) throw databaseError(err, frame.account);
      last = err;
    }
    if (performance.now() + 250 > deadline) throw new OutcomeUnknownError(frame.account, opIds, last);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `promise`, or ServerSilent once `deadline` (performance.now() time) has passed. */
function settleBy<T>(promise: Promise<T>, deadline: number): Promise<T> {
  promise.catch(() => {});
  const ms = deadline - performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServerSilent(ms)), timerMs(ms));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * runTransaction, then, when COMMIT's reply was lost, `landed` on the op ids the last attempt
 * wrote (`written()`; none: the transaction wrote nothing, so nothing is lost): returns the body's
 * result once it is known to have landed, throws EDBUNAVAILABLE once it is known not to.
 */
export async function commitOnce<T>(
  frame: TransactionFrame,
  wait: AccountLockWait,
  body: (client: PoolClientLike, locked: Record<string, unknown> | undefined) => Promise<T>,
  written: () => { opIds: readonly string[]; xid: string | null; result: T },
): Promise<T> {
  try {
    return await runTransaction(frame, wait, body);
  } catch (err) {
    if (!(err instanceof CommitLost)) throw err;
    const w = written();
    if (w.opIds.length > 0 && !(await landed(frame, w.opIds, w.xid, err.cause))) throw databaseError(err.cause, frame.account);
    return w.result;
  }
}

