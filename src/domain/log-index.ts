/**
 * The trades of a log indexed by id, client_id, OPEN status and the OPEN trades' instrument key, and
 * the record of how one trades array was derived from another — so that a write touches what it
 * changes instead of scanning the history (issue 17).
 *
 * Both rest on immutability, as open-state.ts does:
 * - a trades array is *sealed* when it is frozen and every trade in it is frozen: deepFreeze marks
 *   the arrays it walks, and `deriveTrades` marks the arrays it makes from a sealed one (frozen at
 *   birth, their new trades deep-frozen). Nothing of a sealed array can change.
 * - `deriveTrades` records, for the new array, its base and the positions it wrote. Recorded only
 *   when the base is sealed, so the new array is the base except there, for as long as both live.
 * - An index is kept only for a sealed array. It is built once (one pass, lazily, on the first
 *   lookup), and moves to an array derived from it in O(changes): the base loses it and rebuilds it
 *   if asked again (a write's base is seldom asked again).
 *
 * Lookups answer exactly what the scans they replace answer: the first trade in log order, an id
 * that is not a string never matched by a string query, a log whose entries are not all objects
 * left to the scan (which throws on it as before).
 */
import { instrumentKeyOf } from './instrument.js';
import type { Trade } from './types.js';

/** Positions in log order of each value, for first-match lookups that survive duplicates. */
type Positions<K> = Map<K, number[]>;

export interface LogIndex {
  /** Positions of each string id. */
  readonly ids: Positions<string>;
  /** Positions of each string client_id. */
  readonly clientIds: Positions<string>;
  /** Positions of the OPEN trades. */
  readonly open: Set<number>;
  /** Positions of the OPEN trades by instrument key (instrumentKeyOf: any value for a damaged symbol). */
  readonly openByKey: Positions<unknown>;
}

interface Derivation {
  /**
   * Held weakly: a strong base would keep every version ever derived alive through its successor
   * (a chain growing by one trades array per write: ~80 KB a write at 10,000 trades, a long-running
   * bot's memory without end). Whoever still compares against a base holds it, so it is there.
   */
  readonly base: WeakRef<readonly Trade[]>;
  /** Positions written in the new array, ascending. */
  readonly changed: readonly number[];
}

const sealedArrays = new WeakSet<readonly unknown[]>();
const derivations = new WeakMap<readonly unknown[], Derivation>();
const indexes = new WeakMap<readonly unknown[], LogIndex>();

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Marks a frozen array whose entries are all frozen (deepFreeze calls it after its walk). */
export function markSealed(trades: readonly unknown[]): void {
  if (Object.isFrozen(trades)) sealedArrays.add(trades);
}

/** Whether nothing of this array can change: it and every entry are frozen. */
export function isSealed(trades: unknown): boolean {
  return Array.isArray(trades) && sealedArrays.has(trades);
}

function deepFreezeValue(value: unknown): void {
  if (!isObject(value) || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const k in value) deepFreezeValue(value[k]);
}

/**
 * `base` with `writes` ([position, trade], ascending positions, a position at most one past the
 * end so far) applied: a trade replaced or appended. A sealed base gives a sealed array (the new
 * trades deep-frozen) that remembers its derivation and takes over the base's index; any other
 * base gives a plain copy, as `slice` did.
 */
export function deriveTrades(base: readonly Trade[], writes: readonly (readonly [number, Trade])[]): Trade[] {
  const sealed = sealedArrays.has(base);
  // A frozen array's slice() takes V8's slow path (~70x at 10,000 on Node 20); the spread does not.
  // Sealed arrays come from JSON or from here, so they hold no holes for the spread to fill.
  const trades = sealed ? [...base] : base.slice();
  const changed: number[] = [];
  for (const [i, t] of writes) {
    if (i === trades.length) trades.push(t);
    else trades[i] = t;
    if (changed[changed.length - 1] !== i) changed.push(i);
  }
  if (!sealed) return trades;
  for (const i of changed) deepFreezeValue(trades[i]);
  Object.freeze(trades);
  sealedArrays.add(trades);
  derivations.set(trades, { base: new WeakRef(base), changed });
  const ix = indexes.get(base);
  if (ix !== undefined) {
    indexes.delete(base);
    for (const i of changed) {
      unindex(ix, base[i], i);
      indexAt(ix, trades[i], i);
    }
    indexes.set(trades, ix);
  }
  return trades;
}

const MAX_CHAIN = 256;

/**
 * The positions, ascending, at which `next` may differ from `prev`, when `next` was derived from
 * `prev` through deriveTrades (directly or in a few steps); null when that is not known (then the
 * caller compares every position). Every position where they differ is in it; it may hold a
 * position rewritten with the same object (changedTradeIndices filters those).
 */
export function knownChanges(prev: readonly unknown[], next: readonly unknown[]): number[] | null {
  if (prev === next) return [];
  const sets: (readonly number[])[] = [];
  let at: readonly unknown[] = next;
  for (let steps = 0; steps < MAX_CHAIN; steps++) {
    const d = derivations.get(at);
    if (d === undefined) return null;
    sets.push(d.changed);
    const base = d.base.deref();
    if (base === undefined) return null;
    if (base === prev) {
      if (sets.length === 1) return d.changed.slice();
      return [...new Set(sets.flat())].sort((a, b) => a - b);
    }
    at = base;
  }
  return null;
}

/**
 * The positions, ascending, of the trades of `next` that are not the trade at the same position of
 * `prev` (changed or added): what a write has to store. O(changes) when `next` was derived from
 * `prev` (knownChanges), else one pass.
 */
export function changedTradeIndices(prev: readonly Trade[], next: readonly Trade[]): number[] {
  const known = knownChanges(prev, next);
  if (known !== null) return known.filter((i) => i < next.length && next[i] !== prev[i]);
  const out: number[] = [];
  for (let i = 0; i < next.length; i++) if (next[i] !== prev[i]) out.push(i);
  return out;
}

const addPos = <K>(m: Positions<K>, k: K, i: number): void => {
  const list = m.get(k);
  if (list === undefined) m.set(k, [i]);
  else {
    let j = list.length;
    while (j > 0 && (list[j - 1] as number) > i) j--;
    list.splice(j, 0, i);
  }
};

const removePos = <K>(m: Positions<K>, k: K, i: number): void => {
  const list = m.get(k);
  if (list === undefined) return;
  const j = list.indexOf(i);
  if (j >= 0) list.splice(j, 1);
  if (list.length === 0) m.delete(k);
};

function indexAt(ix: LogIndex, t: unknown, i: number): void {
  if (!isObject(t)) return;
  if (typeof t.id === 'string') addPos(ix.ids, t.id, i);
  if (typeof t.client_id === 'string') addPos(ix.clientIds, t.client_id, i);
  if (t.status === 'OPEN') {
    ix.open.add(i);
    addPos(ix.openByKey, instrumentKeyOf(t.symbol), i);
  }
}

function unindex(ix: LogIndex, t: unknown, i: number): void {
  if (!isObject(t)) return;
  if (typeof t.id === 'string') removePos(ix.ids, t.id, i);
  if (typeof t.client_id === 'string') removePos(ix.clientIds, t.client_id, i);
  if (t.status === 'OPEN') {
    ix.open.delete(i);
    removePos(ix.openByKey, instrumentKeyOf(t.symbol), i);
  }
}

/**
 * The index of a sealed trades array whose entries are all objects (built on first use, one pass);
 * null for any other value: the caller scans, as before, with the scan's own errors.
 */
export function logIndexOf(trades: unknown): LogIndex | null {
  if (!Array.isArray(trades) || !sealedArrays.has(trades)) return null;
  const known = indexes.get(trades);
  if (known !== undefined) return known;
  const ix: LogIndex = { ids: new Map(), clientIds: new Map(), open: new Set(), openByKey: new Map() };
  for (let i = 0; i < trades.length; i++) {
    const t: unknown = trades[i];
    if (!isObject(t)) return null;
    indexAt(ix, t, i);
  }
  indexes.set(trades, ix);
  return ix;
}

/** The position of the first trade with this id, -1 when none: `trades.findIndex((t) => t.id === id)`. */
export function positionOfId(trades: readonly Trade[], id: unknown): number {
  const ix = typeof id === 'string' ? logIndexOf(trades) : null;
  if (ix === null) return trades.findIndex((t) => t.id === id);
  return ix.ids.get(id as string)?.[0] ?? -1;
}

/** The position of the first trade with this client_id, -1 when none. */
export function positionOfClientId(trades: readonly Trade[], clientId: unknown): number {
  const ix = typeof clientId === 'string' ? logIndexOf(trades) : null;
  if (ix === null) return trades.findIndex((t) => t.client_id === clientId);
  return ix.clientIds.get(clientId as string)?.[0] ?? -1;
}

/** The OPEN trades in log order: `trades.filter((t) => t.status === 'OPEN')`. */
export function openTradesIn(trades: readonly Trade[]): Trade[] {
  const ix = logIndexOf(trades);
  if (ix === null) return trades.filter((t) => t.status === 'OPEN');
  return [...ix.open].sort((a, b) => a - b).map((i) => trades[i] as Trade);
}

/** The OPEN trades on this instrument (instrumentKeyOf of `symbol`), in log order. */
export function openTradesOn(trades: readonly Trade[], symbol: unknown): Trade[] {
  const key = instrumentKeyOf(symbol);
  const ix = logIndexOf(trades);
  if (ix === null) return trades.filter((t) => t.status === 'OPEN' && instrumentKeyOf(t.symbol) === key);
  return (ix.openByKey.get(key) ?? []).map((i) => trades[i] as Trade);
}
