/**
 * What a change to the log is, as `store.watch()` hands it to a bot (docs/observability.md,
 * "Events"): pure, for both backends. A file log is known only by its versions, so its events
 * are the difference between two versions (`diffEvents`); a database records one event row per
 * accepted write call, so its events are those rows (`rowEvents`).
 */
import { deepFreeze } from './freeze.js';
import { changedTradeIndices, positionOfId } from './log-index.js';
import type { Trade, TradeLog } from './types.js';

export type TradeEventKind = 'open' | 'close' | 'partial' | 'update' | 'replace';

export interface TradeEvent {
  /** open, close, partial, update (stop, target, notes and the other mutable fields), replace (the log replaced whole, e.g. an import). */
  readonly kind: TradeEventKind;
  readonly trade_id: string;
  /** The record after the change, deep-frozen; null only for a `replace` that removed the trade. */
  readonly trade: Readonly<Trade> | null;
  /**
   * When the change happened, ISO 8601. PostgreSQL: the event row's `at` (its transaction's
   * time). A file: the time the log records for the change — `entry_time` (open), `exit_time`
   * (close), the last partial exit's `timestamp` (partial), as written — and, where the log
   * records none (update, replace), the time the watcher saw the new version.
   */
  readonly at: string;
  /** PostgreSQL: the event row's event_seq, a cursor for `watch({ since })`. A file: null. */
  readonly seq: number | null;
}

/** Fields a write call never changes: a change to one is a log replaced, not a trade updated. */
const ENTRY_FIELDS = ['symbol', 'direction', 'entry_price', 'entry_time', 'original_size', 'original_stop'] as const;

/**
 * The events that lead from `prev` to `next`, in log order: for each trade that differs, every
 * change its record shows (changesOf), each with its latest record. Costs what changed
 * when `next` was derived from `prev` (the store's writes, the incremental parse); one pass else.
 * A removed trade, a reordered log or a changed entry field make every event of the difference a
 * `replace`.
 */
export function diffEvents(prev: TradeLog, next: TradeLog, seenAt: string): TradeEvent[] {
  if (prev.trades === next.trades) return [];
  const before = prev.trades;
  const after = next.trades;
  let replaced = after.length < before.length;
  let byId: Map<string, Trade> | null = null;
  const changed: { p: Trade | undefined; n: Trade }[] = [];
  for (const i of changedTradeIndices(before, after)) {
    const n = after[i] as Trade;
    let p = before[i];
    if (p !== undefined && p.id !== n.id) {
      replaced = true;
      byId ??= new Map(before.map((t) => [t.id, t]));
      p = byId.get(n.id);
    }
    // A log read again whole has new objects for unchanged records.
    if (p !== undefined && sameRecord(p, n)) continue;
    if (p !== undefined && changesEntry(p, n)) replaced = true;
    changed.push({ p, n });
  }
  const events: TradeEvent[] = replaced
    ? changed.map(({ n }) => event('replace', n.id, n, seenAt, null))
    : changed.flatMap(({ p, n }) => changesOf(p, n, seenAt));
  if (replaced) {
    const kept = new Set(after.map((t) => t.id));
    for (const p of before) if (!kept.has(p.id)) events.push(event('replace', p.id, null, seenAt, null));
  }
  return events;
}

/** One event row of the database, as `rowEvents` reads it. */
export interface EventRow {
  readonly seq: number;
  /** The write call (openTrade, closeTrade, partialClose, updateTrade, updateTradesBatch, adoptVenue, saveRaw, import, saveSettings). */
  readonly operation: string;
  readonly trade_ids: readonly string[];
  /** The call's result as returned to its caller. */
  readonly result: unknown;
  /** The records right after the call (its payload's `trades`); absent from rows written before it was recorded, and from imports. */
  readonly trades: unknown;
  readonly at: string;
}

/**
 * The events of one database event row: one per trade it touched, in its order, each with the
 * record right after that call (so an open later closed is still seen open). A row without it
 * (an import; a row written by an earlier version) gives the call's result where that is the
 * whole trade, else the trade as it is in `now` (the log read after the row; null when gone).
 * A rulebook change touches no trade.
 */
export function rowEvents(row: EventRow, now: TradeLog): TradeEvent[] {
  const recorded = Array.isArray(row.trades) ? (row.trades as Trade[]) : [];
  return row.trade_ids.map((id) => {
    const r = row.result as { id?: unknown; status?: unknown } | null;
    const own = recorded.find((t) => t !== null && typeof t === 'object' && t.id === id) ?? (r !== null && typeof r === 'object' && r.id === id && typeof r.status === 'string' ? (r as Trade) : null);
    const at = own === null ? positionOfId(now.trades, id) : -1;
    return event(operationKind(row, id), id, own ?? (at < 0 ? null : (now.trades[at] as Trade)), row.at, row.seq);
  });
}

function operationKind(row: EventRow, id: string): TradeEventKind {
  switch (row.operation) {
    case 'openTrade':
      return 'open';
    case 'closeTrade':
      return 'close';
    case 'partialClose':
      return 'partial';
    case 'adoptVenue': {
      const r = row.result as { closed?: unknown } | null;
      return Array.isArray(r?.closed) && r.closed.includes(id) ? 'close' : 'partial';
    }
    case 'saveRaw':
    case 'import':
      return 'replace';
    default:
      return 'update';
  }
}

/**
 * Every change the log records between two records of one trade (`p` undefined: the trade is new),
 * in the order they happened: its open, each partial exit added (the log keeps one entry per
 * partial close), its close — so that a trade opened, partly closed and closed between two looks
 * is still three events, as on a database. An update leaves no trace in the log: several between
 * two looks are one `update`, and none is reported beside another kind (its fields are in that
 * event's record). Each event has the latest record: the only one a file holds.
 */
function changesOf(p: Trade | undefined, n: Trade, seenAt: string): TradeEvent[] {
  const out: TradeEvent[] = [];
  if (p === undefined) out.push(event('open', n.id, n, n.entry_time ?? seenAt, null));
  const exits = Array.isArray(n.partial_exits) ? n.partial_exits : [];
  const before = p !== undefined && Array.isArray(p.partial_exits) ? p.partial_exits.length : 0;
  for (let k = before; k < exits.length; k++) out.push(event('partial', n.id, n, exits[k]?.timestamp ?? seenAt, null));
  if (n.status === 'CLOSED' && p?.status !== 'CLOSED') out.push(event('close', n.id, n, n.exit_time ?? seenAt, null));
  if (out.length === 0) out.push(event('update', n.id, n, seenAt, null));
  return out;
}

function changesEntry(p: Trade, n: Trade): boolean {
  if (p.status === 'CLOSED' && n.status !== 'CLOSED') return true;
  if ((n.partial_exits?.length ?? 0) < (p.partial_exits?.length ?? 0)) return true;
  return ENTRY_FIELDS.some((f) => p[f] !== n[f]);
}

function sameRecord(p: Trade, n: Trade): boolean {
  return JSON.stringify(p) === JSON.stringify(n);
}

function event(kind: TradeEventKind, trade_id: string, trade: Trade | null, at: string, seq: number | null): TradeEvent {
  return Object.freeze({ kind, trade_id, at: typeof at === 'string' ? at : String(at), seq, trade: trade === null ? null : deepFreeze(trade) });
}
