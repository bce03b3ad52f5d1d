/**
 * What every derived file starts from: the options checked once, the clock
 * turned into UTC day numbers, and every realized P&L event bucketed by the UTC
 * day it happened on. The per-trade formulas (net, realized, risk, R) are
 * ../formulas.ts; this module only places their amounts in time.
 */
import { amount, isRecord, isTrade, partialExitsOf } from '../formulas.js';
import { r2 } from '../round.js';
import { dateToDay, isoMonday, microsToDay, parseInstantMicros, stateTimestamp } from '../time.js';
import { resolveDrawdownLimits, resolveStartingCapital } from '../settings.js';
import type { DrawdownLimits } from '../types.js';

/** Options checked once, with the clock turned into day numbers. */
export interface Context {
  start: number;
  limits: DrawdownLimits;
  today: number;
  monday: number;
  /** `last_updated` of every file of one derivation. */
  stamp: string;
}

export function context(options: {
  startingCapital: number;
  drawdownLimits?: Partial<DrawdownLimits> | undefined;
  now: Date;
}): Context {
  const { now } = options;
  // the same rules, and the same ValidationError, as every other door to these settings
  const start = resolveStartingCapital(options.startingCapital);
  const limits = resolveDrawdownLimits(options.drawdownLimits);
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError('Expected "now" to be a valid Date');
  }
  const today = dateToDay(now);
  return { start, limits, today, monday: isoMonday(today), stamp: stateTimestamp(now) };
}

export function tradesOf(log: { trades: unknown }): readonly unknown[] {
  if (!Array.isArray(log.trades)) throw new TypeError('Expected "log.trades" to be an array');
  return log.trades;
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
  /** Epoch µs of each CLOSED trade's exit_time (NaN if unparseable), aligned with Tally.closed. */
  exitMicros: number[];
  /** Every event added, in the order added (log order): the book (book.ts) walks them in time order. */
  events: RealizedEvent[];
}

/** One realized P&L event: a partial exit, or a close's own pnl_usd. */
export interface RealizedEvent {
  /** Epoch µs when the event can be placed in time; NaN when its timestamp does not parse or is before 1970. */
  micros: number;
  /** The timestamp as parsed, before-1970 values included (the streak order of closes sorts by it, as Python sorts the strings). */
  parsed: number;
  amount: number;
  /** True for a CLOSED trade's close (its exit_time), false for a partial exit. */
  close: boolean;
}

/**
 * The one list of what realizes P&L, in log order: each partial exit of an OPEN or CLOSED trade
 * at its `timestamp`, then each CLOSED trade's own pnl_usd at its `exit_time`. The daily ledger
 * below and the book (book.ts: equity after every event) both walk it.
 */
export function realizedEvents(trades: readonly unknown[]): RealizedEvent[] {
  const events: RealizedEvent[] = [];
  const push = (stamp: unknown, pnl: unknown, close: boolean): void => {
    const parsed = parseInstantMicros(stamp);
    // before 1970 is a typo, not history: it would stretch the curve over centuries
    events.push({ micros: parsed >= 0 ? parsed : NaN, parsed, amount: amount(pnl), close });
  };
  // Indexes, not for-of: a cold store's first write runs this over the whole history before V8
  // has compiled it, where an iterator per trade costs more than the work.
  for (let i = 0; i < trades.length; i++) {
    const t = trades[i];
    if (!isTrade(t)) continue;
    const closed = t.status === 'CLOSED';
    if (!closed && t.status !== 'OPEN') continue;
    const exits = partialExitsOf(t);
    for (let k = 0; k < exits.length; k++) {
      const p: unknown = exits[k];
      if (isRecord(p)) push(p.timestamp, p.pnl_usd, false);
    }
    if (closed) push(t.exit_time, t.pnl_usd, true);
  }
  return events;
}

export function buildLedger(trades: readonly unknown[]): Ledger {
  const ledger: Ledger = { buckets: new Map<number, number>(), unparsed: 0, unparsedCount: 0, exitMicros: [], events: [] };
  addToLedger(ledger, realizedEvents(trades));
  return ledger;
}

/**
 * Adds events to a ledger in place, in the order given. The bucketing has one home (addToBuckets):
 * a ledger built from a log and one continued over trades appended to it (extendLedger, for
 * open-state.ts) add the same amounts in the same order, so their sums are the same floating-point
 * numbers.
 */
export function addToLedger(ledger: Ledger, events: readonly RealizedEvent[]): void {
  for (const e of events) {
    ledger.events.push(e);
    if (e.close) ledger.exitMicros.push(e.parsed);
  }
  addToBuckets(ledger, events);
}

/**
 * A new ledger holding `base`'s events and then `events`, `base` left as it is (it may still
 * describe another log): what addToLedger gives on a copy of `base`, with each array allocated once
 * at its size (a copy grown by push allocates it twice: at 10,000 events, 200 KB a close).
 */
export function extendLedger(base: Ledger, events: readonly RealizedEvent[]): Ledger {
  const exits: number[] = [];
  for (const e of events) if (e.close) exits.push(e.parsed);
  const ledger: Ledger = {
    buckets: new Map(base.buckets),
    unparsed: base.unparsed,
    unparsedCount: base.unparsedCount,
    exitMicros: base.exitMicros.concat(exits),
    events: base.events.concat(events),
  };
  addToBuckets(ledger, events);
  return ledger;
}

/** The day buckets and the unparsed sum, each amount added in the order given. */
function addToBuckets(ledger: Ledger, events: readonly RealizedEvent[]): void {
  for (const e of events) {
    if (Number.isNaN(e.micros)) {
      ledger.unparsed += e.amount;
      ledger.unparsedCount++;
    } else {
      const day = microsToDay(e.micros);
      ledger.buckets.set(day, (ledger.buckets.get(day) ?? 0) + e.amount);
    }
  }
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
