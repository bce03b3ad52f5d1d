/**
 * What the open checks read from the whole history, kept up to date over the opens of a group.
 *
 * Each openTrade runs the drawdown halt (realized P&L and every realized event bucketed by day),
 * equity, the duplicate / position-cap / correlation scans and the next trade number over every
 * trade of the log. In a group of k opens that is k passes over the history, while each open only
 * appends one OPEN trade without partial exits, which realizes nothing. OpenState holds what those
 * passes compute; `continueOpenState` carries it over trades appended to a log, by the same fold
 * steps in the same order as the full pass (tally's two sums, the ledger's buckets), so every
 * number is the same floating-point value the full functions give — test/open-state.test.ts
 * checks that against haltState, equityOf, checkOpenRisk and nextTradeNumber.
 *
 * Soundness rests on immutability: a state is remembered only for a frozen trades array whose
 * trades (and their partial exits) are frozen, and it is continued only when the new array starts
 * with the very same trade objects. Anything else (a close, a partial, an update replacing a trade,
 * a log read anew) gets the full pass.
 */
import { buildLedger, extendLedger, realizedEvents, type Ledger } from './derive/core.js';
import { noteLedgerExtension } from './derive/book.js';
import { haltStateFrom } from './derive/risk-state.js';
import type { HaltState } from './derive/types.js';
import { addPartials, isRecord, netPnl } from './formulas.js';
import { knownChanges } from './log-index.js';
import { tradeIdNumber } from './trade-ops.js';
import type { DrawdownLimits, Trade, TradeLog } from './types.js';

export interface OpenState {
  /** The trades array this state describes. */
  readonly trades: readonly Trade[];
  /** tally's two sums, accumulated as tally does: Σ net(t) over CLOSED trades, Σ partial-exit pnl over OPEN ones. */
  readonly closedSum: number;
  readonly openPartials: number;
  /** buildLedger(trades). Shared between states while appended trades realize nothing; never changed once built. */
  readonly ledger: Ledger;
  /** openTradesOf: the OPEN trades in file order. */
  readonly open: readonly Trade[];
  /** The largest T<digits> id number (tradeIdNumber), -Infinity when none. */
  readonly maxIdNumber: number;
  /** How many trades of `trades` it describes: all of them, except in a `settled` state. */
  readonly count: number;
  /**
   * The state of the trades before the first OPEN one (count = that index), when the trades are
   * sealed: what a close, a partial or an update of an OPEN trade cannot change. The next state
   * continues from it when the log changed at or after it, so that the open after a close folds the
   * trades from the first OPEN one on instead of the whole history. null: not known.
   */
  readonly settled: OpenState | null;
}

/** tally(trades).realized, with the same grouping: (Σ net over closed) + (Σ partials over open). */
function realizedOf(s: OpenState): number {
  return s.closedSum + s.openPartials;
}

/** equityOf(log, startingCapital) of the log the state describes. */
export function equityFrom(s: OpenState, startingCapital: number): number {
  return startingCapital + realizedOf(s);
}

/** haltState(log, options) of the log the state describes. */
export function haltFrom(
  s: OpenState,
  options: { startingCapital: number; drawdownLimits?: Partial<DrawdownLimits> | undefined; now: Date },
): HaltState {
  return haltStateFrom(realizedOf(s), s.ledger, options);
}

/** nextTradeNumber(log): log.next_id, unless an id holds that number or a higher one, then that + 1. */
export function nextNumberFrom(s: OpenState, log: TradeLog): number {
  // nextTradeNumber raises n to k + 1 for each k >= n: it ends at max(next_id, max k + 1) — the
  // same float, since the last raise is by the largest k.
  const n = log.next_id;
  return s.maxIdNumber >= n ? s.maxIdNumber + 1 : n;
}

/**
 * The full pass. null when an entry is not an object: the risk checks throw on such a log, and
 * the caller runs them as they are to keep that.
 */
export function openStateOf(trades: readonly Trade[]): OpenState | null {
  const acc = { closedSum: 0, openPartials: 0, open: [] as Trade[], maxIdNumber: -Infinity };
  for (const t of trades) if (!fold(acc, t)) return null;
  return { trades, count: trades.length, ...acc, ledger: buildLedger(trades), settled: null };
}

/** The index of the first OPEN trade of `trades` at or after `from`; trades.length when none. */
function firstOpenFrom(trades: readonly Trade[], from: number): number {
  let i = from;
  // `?.`: an entry may be null (then the fold refuses the log; this only must not throw first)
  while (i < trades.length && (trades[i] as Trade | null)?.status !== 'OPEN') i++;
  return i;
}

/**
 * `full`'s state with its settled prefix: the state of its trades before the first OPEN one,
 * continued from `base` (a state of a prefix of the same trades, with the same objects) or, when
 * none, from nothing; `full` itself when no trade is OPEN. A prefix that grows gets its own ledger
 * (foldOnto copies), since the ledger of a state continued from it is a copy too.
 */
function withSettled(full: OpenState, base: OpenState | null): OpenState {
  const trades = full.trades;
  const c = firstOpenFrom(trades, base === null ? 0 : base.count);
  if (c === trades.length) return { ...full, settled: { ...full, settled: null } };
  if (base !== null && c === base.count) return { ...full, settled: base };
  const prefix = foldOnto(base ?? emptyState(trades), trades, c);
  return prefix === null ? full : { ...full, settled: prefix };
}

/** The state of no trades of `trades`. */
function emptyState(trades: readonly Trade[]): OpenState {
  return { trades, count: 0, closedSum: 0, openPartials: 0, open: [], maxIdNumber: -Infinity, ledger: buildLedger([]), settled: null };
}

/**
 * withSettled(openStateOf(trades), null) in one pass instead of two: the trades before the first
 * OPEN one folded first (the settled prefix), the rest folded onto that — the same steps in the
 * same order as the full pass, so the same numbers. A cold store's first write paid the second
 * pass over nearly the whole history (the OPEN trades are the recent ones).
 */
function openStateWithSettled(trades: readonly Trade[]): OpenState | null {
  const c = firstOpenFrom(trades, 0);
  const prefix = foldOnto(emptyState(trades), trades, c);
  if (prefix === null) return null;
  if (c === trades.length) return { ...prefix, settled: { ...prefix, settled: null } };
  const full = foldOnto(prefix, trades, trades.length);
  return full === null ? null : { ...full, settled: prefix };
}

/**
 * The state of `trades` from the state of a log it extends (the same trade objects first, then
 * more), folding only the appended trades; null when `trades` does not extend `prev.trades` or an
 * appended entry is not an object. The caller must know that neither array nor any trade in it
 * can change (OpenStateTracker checks that they are frozen).
 */
function continueOpenState(prev: OpenState, trades: readonly Trade[]): OpenState | null {
  const m = prev.count;
  if (trades.length < m) return null;
  // Derived from prev's array (log-index.ts): only the positions written can differ.
  const known = knownChanges(prev.trades, trades);
  if (known !== null) {
    for (const i of known) if (i < m && trades[i] !== prev.trades[i]) return null;
  } else if (trades !== prev.trades) for (let i = 0; i < m; i++) if (trades[i] !== prev.trades[i]) return null;
  if (trades.length === m) return { ...prev, trades, count: m };
  return foldOnto(prev, trades, trades.length);
}

/** `prev` (a state of trades[0, prev.count)) carried over trades[prev.count, to); null when one is not an object. */
function foldOnto(prev: OpenState, trades: readonly Trade[], to: number): OpenState | null {
  const m = prev.count;
  const added = trades.slice(m, to);
  const acc = { closedSum: prev.closedSum, openPartials: prev.openPartials, open: prev.open.slice(), maxIdNumber: prev.maxIdNumber };
  for (const t of added) if (!fold(acc, t)) return null;
  const events = realizedEvents(added);
  let ledger = prev.ledger;
  if (events.length > 0) {
    // A new one: prev's ledger still describes prev's log.
    ledger = extendLedger(prev.ledger, events);
    noteLedgerExtension(ledger, prev.ledger);
  }
  return { trades, count: to, ...acc, ledger, settled: null };
}

/** One trade of the full pass or of a continuation; false for an entry that is not an object. */
function fold(acc: { closedSum: number; openPartials: number; open: Trade[]; maxIdNumber: number }, t: Trade): boolean {
  if (!isRecord(t)) return false;
  // tally's steps, in its order: one sum per status, each in file order.
  if (t.status === 'CLOSED') acc.closedSum += netPnl(t);
  else if (t.status === 'OPEN') {
    acc.openPartials = addPartials(acc.openPartials, t);
    acc.open.push(t);
  }
  const k = tradeIdNumber(t.id);
  if (k !== null && k > acc.maxIdNumber) acc.maxIdNumber = k;
  return true;
}

/** Whether nothing the state reads of this trade can change: it, its partial_exits and each exit are frozen. */
function sealed(t: unknown): boolean {
  if (!Object.isFrozen(t)) return false;
  if (!isRecord(t)) return true;
  const exits = t.partial_exits;
  if (!Array.isArray(exits)) return true;
  if (!Object.isFrozen(exits)) return false;
  for (const p of exits) if (!Object.isFrozen(p)) return false;
  return true;
}

/**
 * The state of the log last asked about, continued to the next when the next extends it. Holds
 * one state: within a group each call's log extends the one before it.
 */
export class OpenStateTracker {
  #last: OpenState | null = null;

  /** The state of `log.trades`; null when openStateOf gives none (then use the full functions). */
  stateOf(log: TradeLog): OpenState | null {
    const trades = log.trades;
    if (!Array.isArray(trades)) return null;
    const last = this.#last;
    if (last !== null && trades === last.trades) return last;
    // Only a frozen array of sealed trades can be remembered: another could change under the state.
    const frozen = Object.isFrozen(trades);
    let state: OpenState | null = null;
    // Continued from the last state when the log only grew, else from its settled prefix when the
    // log changed after it (a close of a recent trade): every trade folded must be sealed.
    for (const base of last === null || !frozen ? [] : [last, last.settled]) {
      if (base === null || trades.length < base.count) continue;
      let ok = true;
      for (let i = base.count; i < trades.length && ok; i++) if (!sealed(trades[i])) ok = false;
      if (ok) state = continueOpenState(base, trades);
      if (state !== null) {
        state = withSettled(state, base === last ? last.settled : base);
        break;
      }
    }
    if (state === null) {
      if (!frozen || !trades.every(sealed)) {
        this.#last = null;
        return openStateOf(trades);
      }
      state = openStateWithSettled(trades);
      if (state === null) {
        this.#last = null;
        return null;
      }
    }
    this.#last = state;
    return state;
  }
}
