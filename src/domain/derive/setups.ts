/**
 * setup_performance.json: closed trades grouped by setup, sorted by expectancy (docs/formulas.md);
 * each setup's `book` holds its figures in net R (book.ts).
 */
import { amount, rMultipleOf, tally, type Tally } from '../formulas.js';
import { r1, r2 } from '../round.js';
import type { Trade, TradeLog } from '../types.js';
import { netRStats, outcomesOf } from './book.js';
import { context, tradesOf, type Context } from './core.js';
import type { DeriveOptions, SetupPerformance, SetupStats } from './types.js';

function isFalsy(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false || Number.isNaN(v)) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

/** A setup value as Python's json.dumps would write it as an object key. */
function keyOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * setup_type, or when empty/missing the trade's `setup` field if the key exists, else "Unknown".
 * Exported so the report groups its per-setup net R by exactly these names.
 */
export function setupKey(t: Trade): string {
  if (!isFalsy(t.setup_type)) return keyOf(t.setup_type);
  return Object.hasOwn(t, 'setup') ? keyOf(t.setup) : 'Unknown';
}

function mean(xs: number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return r2(s / xs.length);
}

export function buildSetupPerformance(a: Tally, c: Context): SetupPerformance {
  if (a.closed.length === 0) return { setups: {}, last_updated: c.stamp };
  const groups = new Map<string, number[]>();
  for (let i = 0; i < a.closed.length; i++) {
    const key = setupKey(a.closed[i] as Trade);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [i]);
    else g.push(i);
  }
  const rows: { key: string; stats: SetupStats }[] = [];
  for (const [key, members] of groups) {
    let wins = 0;
    let losses = 0;
    let netSum = 0;
    const rs: number[] = [];
    const pos: number[] = [];
    const neg: number[] = [];
    const ids: string[] = [];
    const closed: Trade[] = [];
    const nets: number[] = [];
    for (const i of members) {
      const t = a.closed[i] as Trade;
      const net = a.closedNet[i] as number;
      netSum += net;
      closed.push(t);
      nets.push(net);
      if (net > 0) wins++;
      else if (net < 0) losses++;
      ids.push(t.id);
      // FORMULAS.md: the fallback R uses pnl_usd here, not net
      const r = rMultipleOf(t, amount(t.pnl_usd));
      if (r === null) continue;
      const rr = r2(r);
      rs.push(rr);
      if (rr > 0) pos.push(rr);
      else if (rr < 0) neg.push(rr);
    }
    const total = members.length;
    const wr = wins / total;
    const avgWin = mean(pos);
    const avgLoss = mean(neg);
    rows.push({
      key,
      stats: {
        total_trades: total,
        wins,
        losses,
        breakeven: total - wins - losses,
        win_rate: r1(wr * 100),
        avg_r: mean(rs),
        avg_win_r: avgWin,
        avg_loss_r: avgLoss,
        expectancy: r2(wr * avgWin + (1 - wr) * avgLoss),
        total_pnl: r2(netSum),
        trades: ids,
        book: { ...outcomesOf(nets), ...netRStats(closed, nets) },
      },
    });
  }
  rows.sort((x, y) => y.stats.expectancy - x.stats.expectancy); // stable: ties keep first appearance
  const setups: Record<string, SetupStats> = {};
  for (const { key, stats } of rows) {
    // defineProperty, so a setup named "__proto__" is a key and not a prototype
    Object.defineProperty(setups, key, { value: stats, enumerable: true, writable: true, configurable: true });
  }
  return { setups, total_closed: a.closed.length, last_updated: c.stamp };
}

export function deriveSetupPerformance(log: TradeLog, options: DeriveOptions): SetupPerformance {
  const c = context(options);
  return buildSetupPerformance(tally(tradesOf(log)), c);
}
