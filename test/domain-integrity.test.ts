import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { VIOLATION_SUMMARY_MAX_BYTES, verifyIntegrity, violationSummary, type Violation } from '../src/domain/integrity.js';
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

describe('violationSummary: the default integrity warning', () => {
  const CODES = ['DUPLICATE_ID', 'OPEN_MISSING_FIELD', 'PNL_SIGN_MISMATCH', 'DUPLICATE_OPEN_SYMBOL', 'POSITION_CAP_EXCEEDED', 'UNKNOWN_STATUS'];
  const violation = (i: number, code = CODES[i % CODES.length] as string): Violation => ({
    code,
    trade_id: `T${String(i + 1).padStart(3, '0')}`,
    message: `T${String(i + 1).padStart(3, '0')} is LONG 101 -> 100 but its pnl_usd is 1`,
  });

  it('stays within 2048 bytes for 0..10000 violations of any text, naming the count and every code with its count (property)', () => {
    const textArb = fc.string({ unit: 'binary', maxLength: 400 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.record({ code: fc.constantFrom(...CODES), trade_id: fc.option(textArb, { nil: null }), message: textArb }), { minLength: 1, maxLength: 20 }),
        textArb,
        (n, pool, where) => {
          const all = Array.from({ length: n }, (_, i) => pool[i % pool.length] as Violation);
          const text = violationSummary(all, where, 'openTrade');
          expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(VIOLATION_SUMMARY_MAX_BYTES);
          expect(text.startsWith(`${n} integrity violation${n === 1 ? '' : 's'} in `)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    // The counts by code, with ordinary messages (no cut).
    for (const n of [0, 1, 7, 400, 10_000]) {
      const all = Array.from({ length: n }, (_, i) => violation(i));
      const text = violationSummary(all, '/var/bots/trades/trade_log.json', 'closeTrade');
      expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(VIOLATION_SUMMARY_MAX_BYTES);
      for (const code of CODES) {
        const k = all.filter((v) => v.code === code).length;
        if (k > 0) expect(text).toContain(`${code} ${k}`);
        else expect(text).not.toContain(code);
      }
    }
  });

  it('names the first few trade ids and the first message, and says where the rest are', () => {
    const all = Array.from({ length: 400 }, (_, i) => violation(i, i < 398 ? 'PNL_SIGN_MISMATCH' : 'DUPLICATE_OPEN_SYMBOL'));
    expect(violationSummary(all, '/bots/trade_log.json', 'openTrade')).toBe(
      '400 integrity violations in /bots/trade_log.json after openTrade: PNL_SIGN_MISMATCH 398, DUPLICATE_OPEN_SYMBOL 2; ' +
        'trades T001, T002, T003, T004, T005, …; first: T001 is LONG 101 -> 100 but its pnl_usd is 1. ' +
        'All of them: store.verifyIntegrity(), or an onIntegrityViolation option',
    );
    const one = [{ code: 'POSITION_CAP_EXCEEDED', trade_id: null, message: '8 trades are OPEN, cap is 7' }];
    expect(violationSummary(one, 'postgres account "a"', 'openTrade')).toBe(
      '1 integrity violation in postgres account "a" after openTrade: POSITION_CAP_EXCEEDED 1; first: 8 trades are OPEN, cap is 7',
    );
  });
});
