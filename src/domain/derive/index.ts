/**
 * The reconciler's derived state: portfolio.json, equity.json, risk_state.json
 * and setup_performance.json, each a pure function of (trade log, options).
 * docs/formulas.md defines every field, the differences from the Python
 * original and the choices made where its formulas are silent. The clock is a
 * parameter, so the same inputs give byte-identical JSON apart from `last_updated`.
 *
 * One module per file (portfolio.ts, equity.ts, risk-state.ts, setups.ts) on a
 * shared first pass (core.ts, ../formulas.ts); this entry point builds all four
 * at once and re-exports what callers use.
 */
import { tally } from '../formulas.js';
import type { TradeLog } from '../types.js';
import { buildLedger, context, dayTotals, tradesOf } from './core.js';
import { buildEquity } from './equity.js';
import { buildPortfolio } from './portfolio.js';
import { buildRiskState } from './risk-state.js';
import { buildSetupPerformance } from './setups.js';
import type { DerivedState, DeriveOptions } from './types.js';

export type * from './types.js';
export { checkDerivedInvariants } from './invariants.js';
export { derivePortfolio } from './portfolio.js';
export { buildBook, deriveBook, type Book, type BookEpisode, type BookPath } from './book.js';
export { deriveEquity, equityCurve } from './equity.js';
export { deriveRiskState, haltState } from './risk-state.js';
export { deriveSetupPerformance } from './setups.js';

/** All four files from one pass over the log and one parse of its timestamps. */
export function deriveState(log: TradeLog, options: DeriveOptions): DerivedState {
  const c = context(options);
  const trades = tradesOf(log);
  const a = tally(trades);
  const ledger = buildLedger(trades);
  const totals = dayTotals(ledger, c.today);
  return {
    portfolio: buildPortfolio(a, c),
    equity: buildEquity(a, ledger, totals, c),
    risk_state: buildRiskState(a, ledger, totals, c),
    setup_performance: buildSetupPerformance(a, c),
  };
}
