import { ValidationError } from '../errors.js';
import { SCHEMA } from './schema.js';

/**
 * How to reach the server. Kept apart from connection.ts so that the public types never name
 * `pg`'s: a TypeScript consumer without @types/pg (pg is optional) still type-checks.
 */
export interface ConnectionOptions {
  /** postgres://user:password@host:port/database. Or give `pool`. */
  connectionString?: string;
  /** node-postgres pool options (host, port, user, password, database, ssl, max…), merged over the connection string. Default max: 4 connections. */
  pool?: Record<string, unknown>;
}

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** The account's rulebook's label in messages (where a file store names trade-state.json). */
export function settingsLabel(account: string): string {
  return `postgres account "${account}" (${SCHEMA}.accounts.settings)`;
}

export function checkAccountName(account: unknown): string {
  if (typeof account !== 'string' || !ACCOUNT_NAME.test(account)) {
    throw new ValidationError('account', account, 'must be 1-128 letters, digits or . _ : @ -, starting with a letter or digit');
  }
  return account;
}


/**
 * The options name a server: a connection string, when given, is a non-empty string (an unset
 * variable would otherwise let pg fall back to the libpq defaults, another database than meant),
 * and without one `pool` must be given. `pool` says what `pool` may be, for the message.
 */
export function checkConnectionOptions(options: { connectionString?: unknown; pool?: unknown }, pool = 'pool, node-postgres pool options'): void {
  const { connectionString } = options;
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw new ValidationError('connectionString', connectionString, 'must be a postgres:// URL');
  }
  if (connectionString === undefined && options.pool === undefined) {
    throw new ValidationError('connectionString', undefined, `is required (or ${pool})`);
  }
}

/** What stands for a password on screen. */
const MASK = '***';

/**
 * A connection string fit to print: its password, in the userinfo or as a `password` parameter,
 * shown as `***`; the rest as given. A string the URL parser refuses (pg takes some: no host, as in
 * postgres://bot:pw@/db?host=/run/postgresql; or libpq's key=value form) is masked by pattern.
 */
export function redactConnectionString(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = MASK;
    if (u.searchParams.has('password')) u.searchParams.set('password', MASK);
    return u.toString();
  } catch {
    // the userinfo's password runs up to the last "@" (a password may hold one)
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:).*@/i, `$1${MASK}@`).replace(/(password\s*=\s*)('[^']*'|[^&\s]+)/gi, `$1${MASK}`);
  }
}

/** The listener's application_name, so that an operator (or a test) can find its session in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'trade-state-engine listener';

/** What a watch asks of its account's source. */
export interface WatchedAccount {
  readonly account: string;
  /** The account's version now (-1: no account); rejects with a DatabaseError. */
  version(): Promise<number>;
  /** The version of the source's last read (-1: none yet, or no account). */
  readonly readVersion: number;
}

/** What the PostgreSQL store's integrity handler is told (here, with no pg types, so the public types never name pg). */
export interface PostgresIntegrityContext {
  operation: string;
  account: string;
}
