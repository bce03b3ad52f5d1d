import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ImmutableFieldError, TradeNotFoundError, TradeStateConflictError, ValidationError } from '../src/errors.js';
import { netPnl } from '../src/domain/formulas.js';
import { pyRound, round2, round6 } from '../src/domain/round.js';
import {
  applyClose,
  applyOpen,
  applyPartial,
  applyUpdate,
  applyUpdatesBatch,
  closePnl,
  findTrade,
  findTradeByClientId,
  formatTradeId,
  nextTradeNumber,
  tradeIdNumber,
} from '../src/domain/trade-ops.js';
import type { TradeLog } from '../src/domain/types.js';
import { deepFreeze, emptyLog, logOf, NOW, openTrade, tradeRecord } from './trades.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('Python rounding (round.ts) on the numbers the log holds', () => {
  it('rounds exact binary ties to even and near-ties by their real value', () => {
    expect(round2(0.125)).toBe(0.12);
    expect(round2(0.375)).toBe(0.38);
    expect(round2(2.675)).toBe(2.67); // 2.675 is really 2.67499999…
    expect(round2(1.005)).toBe(1); // 1.00499999…
    expect(round2(0.285)).toBe(0.28);
    expect(round2(1234.565)).toBe(1234.57);
    expect(pyRound(2.5, 0)).toBe(2);
    expect(pyRound(1.5, 0)).toBe(2);
    expect(round6(5e-7)).toBe(0);
    expect(round6(1.5e-6)).toBe(2e-6);
  });

  it('rounds negative ties symmetrically', () => {
    expect(round2(-0.125)).toBe(-0.12);
    expect(round2(-0.375)).toBe(-0.38);
    expect(round2(-2.675)).toBe(-2.67);
    expect(pyRound(-2.5, 0)).toBe(-2);
  });
});

describe('formatTradeId / tradeIdNumber', () => {
  it('zero-pads to at least three digits', () => {
    expect(formatTradeId(1)).toBe('T001');
    expect(formatTradeId(42)).toBe('T042');
    expect(formatTradeId(999)).toBe('T999');
    expect(formatTradeId(1000)).toBe('T1000');
    expect(formatTradeId(123456)).toBe('T123456');
  });

  it('refuses what is not a non-negative integer', () => {
    for (const n of [-1, 1.5, NaN, Infinity]) expect(() => formatTradeId(n)).toThrow(ValidationError);
  });

  it('parses T<digits> only', () => {
    expect(tradeIdNumber('T001')).toBe(1);
    expect(tradeIdNumber('T1000')).toBe(1000);
    expect(tradeIdNumber('T12a')).toBeNull();
    expect(tradeIdNumber('X12')).toBeNull();
    expect(tradeIdNumber('T')).toBeNull();
    expect(tradeIdNumber(12)).toBeNull();
  });

  it('gives what /^T(\\d+)$/ and Number() give, for any string (property)', () => {
    const byRegex = (id: string): number | null => {
      const m = /^T(\d+)$/.exec(id);
      return m ? Number(m[1]) : null;
    };
    const digits = fc.array(fc.constantFrom(...'0123456789'), { minLength: 0, maxLength: 40 }).map((d) => d.join(''));
    const id = fc.oneof(
      digits.map((d) => `T${d}`),
      fc.tuple(digits, fc.string(), digits).map(([a, b, c]) => `T${a}${b}${c}`),
      fc.string(),
      fc.constantFrom('T٣', 'T１', 't12', ' T12', 'T12 ', 'T9007199254740993', 'T99999999999999999999'),
    );
    fc.assert(fc.property(id, (s) => Object.is(tradeIdNumber(s), byRegex(s))), { numRuns: 3000 });
  });
});

describe('applyOpen', () => {
  const input = {
    symbol: 'BTC',
    direction: 'LONG',
    entry_price: 65000,
    stop_price: 63500,
    target_price: 68000,
    size: 0.02,
    setup_type: 'RSI_Div',
    grade: 'A',
  } as const;

  it('writes every field, in the Python field order', () => {
    const { log, trade } = applyOpen(emptyLog(), input, NOW);
    expect(Object.keys(trade)).toEqual([
      'id', 'symbol', 'direction', 'entry_price', 'stop_price', 'original_stop', 'target_price', 'size',
      'original_size', 'entry_time', 'exit_price', 'exit_time', 'exit_reason', 'pnl_usd', 'pnl_pct',
      'r_multiple', 'status', 'setup_type', 'grade', 'notes',
    ]);
    // Written out, not built with tradeRecord(): what the Python writer makes of this input, an oracle independent of the builder.
    expect(trade).toEqual({
      id: 'T001',
      symbol: 'BTC',
      direction: 'LONG',
      entry_price: 65000,
      stop_price: 63500,
      original_stop: 63500,
      target_price: 68000,
      size: 0.02,
      original_size: 0.02,
      entry_time: '2026-03-14T11:28:53.123000+00:00',
      exit_price: null,
      exit_time: null,
      exit_reason: null,
      pnl_usd: null,
      pnl_pct: null,
      r_multiple: null,
      status: 'OPEN',
      setup_type: 'RSI_Div',
      grade: 'A',
      notes: null,
    });
    expect(log).toEqual({ trades: [trade], next_id: 2 });
  });

  it('puts client_id last, only when given', () => {
    const { trade, log } = applyOpen(emptyLog(), { ...input, client_id: 'scan-7' }, NOW);
    expect(Object.keys(trade).at(-1)).toBe('client_id');
    expect(findTradeByClientId(log, 'scan-7')).toBe(trade);
    expect(findTradeByClientId(log, 'other')).toBeUndefined();
  });

  it('takes next_id and advances it; keeps unknown top-level fields', () => {
    const start: TradeLog = { trades: [], next_id: 42, owner: 'bot-1' };
    const { log, trade } = applyOpen(start, input, NOW);
    expect(trade.id).toBe('T042');
    expect(log.next_id).toBe(43);
    expect(log.owner).toBe('bot-1');
    expect(applyOpen({ trades: [], next_id: 1000 }, input, NOW).trade.id).toBe('T1000');
  });

  it('skips past ids a hand-edited log already holds', () => {
    const start: TradeLog = {
      trades: [tradeRecord('T007', { status: 'CLOSED' }), tradeRecord('manual-1', { status: 'CLOSED' })],
      next_id: 3,
    };
    expect(nextTradeNumber(start)).toBe(8);
    const { log, trade } = applyOpen(start, input, NOW);
    expect(trade.id).toBe('T008');
    expect(log.next_id).toBe(9);
  });

  it('shares the old trades and leaves the input log alone', () => {
    const first = applyOpen(emptyLog(), input, NOW);
    const before = structuredClone(first.log);
    const second = applyOpen(first.log, { ...input, symbol: 'ETH' }, NOW);
    expect(first.log).toEqual(before);
    expect(second.log.trades[0]).toBe(first.trade);
    expect(second.log.trades).toHaveLength(2);
  });
});

describe('closePnl and applyClose (worked by hand)', () => {
  it('LONG BTC 65000, stop 63500, exit 68000, size 0.02 -> 60 USD, 4.62 %, 2 R', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC', entry_price: 65000, stop_price: 63500, target_price: 68000, size: 0.02 });
    const closed = applyClose(log, trade.id, { exit_price: 68000, exit_reason: 'target', lessons: 'patience' }, new Date('2026-03-15T00:00:00.5Z'));
    expect(closed.trade).toMatchObject({
      status: 'CLOSED',
      exit_price: 68000,
      exit_time: '2026-03-15T00:00:00.500000+00:00',
      exit_reason: 'target',
      lessons: 'patience',
      pnl_usd: 60,
      pnl_pct: 4.62,
      r_multiple: 2,
    });
    expect(closed.log.trades[0]).toBe(closed.trade);
  });

  it('SHORT ETH 3000, stop 3100: exit 2850 wins, exit 3100 loses 1 R', () => {
    const base = { symbol: 'ETH', direction: 'SHORT', entry_price: 3000, stop_price: 3100, target_price: 2700, size: 1.5 } as const;
    const { log, trade } = openTrade(emptyLog(), base);
    expect(closePnl(trade, 2850)).toEqual({ pnl_usd: 225, pnl_pct: 5, r_multiple: 1.5 });
    expect(closePnl(trade, 3100)).toEqual({ pnl_usd: -150, pnl_pct: -3.33, r_multiple: -1 });
    expect(applyClose(log, trade.id, { exit_price: 3100 }, NOW).trade.pnl_usd).toBe(-150);
  });

  it('rounds like Python on ties: a 0.125 move is 0.12, a -0.125 move -0.12', () => {
    const t = tradeRecord('T001', { entry_price: 1, stop_price: 0.5, original_stop: 0.5, size: 1 });
    expect(closePnl(t, 1.125)).toEqual({ pnl_usd: 0.12, pnl_pct: 12.5, r_multiple: 0.25 });
    expect(closePnl({ ...t, direction: 'SHORT', stop_price: 1.5, original_stop: 1.5 }, 1.125).pnl_usd).toBe(-0.12);
    // 12.675 − 10 is 2.6750000000000007 in binary, so Python writes 2.68 here.
    expect(closePnl({ ...t, entry_price: 10, stop_price: 9.5, original_stop: 9.5 }, 12.675)).toEqual({
      pnl_usd: 2.68,
      pnl_pct: 26.75,
      r_multiple: 5.35,
    });
  });

  it('measures R from original_stop after the stop was trailed', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'SOL', entry_price: 100, stop_price: 95, size: 1 });
    const trailed = applyUpdate(log, trade.id, { stop_price: 102 });
    const closed = applyClose(trailed.log, trade.id, { exit_price: 110 }, NOW).trade;
    expect(closed.r_multiple).toBe(2); // 10 / |100 − 95|, not 10 / |100 − 102|
  });

  it('falls back to stop_price when original_stop is null, missing or 0 (Python `or`)', () => {
    const t = tradeRecord('T001', { entry_price: 100, stop_price: 90 });
    for (const original_stop of [null, 0, undefined]) {
      expect(closePnl({ ...t, original_stop } as never, 120).r_multiple).toBe(2);
    }
  });

  it('gives R 0 when the risk is 0', () => {
    const t = tradeRecord('T001', { entry_price: 100, stop_price: 100, original_stop: 100 });
    expect(closePnl(t, 110)).toEqual({ pnl_usd: 10, pnl_pct: 10, r_multiple: 0 });
  });

  it('refuses a trade whose direction is unknown rather than guess', () => {
    const t = tradeRecord('T001', { direction: 'long' as never });
    expect(thrown(() => closePnl(t, 110))).toBeInstanceOf(ValidationError);
  });

  it('defaults exit_reason to null and keeps lessons written before the close', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    const noted = applyUpdate(log, trade.id, { lessons: 'entered late', mfe: 3 }).log;
    const closed = applyClose(noted, trade.id, { exit_price: 101 }, NOW).trade;
    expect(closed.exit_reason).toBeNull();
    expect(closed.lessons).toBe('entered late');
    expect(closed.mfe).toBe(3);
    expect(applyClose(log, trade.id, { exit_price: 101 }, NOW).trade.lessons).toBeNull();
  });

  it('keeps the field order and appends lessons at the end, as a Python dict does', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    const closed = applyClose(log, trade.id, { exit_price: 101 }, NOW).trade;
    expect(Object.keys(closed)).toEqual([...Object.keys(trade), 'lessons']);
  });

  it('names the id of an unknown trade and refuses closing twice', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    const missing = thrown(() => applyClose(log, 'T999', { exit_price: 1 }, NOW));
    expect(missing).toBeInstanceOf(TradeNotFoundError);
    expect((missing as TradeNotFoundError).code).toBe('ETRADENOTFOUND');
    expect((missing as Error).message).toContain('T999');

    const once = applyClose(log, trade.id, { exit_price: 101 }, NOW).log;
    const twice = thrown(() => applyClose(once, trade.id, { exit_price: 102 }, NOW));
    expect(twice).toBeInstanceOf(TradeStateConflictError);
    expect((twice as TradeStateConflictError).code).toBe('ETRADESTATE');
    expect((twice as Error).message).toContain(trade.id);
    expect((twice as Error).message).toContain('CLOSED');
  });
});

describe('applyPartial', () => {
  it('partial then close: SOL 100, stop 95, size 10; half at 110, rest at 90 -> net 0', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'SOL', entry_price: 100, stop_price: 95, size: 10 });
    const later = new Date('2026-03-14T12:00:00.250Z');
    const part = applyPartial(log, trade.id, { fraction: 0.5, exit_price: 110, reason: 'tp1' }, later);
    expect(part.result).toEqual({
      trade_id: 'T001',
      symbol: 'SOL',
      direction: 'LONG',
      size_closed: 5,
      remaining_size: 5,
      exit_price: 110,
      partial_pnl: 50,
      entry_price: 100,
    });
    const afterPart = findTrade(part.log, trade.id)!;
    expect(afterPart.size).toBe(5);
    expect(afterPart.original_size).toBe(10);
    expect(afterPart.partial_exits).toEqual([
      { exit_price: 110, size_closed: 5, pnl_usd: 50, reason: 'tp1', timestamp: '2026-03-14T12:00:00.250000+00:00' },
    ]);

    const closed = applyClose(part.log, trade.id, { exit_price: 90 }, NOW).trade;
    expect(closed.pnl_usd).toBe(-50); // on the 5 still open
    expect(closed.pnl_pct).toBe(-10);
    expect(closed.r_multiple).toBe(-2);
    expect(netPnl(closed)).toBe(0);
  });

  it('rounds sizes to 6 decimals and appends later partials', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC', entry_price: 100, stop_price: 95, size: 0.3 });
    const first = applyPartial(log, trade.id, { fraction: 1 / 3, exit_price: 105 }, NOW);
    expect(first.result.size_closed).toBe(0.1);
    expect(first.result.remaining_size).toBe(0.2);
    expect(first.result.partial_pnl).toBe(0.5);
    const second = applyPartial(first.log, trade.id, { fraction: 0.5, exit_price: 90 }, NOW);
    expect(second.result).toMatchObject({ size_closed: 0.1, remaining_size: 0.1, partial_pnl: -1 });
    const t = findTrade(second.log, trade.id)!;
    expect(t.partial_exits?.map((p) => p.reason)).toEqual([null, null]);
    expect(t.partial_exits).toHaveLength(2);
    expect(netPnl(t)).toBeCloseTo(-0.5, 10);
  });

  it('computes SHORT partial P&L with the direction', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'ETH', direction: 'SHORT', entry_price: 3000, stop_price: 3100, target_price: 2700, size: 2 });
    expect(applyPartial(log, trade.id, { fraction: 0.25, exit_price: 2900 }, NOW).result.partial_pnl).toBe(50);
  });

  it('refuses a fraction that closes nothing or leaves nothing once rounded', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC', size: 0.000001 });
    const nothingClosed = thrown(() => applyPartial(log, trade.id, { fraction: 0.4, exit_price: 101 }, NOW));
    expect(nothingClosed).toBeInstanceOf(ValidationError);
    expect((nothingClosed as ValidationError).field).toBe('fraction');
    expect((nothingClosed as Error).message).toContain('0.4');
    const nothingLeft = thrown(() => applyPartial(log, trade.id, { fraction: 0.9, exit_price: 101 }, NOW));
    expect(nothingLeft).toBeInstanceOf(ValidationError);
    expect((nothingLeft as ValidationError).field).toBe('fraction');
    expect((nothingLeft as Error).message).toContain('0.9');
  });

  it('refuses unknown and closed trades', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    expect(thrown(() => applyPartial(log, 'T404', { fraction: 0.5, exit_price: 1 }, NOW))).toBeInstanceOf(TradeNotFoundError);
    const closed = applyClose(log, trade.id, { exit_price: 101 }, NOW).log;
    expect(thrown(() => applyPartial(closed, trade.id, { fraction: 0.5, exit_price: 1 }, NOW))).toBeInstanceOf(
      TradeStateConflictError,
    );
  });

  it('treats partial_exits: null in a hand-edited file as none', () => {
    const log = logOf(tradeRecord('T001', { partial_exits: null as never }));
    const t = findTrade(applyPartial(log, 'T001', { fraction: 0.5, exit_price: 110 }, NOW).log, 'T001')!;
    expect(t.partial_exits).toHaveLength(1);
  });
});

describe('applyUpdate', () => {
  it('moves a stop to and past entry, sets text and extension fields', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC', entry_price: 100, stop_price: 95 });
    const atEntry = applyUpdate(log, trade.id, { stop_price: 100 }).trade;
    expect(atEntry.stop_price).toBe(100);
    const { trade: t } = applyUpdate(log, trade.id, { stop_price: 105, target_price: 130, notes: 'trail', custom: { mfe: 4 } });
    expect(t).toMatchObject({ stop_price: 105, original_stop: 95, target_price: 130, notes: 'trail', custom: { mfe: 4 } });
    expect(Object.keys(t).slice(0, 20)).toEqual(Object.keys(trade)); // existing fields keep their place
  });

  it('allows a post-mortem on a CLOSED trade but no stop or target change', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    const closed = applyClose(log, trade.id, { exit_price: 101 }, NOW).log;
    expect(applyUpdate(closed, trade.id, { lessons: 'ok', grade: 'B', setup_type: 'X', tag: 1 }).trade).toMatchObject({
      lessons: 'ok',
      grade: 'B',
      tag: 1,
    });
    for (const patch of [{ stop_price: 90 }, { target_price: 130 }]) {
      const err = thrown(() => applyUpdate(closed, trade.id, patch));
      expect(err).toBeInstanceOf(TradeStateConflictError);
      expect((err as Error).message).toContain(trade.id);
    }
  });

  it('refuses owned fields, bad values and unknown ids', () => {
    const { log, trade } = openTrade(emptyLog(), { symbol: 'BTC' });
    const err = thrown(() => applyUpdate(log, trade.id, { size: 5 }));
    expect(err).toBeInstanceOf(ImmutableFieldError);
    expect((err as ImmutableFieldError).field).toBe('size');
    expect(thrown(() => applyUpdate(log, trade.id, { stop_price: -1 }))).toBeInstanceOf(ValidationError);
    expect(thrown(() => applyUpdate(log, 'T404', { notes: 'x' }))).toBeInstanceOf(TradeNotFoundError);
  });
});

describe('applyUpdatesBatch', () => {
  const twoOpen = (): TradeLog => {
    const a = openTrade(emptyLog(), { symbol: 'BTC' });
    return openTrade(a.log, { symbol: 'ETH' }).log;
  };

  it('applies every pair in order, the same id twice included', () => {
    const log = deepFreeze(twoOpen());
    const { log: out, trades } = applyUpdatesBatch(log, [
      ['T001', { stop_price: 97 }],
      ['T002', { notes: 'x' }],
      ['T001', { stop_price: 98, notes: 'y' }],
    ]);
    expect(trades).toHaveLength(3);
    expect(findTrade(out, 'T001')).toMatchObject({ stop_price: 98, notes: 'y' });
    expect(findTrade(out, 'T002')).toMatchObject({ notes: 'x', stop_price: 95 });
    expect(findTrade(log, 'T001')!.stop_price).toBe(95);
  });

  it('is all or nothing: a bad pair anywhere refuses the whole batch', () => {
    const log = deepFreeze(twoOpen());
    expect(thrown(() => applyUpdatesBatch(log, [['T001', { stop_price: 97 }], ['T002', { size: 1 }]]))).toBeInstanceOf(
      ImmutableFieldError,
    );
    expect(thrown(() => applyUpdatesBatch(log, [['T001', { stop_price: 97 }], ['T404', { notes: 'x' }]]))).toBeInstanceOf(
      TradeNotFoundError,
    );
    expect(findTrade(log, 'T001')!.stop_price).toBe(95);
  });

  it('refuses malformed pairs', () => {
    const log = twoOpen();
    expect(thrown(() => applyUpdatesBatch(log, 'x' as never))).toBeInstanceOf(ValidationError);
    expect(thrown(() => applyUpdatesBatch(log, [['T001'] as never]))).toBeInstanceOf(ValidationError);
    expect(thrown(() => applyUpdatesBatch(log, [[1, {}] as never]))).toBeInstanceOf(ValidationError);
  });

  it('returns an empty change list for an empty batch', () => {
    const log = twoOpen();
    const out = applyUpdatesBatch(log, []);
    expect(out.trades).toEqual([]);
    expect(out.log).toEqual(log);
  });
});
