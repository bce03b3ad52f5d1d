// The log against the venue, pure (domain/venue.ts): validation, the comparison, the adoption plan.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { adoptVenue, compareVenue, validateVenuePositions, validateVenuePrices, type VenuePosition } from '../src/domain/venue.js';
import type { TradeLog } from '../src/domain/types.js';
import { ValidationError } from '../src/errors.js';
import { deepFreeze, logOf, NOW, openTrade, partialClose, tradeRecord } from './trades.js';

const DEFAULTS = { prices: new Map<string, number>(), exitReason: 'venue_flat', tolerance: 0.001 };

function refusal(fn: () => unknown): { field: string; value: unknown } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return { field: (err as ValidationError).field, value: (err as ValidationError).value };
  }
  throw new Error('not refused');
}

/** A log with these open trades, opened through the domain in this order. */
function logWith(...opens: Array<{ symbol: string; direction?: 'LONG' | 'SHORT'; size?: number }>): TradeLog {
  let log: TradeLog = { trades: [], next_id: 1 };
  for (const o of opens) {
    const short = o.direction === 'SHORT';
    log = openTrade(log, { symbol: o.symbol, size: o.size ?? 1, ...(short && { direction: 'SHORT', stop_price: 105, target_price: 80 }) }).log;
  }
  return deepFreeze(log);
}

describe('validateVenuePositions', () => {
  it('refuses bad input naming the field and the value', () => {
    expect(refusal(() => validateVenuePositions({ symbol: 'BTC' }))).toMatchObject({ field: 'positions' });
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'LONG', size: 1 }, { symbol: 'ETH', side: 'LONG', size: -1 }]))).toEqual({ field: 'positions[1].size', value: -1 });
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'LONG', size: Number.NaN }]))).toMatchObject({ field: 'positions[0].size' });
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'LONG', size: Infinity }]))).toEqual({ field: 'positions[0].size', value: Infinity });
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'long', size: 1 }]))).toEqual({ field: 'positions[0].side', value: 'long' });
    expect(refusal(() => validateVenuePositions([{ symbol: '  ', side: 'LONG', size: 1 }]))).toEqual({ field: 'positions[0].symbol', value: '  ' });
    expect(refusal(() => validateVenuePositions([{ symbol: 7, side: 'LONG', size: 1 }]))).toEqual({ field: 'positions[0].symbol', value: 7 });
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'LONG', size: 1, entry_price: 0 }]))).toEqual({ field: 'positions[0].entry_price', value: 0 });
    // A duplicate by instrument key, a flat one included.
    expect(refusal(() => validateVenuePositions([{ symbol: 'BTC', side: 'LONG', size: 0 }, { symbol: ' btc', side: 'SHORT', size: 1 }]))).toEqual({ field: 'positions[1].symbol', value: ' btc' });
  });

  it('copies the positions it accepts, size 0 included, and ignores other keys', () => {
    const input = [{ symbol: 'BTC', side: 'LONG', size: 0, leverage: 5 }, { symbol: 'ETH', side: 'SHORT', size: 2, entry_price: null }];
    expect(validateVenuePositions(input)).toEqual([{ symbol: 'BTC', side: 'LONG', size: 0 }, { symbol: 'ETH', side: 'SHORT', size: 2, entry_price: null }]);
  });

  it('prices: positive finite numbers by symbol, one per instrument', () => {
    expect(refusal(() => validateVenuePrices({ BTC: 0 }))).toEqual({ field: 'prices.BTC', value: 0 });
    expect(refusal(() => validateVenuePrices({ BTC: '100' }))).toEqual({ field: 'prices.BTC', value: '100' });
    expect(refusal(() => validateVenuePrices({ BTC: Number.NaN }))).toMatchObject({ field: 'prices.BTC' });
    expect(refusal(() => validateVenuePrices({ BTC: 1, btc: 2 }))).toEqual({ field: 'prices.btc', value: 2 });
    expect(refusal(() => validateVenuePrices([1]))).toMatchObject({ field: 'prices' });
    expect([...validateVenuePrices({ BTC: 1, ' eth ': 2 })]).toEqual([['btc', 1], ['eth', 2]]);
  });
});

describe('compareVenue', () => {
  it('names each kind, in the log order and then the venue order', () => {
    const log = logWith({ symbol: 'BTC' }, { symbol: 'ETH', size: 2 }, { symbol: 'SOL', direction: 'SHORT' }, { symbol: 'XRP', size: 3 }, { symbol: 'ADA' });
    const venue = validateVenuePositions([
      { symbol: 'DOGE', side: 'LONG', size: 5 },
      { symbol: 'eth', side: 'LONG', size: 1.5 },
      { symbol: 'SOL', side: 'LONG', size: 1 },
      { symbol: 'XRP', side: 'LONG', size: 3.002 },
      { symbol: 'ADA', side: 'LONG', size: 0 },
      { symbol: 'LINK', side: 'SHORT', size: 1 },
    ]);
    expect(compareVenue(log, venue)).toEqual({
      ok: false,
      matched: ['XRP'],
      items: [
        { kind: 'GHOST', symbol: 'BTC', trade_id: 'T001', log_size: 1, venue_size: 0, log_side: 'LONG', venue_side: null },
        { kind: 'SIZE', symbol: 'ETH', trade_id: 'T002', log_size: 2, venue_size: 1.5, log_side: 'LONG', venue_side: 'LONG' },
        { kind: 'SIDE', symbol: 'SOL', trade_id: 'T003', log_size: 1, venue_size: 1, log_side: 'SHORT', venue_side: 'LONG' },
        { kind: 'GHOST', symbol: 'ADA', trade_id: 'T005', log_size: 1, venue_size: 0, log_side: 'LONG', venue_side: null },
        { kind: 'ORPHAN', symbol: 'DOGE', trade_id: null, log_size: 0, venue_size: 5, log_side: null, venue_side: 'LONG' },
        { kind: 'ORPHAN', symbol: 'LINK', trade_id: null, log_size: 0, venue_size: 1, log_side: null, venue_side: 'SHORT' },
      ],
    });
  });

  it('the tolerance is relative to the larger size; 0 demands equality', () => {
    const log = logWith({ symbol: 'BTC', size: 1000 });
    const at = (size: number, tolerance?: number) => compareVenue(log, [{ symbol: 'BTC', side: 'LONG', size }], tolerance === undefined ? {} : { tolerance }).ok;
    expect(at(1001)).toBe(true);
    expect(at(999)).toBe(true);
    expect(at(1002)).toBe(false);
    expect(at(1001, 0)).toBe(false);
    expect(at(1100, 0.1)).toBe(true);
    expect(refusal(() => compareVenue(log, [], { tolerance: -1 }))).toEqual({ field: 'tolerance', value: -1 });
    expect(refusal(() => compareVenue(log, [], { tolerance: 1 }))).toEqual({ field: 'tolerance', value: 1 });
  });

  it('compares the size still open after partial exits; closed trades are not positions', () => {
    let log = logWith({ symbol: 'BTC', size: 4 }, { symbol: 'ETH' });
    log = partialClose(log, 'T001', 0.25, 110);
    log = deepFreeze({ ...log, trades: log.trades.map((t) => (t.id === 'T002' ? { ...tradeRecord('T002', { symbol: 'ETH' }), status: 'CLOSED' as const, exit_price: 1 } : t)) });
    expect(compareVenue(log, [{ symbol: 'BTC', side: 'LONG', size: 3 }])).toEqual({ ok: true, items: [], matched: ['BTC'] });
  });

  it('several open trades on one instrument (a damaged log): their net, and no trade_id', () => {
    const log = deepFreeze(logOf(tradeRecord('T001', { size: 1 }), tradeRecord('T002', { symbol: 'btc', size: 2 })));
    expect(compareVenue(log, [])).toEqual({
      ok: false,
      matched: [],
      items: [{ kind: 'GHOST', symbol: 'BTC', trade_id: null, log_size: 3, venue_size: 0, log_side: 'LONG', venue_side: null }],
    });
    expect(adoptVenue(log, [], { ...DEFAULTS, prices: new Map([['btc', 90]]) }, NOW).result.unresolved).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------------- properties

const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE'];
const side = fc.constantFrom<'LONG' | 'SHORT'>('LONG', 'SHORT');
const size = fc.integer({ min: 1, max: 400 }).map((n) => n / 4);
/** A log with at most one open trade per symbol (as the store keeps it), and the venue positions over the same symbols. */
const world = fc.record({
  log: fc.dictionary(fc.constantFrom(...SYMBOLS), fc.record({ direction: side, size }), { maxKeys: 6 }),
  venue: fc.dictionary(fc.constantFrom(...SYMBOLS), fc.record({ side, size: fc.oneof(size, fc.constant(0)) }), { maxKeys: 6 }),
  prices: fc.dictionary(fc.constantFrom(...SYMBOLS), fc.integer({ min: 1, max: 1000 }), { maxKeys: 6 }),
});

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function build(w: World): { log: TradeLog; venue: VenuePosition[] } {
  const log = logWith(...Object.entries(w.log).map(([symbol, o]) => ({ symbol, ...o })));
  // The venue spells symbols in lower case: the comparison is by instrument key.
  const venue = validateVenuePositions(Object.entries(w.venue).map(([symbol, p]) => ({ symbol: symbol.toLowerCase(), ...p })));
  return { log, venue };
}

describe('properties', () => {
  it('a venue equal to the log\'s open trades agrees, with every symbol matched', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { log } = build(w);
        const venue = log.trades.map((t) => ({ symbol: t.symbol, side: t.direction, size: t.size }));
        expect(compareVenue(log, venue)).toEqual({ ok: true, items: [], matched: log.trades.map((t) => t.symbol) });
      }),
    );
  });

  it('each item\'s kind agrees with its sizes and sides; every symbol is in exactly one of items and matched', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { log, venue } = build(w);
        const drift = compareVenue(log, venue);
        expect(drift.ok).toBe(drift.items.length === 0);
        for (const item of drift.items) {
          if (item.kind === 'GHOST') expect([item.log_side !== null, item.venue_size, item.venue_side]).toEqual([true, 0, null]);
          if (item.kind === 'ORPHAN') expect([item.log_size, item.log_side, item.trade_id, (item.venue_size ?? 0) > 0]).toEqual([0, null, null, true]);
          if (item.kind === 'SIDE') expect(item.log_side !== item.venue_side && item.log_side !== null && item.venue_side !== null).toBe(true);
          if (item.kind === 'SIZE') {
            expect(item.log_side).toBe(item.venue_side);
            const [a, b] = [item.log_size as number, item.venue_size as number];
            expect(Math.abs(a - b)).toBeGreaterThan(0.001 * Math.max(a, b));
          }
        }
        const held = new Set([...log.trades.map((t) => t.symbol.toLowerCase()), ...venue.filter((p) => p.size > 0).map((p) => p.symbol.toLowerCase())]);
        const named = [...drift.items.map((i) => i.symbol.toLowerCase()), ...drift.matched.map((s) => s.toLowerCase())];
        expect(named.sort()).toEqual([...held].sort());
      }),
    );
  });

  it('adoption never opens, touches only the trades of its items, closes each ghost once, and leaves the rest unresolved', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { log, venue } = build(w);
        const prices = validateVenuePrices(w.prices);
        const drift = compareVenue(log, venue);
        const { log: after, result } = adoptVenue(log, venue, { ...DEFAULTS, prices }, NOW);
        expect(after.trades).toHaveLength(log.trades.length);
        expect(after.next_id).toBe(log.next_id);
        const ghosts = drift.items.filter((i) => i.kind === 'GHOST' && prices.has(i.symbol.toLowerCase())).map((i) => i.trade_id);
        expect(result.closed).toEqual(ghosts);
        const itemIds = new Set(drift.items.map((i) => i.trade_id));
        after.trades.forEach((t, i) => {
          const before = log.trades[i];
          if (!itemIds.has(t.id)) expect(t).toBe(before);
          if (result.closed.includes(t.id)) expect([t.status, t.exit_price, t.exit_reason]).toEqual(['CLOSED', w.prices[t.symbol], 'venue_flat']);
          if (result.reduced.includes(t.id)) {
            const item = drift.items.find((d) => d.trade_id === t.id);
            expect(t.size).toBeCloseTo(item?.venue_size as number, 6);
            expect(t.status).toBe('OPEN');
          }
        });
        expect(result.closed.length + result.reduced.length + result.unresolved.length).toBe(drift.items.length);
        // After adoption, what stays is exactly what was left unresolved.
        expect(compareVenue(after, venue).items).toEqual(result.unresolved);
        // A second adoption on its own result does nothing more.
        const again = adoptVenue(after, venue, { ...DEFAULTS, prices }, NOW);
        expect(again.log).toBe(after);
        expect(again.result).toEqual({ closed: [], reduced: [], unresolved: result.unresolved });
      }),
    );
  });
});
