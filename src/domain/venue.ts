/**
 * The log against the venue (docs/venue.md): what the exchange holds now, compared with the trades
 * the log has open, and the plan that settles what can be settled without guessing. Pure: the
 * store runs `compareVenue` on a lock-free read and `adoptVenue` as the step of one write call.
 *
 * Instruments are compared by their key (domain/instrument.ts), as the duplicate check does.
 * Sizes are the size still open (a trade's `size`, after partial exits). Order of the result, so
 * that two runs over the same input print the same: the log's instruments in the order their first
 * open trade appears in the log, then the venue's orphans in the order of `positions`.
 */
import { ValidationError } from '../errors.js';
import { instrumentKey } from './instrument.js';
import { round6 } from './round.js';
import { applyClose, applyPartial } from './trade-ops.js';
import type { Trade, TradeLog } from './types.js';
import { isPlainObject } from './validate.js';

export type VenueSide = 'LONG' | 'SHORT';
export interface VenuePosition { symbol: string; side: VenueSide; size: number; entry_price?: number | null }
export type DriftKind = 'GHOST' | 'ORPHAN' | 'SIZE' | 'SIDE';
export interface DriftItem { kind: DriftKind; symbol: string; trade_id: string | null; log_size: number | null; venue_size: number | null; log_side: VenueSide | null; venue_side: VenueSide | null }
export interface VenueDrift { ok: boolean; items: DriftItem[]; matched: string[] }
export interface VenueAdoption { closed: string[]; reduced: string[]; unresolved: DriftItem[] }

export interface CompareOptions {
  /** A relative size difference ignored as rounding and fees: |log − venue| / max(log, venue). Default 0.001 (0.1 %). */
  tolerance?: number;
}

export interface AdoptOptions extends CompareOptions {
  /** The price each settled instrument is closed at, by symbol (matched by instrument key). */
  prices: Record<string, number>;
  /** The exit_reason of a ghost's close and a partial's reason. Default 'venue_flat'. */
  exitReason?: string;
}

/** What each kind means, in words, for a person reading the CLI's table or the report. */
export const DRIFT_MEANING: Readonly<Record<DriftKind, string>> = {
  GHOST: 'open in the log, flat at the venue',
  ORPHAN: 'held at the venue, not open in the log',
  SIZE: 'same side, sizes differ beyond the tolerance',
  SIDE: 'opposite sides',
};

export const DEFAULT_VENUE_TOLERANCE = 0.001;
export const DEFAULT_VENUE_EXIT_REASON = 'venue_flat';

const SIDES: ReadonlySet<unknown> = new Set(['LONG', 'SHORT']);

/**
 * What the venue holds, checked and copied: an array of { symbol, side, size, entry_price? }; a
 * size of 0 is flat. Other keys are ignored (a venue's extra fields). Refused, naming the field and
 * the value: a non-array, a blank or non-string symbol, an unknown side, a negative or non-finite
 * size, an entry_price that is not a positive number or null, two entries on one instrument.
 */
export function validateVenuePositions(positions: unknown): VenuePosition[] {
  if (!Array.isArray(positions)) throw new ValidationError('positions', positions, 'must be an array of { symbol, side, size } positions');
  const seen = new Map<string, number>();
  return positions.map((p: unknown, i) => {
    const at = `positions[${i}]`;
    if (!isPlainObject(p)) throw new ValidationError(at, p, 'must be an object { symbol, side, size }');
    const { symbol, side, size, entry_price: entry } = p;
    if (typeof symbol !== 'string' || instrumentKey(symbol) === '') throw new ValidationError(`${at}.symbol`, symbol, 'must be a non-blank string');
    if (!SIDES.has(side)) throw new ValidationError(`${at}.side`, side, "must be 'LONG' or 'SHORT'");
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) throw new ValidationError(`${at}.size`, size, 'must be a finite number >= 0 (0 is flat)');
    if (entry !== undefined && entry !== null && (typeof entry !== 'number' || !Number.isFinite(entry) || entry <= 0)) {
      throw new ValidationError(`${at}.entry_price`, entry, 'must be a finite number > 0, or null');
    }
    const key = instrumentKey(symbol);
    const first = seen.get(key);
    if (first !== undefined) throw new ValidationError(`${at}.symbol`, symbol, `names the same instrument as positions[${first}]`);
    seen.set(key, i);
    const out: VenuePosition = { symbol, side: side as VenueSide, size };
    if (entry !== undefined) out.entry_price = entry as number | null;
    return out;
  });
}

/** The tolerance option: a finite number in [0, 1). */
export function validateTolerance(value: unknown): number {
  if (value === undefined) return DEFAULT_VENUE_TOLERANCE;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new ValidationError('tolerance', value, 'must be a number >= 0 and < 1 (a relative size difference)');
  }
  return value;
}

/**
 * The prices of an adoption, checked and copied, keyed by instrument key: each a finite number > 0
 * (`prices.BTC` names a bad one); two keys naming one instrument ("BTC" and "btc") are refused.
 */
export function validateVenuePrices(prices: unknown): Map<string, number> {
  if (!isPlainObject(prices)) throw new ValidationError('prices', prices, 'must be an object of { symbol: price }');
  const out = new Map<string, number>();
  const named = new Map<string, string>();
  for (const [symbol, price] of Object.entries(prices)) {
    const key = instrumentKey(symbol);
    if (key === '') throw new ValidationError('prices', symbol, 'has a blank symbol');
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) throw new ValidationError(`prices.${symbol}`, price, 'must be a finite number > 0');
    const other = named.get(key);
    if (other !== undefined) throw new ValidationError(`prices.${symbol}`, price, `names the same instrument as prices.${other}`);
    named.set(key, symbol);
    out.set(key, price);
  }
  return out;
}

/** The exitReason option: a non-blank string. */
export function validateExitReason(value: unknown): string {
  if (value === undefined) return DEFAULT_VENUE_EXIT_REASON;
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError('exitReason', value, 'must be a non-blank string');
  return value;
}

/** The log's open position on one instrument: its trades in log order, the net signed size. */
interface LogPosition {
  symbol: string;
  trades: Trade[];
  net: number;
}

function logPositions(log: TradeLog): Map<string, LogPosition> {
  const byKey = new Map<string, LogPosition>();
  for (const t of log.trades) {
    if (t.status !== 'OPEN' || typeof t.symbol !== 'string') continue;
    const key = instrumentKey(t.symbol);
    let p = byKey.get(key);
    if (p === undefined) byKey.set(key, (p = { symbol: t.symbol, trades: [], net: 0 }));
    p.trades.push(t);
    p.net = round6(p.net + (t.direction === 'SHORT' ? -t.size : t.size));
  }
  return byKey;
}

function sideOf(signed: number): VenueSide | null {
  return signed > 0 ? 'LONG' : signed < 0 ? 'SHORT' : null;
}

/** Whether two sizes differ by no more than `tolerance` of the larger. */
function sameSize(a: number, b: number, tolerance: number): boolean {
  const larger = Math.max(a, b);
  return larger === 0 || Math.abs(a - b) <= tolerance * larger;
}

/**
 * The drift between the log's open trades and the venue's positions (see the file's comment for the
 * order). Several open trades on one instrument (a damaged log) count as their net size, and their
 * item has no trade_id: adoption leaves it to a person. A flat side's size is 0 and its side null.
 */
export function compareVenue(log: TradeLog, positions: readonly VenuePosition[], options: CompareOptions = {}): VenueDrift {
  const tolerance = validateTolerance(options.tolerance);
  const mine = logPositions(log);
  const venue = new Map<string, VenuePosition>();
  for (const p of positions) if (p.size > 0) venue.set(instrumentKey(p.symbol), p);
  const items: DriftItem[] = [];
  const matched: string[] = [];
  for (const [key, p] of mine) {
    const logSide = sideOf(p.net);
    const logSize = Math.abs(p.net);
    const v = venue.get(key);
    const item = (kind: DriftKind): DriftItem => ({
      kind,
      symbol: p.symbol,
      trade_id: p.trades.length === 1 ? (p.trades[0] as Trade).id : null,
      log_size: logSize,
      venue_size: v?.size ?? 0,
      log_side: logSide,
      venue_side: v?.side ?? null,
    });
    if (v === undefined) {
      if (logSide === null) matched.push(p.symbol);
      else items.push(item('GHOST'));
    } else if (logSide === null) {
      items.push({ ...item('ORPHAN'), symbol: v.symbol });
    } else if (v.side !== logSide) {
      items.push(item('SIDE'));
    } else if (!sameSize(logSize, v.size, tolerance)) {
      items.push(item('SIZE'));
    } else {
      matched.push(p.symbol);
    }
  }
  for (const v of positions) {
    if (v.size === 0 || mine.has(instrumentKey(v.symbol))) continue;
    items.push({ kind: 'ORPHAN', symbol: v.symbol, trade_id: null, log_size: 0, venue_size: v.size, log_side: null, venue_side: v.side });
  }
  return { ok: items.length === 0, items, matched };
}

/** What an adoption does to one item: close a trade, reduce it by a fraction, or leave the item to a person. */
export type AdoptionStep =
  | { action: 'close'; item: DriftItem; trade_id: string; exit_price: number }
  | { action: 'reduce'; item: DriftItem; trade_id: string; fraction: number; exit_price: number }
  | { action: 'leave'; item: DriftItem };

/**
 * The plan, item by item: a GHOST with one trade and a price is closed; a SIZE where the venue holds
 * less, with one trade and a price, is reduced by the difference; everything else is left. Never an
 * open: an orphan has no stop, and every open must pass the risk checks under the lock.
 */
export function planAdoption(drift: VenueDrift, prices: ReadonlyMap<string, number>): AdoptionStep[] {
  return drift.items.map((item): AdoptionStep => {
    const price = prices.get(instrumentKey(item.symbol));
    if (price === undefined || item.trade_id === null || item.log_size === null || item.venue_size === null) return { action: 'leave', item };
    if (item.kind === 'GHOST') return { action: 'close', item, trade_id: item.trade_id, exit_price: price };
    if (item.kind === 'SIZE' && item.venue_size < item.log_size) {
      return { action: 'reduce', item, trade_id: item.trade_id, fraction: (item.log_size - item.venue_size) / item.log_size, exit_price: price };
    }
    return { action: 'leave', item };
  });
}

/**
 * One adoption on `log` (the store's step, under the lock): compare, plan, apply each close and
 * partial close. A reduction the trade cannot take (it would round to nothing, or to the whole
 * size) is left unresolved rather than guessed.
 */
export function adoptVenue(
  log: TradeLog,
  positions: readonly VenuePosition[],
  options: { prices: ReadonlyMap<string, number>; exitReason: string; tolerance: number },
  now: Date,
): { log: TradeLog; result: VenueAdoption } {
  const plan = planAdoption(compareVenue(log, positions, { tolerance: options.tolerance }), options.prices);
  const result: VenueAdoption = { closed: [], reduced: [], unresolved: [] };
  let next = log;
  for (const step of plan) {
    if (step.action === 'close') {
      next = applyClose(next, step.trade_id, { exit_price: step.exit_price, exit_reason: options.exitReason }, now).log;
      result.closed.push(step.trade_id);
    } else if (step.action === 'reduce' && step.fraction > 0 && step.fraction < 1 && reducible(step.item, step.fraction)) {
      next = applyPartial(next, step.trade_id, { fraction: step.fraction, exit_price: step.exit_price, reason: options.exitReason }, now).log;
      result.reduced.push(step.trade_id);
    } else {
      result.unresolved.push(step.item);
    }
  }
  return { log: next, result };
}

/** applyPartial's own rounding (6 decimals) keeps something closed and something open. */
function reducible(item: DriftItem, fraction: number): boolean {
  const size = item.log_size as number;
  const closed = round6(size * fraction);
  return closed > 0 && round6(size - closed) > 0;
}
