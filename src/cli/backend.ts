/**
 * What every command shares about its log, whichever backend holds it. Light on purpose (types and
 * small functions): store.ts and db.ts both import it, and it loads neither backend.
 */
import { verifyIntegrity, type Violation } from '../domain/integrity.js';
import type { Settings, SettingsInput } from '../domain/settings.js';
import type { Trade, TradeLog } from '../domain/types.js';
import type { PostgresTradeStore } from '../postgres/store.js';
import type { TradeStore } from '../store/trade-store.js';
import type { GlobalOptions } from './args.js';

/**
 * Where the commands' log lives: the file at --log, or an account of the database at --db.
 * Both backends are loaded only when used (import()): a file command never loads the database
 * client, a database command never loads the file lock's native addon.
 */
export type Where = { readonly log: string } | { readonly account: string; readonly db: string };

/** Either store: the commands call only the methods both have, with the same results. */
export type CliStore = TradeStore | PostgresTradeStore;

/** A read of the log with the settings in force for it (its rulebook, the options, the defaults). */
export interface LogView {
  readonly log: TradeLog;
  readonly trades: readonly Trade[];
  readonly settings: Readonly<Settings>;
  /** Why the log's rulebook cannot be applied (opens are refused; `settings` are then the last good ones or the options alone); null when fine. */
  readonly settingsProblem: Error | null;
  readonly where: Where;
}

/** A rulebook problem in --json output (status's `rulebook_problem`): its code, message, the file (or account's column) and key. */
export function problemJson(err: Error): { code: string; message: string; file: string | null; key: string | null } {
  const e = err as { code?: unknown; file?: unknown; key?: unknown; field?: unknown };
  const key = typeof e.key === 'string' ? e.key : typeof e.field === 'string' ? e.field : null;
  return { code: typeof e.code === 'string' ? e.code : 'EINTERNAL', message: err.message, file: typeof e.file === 'string' ? e.file : null, key };
}

/** The integrity check of a view, as the store's verifyIntegrity() runs it (the position cap in force). */
export function violationsOf(view: LogView): Violation[] {
  return verifyIntegrity(view.log, { maxPositions: view.settings.maxPositions });
}

/** The log's place in --json output: `log` (an absolute path) or `account` and `db` (no password). */
export function whereJson(w: Where): Record<string, string> {
  return 'log' in w ? { log: w.log } : { account: w.account, db: w.db };
}

/** The log's place in a sentence. */
export function whereText(w: Where): string {
  return 'log' in w ? w.log : `account "${w.account}" (${w.db})`;
}

/** The flags that are settings, as the options a library caller would pass (the same precedence applies to them). */
export function settingOptions(g: GlobalOptions): Pick<SettingsInput, 'startingCapital' | 'maxPositions'> {
  return {
    ...(g.capital !== undefined && { startingCapital: g.capital }),
    ...(g.maxPositions !== undefined && { maxPositions: g.maxPositions }),
  };
}

/** The flag of each setting the command line can give. */
export const FLAG_OF_SETTING: Readonly<Partial<Record<keyof SettingsInput, string>>> = { startingCapital: '--capital', maxPositions: '--max-positions' };
