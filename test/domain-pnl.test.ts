import { describe, expect, it } from 'vitest';

import {
  equityOf,
  initialRiskUsd,
  netPnl,
  originalSize,
  partialExitsOf,
  partialPnl,
  realizedPnl,
  riskPerUnit,
  riskToStop,
} from '../src/domain/formulas.js';
import { logOf, partialExit, tradeRecord, type TradeFields } from './trades.js';

const px = (pnl_usd: number) => partialExit('t', pnl_usd);

describe('netPnl and partials', () => {
  it('adds partial exits to the closing pnl_usd', () => {
    expect(netPnl(tradeRecord('T1', { status: 'CLOSED', pnl_usd: -50, partial_exits: [px(50), px(12.5)] }))).toBe(12.5);
  });

  it('counts a null pnl_usd and missing or null partial_exits as 0', () => {
    expect(netPnl(tradeRecord('T1', { pnl_usd: null }))).toBe(0);
    expect(netPnl(tradeRecord('T1', { pnl_usd: 7, partial_exits: null as never }))).toBe(7);
    expect(partialExitsOf(tradeRecord('T1', { partial_exits: null as never }))).toEqual([]);
    expect(partialPnl(tradeRecord('T1', { partial_exits: [px(3), { pnl_usd: null } as never] }))).toBe(3);
  });
});

describe('realizedPnl / equityOf (SPEC §4)', () => {
  const log = logOf(
    tradeRecord('T1', { status: 'CLOSED', pnl_usd: 60, partial_exits: [px(10)] }), // 70
    tradeRecord('T2', { status: 'CLOSED', pnl_usd: -25 }), // −25
    tradeRecord('T3', { status: 'OPEN', pnl_usd: null, partial_exits: [px(15)] }), // partial only: 15
    tradeRecord('T4', { status: 'OPEN', pnl_usd: 999 }), // an open trade's pnl_usd is not realized
    tradeRecord('T5', { status: 'ARCHIVED', pnl_usd: 1000, partial_exits: [px(1000)] }), // unknown: ignored
  );

  it('sums net of CLOSED and partials of OPEN only', () => {
    expect(realizedPnl(log.trades)).toBe(60);
    expect(equityOf(log, 5000)).toBe(5060);
    expect(equityOf({ trades: [] }, 5000)).toBe(5000);
  });
});

describe('risk(t) and osize(t) with Python `or` fallbacks', () => {
  it('uses original_stop and original_size when truthy', () => {
    const t = tradeRecord('T1', { entry_price: 100, stop_price: 105, original_stop: 95, size: 2, original_size: 4 });
    expect(riskPerUnit(t)).toBe(5);
    expect(originalSize(t)).toBe(4);
    expect(initialRiskUsd(t)).toBe(20);
  });

  it('falls back on null, missing or 0', () => {
    for (const fallback of [null, undefined, 0]) {
      const t = tradeRecord('T1', { entry_price: 100, stop_price: 90, original_stop: fallback as never, size: 3, original_size: fallback as never });
      expect(riskPerUnit(t)).toBe(10);
      expect(originalSize(t)).toBe(3);
    }
  });
});

describe('riskToStop: the current stop and size (the report\'s open risk and `status`\'s RISK USD)', () => {
  it('is (entry − stop) × size for a LONG and (stop − entry) × size for a SHORT, from the trailed stop', () => {
    expect(riskToStop(tradeRecord('T1', { entry_price: 100, stop_price: 96, original_stop: 90, size: 2 }))).toEqual({ usd: 8, lockedIn: false });
    expect(riskToStop(tradeRecord('T1', { direction: 'SHORT', entry_price: 100, stop_price: 103, size: 2 }))).toEqual({ usd: 6, lockedIn: false });
  });

  it('is 0 and locked in once the stop is at or past entry, on either side', () => {
    expect(riskToStop(tradeRecord('T1', { entry_price: 100, stop_price: 101 }))).toEqual({ usd: 0, lockedIn: true });
    expect(riskToStop(tradeRecord('T1', { entry_price: 100, stop_price: 100 }))).toEqual({ usd: 0, lockedIn: true });
    expect(riskToStop(tradeRecord('T1', { direction: 'SHORT', entry_price: 100, stop_price: 97 }))).toEqual({ usd: 0, lockedIn: true });
  });

  it('gives no figure, never a made-up one, for damaged fields', () => {
    const unknown = { usd: null, lockedIn: false };
    const damaged: TradeFields[] = [
      { stop_price: null as never },
      { stop_price: NaN },
      { stop_price: Infinity },
      { stop_price: '95' as never },
      { entry_price: null as never },
      { entry_price: 0 },
      { size: null as never },
      { size: -1 },
      { size: '1' as never },
      { direction: 'FLAT' as never },
      { entry_price: 1e308, stop_price: -1e308, size: 10 },
    ];
    for (const fields of damaged) {
      expect(riskToStop(tradeRecord('T1', fields)), JSON.stringify(fields)).toEqual(unknown);
    }
  });
});
