/**
 * Pure state transitions of the trade log (SPEC §4). Each returns a NEW log
 * and never mutates its input; unchanged trades are shared with the old log.
 * Inputs are expected to come from the validate* functions; `now` is passed in.
 */
import { TradeNotFoundError, TradeStateConflictError, ValidationError } from '../errors.js';
import { partialExitsOf, riskPerUnit } from './formulas.js';
import { deriveTrades, logIndexOf, positionOfClientId, positionOfId } from './log-index.js';
import { round2, round6 } from './round.js';
import { tradeTimestamp } from './time.js';
import type { PartialExit, Trade, TradeLog } from './types.js';
import {
  stopTargetProblem,
  validatePatch,
  type CloseInput,
  type OpenInput,
  type PartialInput,
  type PriceField,
} from './validate.js';

export interface PartialResult {
  trade_id: string;
  symbol: string;
  direction: Trade['direction'];
  size_closed: number;
  remaining_size: number;
  exit_price: number;
  partial_pnl: number;
  entry_price: number;
}

export interface ClosePnl {
  pnl_usd: number;
  pnl_pct: number;
  r_multiple: number;
}

/** "T" + the number zero-padded to at least 3 digits: T001, T042, T1000. */
export function formatTradeId(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError('next_id', n, 'must be a non-negative integer');
  return `T${String(n).padStart(3, '0')}`;
}

/** The number of an id of the form T<digits>, else null (ids written by hand may be anything). */
export function tradeIdNumber(id: unknown): number | null {
  // A loop, not /^T(\d+)$/: every open's first pass reads each id of the history, and a match
  // allocates an array and a substring per id.
  if (typeof id !== 'string' || id.length < 2 || id.charCodeAt(0) !== 84 /* T */) return null;
  let n = 0;
  for (let i = 1; i < id.length; i++) {
    const d = id.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return null;
    n = n * 10 + d;
  }
  // Past 15 digits the running sum can round otherwise than Number()'s one correctly rounded parse.
  return id.length > 16 ? Number(id.slice(1)) : n;
}

/** The first trade with this id (log-index.ts: no scan of a store's log). */
export function findTrade(log: TradeLog, id: string): Trade | undefined {
  return log.trades[positionOfId(log.trades, id)];
}

/** The trade opened with this idempotency key, if any. */
export function findTradeByClientId(log: TradeLog, clientId: string): Trade | undefined {
  return log.trades[positionOfClientId(log.trades, clientId)];
}

/**
 * The number the next trade gets: log.next_id, unless a trade already holds
 * that number or a higher one (a log edited by hand, or next_id rolled back),
 * in which case max + 1, so that ids stay unique.
 */
export function nextTradeNumber(log: TradeLog): number {
  let n = log.next_id;
  for (const t of log.trades) {
    const k = tradeIdNumber(t.id);
    if (k !== null && k >= n) n = k + 1;
  }
  return n;
}

/** `number`: nextTradeNumber(log), when the caller already knows it (the store keeps it over a group: open-state.ts). */
export function applyOpen(log: TradeLog, input: OpenInput, now: Date, number: number = nextTradeNumber(log)): { log: TradeLog; trade: Trade } {
  // Field order is the Python writer's, so both produce the same file.
  const trade: Trade = {
    id: formatTradeId(number),
    symbol: input.symbol,
    direction: input.direction,
    entry_price: input.entry_price,
    stop_price: input.stop_price,
    original_stop: input.stop_price,
    target_price: input.target_price,
    size: input.size,
    original_size: input.size,
    entry_time: tradeTimestamp(now),
    exit_price: null,
    exit_time: null,
    exit_reason: null,
    pnl_usd: null,
    pnl_pct: null,
    r_multiple: null,
    status: 'OPEN',
    setup_type: input.setup_type ?? null,
    grade: input.grade ?? null,
    notes: input.notes ?? null,
  };
  if (input.client_id !== undefined) trade.client_id = input.client_id;
  return { log: { ...log, trades: deriveTrades(log.trades, [[log.trades.length, trade]]), next_id: number + 1 }, trade };
}

/** Per-unit move in the trade's favour: exit − entry for LONG, entry − exit for SHORT. */
function favourableMove(trade: Trade, exitPrice: number): number {
  if (trade.direction === 'LONG') return exitPrice - trade.entry_price;
  if (trade.direction === 'SHORT') return trade.entry_price - exitPrice;
  throw new ValidationError(`direction of ${trade.id}`, trade.direction, "is not 'LONG' or 'SHORT'; fix the log by hand");
}

/**
 * P&L of closing the size still open at exitPrice (SPEC §4). R is measured
 * against risk(t), the risk as planned (original_stop, see formulas.ts).
 */
export function closePnl(trade: Trade, exitPrice: number): ClosePnl {
  const p = favourableMove(trade, exitPrice);
  const risk = riskPerUnit(trade);
  return {
    pnl_usd: round2(p * trade.size),
    pnl_pct: round2((p / trade.entry_price) * 100),
    r_multiple: risk === 0 ? 0 : round2(p / risk),
  };
}

/** Index of the OPEN trade `id`; TradeNotFoundError / TradeStateConflictError otherwise. */
function openTradeIndex(log: TradeLog, id: string, action: string): number {
  const i = positionOfId(log.trades, id);
  const trade = log.trades[i];
  if (trade === undefined) throw new TradeNotFoundError(id);
  if (trade.status !== 'OPEN') throw new TradeStateConflictError(id, trade.status, action);
  return i;
}

function replaceAt(log: TradeLog, i: number, trade: Trade): TradeLog {
  return { ...log, trades: deriveTrades(log.trades, [[i, trade]]) };
}

export function applyClose(log: TradeLog, id: string, input: CloseInput, now: Date): { log: TradeLog; trade: Trade } {
  const i = openTradeIndex(log, id, 'close');
  const old = log.trades[i] as Trade;
  const pnl = closePnl(old, input.exit_price);
  const trade: Trade = {
    ...old,
    exit_price: input.exit_price,
    exit_time: tradeTimestamp(now),
    exit_reason: input.exit_reason ?? null,
    // Lessons written earlier through updateTrade survive a close that gives none.
    lessons: input.lessons !== undefined ? input.lessons : (old.lessons ?? null),
    status: 'CLOSED',
    ...pnl,
  };
  return { log: replaceAt(log, i, trade), trade };
}

export function applyPartial(
  log: TradeLog,
  id: string,
  input: PartialInput,
  now: Date,
): { log: TradeLog; result: PartialResult } {
  const i = openTradeIndex(log, id, 'partially close');
  const old = log.trades[i] as Trade;
  const sizeClosed = round6(old.size * input.fraction);
  const remaining = round6(old.size - sizeClosed);
  if (sizeClosed <= 0) {
    throw new ValidationError('fraction', input.fraction, `closes nothing of size ${old.size} once rounded to 6 decimals`);
  }
  if (remaining <= 0) {
    throw new ValidationError('fraction', input.fraction, `would leave nothing of size ${old.size} open; close the trade instead`);
  }
  const pnl = round2(favourableMove(old, input.exit_price) * sizeClosed);
  const exit: PartialExit = {
    exit_price: input.exit_price,
    size_closed: sizeClosed,
    pnl_usd: pnl,
    reason: input.reason ?? null,
    timestamp: tradeTimestamp(now),
  };
  const trade: Trade = { ...old, size: remaining, partial_exits: [...partialExitsOf(old), exit] };
  const result: PartialResult = {
    trade_id: old.id,
    symbol: old.symbol,
    direction: old.direction,
    size_closed: sizeClosed,
    remaining_size: remaining,
    exit_price: input.exit_price,
    partial_pnl: pnl,
    entry_price: old.entry_price,
  };
  return { log: replaceAt(log, i, trade), result };
}

const PRICE_FIELDS: readonly PriceField[] = ['stop_price', 'target_price'];

/**
 * Merges a validated patch. Notes, grade, setup type, lessons and extension
 * fields may change on any trade (a post-mortem on a closed trade is normal);
 * a stop or target only on an OPEN trade, since it means nothing afterwards,
 * and only to where it keeps its side (stopTargetProblem: the rule openTrade's
 * validation implies, minus the stop-below-entry part that trailing lifts).
 */
function patched(trade: Trade, rawPatch: unknown): Trade {
  const patch = validatePatch(rawPatch);
  const moved = PRICE_FIELDS.filter((f) => f in patch);
  if (trade.status !== 'OPEN' && moved.length > 0) {
    throw new TradeStateConflictError(trade.id, trade.status, 'change the stop or target of');
  }
  const next: Trade = { ...trade, ...patch };
  const bad = stopTargetProblem(next, moved);
  if (bad !== null) throw new ValidationError(bad.field, bad.value, bad.problem);
  return next;
}

export function applyUpdate(log: TradeLog, id: string, patch: unknown): { log: TradeLog; trade: Trade } {
  const i = positionOfId(log.trades, id);
  const old = log.trades[i];
  if (old === undefined) throw new TradeNotFoundError(id);
  const trade = patched(old, patch);
  return { log: replaceAt(log, i, trade), trade };
}

/**
 * Applies every [id, patch] in order, all or nothing: the first refusal
 * throws and, the input being untouched, nothing of the batch takes effect.
 * The same id may appear twice; its patches apply in order, each checked as
 * it applies, as the same updateTrade calls in a row would be: to move a stop
 * and the target it must stay below together, put both in one patch.
 */
export function applyUpdatesBatch(
  log: TradeLog,
  pairs: readonly (readonly [string, unknown])[],
): { log: TradeLog; trades: Trade[] } {
  if (!Array.isArray(pairs)) throw new ValidationError('updates', pairs, 'must be an array of [id, patch] pairs');
  const indexed = logIndexOf(log.trades);
  const index = new Map<string, number>();
  if (indexed === null) {
    log.trades.forEach((t, i) => {
      if (!index.has(t.id)) index.set(t.id, i); // first wins, as findTrade does
    });
  }
  const positionOf = (id: string): number | undefined => (indexed === null ? index.get(id) : indexed.ids.get(id)?.[0]);
  const writes = new Map<number, Trade>();
  const changed: Trade[] = [];
  pairs.forEach((pair, n) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw new ValidationError(`updates[${n}]`, pair, 'must be an [id, patch] pair');
    }
    const [id, patch] = pair;
    const i = positionOf(id);
    if (i === undefined) throw new TradeNotFoundError(id);
    const trade = patched(writes.get(i) ?? (log.trades[i] as Trade), patch);
    writes.set(i, trade);
    changed.push(trade);
  });
  const next = deriveTrades(log.trades, [...writes].sort((a, b) => a[0] - b[0]));
  return { log: { ...log, trades: next }, trades: changed };
}
