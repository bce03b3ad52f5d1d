/**
 * A trade record <-> a row of trade_state.trades, and the log's top level <-> its account row.
 * Pure. The mapping is lossless for every record a file log can hold that the table's types and
 * checks accept: the fields the library owns go to typed columns, every other field to `extra`
 * (json, kept as written), and the record's key order to `keys`, so the object read back is the
 * one written — JSON.stringify gives the same text, and an export the same bytes.
 */
import { instrumentKey } from '../domain/instrument.js';
import type { Trade, TradeLog } from '../domain/types.js';
import { isPlainObject } from '../domain/validate.js';
import { ValidationError } from '../errors.js';

export const NUMERIC_COLUMNS = Object.freeze([
  'entry_price', 'stop_price', 'original_stop', 'target_price', 'size', 'original_size',
  'exit_price', 'pnl_usd', 'pnl_pct', 'r_multiple',
] as const);

export const TEXT_COLUMNS = Object.freeze([
  'client_id', 'symbol', 'direction', 'status', 'entry_time', 'exit_time', 'exit_reason', 'setup_type', 'grade', 'notes', 'lessons',
] as const);

const NUMERIC = new Set<string>(NUMERIC_COLUMNS);
const TEXT = new Set<string>(TEXT_COLUMNS);

/** A row as written through json_to_recordset (the column list is ROW_COLUMNS). */
export interface RowInput {
  id: string;
  position: number;
  partial_exits: unknown[] | null;
  extra: Record<string, unknown>;
  keys: string[];
  symbol_key: string | null;
  [column: string]: unknown;
}

/** Every column a write sets, with its SQL type, in one order (the write statement's). */
export const ROW_COLUMNS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['id', 'text'],
  ['position', 'integer'],
  ...TEXT_COLUMNS.map((c) => [c, 'text'] as const),
  ...NUMERIC_COLUMNS.map((c) => [c, 'numeric'] as const),
  ['partial_exits', 'json'],
  ['extra', 'json'],
  ['keys', 'json'],
  // Not a field of the record: the symbol's instrument key, which the one-open-per-instrument index reads.
  ['symbol_key', 'text'],
]);

/** A NUL character, or a UTF-16 surrogate without its pair: JSON holds both, PostgreSQL's text, json and jsonb neither. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path and value of the first string in `value` (object keys included) PostgreSQL cannot store, or null. */
export function unstorable(value: unknown, path: string): { path: string; value: string } | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? { path, value } : null;
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = unstorable(value[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (UNSTORABLE.test(key)) return { path: at, value: key };
    const bad = unstorable((value as Record<string, unknown>)[key], at);
    if (bad !== null) return bad;
  }
  return null;
}

function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, not assignment: a field named __proto__ must stay a field
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The row of `trade` at `position` of the log. Refuses (ValidationError naming the trade and the
 * field) a value the table cannot hold as the file holds it: a known field of the wrong type, a
 * number that is not finite. The table's checks refuse the rest (a status other than OPEN/CLOSED,
 * a price <= 0...), so nothing the database holds is invalid.
 */
export function tradeToRow(trade: Trade, position: number): RowInput {
  if (!isPlainObject(trade)) throw new ValidationError(`trades[${position}]`, trade, 'is not an object');
  const where = (key: string): string => `trades[${position}]${typeof trade.id === 'string' ? ` (${trade.id})` : ''}.${key}`;
  if (typeof trade.id !== 'string' || trade.id === '') throw new ValidationError(where('id'), trade.id, 'must be a non-empty string');
  const row: RowInput = { id: trade.id, position, partial_exits: null, extra: Object.create(null) as Record<string, unknown>, keys: [], symbol_key: null };
  for (const key of Object.keys(trade)) {
    const value = trade[key];
    row.keys.push(key);
    if (key === 'id') continue;
    if (NUMERIC.has(key)) {
      if (value !== null && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new ValidationError(where(key), value, 'must be a finite number or null');
      }
      row[key] = value;
    } else if (TEXT.has(key)) {
      if (value !== null && typeof value !== 'string') throw new ValidationError(where(key), value, 'must be a string or null');
      row[key] = value;
    } else if (key === 'partial_exits') {
      if (value !== null && !Array.isArray(value)) throw new ValidationError(where(key), value, 'must be an array or null');
      row.partial_exits = value as unknown[] | null;
    } else {
      defineField(row.extra, key, value);
    }
  }
  if (typeof row.symbol === 'string') row.symbol_key = instrumentKey(row.symbol);
  return row;
}

/** The record a row holds, fields in the order they were written. `row` is what pg returns (numeric as text, json parsed). */
export function rowToTrade(row: Record<string, unknown>): Trade {
  const keys = row.keys as string[];
  const extra = (row.extra ?? {}) as Record<string, unknown>;
  // Object.fromEntries: it defines each field (a field named __proto__ stays a field) and keeps the
  // record in V8's fast property mode, which a loop of `out[key] = value` does not past a dozen
  // fields: records in dictionary mode made the id lookup of a close (10,000 reads of t.id) three
  // times slower (measured while trying that loop; test/pg-rows.test.ts guards it).
  return Object.fromEntries(
    keys.map((key): [string, unknown] => {
      if (key === 'id') return [key, row.id];
      if (NUMERIC.has(key)) return [key, row[key] === null ? null : Number(row[key])];
      if (TEXT.has(key) || key === 'partial_exits') return [key, row[key]];
      return [key, extra[key]];
    }),
  ) as Trade;
}

/** The top level of a log apart from its trades: next_id, the other fields, the key order. */
export interface LogTop {
  next_id: number;
  extra: Record<string, unknown>;
  keys: string[];
}

export function logTopOf(log: TradeLog): LogTop {
  const extra = Object.create(null) as Record<string, unknown>;
  const keys = Object.keys(log);
  for (const key of keys) if (key !== 'trades' && key !== 'next_id') defineField(extra, key, log[key]);
  return { next_id: log.next_id, extra, keys };
}

/** The log of an account: its top level around the trades, in the order written. */
export function logFrom(top: { next_id: number | string; extra: Record<string, unknown>; keys: string[] }, trades: Trade[]): TradeLog {
  const out: Record<string, unknown> = {};
  const keys = top.keys.includes('trades') ? top.keys : ['trades', ...top.keys];
  for (const key of keys) {
    if (key === 'trades') defineField(out, key, trades);
    else if (key === 'next_id') defineField(out, key, Number(top.next_id));
    else defineField(out, key, top.extra[key]);
  }
  if (!('next_id' in out)) defineField(out, 'next_id', Number(top.next_id));
  return out as TradeLog;
}
