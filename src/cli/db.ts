/**
 * The commands' side of the PostgreSQL backend (--db): loaded by import() only when --db (or
 * TSE_DATABASE_URL) is given, so that a file user never loads the database client.
 *
 * One small pool per process, shared by the reads of a command (the account's existence, its log,
 * its rulebook: one statement, one snapshot), ended by run.ts when the command is done; the
 * writes go through a PostgresTradeStore, closed the same way.
 */
import type { Violation } from '../domain/integrity.js';
import { checkSettingsFile, resolveRules, type Rules, type Settings, type SettingsFile } from '../domain/settings.js';
import { AccountError } from '../errors.js';
import { Rulebook, RulebookValue } from '../io/rulebook.js';
import { AccountLog, type AccountState } from '../postgres/account-log.js';
import { Connection, databaseError, migrateDatabase, schemaVersion } from '../postgres/connection.js';
import { SCHEMA, SCHEMA_VERSION } from '../postgres/schema.js';
import { checkAccountName, redactConnectionString, settingsLabel } from '../postgres/options.js';
// Types only: the store and import/export are loaded by the commands that use them, not by status.
import type { PostgresLogSource } from '../postgres/source.js';
import type { PostgresTradeStore } from '../postgres/store.js';
import type { ExportResult } from '../postgres/export.js';
import type { ImportResult } from '../postgres/import.js';
import type { PoolLike } from '../postgres/transfer.js';
import type { GlobalOptions } from './args.js';
import { settingOptions, type LogView, type Where } from './backend.js';
import { onCleanup } from './cleanup.js';

function dbOf(g: GlobalOptions): string {
  if (g.db === undefined) throw new Error('db.ts used without --db');
  return g.db;
}

/** The account named, checked as the store checks it (ValidationError naming --account). */
function accountOf(g: GlobalOptions): string {
  return checkAccountName(g.account);
}

export function whereOf(g: GlobalOptions): Where {
  return { account: accountOf(g), db: redactConnectionString(dbOf(g)) };
}

let shared: Connection | null = null;

/** The process's pool for reads and transfers: two connections at most, ended after the command. */
function connection(g: GlobalOptions): Connection {
  if (shared === null) {
    const c = new Connection({ connectionString: dbOf(g), pool: { max: 2 } });
    shared = c;
    onCleanup(async () => {
      shared = null;
      await c.end();
    });
  }
  return shared;
}

async function pool(g: GlobalOptions): Promise<PoolLike> {
  return (await connection(g).pool()) as unknown as PoolLike;
}

let read: Promise<AccountState> | null = null;

/** The account as one snapshot (read once per command). */
async function accountState(g: GlobalOptions): Promise<AccountState> {
  const account = accountOf(g);
  read ??= (async () => {
    try {
      return await new AccountLog(account).read(await pool(g));
    } catch (err) {
      read = null;
      throw databaseError(err, account);
    }
  })();
  return read;
}

/**
 * As requireLog for a file: a mistyped --account must not read as an empty account, nor have a
 * write create a second account beside the real one; --allow-missing says empty is meant.
 */
function requireAccount(g: GlobalOptions, state: Pick<AccountState, 'exists'>): void {
  if (state.exists || g.allowMissing) return;
  const account = accountOf(g);
  throw new AccountError(
    'EACCOUNTMISSING',
    account,
    `no account "${account}" in ${redactConnectionString(dbOf(g))}: check --account (or TSE_ACCOUNT) and --db; ` +
      'trade-state init --db … --account … creates one, --allow-missing treats a missing one as empty',
  );
}

/** The account's rulebook, checked (a broken one is SettingsFileError naming the account), and the rules in force with the options. */
export async function accountRules(g: GlobalOptions): Promise<{ state: AccountState; rulebook: SettingsFile | null; rules: Readonly<Rules>; where: Where }> {
  const state = await accountState(g);
  requireAccount(g, state);
  const rulebook = state.settings === null || state.settings === undefined ? null : checkSettingsFile(state.settings, settingsLabel(accountOf(g)));
  // Strict, as a file store's construction: an option looser than the rulebook is refused here.
  return { state, rulebook, rules: resolveRules(settingOptions(g), rulebook), where: whereOf(g) };
}

/**
 * The account's log as a LogSource (reconcile, report), and where it is for the output. A missing
 * account is refused with the same error as every other command's, unless --allow-missing.
 */
export async function accountSource(g: GlobalOptions): Promise<{ source: PostgresLogSource; where: Where }> {
  const where = whereOf(g);
  const { openAccountSource } = await import('../postgres/source.js');
  const source = await openAccountSource({ connectionString: dbOf(g), account: accountOf(g), allowMissing: true });
  try {
    requireAccount(g, await source.read());
  } catch (err) {
    await source.close();
    throw err;
  }
  return { source, where };
}

/** The account's log and the settings in force, as a store reads them: a broken or conflicting rulebook is a warning and a settingsProblem. */
export async function accountView(g: GlobalOptions): Promise<LogView> {
  const state = await accountState(g);
  requireAccount(g, state);
  const label = settingsLabel(accountOf(g));
  const look = new RulebookValue((raw) => checkSettingsFile(raw, label)).look(state.settings);
  const rules = new Rulebook(settingOptions(g), label);
  rules.applyLeniently(() => look);
  return { log: state.log, trades: state.log.trades, settings: rules.settings, settingsProblem: rules.problem, where: whereOf(g) };
}

export async function openAccountStore(g: GlobalOptions): Promise<{ store: PostgresTradeStore; violations: Violation[]; where: Where }> {
  // The existence check first, as a file command gets it. Not the rulebook: the store refuses an
  // open on a broken one, and must let a close through.
  requireAccount(g, await accountState(g));
  const { PostgresTradeStore } = await import('../postgres/store.js');
  const violations: Violation[] = [];
  const store = new PostgresTradeStore({
    connectionString: dbOf(g),
    account: accountOf(g),
    ...settingOptions(g),
    pool: { max: 1 },
    onIntegrityViolation: (v) => violations.push(...v),
  });
  onCleanup(() => store.close());
  return { store, violations, where: whereOf(g) };
}

/**
 * A new account with its rulebook, in one statement: refused (null) when the account exists, so
 * that init never changes an account in use.
 */
export async function createAccount(g: GlobalOptions, settings: Readonly<Settings>): Promise<{ created: boolean; where: Where }> {
  const account = accountOf(g);
  const db = await pool(g);
  try {
    const r = await db.query(
      `INSERT INTO ${SCHEMA}.accounts (account, settings) VALUES ($1, $2::json) ON CONFLICT (account) DO NOTHING RETURNING account`,
      [account, JSON.stringify(settings)],
    );
    return { created: r.rows.length === 1, where: whereOf(g) };
  } catch (err) {
    throw databaseError(err, account);
  }
}

/** Creates or upgrades the schema; the versions applied, and the version the database is at. */
export async function migrate(g: GlobalOptions): Promise<{ applied: number[]; version: number; latest: number; db: string }> {
  const c = connection(g);
  const applied = await migrateDatabase(c);
  return { applied, version: await schemaVersion(c), latest: SCHEMA_VERSION, db: redactConnectionString(dbOf(g)) };
}

/** Gives `role` the account (postgres/grant.ts), on the command's pool. */
export async function grant(g: GlobalOptions, role: string): Promise<{ account: string; role: string; granted: boolean; createdAccount: boolean; db: string }> {
  const { grantAccount } = await import('../postgres/grant.js');
  const r = await grantAccount({ pool: await pool(g), account: accountOf(g), role });
  return { ...r, db: redactConnectionString(dbOf(g)) };
}

export async function importFile(g: GlobalOptions, file: string, replace: boolean): Promise<ImportResult & { where: Where }> {
  const { importLog } = await import('../postgres/import.js');
  const r = await importLog({ pool: await pool(g), account: accountOf(g), tradeLog: file, replace });
  return { ...r, where: whereOf(g) };
}

export async function exportFile(g: GlobalOptions, file: string, replace: boolean): Promise<ExportResult & { where: Where }> {
  const { exportAccount } = await import('../postgres/export.js');
  const r = await exportAccount({
    pool: await pool(g),
    account: accountOf(g),
    tradeLog: file,
    replace,
    ...(g.lock !== undefined && { lockFile: g.lock }),
  });
  return { ...r, where: whereOf(g) };
}

