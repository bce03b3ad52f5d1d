/**
 * importLog: a file log (or a log object) into an account, losslessly, in ONE transaction of the
 * runner every write of an account goes through (postgres/transaction.ts: synchronous_commit on,
 * the lock and idle timeouts, the lost-COMMIT check through its event's op_id), under the account
 * lock: every trade (unknown fields, partial_exits, key order, timestamps as written), the log's
 * top level (next_id, other fields, their order) and the settings file beside the log
 * (trade-state.json) as the account's rulebook. A log the table cannot hold is refused before a
 * row is written, or by the table's checks, with the database unchanged.
 */
import { randomUUID } from 'node:crypto';

import { verifyIntegrity } from '../domain/integrity.js';
import { checkSettingsFile, type SettingsInput } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { validateLogShape } from '../domain/validate.js';
import { AccountError, ValidationError } from '../errors.js';
import { realLogPath } from '../io/log-path.js';
import { parseLog, readLogBytes } from '../io/read-log.js';
import { readSettingsFile, settingsFileFor } from '../io/settings-file.js';
import { lockTimeoutOption } from '../store/backend.js';
import { databaseError, guardClient, timeoutOption } from './connection.js';
import { checkAccountName } from './options.js';
import { logTopOf, tradeToRow, type RowInput } from './rows.js';
import { SCHEMA } from './schema.js';
import { IMPORT_SQL } from './sql.js';
import { commitOnce, lockAccount, type TransactionFrame } from './transaction.js';
import { summarize, withConnection, type TransferConnectionOptions } from './transfer.js';

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
  const lockTimeoutMs = lockTimeoutOption(options.lockTimeoutMs);
  const statementTimeoutMs = timeoutOption('statementTimeoutMs', options.statementTimeoutMs, 120_000);
  const source = readSource(options);
  const rows = rowsOf(source.log);
  const top = logTopOf(source.log);
  const settingsJson = source.settings === undefined ? null : JSON.stringify(source.settings);
  const replace = options.replace === true;

  return withConnection(options, account, async (db) => {
    const until = performance.now() + lockTimeoutMs;
    const frame: TransactionFrame = {
      account,
      statementTimeoutMs,
      prepared: false,
      pool: async () => db,
      connect: async () => {
        try {
          return guardClient(await db.connect());
        } catch (err) {
          throw databaseError(err, account);
        }
      },
    };
    const opId = randomUUID();
    let xid: string | null = null;
    let result: ImportResult | null = null;
    return commitOnce(
      frame,
      { until, timeoutMs: lockTimeoutMs },
      async (client, locked) => {
        xid = null;
        result = null;
        const before = Number((await lockAccount(frame, client, locked)).version);
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
        const r = await client.query(IMPORT_SQL, [
          account,
          version,
          JSON.stringify(rows),
          opId,
          JSON.stringify(ids),
          JSON.stringify(payload),
          top.next_id,
          JSON.stringify(top.extra),
          JSON.stringify(top.keys),
          settingsJson !== null,
          settingsJson,
        ]);
        xid = (r.rows[0] as { xid?: string } | undefined)?.xid ?? null;
        result = {
          account,
          version,
          trades: rows.length,
          replaced: held,
          settings: settingsJson !== null,
          source: source.file,
          settingsFile: source.settingsFile,
        };
        return result;
      },
      () => ({ opIds: result === null ? [] : [opId], xid, result: result as ImportResult }),
    );
  }, statementTimeoutMs);
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

