import type { Violation } from '../domain/integrity.js';
import type { LogSource } from '../reconcile/source.js';
import type { GlobalOptions } from './args.js';
import { settingOptions, type CliStore, type LogView, type Where } from './backend.js';

export { FLAG_OF_SETTING, problemJson, settingOptions, violationsOf, whereJson, whereText, type CliStore, type LogView, type Where } from './backend.js';

/**
 * The store the global options describe. Integrity violations after a write
 * are collected instead of the library's default process warning, so the
 * command can report them in its own output (and in its JSON). With --db, a
 * missing account is refused (EACCOUNTMISSING) unless --allow-missing, and the
 * store's pool is ended when the command is done (cleanup.ts).
 */
export async function openStore(g: GlobalOptions): Promise<{ store: CliStore; violations: Violation[]; where: Where }> {
  if (g.db !== undefined) return (await import('./db.js')).openAccountStore(g);
  const { TradeStore } = await import('../store/trade-store.js');
  const violations: Violation[] = [];
  const store = new TradeStore({
    tradeLog: g.log,
    ...(g.lock !== undefined && { lockFile: g.lock }),
    ...settingOptions(g),
    onIntegrityViolation: (v) => violations.push(...v),
  });
  return { store, violations, where: { log: store.tradeLog } };
}

/** The log and its settings, for the commands that only read (status, verify). */
export async function openView(g: GlobalOptions): Promise<LogView> {
  if (g.db !== undefined) return (await import('./db.js')).accountView(g);
  const { store, where } = await openStore(g);
  const trades = await store.getAllTrades();
  return { log: { trades: [...trades], next_id: 0 }, trades, settings: store.settings, settingsProblem: store.settingsProblem, where };
}

/**
 * For the commands that read the log through a source (reconcile, report): with --db (or
 * TSE_DATABASE_URL) the account's log and where it is for the output; null: the file at --log.
 * A missing account is refused (EACCOUNTMISSING), as a missing log file is, unless --allow-missing.
 */
export async function openSource(g: GlobalOptions): Promise<{ source: LogSource; where: Where } | null> {
  if (g.db === undefined) return null;
  return (await import('./db.js')).accountSource(g);
}

/** A write's result with the violations its write left behind, reported but not failing (SPEC §4). */
export function withIntegrity(
  json: Record<string, unknown>,
  text: string,
  violations: readonly Violation[],
): { json: Record<string, unknown>; text: string } {
  if (violations.length === 0) return { json, text };
  const warn = violations.map((v) => `warning: integrity ${v.code}${v.trade_id ? ` ${v.trade_id}` : ''}: ${v.message}`);
  return { json: { ...json, integrity_violations: violations }, text: [text, ...warn].join('\n') };
}
