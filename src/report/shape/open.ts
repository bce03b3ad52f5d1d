/** The open positions: each one's risk to its current stop beside its initial risk, in USD and % of equity. */
import { initialRiskUsd, partialPnl, riskToStop } from '../../domain/formulas.js';
import { r2 } from '../../domain/round.js';
import type { Trade } from '../../domain/types.js';
import type { OpenPositionRow } from './types.js';

/** `usd` in % of equity, r2; null when unknown or when equity ≤ 0. */
export function pctOf(usd: number | null, equity: number): number | null {
  return usd === null || !(equity > 0) ? null : r2((usd / equity) * 100);
}

/** The rows of the open trades, and the sums of their risk to stop and initial risk (unrounded). */
export function openRowsOf(open: readonly Trade[], equity: number): { rows: OpenPositionRow[]; openRisk: number; initialRisk: number } {
  let openRisk = 0;
  let initialRisk = 0;
  const rows = open.map((t): OpenPositionRow => {
    const toStop = riskToStop(t);
    const initial = initialRiskUsd(t);
    const initialUsd = Number.isFinite(initial) && initial >= 0 ? initial : null;
    openRisk += toStop.usd ?? 0;
    initialRisk += initialUsd ?? 0;
    const toStopUsd = toStop.usd === null ? null : r2(toStop.usd);
    const initUsd = initialUsd === null ? null : r2(initialUsd);
    return {
      tradeId: t.id,
      symbol: t.symbol,
      direction: t.direction,
      setup: typeof t.setup_type === 'string' && t.setup_type !== '' ? t.setup_type : null,
      entryTime: typeof t.entry_time === 'string' ? t.entry_time : '',
      entryPrice: t.entry_price,
      stopPrice: t.stop_price,
      originalStop: typeof t.original_stop === 'number' && t.original_stop !== 0 ? t.original_stop : t.stop_price,
      size: t.size,
      realizedUsd: r2(partialPnl(t)),
      riskToStopUsd: toStopUsd,
      riskToStopPct: pctOf(toStop.usd, equity),
      lockedIn: toStop.lockedIn,
      initialRiskUsd: initUsd,
      initialRiskPct: pctOf(initialUsd, equity),
    };
  });
  return { rows, openRisk, initialRisk };
}
