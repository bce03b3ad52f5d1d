/**
 * grantAccount: gives a database role (a bot's login) one account, and nothing else. Run with the
 * schema owner's connection (the role that ran migrate). Row-level security (schema.ts migration 3)
 * does the rest: the role's queries see and change only the rows of the accounts in
 * trade_state.grants for it, whatever SQL it sends.
 *
 * The privileges granted are what the store, the reconciler and the report use, no more: USAGE on
 * the schema (not CREATE), SELECT and UPDATE of the account row's counters, SELECT/INSERT/UPDATE on
 * trades (not DELETE: deleting closed trades is an import's replace, an owner's job), SELECT/INSERT
 * on events, SELECT on grants (its own rows) and schema_version.
 */
import { DatabaseError, ValidationError } from '../errors.js';
import { databaseError, isConnectionError } from './connection.js';
import { checkAccountName } from './options.js';
import { SCHEMA } from './schema.js';
import { withConnection, type PoolLike, type TransferConnectionOptions } from './transfer.js';

export interface GrantAccountOptions extends TransferConnectionOptions {
  /** The account the role may reach. Created (empty) when it does not exist yet. */
  account: string;
  /** An existing role (CREATE ROLE bot_a LOGIN PASSWORD '…'), by its name as the server spells it. */
  role: string;
}

export interface GrantResult {
  account: string;
  role: string;
  /** Whether the account was created by this grant. */
  createdAccount: boolean;
  /** false: the role had the account already (nothing changed but the privileges, granted again). */
  granted: boolean;
}

/** The account row's columns a bot may change (not its name, its notify_token, nor created_at). */
const ACCOUNT_UPDATABLE = ['next_id', 'version', 'rebuilt_at', 'log_extra', 'log_keys', 'settings', 'updated_at'];

/**
 * What a role must not be to be given an account: one that reaches every account anyway (a
 * superuser, BYPASSRLS, the tables' owner or a member of it). Granting it would suggest a limit
 * there is not.
 */
const ROLE_SQL = `SELECT r.rolsuper AS super, r.rolbypassrls AS bypass,
    pg_has_role(r.oid, c.relowner, 'USAGE') AS owner,
    pg_has_role(current_user, c.relowner, 'USAGE') AS caller_owns
  FROM pg_roles r, pg_class c WHERE r.rolname = $1 AND c.oid = '${SCHEMA}.accounts'::regclass`;

/**
 * Gives `role` the account: a row in trade_state.grants and the privileges a store needs.
 * Idempotent. Refuses a role that does not exist, one that reaches every account already, and a
 * caller who is not the owner of the schema's tables.
 */
export async function grantAccount(options: GrantAccountOptions): Promise<GrantResult> {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const account = checkAccountName(options.account);
  const role = options.role;
  if (typeof role !== 'string' || role === '' || role.length > 63) throw new ValidationError('role', role, 'must be a role name (1-63 characters)');
  return withConnection(options, account, (db) => grantOn(db, account, role));
}

async function grantOn(db: PoolLike, account: string, role: string): Promise<GrantResult> {
  const client = await db.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const exists = (await client.query(`SELECT to_regclass('${SCHEMA}.grants') IS NOT NULL AS ok`)).rows[0] as { ok: boolean };
    if (!exists.ok) {
      throw new DatabaseError('EDBSCHEMA', `The trade_state schema has no grants table (version 3): run migrate() (or \`trade-state migrate --db …\`) first`, { account });
    }
    const found = (await client.query(ROLE_SQL, [role])).rows[0] as
      | { super: boolean; bypass: boolean; owner: boolean; caller_owns: boolean }
      | undefined;
    if (found === undefined) {
      throw new ValidationError('role', role, `is no role of this server: create it first (CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD '…'), then grant`);
    }
    if (!found.caller_owns) {
      throw new ValidationError('connectionString', '(the role it logs in as)', `must be the owner of the ${SCHEMA} tables (the role that ran migrate) to grant accounts`);
    }
    if (found.super || found.bypass || found.owner) {
      const why = found.super ? 'a superuser' : found.bypass ? 'a BYPASSRLS role' : `the owner of the ${SCHEMA} tables (or a member of it)`;
      throw new ValidationError('role', role, `is ${why}: it reaches every account already; give each bot a role of its own`);
    }
    const created = await client.query(`INSERT INTO ${SCHEMA}.accounts (account) VALUES ($1) ON CONFLICT (account) DO NOTHING RETURNING 1`, [account]);
    const granted = await client.query(
      `INSERT INTO ${SCHEMA}.grants (account, role) VALUES ($1, $2::regrole) ON CONFLICT (account, role) DO NOTHING RETURNING 1`,
      [account, quoteIdent(role)],
    );
    const r = quoteIdent(role);
    await client.query(
      `GRANT USAGE ON SCHEMA ${SCHEMA} TO ${r}; ` +
        `GRANT SELECT, UPDATE (${ACCOUNT_UPDATABLE.join(', ')}) ON ${SCHEMA}.accounts TO ${r}; ` +
        `GRANT SELECT, INSERT, UPDATE ON ${SCHEMA}.trades TO ${r}; ` +
        `GRANT SELECT, INSERT ON ${SCHEMA}.events TO ${r}; ` +
        `GRANT SELECT ON ${SCHEMA}.grants, ${SCHEMA}.schema_version TO ${r}`,
    );
    await client.query('COMMIT');
    return { account, role, createdAccount: created.rows.length === 1, granted: granted.rows.length === 1 };
  } catch (err) {
    broken = isConnectionError(err);
    await client.query('ROLLBACK').catch(() => {});
    throw databaseError(err, account);
  } finally {
    client.release(broken);
  }
}

/** A role name as an SQL identifier (it may hold any character: quoted, quotes doubled). */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
