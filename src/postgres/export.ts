/**
 * exportLog / exportAccount: an account back to a file log. The account is read in one lock-free
 * statement (one snapshot, as a file reader sees one whole version: no writer waits for an
 * export); the file is written with the file store's serializer and durable write, under the
 * file's lock, so the bytes are the ones TradeStore writes: a log written by this library comes
 * back byte-identical after import + export.
 */
import fs from 'node:fs';
import path from 'node:path';

import { checkSettingsFile, SETTING_NAMES, type SettingsInput } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import { isPlainObject } from '../domain/validate.js';
import { AccountError, TradeStateError, ValidationError } from '../errors.js';
import { writeFileDurable } from '../io/durable-write.js';
import { lockFileFor, realLogPath } from '../io/log-path.js';
import { parseLog, readLogBytes } from '../io/read-log.js';
import { serializeLog } from '../io/serialize.js';
import { SETTINGS_FILE, settingsFileFor } from '../io/settings-file.js';
import { lockTimeoutOption } from '../store/backend.js';
import { AccountLog } from './account-log.js';
import { databaseError } from './connection.js';
import { checkAccountName, settingsLabel } from './options.js';
import { withConnection, type TransferConnectionOptions } from './transfer.js';

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
  const lockTimeoutMs = lockTimeoutOption(options.lockTimeoutMs);
  // The real path, as TradeStore's: through a symlink, the log, its rulebook and its lock are the real folder's.
  const file = realLogPath(options.tradeLog);
  const settingsFile = settingsFileFor(file);
  if (file === settingsFile) throw new ValidationError('tradeLog', options.tradeLog, `cannot be the settings file's name, ${SETTINGS_FILE}`);
  const lockFile = lockFileFor(file, options.lockFile);
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

