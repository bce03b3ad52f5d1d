/**
 * The tests' one trade builder. tradeRecord() is the only place a full trade
 * record is written out field by field, so a change to the record's shape is
 * made here once. Two kinds of helper, named apart:
 *  - tradeRecord, golden*, partialExit write records directly, as a
 *    hand-edited or foreign file holds them: no domain rule is applied;
 *  - openTrade, closeTrade, partialClose, openAndClose run the domain's own
 *    operations on a log, so the records are what the library writes.
 */
import { applyClose, applyOpen, applyPartial } from '../src/domain/trade-ops.js';
import type { PartialExit, Trade, TradeLog } from '../src/domain/types.js';
import { validateOpenInput, type OpenInput } from '../src/domain/validate.js';

/** Fields over a record's defaults; keys Trade does not name are extension fields, kept after the known ones. */
export type TradeFields = Partial<Trade>;

// ------------------------------------------------------------- records written directly

/**
 * An OPEN LONG BTC with openInput()'s numbers (entry 100, stop 95, target 120,
 * size 1), entered 2026-03-01, in the field order of the original Python writer.
 * `fields` replace defaults in place and may also replace the id.
 */
export function tradeRecord(id: string, fields: TradeFields = {}): Trade {
  return {
    id,
    symbol: 'BTC',
    direction: 'LONG',
    entry_price: 100,
    stop_price: 95,
    original_stop: 95,
    target_price: 120,
    size: 1,
    original_size: 1,
    entry_time: '2026-03-01T00:00:00+00:00',
    exit_price: null,
    exit_time: null,
    exit_reason: null,
    pnl_usd: null,
    pnl_pct: null,
    r_multiple: null,
    status: 'OPEN',
    setup_type: null,
    grade: null,
    notes: null,
    ...fields,
  };
}

/**
 * What the derived-state goldens (derive-*, report-shape) were worked out by
 * hand against: risk 10 a unit, no target, setup 'S', entered 2026-01-01, CLOSED.
 */
const GOLDEN_DEFAULTS: TradeFields = {
  stop_price: 90,
  original_stop: 90,
  target_price: null,
  entry_time: '2026-01-01T00:00:00+00:00',
  status: 'CLOSED',
  setup_type: 'S',
};

/** A record on the golden defaults with only the fields a derive case cares about. */
export function goldenRecord(id: string, fields: TradeFields = {}): Trade {
  return tradeRecord(id, { ...GOLDEN_DEFAULTS, ...fields });
}

/** A CLOSED golden record with its P&L realized at exit_time; exit_price 1 only fills the field, the cases give the P&L. */
export function goldenClosed(id: string, exit_time: string, pnl_usd: number, fields: TradeFields = {}): Trade {
  return goldenRecord(id, { exit_time, pnl_usd, exit_price: 1, status: 'CLOSED', ...fields });
}

/** An OPEN golden record. */
export function goldenOpen(id: string, fields: TradeFields = {}): Trade {
  return goldenRecord(id, { status: 'OPEN', ...fields });
}

/** A partial-exit record of `size_closed` realizing `pnl_usd` at `timestamp`. */
export function partialExit(timestamp: string, pnl_usd: number, size_closed = 1): PartialExit {
  return { exit_price: 1, size_closed, pnl_usd, reason: null, timestamp };
}

// ------------------------------------------------------------- logs

export const emptyLog = (): TradeLog => ({ trades: [], next_id: 1 });

/** A log of these trades whose next_id follows their count. */
export function logOf(...trades: Trade[]): TradeLog {
  return { trades, next_id: trades.length + 1 };
}

/** Freezes a log (or anything) all the way down, so a test sees any write into it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ------------------------------------------------------------- clocks

/** The time the domain operations below run at. */
export const NOW = new Date('2026-03-14T11:28:53.123Z');

export const at = (iso: string): Date => new Date(iso);

// ------------------------------------------------------------- through the domain

/** An open input's symbol and whatever differs from openInput()'s defaults. */
export type OpenFields = Partial<OpenInput> & Pick<OpenInput, 'symbol'>;

/** A validated open input: LONG, entry 100, stop 95, target 120, size 1, unless `over` says otherwise. */
export function openInput(over: OpenFields): OpenInput {
  return validateOpenInput({ direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1, ...over });
}

/** Opens a trade with the domain's applyOpen, as the store does. */
export function openTrade(log: TradeLog, over: OpenFields): { log: TradeLog; trade: Trade } {
  return applyOpen(log, openInput(over), NOW);
}

/** Closes trade `id` at `exit_price` with the domain's applyClose. */
export function closeTrade(log: TradeLog, id: string, exit_price: number): TradeLog {
  return applyClose(log, id, { exit_price }, NOW).log;
}

/** Takes `fraction` of trade `id` off at `exit_price` with the domain's applyPartial. */
export function partialClose(log: TradeLog, id: string, fraction: number, exit_price: number): TradeLog {
  return applyPartial(log, id, { fraction, exit_price }, NOW).log;
}

/** Opens a trade of `symbol` on the defaults and closes it at `exit`. */
export function openAndClose(log: TradeLog, symbol: string, exit: number): TradeLog {
  const opened = openTrade(log, { symbol });
  return closeTrade(opened.log, opened.trade.id, exit);
}

/**
 * A derived file (or a setup's entry) without the book's figures: what the original design wrote.
 * Golden and parity tests compare the original's fields through it; the book has its own tests.
 */
export function withoutBook<T>(file: T): T {
  if (typeof file !== 'object' || file === null) return file;
  const { book: _book, ...rest } = file as Record<string, unknown>;
  if (typeof rest.setups === 'object' && rest.setups !== null) {
    const setups: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest.setups)) {
      Object.defineProperty(setups, k, { value: withoutBook(v), enumerable: true, writable: true, configurable: true });
    }
    rest.setups = setups;
  }
  return rest as T;
}
