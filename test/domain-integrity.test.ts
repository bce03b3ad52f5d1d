import { describe, expect, it } from 'vitest';

import { verifyIntegrity, type Violation } from '../src/domain/integrity.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { emptyLog, openAndClose, openTrade, partialClose, tradeRecord, type TradeFields } from './trades.js';

/** next_id stays clear of every id these cases write (verifyIntegrity does not read it). */
const logOf = (...trades: Trade[]): TradeLog => ({ trades, next_id: 100 });
const closed = (id: string, over: TradeFields = {}): Trade =>
  tradeRecord(id, { status: 'CLOSED', exit_price: 110, exit_time: '2026-03-02T00:00:00+00:00', pnl_usd: 10, pnl_pct: 10, r_multiple: 2, ...over });
const codes = (v: Violation[]) => v.map((x) => `${x.code}:${x.trade_id}`);

describe('verifyIntegrity', () => {
  it('finds nothing wrong in a log the domain wrote', () => {
    let log = openTrade(emptyLog(), { symbol: 'BTC' }).log;
    log = partialClose(log, 'T001', 0.5, 110);
    log = openAndClose(log, 'ETH', 90);
    log = openAndClose(log, 'ETH', 100);
    expect(verifyIntegrity(log, { maxPositions: 7 })).toEqual([]);
  });

  it('DUPLICATE_ID: once per extra occurrence', () => {
    const v = verifyIntegrity(logOf(closed('T001'), closed('T001'), closed('T001')));
    expect(codes(v)).toEqual(['DUPLICATE_ID:T001', 'DUPLICATE_ID:T001']);
    expect(v[0]!.message).toContain('T001');
  });

  it('OPEN_MISSING_FIELD: one per missing or invalid field', () => {
    const t = tradeRecord('T001', { entry_price: null as never, stop_price: 0, size: NaN, symbol: ' ', direction: undefined as never });
    const v = verifyIntegrity(logOf(t));
    expect(codes(v)).toEqual(Array(5).fill('OPEN_MISSING_FIELD:T001'));
    const text = v.map((x) => x.message).join('\n');
    for (const f of ['entry_price', 'stop_price', 'size', 'symbol', 'direction']) expect(text).toContain(f);
  });

  it('OPEN_HAS_EXIT', () => {
    expect(codes(verifyIntegrity(logOf(tradeRecord('T001', { exit_price: 110 }))))).toEqual(['OPEN_HAS_EXIT:T001']);
  });

  it('CLOSED_MISSING_FIELD: exit_price or pnl_usd null', () => {
    expect(codes(verifyIntegrity(logOf(closed('T001', { exit_price: null }), closed('T002', { pnl_usd: null }))))).toEqual([
      'CLOSED_MISSING_FIELD:T001',
      'CLOSED_MISSING_FIELD:T002',
    ]);
  });

  it('POSITION_CAP_EXCEEDED: more open than the cap', () => {
    const trades = [1, 2, 3].map((n) => tradeRecord(`T00${n}`, { symbol: `S${n}` }));
    expect(verifyIntegrity(logOf(...trades), { maxPositions: 3 })).toEqual([]);
    const v = verifyIntegrity(logOf(...trades), { maxPositions: 2 });
    expect(v).toEqual([{ code: 'POSITION_CAP_EXCEEDED', trade_id: null, message: '3 trades are OPEN, cap is 2' }]);
  });

  it('POSITION_CAP_EXCEEDED uses the default cap of 7', () => {
    const trades = Array.from({ length: 8 }, (_, n) => tradeRecord(`T${n}`, { symbol: `S${n}` }));
    expect(codes(verifyIntegrity(logOf(...trades)))).toEqual(['POSITION_CAP_EXCEEDED:null']);
  });

  it('DUPLICATE_OPEN_SYMBOL: names both trades; a closed one does not count', () => {
    const v = verifyIntegrity(logOf(closed('T001'), tradeRecord('T002'), tradeRecord('T003')));
    expect(codes(v)).toEqual(['DUPLICATE_OPEN_SYMBOL:T003']);
    expect(v[0]!.message).toContain('T002');
  });

  describe('PNL_SIGN_MISMATCH', () => {
    const cases: [string, Partial<Trade>, boolean][] = [
      ['LONG up, profit', { direction: 'LONG', exit_price: 110, pnl_usd: 10 }, false],
      ['LONG up, loss', { direction: 'LONG', exit_price: 110, pnl_usd: -10 }, true],
      ['LONG up, rounded to 0', { direction: 'LONG', exit_price: 100.001, pnl_usd: 0 }, false],
      ['LONG down, loss', { direction: 'LONG', exit_price: 90, pnl_usd: -10 }, false],
      ['LONG down, profit', { direction: 'LONG', exit_price: 90, pnl_usd: 10 }, true],
      ['SHORT down, profit', { direction: 'SHORT', exit_price: 90, pnl_usd: 10 }, false],
      ['SHORT down, loss', { direction: 'SHORT', exit_price: 90, pnl_usd: -10 }, true],
      ['SHORT up, profit', { direction: 'SHORT', exit_price: 110, pnl_usd: 10 }, true],
      ['flat, zero', { direction: 'LONG', exit_price: 100, pnl_usd: 0 }, false],
      ['flat, nonzero', { direction: 'SHORT', exit_price: 100, pnl_usd: 0.01 }, true],
    ];
    for (const [name, over, bad] of cases) {
      it(`${name} -> ${bad ? 'violation' : 'fine'}`, () => {
        const v = verifyIntegrity(logOf(closed('T001', { entry_price: 100, ...over })));
        expect(codes(v)).toEqual(bad ? ['PNL_SIGN_MISMATCH:T001'] : []);
      });
    }

    it('judges the closing pnl_usd only, not the partials', () => {
      const t = closed('T001', { exit_price: 90, pnl_usd: -5, partial_exits: [{ exit_price: 120, size_closed: 1, pnl_usd: 20, reason: null, timestamp: 't' }] });
      expect(verifyIntegrity(logOf(t))).toEqual([]);
    });
  });

  it('UNKNOWN_STATUS and UNKNOWN_DIRECTION', () => {
    const v = verifyIntegrity(logOf(tradeRecord('T001', { status: 'PENDING' }), closed('T002', { direction: 'long' as never })));
    expect(codes(v)).toEqual(['UNKNOWN_STATUS:T001', 'UNKNOWN_DIRECTION:T002']);
    expect(v[0]!.message).toContain('PENDING');
    expect(v[1]!.message).toContain('long');
  });

  it('reports a trade without an id with trade_id null', () => {
    const v = verifyIntegrity(logOf(tradeRecord(undefined as never, { status: 'X' })));
    expect(v).toEqual([expect.objectContaining({ code: 'UNKNOWN_STATUS', trade_id: null })]);
  });
});
