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
} from '../src/domain/formulas.js';
import type { PartialExit, TradeLog } from '../src/domain/types.js';
import { rawTrade } from './domain-helpers.js';

const px = (pnl_usd: number): PartialExit => ({ exit_price: 1, size_closed: 1, pnl_usd, reason: null, timestamp: 't' });

describe('netPnl and partials', () => {
  it('adds partial exits to the closing pnl_usd', () => {
    expect(netPnl(rawTrade({ id: 'T1', status: 'CLOSED', pnl_usd: -50, partial_exits: [px(50), px(12.5)] }))).toBe(12.5);
  });

  it('counts a null pnl_usd and missing or null partial_exits as 0', () => {
    expect(netPnl(rawTrade({ id: 'T1', pnl_usd: null }))).toBe(0);
    expect(netPnl(rawTrade({ id: 'T1', pnl_usd: 7, partial_exits: null as never }))).toBe(7);
    expect(partialExitsOf(rawTrade({ id: 'T1', partial_exits: null as never }))).toEqual([]);
    expect(partialPnl(rawTrade({ id: 'T1', partial_exits: [px(3), { pnl_usd: null } as never] }))).toBe(3);
  });
});

describe('realizedPnl / equityOf (SPEC §4)', () => {
  const log: TradeLog = {
    trades: [
      rawTrade({ id: 'T1', status: 'CLOSED', pnl_usd: 60, partial_exits: [px(10)] }), // 70
      rawTrade({ id: 'T2', status: 'CLOSED', pnl_usd: -25 }), // −25
      rawTrade({ id: 'T3', status: 'OPEN', pnl_usd: null, partial_exits: [px(15)] }), // partial only: 15
      rawTrade({ id: 'T4', status: 'OPEN', pnl_usd: 999 }), // an open trade's pnl_usd is not realized
      rawTrade({ id: 'T5', status: 'ARCHIVED', pnl_usd: 1000, partial_exits: [px(1000)] }), // unknown: ignored
    ],
    next_id: 6,
  };

  it('sums net of CLOSED and partials of OPEN only', () => {
    expect(realizedPnl(log.trades)).toBe(60);
    expect(equityOf(log, 5000)).toBe(5060);
    expect(equityOf({ trades: [] }, 5000)).toBe(5000);
  });
});

describe('risk(t) and osize(t) with Python `or` fallbacks', () => {
  it('uses original_stop and original_size when truthy', () => {
    const t = rawTrade({ id: 'T1', entry_price: 100, stop_price: 105, original_stop: 95, size: 2, original_size: 4 });
    expect(riskPerUnit(t)).toBe(5);
    expect(originalSize(t)).toBe(4);
    expect(initialRiskUsd(t)).toBe(20);
  });

  it('falls back on null, missing or 0', () => {
    for (const fallback of [null, undefined, 0]) {
      const t = rawTrade({ id: 'T1', entry_price: 100, stop_price: 90, original_stop: fallback as never, size: 3, original_size: fallback as never });
      expect(riskPerUnit(t)).toBe(10);
      expect(originalSize(t)).toBe(3);
    }
  });
});
