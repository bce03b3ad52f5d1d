/**
 * Moving a trade log between a JSON file and a PostgreSQL account, both ways, losslessly.
 *
 * importLog copies a file log (or a log object) into an account in ONE transaction under the
 * account lock: every trade (unknown fields, partial_exits, key order, timestamps as written), the
 * log's top level (next_id, other fields, their order) and the settings file beside the log
 * (trade-state.json) as the account's rulebook. A log the table cannot hold is refused before a
 * row is written, or by the table's checks, with the database unchanged.
 *
 * exportAccount writes an account back to a file with the file store's serializer and durable
 * write, under the file's lock, so the bytes are the ones TradeStore writes: a log written by this
 * library comes back byte-identical after import + export.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';


import { verifyIntegrity } from '../domain/integrity.js';
import { checkSettingsFile, SETTING_NAMES, type SettingsInput } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { isPlainObject, validateLogShape } from '../domain/validate.js';
import { AccountError, TradeStateError, ValidationError } from '../errors.js';
import { writeFileDurable } from '../io/durable-write.js';
import { realLogPath } from '../io/log-path.js';
import { parseLog, readLogBytes } from '../io/read-log.js';
import { serializeLog } from '../io/serialize.js';
import { readSettingsFile, SETTINGS_FILE, settingsFileFor } from '../io/settings-file.js';
import { AccountLog, LOCK_ACCOUNT_SQL, type Queryable } from './account-log.js';
import { Connection, databaseError, isConnectionError, pgTimeout } from './connection.js';
import { logTopOf, ROW_COLUMNS, tradeToRow, type RowInput } from './rows.js';
import { SCHEMA } from './schema.js';
import { checkAccountName, settingsLabel } from './options.js';

/** A pg.Pool (or anything with its connect/query): used as given and never ended. */
export interface PoolLike extends Queryable {
  connect(): Promise<PoolClientLike>;
}

/** A client checked out of a PoolLike (a pg.PoolClient). Structural, so that the public types never name pg's. */
export interface PoolClientLike extends Queryable {
  release(err?: Error | boolean): void;
}

/** Where the account lives: a connection string, node-postgres pool options, or a live pool. */
export interface TransferConnectionOptions {
  /** postgres://user:password@host:port/database. */
  connectionString?: string;
  /** A pg.Pool to use (left open), or node-postgres pool options (a pool made and ended here). */
  pool?: PoolLike | Record<string, unknown>;
}

export interface ImportLogOptions extends TransferConnectionOptions {
  /** The account to fill. Created when missing. */
  account: string;
  /** The JSON log to copy; its settings file (trade-state.json beside it), if any, becomes the account's rulebook. */
  tradeLog?: string;
  /** Or the log itself (as a file store holds it), instead of tradeLog. */
  log?: unknown;
  /**
   * The rulebook to give the account (what trade-state.json holds). Default: the settings file
   * beside tradeLog when there is one; with `log`, none. null: ignore the settings file. When
   * there is none, the account keeps the rulebook it has.
   */
  settings?: SettingsInput | null;
  /** Replace the account's trades when it already has some. Default false: such an account is refused (EACCOUNTNOTEMPTY). */
  replace?: boolean;
  /** Longest wait for the account lock (LockTimeoutError). Default 30000 ms. */
  lockTimeoutMs?: number;
  /** Longest a statement may run besides the lock wait (EDBTIMEOUT). Default 120000 ms: an import writes every trade at once. */
  statementTimeoutMs?: number;
}

export interface ImportResult {
  account: string;
  /** The account's version after the import (its `import` event's event_seq). */
  version: number;
  /** Trades imported. */
  trades: number;
  /** Trades the account held before and no longer holds (replace). */
  replaced: number;
  /** Whether the import gave the account a rulebook. */
  settings: boolean;
  /** The file imported (real path), or null for a log object. */
  source: string | null;
  /** The settings file read beside it, or null when there was none (or a log object). */
  settingsFile: string | null;
}

export interface ExportLogOptions extends TransferConnectionOptions {
  account: string;
}

/** An account as a file log: the log, its bytes as the file store writes them, and its rulebook. */
export interface ExportedLog {
  account: string;
  /** The account's version that was read (one snapshot). */
  version: number;
  /** Frozen. */
  log: TradeLog;
  /** What TradeStore would write for this log (io/serialize.ts). */
  bytes: Buffer;
  /** The account's rulebook (settings named by their setting names), or null when it has none. */
  settings: SettingsInput | null;
  /** The rulebook as a trade-state.json file, or null. */
  settingsBytes: Buffer | null;
}

export interface ExportAccountOptions extends ExportLogOptions {
  /** The file to write; trade-state.json beside it gets the account's rulebook when it has one. */
  tradeLog: string;
  /** The lock file of that log, taken for the write. Default trade.lock beside it, as TradeStore's. */
  lockFile?: string;
  /** Overwrite a log that holds trades. Default false: such a file is refused (ELOGNOTEMPTY). */
  replace?: boolean;
  /** Longest wait for the file lock. Default 30000 ms. */
  lockTimeoutMs?: number;
}

export interface ExportResult {
  account: string;
  version: number;
  /** The log written (real path). */
  tradeLog: string;
  /** The settings file written, or null when the account has no rulebook (an existing one is left alone). */
  settingsFile: string | null;
  trades: number;
  /** Bytes of the log written. */
  bytes: number;
}

/** The import statement: every row, the event and the account's counters, then a NOTIFY. */
const IMPORT_SQL = `
WITH inserted AS (
  INSERT INTO ${SCHEMA}.trades (account, version, ${ROW_COLUMNS.map(([c]) => c).join(', ')})
  SELECT $1, $2, ${ROW_COLUMNS.map(([c]) => `x.${c}`).join(', ')}
  FROM json_to_recordset($3::json) AS x(${ROW_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})
  RETURNING 1
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  VALUES ($1, $2, $4::uuid, 'import', ARRAY(SELECT json_array_elements_text($5::json)), $6::jsonb)
  RETURNING 1
)
UPDATE ${SCHEMA}.accounts SET version = $2, rebuilt_at = $2, next_id = $7, log_extra = $8::json, log_keys = $9::json,
  settings = CASE WHEN $10::boolean THEN $11::json ELSE settings END, updated_at = now()
WHERE account = $1
RETURNING (SELECT count(*) FROM inserted)::int AS rows, (SELECT count(*) FROM logged)::int AS events,
  pg_notify('trade_state_events', account || ':' || version::text) AS notified`;

/**
 * Copies a JSON log into an account. Refuses (AccountError EACCOUNTNOTEMPTY) an account that
 * already has trades unless `replace`; then its trades are replaced in the same transaction. The
 * import is one event (kind `import`): the account's history before it stays. A log that fails
 * validation is refused with the database unchanged: TradeLogCorruptError (a file that is not a
 * trade log), ValidationError (a log object that is not one, duplicate ids or open symbols, a field
 * the table cannot hold), DatabaseError EDBCONSTRAINT (one of the table's checks).
 */
export async function importLog(options: ImportLogOptions): Promise<ImportResult> {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const account = checkAccountName(options.account);
  const lockTimeoutMs = timeoutOption('lockTimeoutMs', options.lockTimeoutMs, 30_000);
  const statementTimeoutMs = timeoutOption('statementTimeoutMs', options.statementTimeoutMs, 120_000);
  const source = readSource(options);
  const rows = rowsOf(source.log);
  const top = logTopOf(source.log);
  const settingsJson = source.settings === undefined ? null : JSON.stringify(source.settings);
  const replace = options.replace === true;

  return withConnection(options, account, async (db) => {
    let client: PoolClientLike;
    try {
      client = await db.connect();
    } catch (err) {
      throw databaseError(err, account);
    }
    let lost = false;
    try {
      await client.query(
        `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = ${pgTimeout(Math.max(1, lockTimeoutMs))}; ` +
          `SET LOCAL statement_timeout = ${pgTimeout(lockTimeoutMs + statementTimeoutMs)}`,
      );
      // The account row first (a new account starts here), then its lock: the cross-host flock.
      await client.query(`INSERT INTO ${SCHEMA}.accounts (account) VALUES ($1) ON CONFLICT (account) DO NOTHING`, [account]);
      const locked = (await client.query(LOCK_ACCOUNT_SQL, [account])).rows[0] as { version: string | number };
      const before = Number(locked.version);
      const held = Number(
        ((await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.trades WHERE account = $1`, [account])).rows[0] as { n: number }).n,
      );
      if (held > 0 && !replace) {
        throw new AccountError(
          'EACCOUNTNOTEMPTY',
          account,
          `account "${account}" already has ${held} trade${held === 1 ? '' : 's'}: import only fills an empty account. ` +
            'Replace its trades with replace: true (trade-state import --replace); its event history is kept',
        );
      }
      if (held > 0) {
        // The freeze trigger lets closed trades be deleted only by a transaction that says it
        // replaces this very account (SET LOCAL: it ends with the transaction).
        await client.query(`SELECT set_config('trade_state.replacing_account', $1, true)`, [account]);
        await client.query(`DELETE FROM ${SCHEMA}.trades WHERE account = $1`, [account]);
      }
      const version = before + 1;
      const ids = rows.map((r) => r.id);
      const payload = {
        input: { source: source.file, replace, trades: rows.length, settings: settingsJson !== null },
        result: { version, trades: rows.length, replaced: held },
      };
      await client.query(IMPORT_SQL, [
        account,
        version,
        JSON.stringify(rows),
        randomUUID(),
        JSON.stringify(ids),
        JSON.stringify(payload),
        top.next_id,
        JSON.stringify(top.extra),
        JSON.stringify(top.keys),
        settingsJson !== null,
        settingsJson,
      ]);
      await client.query('COMMIT');
      return {
        account,
        version,
        trades: rows.length,
        replaced: held,
        settings: settingsJson !== null,
        source: source.file,
        settingsFile: source.settingsFile,
      };
    } catch (err) {
      lost = isConnectionError(err);
      if (!lost) await client.query('ROLLBACK').catch(() => {});
      throw databaseError(err, account, { what: `postgres account "${account}"`, timeoutMs: lockTimeoutMs });
    } finally {
      client.release(lost);
    }
  });
}

/** The account as a file log, in memory: one lock-free read (one snapshot). AccountError EACCOUNTMISSING when it does not exist. */
export async function exportLog(options: ExportLogOptions): Promise<ExportedLog> {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const account = checkAccountName(options.account);
  const state = await withConnection(options, account, async (db) => {
    try {
      return await new AccountLog(account).read(db);
    } catch (err) {
      throw databaseError(err, account);
    }
  });
  if (!state.exists) {
    throw new AccountError('EACCOUNTMISSING', account, `no account "${account}" in this database: check the account's name (nothing to export)`);
  }
  const settings = state.settings === null || state.settings === undefined ? null : canonicalSettings(state.settings, account);
  return {
    account,
    version: state.version,
    log: state.log,
    bytes: serializeLog(state.log).buf,
    settings,
    settingsBytes: settings === null ? null : Buffer.from(`${JSON.stringify(settings, null, 2)}\n`, 'utf8'),
  };
}

/**
 * Writes an account to a file log (and its rulebook to trade-state.json beside it), durably and
 * under the log's lock, so that bots on that log never see a half-written file nor write between
 * the check and the write. Refuses (ELOGNOTEMPTY) a log that holds trades unless `replace`.
 */
export async function exportAccount(options: ExportAccountOptions): Promise<ExportResult> {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  if (typeof options.tradeLog !== 'string' || options.tradeLog === '') throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
  const lockTimeoutMs = timeoutOption('lockTimeoutMs', options.lockTimeoutMs, 30_000);
  // The real path, as TradeStore's: through a symlink, the log, its rulebook and its lock are the real folder's.
  const file = realLogPath(options.tradeLog);
  const settingsFile = settingsFileFor(file);
  if (file === settingsFile) throw new ValidationError('tradeLog', options.tradeLog, `cannot be the settings file's name, ${SETTINGS_FILE}`);
  const lockFile = path.resolve(options.lockFile ?? path.join(path.dirname(file), 'trade.lock'));
  const exported = await exportLog(options);
  // Loaded here: the lock needs the native addon, which the rest of this subpath never loads.
  const { withLock } = await import('../lock/file-lock.js');
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.mkdir(path.dirname(lockFile), { recursive: true });
  await withLock(
    lockFile,
    async () => {
      const existing = readLogBytes(file);
      if (existing !== null && options.replace !== true) {
        // A damaged log is refused too (TradeLogCorruptError): it is not known to be empty.
        const held = parseLog(file, existing.bytes).trades.length;
        if (held > 0) {
          throw new TradeStateError(
            'ELOGNOTEMPTY',
            `${file} already holds ${held} trade${held === 1 ? '' : 's'}: export only writes a new or empty log. ` +
              'Overwrite it with replace: true (trade-state export --replace)',
          );
        }
      }
      // The rulebook first, as init does: once the log is there, a process on it must find its rules.
      if (exported.settingsBytes !== null) {
        await writeFileDurable(settingsFile, exported.settingsBytes, existingAccess(settingsFile));
      }
      await writeFileDurable(file, exported.bytes, existing?.version ?? null);
    },
    { timeoutMs: lockTimeoutMs },
  );
  return {
    account: exported.account,
    version: exported.version,
    tradeLog: file,
    settingsFile: exported.settingsBytes === null ? null : settingsFile,
    trades: exported.log.trades.length,
    bytes: exported.bytes.length,
  };
}

// --------------------------------------------------------------------------- internals

interface Source {
  log: TradeLog;
  file: string | null;
  settingsFile: string | null;
  /** undefined: keep the account's rulebook. */
  settings: SettingsInput | undefined;
}

function readSource(options: ImportLogOptions): Source {
  const hasFile = options.tradeLog !== undefined;
  if (hasFile === (options.log !== undefined)) {
    throw new ValidationError('tradeLog', options.tradeLog, 'give either tradeLog (a file) or log (a log object), not both nor neither');
  }
  let settings: SettingsInput | undefined;
  if (options.settings !== undefined && options.settings !== null) {
    settings = checkSettingsFile(options.settings, 'settings').given;
  }
  if (!hasFile) {
    const problem = validateLogShape(options.log);
    if (problem !== null) throw new ValidationError('log', summarize(options.log), `is not a trade log: ${problem}`);
    return { log: options.log as TradeLog, file: null, settingsFile: null, settings };
  }
  if (typeof options.tradeLog !== 'string' || options.tradeLog === '') throw new ValidationError('tradeLog', options.tradeLog, 'must be a non-empty path');
  const file = realLogPath(options.tradeLog);
  const got = readLogBytes(file);
  if (got === null) throw new ValidationError('tradeLog', file, 'does not exist: there is no log to import');
  const log = parseLog(file, got.bytes);
  const settingsFile = settingsFileFor(file);
  if (settings === undefined && options.settings !== null) {
    const found = readSettingsFile(settingsFile);
    if (found !== null) return { log, file, settingsFile, settings: found.given };
    return { log, file, settingsFile: null, settings: undefined };
  }
  return { log, file, settingsFile: null, settings };
}

/** The log's rows, or the first reason the table could not hold it (before any row is written). */
function rowsOf(log: TradeLog): RowInput[] {
  // What the file store tolerates as an integrity violation but the table's keys refuse.
  const clash = verifyIntegrity(log, { maxPositions: Number.MAX_SAFE_INTEGER }).find(
    (v) => v.code === 'DUPLICATE_ID' || v.code === 'DUPLICATE_OPEN_SYMBOL',
  );
  if (clash !== undefined) throw new ValidationError('log', clash.trade_id ?? null, `cannot be imported: ${clash.message}`);
  const seen = new Map<string, string>();
  log.trades.forEach((t) => {
    const key = t.client_id;
    if (typeof key !== 'string') return;
    const other = seen.get(key);
    if (other !== undefined) throw new ValidationError('log', t.id, `cannot be imported: ${other} and ${t.id} share client_id ${JSON.stringify(key)}`);
    seen.set(key, t.id);
  });
  return log.trades.map((t, i) => tradeToRow(t, i));
}

/** Runs `fn` on the pool the options name: a live pool as given, else one made for the call and ended after. */
async function withConnection<T>(options: TransferConnectionOptions, account: string, fn: (db: PoolLike) => Promise<T>): Promise<T> {
  const given = options.pool;
  if (given !== undefined && typeof (given as { connect?: unknown }).connect === 'function' && typeof (given as { query?: unknown }).query === 'function') {
    return fn(given as PoolLike);
  }
  if (options.connectionString !== undefined && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
    throw new ValidationError('connectionString', options.connectionString, 'must be a postgres:// URL');
  }
  if (options.connectionString === undefined && given === undefined) {
    throw new ValidationError('connectionString', undefined, 'is required (or pool: a pg.Pool or node-postgres pool options)');
  }
  const connection = new Connection({
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
    ...(given !== undefined && { pool: given as Record<string, unknown> }),
    // one client is all a transfer uses
  });
  try {
    const pool = await connection.pool();
    return await fn(pool as unknown as PoolLike);
  } catch (err) {
    throw databaseError(err, account);
  } finally {
    await connection.end().catch(() => {});
  }
}

/**
 * The rulebook in the order of a settings file written by init (the settings in their documented
 * order, drawdown limits daily, weekly, total, warning): the column keeps whatever order its writer
 * gave (saveSettings, an import, a hand-made UPDATE), and a person reads the file. A rulebook that
 * is not a usable one is refused, naming the account.
 */
function canonicalSettings(raw: unknown, account: string): SettingsInput {
  const given = checkSettingsFile(raw, settingsLabel(account)).given as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    if (!Object.hasOwn(given, name)) continue;
    const value = given[name];
    if (name === 'drawdownLimits' && isPlainObject(value)) {
      const limits: Record<string, unknown> = {};
      for (const k of ['daily', 'weekly', 'total', 'warning']) if (Object.hasOwn(value, k)) limits[k] = value[k];
      out[name] = limits;
    } else {
      out[name] = value;
    }
  }
  return out as SettingsInput;
}

function existingAccess(file: string): { mode: number; uid: number; gid: number } | null {
  try {
    const st = fs.statSync(file);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ValidationError(name, value, 'must be a number >= 0');
  return value;
}

function summarize(data: unknown): unknown {
  return data !== null && typeof data === 'object' ? `[${Array.isArray(data) ? 'array' : 'object'}]` : data;
}
