/**
 * The trade formulas, in one place: FORMULAS.md's notation (net(t), realized,
 * equity, risk(t), osize(t), wins and losses) and the R of a trade. The store's
 * risk checks and closes, the reconciler's derived files and the report all
 * compute with these, so no two of them can disagree about a trade.
 *
 * Tolerance of damaged fields, one rule for every caller. These functions read
 * trades as the file holds them, and a hand-edited or older Python log may hold
 * anything:
 *   - An amount (a trade's or a partial exit's `pnl_usd`) that is not a finite
 *     number counts 0, as Python's `x or 0` treats None.
 *   - `partial_exits` that is not an array means no partial exits; an entry that
 *     is not an object is skipped.
 *   - `original_stop` / `original_size` fall back to `stop_price` / `size` unless
 *     they are a non-zero number (Python's `or`: 0, null and missing fall through).
 *   - A price or size that is still not a number after that (a null
 *     `entry_price`, no stop at all) makes risk(t) or osize(t) NaN: such a trade
 *     has no R and no heat, never a made-up one.
 *   - List entries that are not objects, and statuses other than OPEN and
 *     CLOSED, count nothing.
 * The store only hands in logs validateLogShape accepted (numbers finite or
 * null; OPEN trades with a positive entry, stop and size; partial exits with a
 * numeric pnl_usd), so for what the store computes the rule never steps in.
 *
 * Sums run in file order and grouped as FORMULAS.md writes them (Σ net over
 * closed trades, then + Σ partial exits over open ones), so every caller gets
 * the same floating-point result, not merely the same value to the cent.
 */
import { r2 } from './round.js';
import type { PartialExit, Trade } from './types.js';

/** A JSON object (not null, not an array): the least a trade or a partial exit must be to count. */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** An entry of `trades` the formulas read; anything else in the list counts nothing. */
export function isTrade(x: unknown): x is Trade {
  return isRecord(x);
}

/** A P&L amount: anything but a finite number counts 0 (Python's `x or 0`). */
export function amount(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

/** A price or size as read: NaN unless it is a number, so a missing one poisons what it enters. */
function quantity(x: unknown): number {
  return typeof x === 'number' ? x : NaN;
}

/** Python's `a or b` for a numeric field: a non-zero number a, else b. */
function quantityOr(a: unknown, b: unknown): number {
  return typeof a === 'number' && a !== 0 && !Number.isNaN(a) ? a : quantity(b);
}

const NO_PARTIALS: readonly PartialExit[] = Object.freeze([]);

/** The trade's partial exits; none when the field is missing or not an array (null in a hand-edited file). */
export function partialExitsOf(trade: Trade): readonly PartialExit[] {
  return Array.isArray(trade.partial_exits) ? trade.partial_exits : NO_PARTIALS;
}

/**
 * sum + each partial exit's pnl_usd, added one at a time in list order (Python's sum() does the same from 0).
 * Exported for open-state.ts, which continues tally's sums over appended trades and must add exactly as tally does.
 */
export function addPartials(sum: number, trade: Trade): number {
  const exits = trade.partial_exits;
  if (!Array.isArray(exits)) return sum;
  // An index, not for-of: called for every trade of a log read cold, before V8 has compiled it,
  // where an iterator per trade is most of the cost.
  for (let i = 0; i < exits.length; i++) {
    const p: unknown = exits[i];
    if (isRecord(p)) sum += amount(p.pnl_usd);
  }
  return sum;
}

/** Σ pnl_usd of the trade's partial exits. */
export function partialPnl(trade: Trade): number {
  return addPartials(0, trade);
}

/** net(t) = (pnl_usd or 0) + Σ partial-exit pnl_usd. */
export function netPnl(trade: Trade): number {
  return amount(trade.pnl_usd) + partialPnl(trade);
}

/** FORMULAS.md's notation over a trade list, from one pass in file order. */
export interface Tally {
  closed: Trade[];
  /** net(t) of closed[i]. */
  closedNet: number[];
  open: Trade[];
  /** Σ net over closed + Σ partial-exit pnl_usd over open. */
  realized: number;
  /** Closed trades with net > 0 / net < 0 (the rest are breakeven). */
  wins: number;
  losses: number;
}

/** closed, open, net(t), realized and the win/loss counts, as FORMULAS.md defines them. */
export function tally(trades: readonly unknown[]): Tally {
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
      const n = netPnl(t);
      closed.push(t);
      closedNet.push(n);
      closedSum += n;
      if (n > 0) wins++;
      else if (n < 0) losses++;
    } else if (t.status === 'OPEN') {
      open.push(t);
      openPartials = addPartials(openPartials, t);
    }
  }
  return { closed, closedNet, open, realized: closedSum + openPartials, wins, losses };
}

/** realized: Σ net over CLOSED trades + Σ partial-exit P&L over OPEN trades. */
export function realizedPnl(trades: readonly unknown[]): number {
  return tally(trades).realized;
}

/** Equity = starting capital + realized P&L (unrounded; writers apply round2). */
export function equityOf(log: { readonly trades: readonly unknown[] }, startingCapital: number): number {
  return startingCapital + realizedPnl(log.trades);
}

/** |entry − stop|: what one unit loses if the stop is hit, for a trade or for one about to open. */
export function stopDistance(entry: number, stop: number): number {
  return Math.abs(entry - stop);
}

/** risk(t) = |entry_price − (original_stop or stop_price)|: risk per unit as planned, not as trailed. */
export function riskPerUnit(trade: Trade): number {
  return stopDistance(quantity(trade.entry_price), quantityOr(trade.original_stop, trade.stop_price));
}

/** osize(t) = original_size or size. */
export function originalSize(trade: Trade): number {
  return quantityOr(trade.original_size, trade.size);
}

/** Money at risk when the trade was opened: risk(t) × osize(t). */
export function initialRiskUsd(trade: Trade): number {
  return riskPerUnit(trade) * originalSize(trade);
}

/** What a stop-out at the current stop would lose now; `usd` null when that is unknown. */
export interface RiskToStop {
  /** (entry − stop) × size for a LONG, (stop − entry) × size for a SHORT, unrounded; 0 once the stop is at or past entry. */
  usd: number | null;
  /** The stop is at or past entry: a stop-out loses nothing. */
  lockedIn: boolean;
}

/**
 * Risk to the current stop (trailed, not as planned) and current size. Damaged fields give no
 * figure, never a made-up one: an entry or size that is not a number > 0, a stop that is not a
 * finite number, a direction other than LONG/SHORT or an overflow give `usd: null`.
 */
export function riskToStop(trade: Trade): RiskToStop {
  const { entry_price: entry, stop_price: stop, size } = trade;
  if (!(typeof entry === 'number' && entry > 0 && typeof stop === 'number' && Number.isFinite(stop) && typeof size === 'number' && size > 0)) {
    return { usd: null, lockedIn: false };
  }
  const adverse = trade.direction === 'LONG' ? entry - stop : trade.direction === 'SHORT' ? stop - entry : NaN;
  if (Number.isNaN(adverse)) return { usd: null, lockedIn: false };
  if (adverse <= 0) return { usd: 0, lockedIn: true };
  const usd = adverse * size;
  return Number.isFinite(usd) ? { usd, lockedIn: false } : { usd: null, lockedIn: false };
}

/**
 * Net R: net(t) ÷ initial risk (risk(t) × osize(t)), r2; null unless the
 * initial risk is a finite number > 0. Unlike the stored r_multiple, which the
 * original computes from the last close's price move alone, it counts every
 * partial exit: a win never gets a negative R nor a loss a positive one. The
 * book (derive/book.ts) uses it; the derived files' original fields keep the
 * original's R (rMultipleOf), as FORMULAS.md defines them.
 */
export function netR(trade: Trade): number | null {
  const risk = initialRiskUsd(trade);
  if (!(risk > 0 && Number.isFinite(risk))) return null;
  return r2(netPnl(trade) / risk);
}

/**
 * The R of a trade: its `r_multiple` when that is a non-zero number, else
 * r2(pnl ÷ (risk(t) × osize(t))) when both are > 0, else null (no R). Callers
 * choose the P&L: equity.json and the report use net(t), setup_performance.json
 * the closing pnl_usd alone (FORMULAS.md).
 */
export function rMultipleOf(trade: Trade, pnl: number): number | null {
  const r = trade.r_multiple;
  if (typeof r === 'number' && Number.isFinite(r) && r !== 0) return r;
  const risk = riskPerUnit(trade);
  const size = originalSize(trade);
  if (risk > 0 && size > 0 && Number.isFinite(risk * size)) return r2(pnl / (risk * size));
  return null;
}
