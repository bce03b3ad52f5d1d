import type { Violation } from '../domain/integrity.js';
import type { SettingsInput } from '../domain/settings.js';
import { TradeStore } from '../store/trade-store.js';
import type { GlobalOptions } from './args.js';

/**
 * The store the global options describe. Integrity violations after a write
 * are collected instead of the library's default process warning, so the
 * command can report them in its own output (and in its JSON).
 */
export function openStore(g: GlobalOptions): { store: TradeStore; violations: Violation[] } {
  const violations: Violation[] = [];
  const store = new TradeStore({
    tradeLog: g.log,
    ...(g.lock !== undefined && { lockFile: g.lock }),
    ...settingOptions(g),
    onIntegrityViolation: (v) => violations.push(...v),
  });
  return { store, violations };
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
