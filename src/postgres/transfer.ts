/**
 * What moving a log between a JSON file and a PostgreSQL account needs in both directions
 * (postgres/import.ts, postgres/export.ts): where the account lives, and a pool for one call.
 */
import { ValidationError } from '../errors.js';
import type { Queryable } from './account-log.js';
import { Connection, databaseError } from './connection.js';
import { checkConnectionOptions } from './options.js';
import type { PoolClientLike } from './transaction.js';

export type { PoolClientLike } from './transaction.js';

/** A pg.Pool (or anything with its connect/query): used as given and never ended. */
export interface PoolLike extends Queryable {
  connect(): Promise<PoolClientLike>;
}


/** Where the account lives: a connection string, node-postgres pool options, or a live pool. */
export interface TransferConnectionOptions {
  /** postgres://user:password@host:port/database. */
  connectionString?: string;
  /** A pg.Pool to use (left open), or node-postgres pool options (a pool made and ended here). */
  pool?: PoolLike | Record<string, unknown>;
}

/**
 * Runs `fn` on the pool the options name: a live pool as given, else one made for the call and ended
 * after, whose reads are bounded by `statementTimeoutMs` (+ the margin; a transfer's default: 120 000).
 */
export async function withConnection<T>(
  options: TransferConnectionOptions,
  account: string,
  fn: (db: PoolLike) => Promise<T>,
  statementTimeoutMs = 120_000,
): Promise<T> {
  const given = options.pool;
  if (given !== undefined && typeof (given as { connect?: unknown }).connect === 'function' && typeof (given as { query?: unknown }).query === 'function') {
    return fn(given as PoolLike);
  }
  checkConnectionOptions(options, 'pool: a pg.Pool or node-postgres pool options');
  const connection = new Connection({
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
    ...(given !== undefined && { pool: given as Record<string, unknown> }),
    // one client is all a transfer uses
  }, { statementTimeoutMs });
  try {
    const pool = await connection.pool();
    return await fn(pool as unknown as PoolLike);
  } catch (err) {
    throw databaseError(err, account);
  } finally {
    await connection.end().catch(() => {});
  }
}

/** A log object in a message: its kind, never its contents. */
export function summarize(data: unknown): unknown {
  return data !== null && typeof data === 'object' ? `[${Array.isArray(data) ? 'array' : 'object'}]` : data;
}
