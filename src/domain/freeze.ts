/**
 * Deep freezing of logs. A store's records are also its cache, and the open checks reuse what
 * they computed for a log only while its trades cannot change (open-state.ts): both stores hand
 * out and keep frozen logs only.
 */
import { isSealed, markSealed } from './log-index.js';
import type { TradeLog } from './types.js';

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Unchanged trades were frozen by an earlier write: one check each, no walk (and no call:
    // at 10,000 trades a call per element was measurable on every write).
    if (Array.isArray(value)) {
      for (const v of value) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v);
      markSealed(value); // every entry is frozen now: log-index.ts may index it
    }
    else for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}

/**
 * deepFreeze of a call's new log, given the log the call was given (deep-frozen: every log a call
 * gets is). A trade the new log holds at the same place as the old one is that frozen trade, so it
 * is compared, not asked: at 10,000 trades asking Object.isFrozen of each was the largest cost of
 * an open in a group once the checks stopped walking the history (open-state.ts).
 */
export function freezeAfter(next: TradeLog, prev: TradeLog): TradeLog {
  // A trades array a domain step derived from a sealed one is sealed at birth (log-index.ts): nothing to walk.
  if (next !== null && typeof next === 'object' && isSealed(next.trades)) return deepFreeze(next);
  if (next !== null && typeof next === 'object' && !Object.isFrozen(next) && Array.isArray(next.trades) && !Object.isFrozen(next.trades)) {
    const trades = next.trades;
    const old: readonly unknown[] = Array.isArray(prev.trades) ? prev.trades : [];
    for (let i = 0; i < trades.length; i++) {
      const t = trades[i];
      if (t !== old[i] && t !== null && typeof t === 'object' && !Object.isFrozen(t)) deepFreeze(t);
    }
    Object.freeze(trades);
    // Its trades are the sealed old ones and those frozen just now.
    if (isSealed(prev.trades)) markSealed(trades);
  }
  return deepFreeze(next);
}
