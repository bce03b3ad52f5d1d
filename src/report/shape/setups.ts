/** The setups table: per setup, the book's figures from setup_performance.json. */
import { setupKey } from '../../domain/derive/setups.js';
import type { SetupStats } from '../../domain/derive/index.js';
import type { Trade } from '../../domain/types.js';
import type { SetupRow } from './types.js';

/**
 * Per setup, in net R: grouped by setup_performance.json's names (setupKey), every figure from
 * the setup's `book` there. Best expectancy first; ties keep the order in which the setups first appear.
 */
export function setupRowsOf(closed: readonly Trade[], fileStats: ReadonlyMap<string, SetupStats>): SetupRow[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const t of closed) {
    const key = setupKey(t);
    if (!seen.has(key)) {
      seen.add(key);
      names.push(key);
    }
  }
  const rows: SetupRow[] = [];
  for (const name of names) {
    const f = fileStats.get(name);
    if (f === undefined) continue;
    const b = f.book;
    rows.push({
      name,
      trades: f.total_trades,
      wins: b.wins,
      losses: b.losses,
      breakeven: b.breakeven,
      winRate: b.win_rate ?? 0,
      avgWinR: b.avg_win_net_r ?? 0,
      avgLossR: b.avg_loss_net_r ?? 0,
      // win rate × avg win + loss rate × avg loss over these trades is their mean net R (breakevens are 0R)
      expectancy: b.avg_net_r ?? 0,
      withoutR: b.without_r,
      totalPnl: f.total_pnl,
    });
  }
  return rows.sort((a, b) => b.expectancy - a.expectancy); // stable: ties keep first appearance
}
