/**
 * The shared first pass of the derived-state code: classify trades, sum net
 * P&L in the order FORMULAS.md states, and bucket every realized P&L event by
 * UTC day. Private to derive*.ts (pnl.ts has the public netPnl; this copy keeps
 * the reconciler free of its timing and tolerant of damaged fields).
 */
import { round1, round2 } from './round.js';
import { microsToDay, parseInstantMicros } from './derive-time.js';
import type { PartialExit, Trade } from './types.js';

/** round2 without negative zero, so JSON and deep equality agree. */
export const r2 = (x: number): number => round2(x) + 0;
export const r1 = (x: number): number => round1(x) + 0;

/** A P&L amount: non-numbers and non-finite values count as 0 (Python's `x or 0`). */
export function amount(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

function num(x: unknown): number {
  return typeof x === 'number' ? x : NaN;
}

/** Python's `a or b` for numeric fields: 0, null and missing fall through to b. */
function numOr(a: unknown, b: unknown): number {
  return typeof a === 'number' && a !== 0 && !Number.isNaN(a) ? a : num(b);
}

const NO_PARTIALS: readonly PartialExit[] = Object.freeze([]);

export function partialsOf(t: Trade): readonly PartialExit[] {
  return Array.isArray(t.partial_exits) ? t.partial_exits : NO_PARTIALS;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Σ pnl_usd of a trade's partial exits, summed from 0 in list order as Python's sum() does. */
export function partialSum(t: Trade): number {
  let s = 0;
  for (const p of partialsOf(t)) if (isObject(p)) s += amount(p.pnl_usd);
  return s;
}

/** net(t) = (pnl_usd or 0) + Σ partial-exit pnl_usd. */
export function netOf(t: Trade): number {
  return amount(t.pnl_usd) + partialSum(t);
}

/** risk(t) = |entry_price − (original_stop or stop_price)|; NaN when a field is not a number. */
export function riskOf(t: Trade): number {
  return Math.abs(num(t.entry_price) - numOr(t.original_stop, t.stop_price));
}

/** osize(t) = original_size or size. */
export function osizeOf(t: Trade): number {
  return numOr(t.original_size, t.size);
}

/** r_multiple if present and non-zero, else pnl / (risk × osize) when both > 0, else null. */
export function rOf(t: Trade, pnl: number): number | null {
  const r = t.r_multiple;
  if (typeof r === 'number' && Number.isFinite(r) && r !== 0) return r;
  const risk = riskOf(t);
  const size = osizeOf(t);
  if (risk > 0 && size > 0 && Number.isFinite(risk * size)) return r2(pnl / (risk * size));
  return null;
}

export function isTrade(t: unknown): t is Trade {
  return isObject(t);
}

export function tradesOf(log: { trades: unknown }): readonly unknown[] {
  if (!Array.isArray(log.trades)) throw new TypeError('Expected "log.trades" to be an array');
  return log.trades;
}

export interface Analysis {
  closed: Trade[];
  /** net(t) of closed[i]. */
  closedNet: number[];
  open: Trade[];
  realized: number;
  wins: number;
  losses: number;
}

/** One pass over the log in file order; trades with another status are ignored. */
export function analyze(trades: readonly unknown[]): Analysis {
  const closed: Trade[] = [];
  const closedNet: number[] = [];
  const open: Trade[] = [];
  let closedSum = 0;
  let openPartials = 0;
  let wins = 0;
  let losses = 0;
  for (const t of trades) {
    if (!isTrade(t)) continue;
    if (t.status === 'CLOSED') {
      const n = netOf(t);
      closed.push(t);
      closedNet.push(n);
      closedSum += n;
      if (n > 0) wins++;
      else if (n < 0) losses++;
    } else if (t.status === 'OPEN') {
      open.push(t);
      for (const p of partialsOf(t)) if (isObject(p)) openPartials += amount(p.pnl_usd);
    }
  }
  return { closed, closedNet, open, realized: closedSum + openPartials, wins, losses };
}

/**
 * Realized P&L by UTC day. Events: each partial exit of an OPEN or CLOSED trade
 * at its `timestamp`, and each CLOSED trade's own pnl_usd at its `exit_time`.
 */
export interface Ledger {
  buckets: Map<number, number>;
  /** P&L of events whose timestamp does not parse (or is before 1970), and how many there were. */
  unparsed: number;
  unparsedCount: number;
  /** Epoch µs of each CLOSED trade's exit_time (NaN if unparseable), aligned with Analysis.closed. */
  exitMicros: number[];
}

export function buildLedger(trades: readonly unknown[]): Ledger {
  const buckets = new Map<number, number>();
  const exitMicros: number[] = [];
  let unparsed = 0;
  let unparsedCount = 0;
  for (const t of trades) {
    if (!isTrade(t)) continue;
    const closed = t.status === 'CLOSED';
    if (!closed && t.status !== 'OPEN') continue;
    const partials = t.partial_exits;
    const n = Array.isArray(partials) ? partials.length : 0;
    for (let k = 0; k <= n; k++) {
      let micros: number;
      let amt: number;
      if (k < n) {
        const p: unknown = (partials as unknown[])[k];
        if (!isObject(p)) continue;
        micros = parseInstantMicros(p.timestamp);
        amt = amount(p.pnl_usd);
      } else {
        if (!closed) break;
        micros = parseInstantMicros(t.exit_time);
        amt = amount(t.pnl_usd);
        exitMicros.push(micros);
      }
      // before 1970 is a typo, not history: it would stretch the curve over centuries
      if (!(micros >= 0)) {
        unparsed += amt;
        unparsedCount++;
      } else {
        const day = microsToDay(micros);
        buckets.set(day, (buckets.get(day) ?? 0) + amt);
      }
    }
  }
  return { buckets, unparsed, unparsedCount, exitMicros };
}

/** Per-day sums, ascending, every day ≤ today. */
export interface DayTotals {
  days: number[];
  sums: number[];
}

/**
 * Future-dated events (clock skew between hosts) count on today, and events
 * whose timestamp does not parse count on the first day, so the curve always
 * ends at the current equity.
 */
export function dayTotals(ledger: Ledger, today: number): DayTotals {
  const keys = [...ledger.buckets.keys()].sort((a, b) => a - b);
  const days: number[] = [];
  const sums: number[] = [];
  for (const day of keys) {
    const sum = ledger.buckets.get(day) as number;
    const last = days.length - 1;
    if (day > today && last >= 0 && days[last] === today) sums[last] = (sums[last] as number) + sum;
    else {
      days.push(Math.min(day, today));
      sums.push(sum);
    }
  }
  if (ledger.unparsedCount > 0) {
    if (days.length === 0) {
      days.push(today);
      sums.push(ledger.unparsed);
    } else sums[0] = (sums[0] as number) + ledger.unparsed;
  }
  return { days, sums };
}

/** Equity at the end of yesterday and at Monday 00:00 UTC of today's ISO week, r2. */
export function startValues(
  totals: DayTotals,
  start: number,
  today: number,
  monday: number,
): { daily: number; weekly: number } {
  let cum = 0;
  let daily = 0;
  let weekly = 0;
  const { days, sums } = totals;
  for (let k = 0; k < days.length; k++) {
    const day = days[k] as number;
    if (day >= today) break;
    cum += sums[k] as number;
    daily = cum;
    if (day < monday) weekly = cum;
  }
  return { daily: r2(start + daily), weekly: r2(start + weekly) };
}
