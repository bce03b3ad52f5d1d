import { describe, expect, it } from 'vitest';

import { checkOpenRisk, type RiskResult } from '../src/domain/risk.js';
import { resolveSettings } from '../src/domain/settings.js';
import { applyPartial, applyUpdate } from '../src/domain/trade-ops.js';
import type { TradeLog } from '../src/domain/types.js';
import { closeTrade, emptyLog, logOf, NOW, openAndClose, openInput, openTrade, tradeRecord } from './trades.js';

const config = resolveSettings();

function refusal(r: RiskResult): Extract<RiskResult, { ok: false }> {
  if (r.ok) throw new Error('expected a refusal');
  return r;
}

describe('DUPLICATE_SYMBOL', () => {
  it('refuses a symbol already OPEN, naming the trade', () => {
    const { log } = openTrade(openTrade(emptyLog(), { symbol: 'DOGE' }).log, { symbol: 'BTC' });
    const r = refusal(checkOpenRisk(log, openInput({ symbol: 'BTC' }), config, 5000));
    expect(r.code).toBe('DUPLICATE_SYMBOL');
    expect(r.message).toBe('BTC is already open as T002');
    expect(r.details).toEqual({ symbol: 'BTC', openTradeId: 'T002', openSymbol: 'BTC' });
  });

  it('allows a symbol whose trades are closed', () => {
    const log = openAndClose(emptyLog(), 'DOGE', 110);
    expect(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), config, 5000)).toEqual({ ok: true });
  });

  it('compares instrument keys: "doge" is refused beside an open "DOGE", naming the spelling held', () => {
    const withOpen = openTrade(emptyLog(), { symbol: 'DOGE' }).log;
    const r = refusal(checkOpenRisk(withOpen, openInput({ symbol: 'doge' }), config, 5000));
    expect(r.code).toBe('DUPLICATE_SYMBOL');
    expect(r.message).toBe('doge is already open as T001 DOGE');
    expect(r.details).toEqual({ symbol: 'doge', openTradeId: 'T001', openSymbol: 'DOGE' });
  });
});

describe('POSITION_CAP', () => {
  const full = (n: number): TradeLog => {
    let log = emptyLog();
    for (let i = 0; i < n; i++) log = openTrade(log, { symbol: `S${i}` }).log;
    return log;
  };

  it('refuses at the cap and names the numbers', () => {
    const r = refusal(checkOpenRisk(full(7), openInput({ symbol: 'NEW' }), config, 5000));
    expect(r.code).toBe('POSITION_CAP');
    expect(r.message).toBe('7 positions open, cap is 7');
    expect(r.details).toEqual({ openCount: 7, maxPositions: 7 });
  });

  it('allows one below the cap; closed trades do not count', () => {
    expect(checkOpenRisk(full(6), openInput({ symbol: 'NEW' }), config, 5000).ok).toBe(true);
    const log = openAndClose(full(6), 'OLD', 101);
    expect(checkOpenRisk(log, openInput({ symbol: 'NEW' }), config, 5000).ok).toBe(true);
  });

  it('follows the configured cap', () => {
    const r = refusal(checkOpenRisk(full(2), openInput({ symbol: 'NEW' }), resolveSettings({ maxPositions: 2 }), 5000));
    expect(r.message).toBe('2 positions open, cap is 2');
  });

  it('comes after DUPLICATE_SYMBOL', () => {
    expect(refusal(checkOpenRisk(full(7), openInput({ symbol: 'S3' }), config, 5000)).code).toBe('DUPLICATE_SYMBOL');
  });
});

describe('CORRELATION_LIMIT', () => {
  // BTC: |65000 − 63500| × 0.1 = 150 USD at risk; limit 4 % of 5000 = 200 USD.
  const withBtc = (): TradeLog =>
    openTrade(emptyLog(), { symbol: 'BTC', entry_price: 65000, stop_price: 63500, target_price: 70000, size: 0.1 }).log;
  const eth = (stop: number) => openInput({ symbol: 'ETH', entry_price: 3000, stop_price: stop, target_price: 3300, size: 1 });

  it('refuses when the group would exceed the limit, naming the numbers', () => {
    const r = refusal(checkOpenRisk(withBtc(), eth(2937.5), config, 5000));
    expect(r.code).toBe('CORRELATION_LIMIT');
    expect(r.message).toBe('crypto_major risk would be 212.50 USD, limit is 200.00 USD (4% of equity 5000.00)');
    expect(r.details).toMatchObject({
      symbol: 'ETH',
      group: 'crypto_major',
      groupRiskUsd: 212.5,
      openRiskUsd: 150,
      newRiskUsd: 62.5,
      limitUsd: 200,
      equity: 5000,
      openTradeIds: ['T001'],
    });
  });

  it('allows exactly the limit', () => {
    expect(checkOpenRisk(withBtc(), eth(2950), config, 5000)).toEqual({ ok: true });
  });

  it('counts the risk at open: a trailed stop or a partial close does not free room', () => {
    let log = applyUpdate(withBtc(), 'T001', { stop_price: 66000 }).log;
    log = applyPartial(log, 'T001', { fraction: 0.5, exit_price: 66000 }, NOW).log;
    expect(refusal(checkOpenRisk(log, eth(2937.5), config, 5000)).details.openRiskUsd).toBe(150);
  });

  it('falls back to stop_price and size when original_* are missing', () => {
    const log = logOf(
      tradeRecord('T001', { symbol: 'BTC', entry_price: 65000, stop_price: 63500, original_stop: null as never, size: 0.1, original_size: undefined as never }),
    );
    expect(refusal(checkOpenRisk(log, eth(2937.5), config, 5000)).details.openRiskUsd).toBe(150);
  });

  it('scales with equity and percentage', () => {
    expect(checkOpenRisk(withBtc(), eth(2937.5), config, 6000).ok).toBe(true); // limit 240
    const tight = resolveSettings({ maxCorrGroupRiskPct: 1 });
    const r = refusal(checkOpenRisk(emptyLog(), eth(2937.5), tight, 5000));
    expect(r.message).toBe('crypto_major risk would be 62.50 USD, limit is 50.00 USD (1% of equity 5000.00)');
  });

  it('ignores other groups, closed trades and symbols in no group', () => {
    const log = openTrade(withBtc(), { symbol: 'SOL', entry_price: 100, stop_price: 50, size: 10 }).log;
    expect(checkOpenRisk(log, eth(2950), config, 5000).ok).toBe(true);
    expect(checkOpenRisk(log, openInput({ symbol: 'DOGE', stop_price: 1, size: 1000 }), config, 5000).ok).toBe(true);
    const closed = openAndClose(emptyLog(), 'BTC', 101);
    expect(checkOpenRisk(closed, eth(2937.5), config, 5000).ok).toBe(true);
  });

  it('checks every group the symbol belongs to', () => {
    const groups = { narrow: ['ETH', 'BTC'], wide: ['BTC', 'ETH', 'SOL'] }; // narrow passes, wide does not
    const c = resolveSettings({ correlationGroups: groups, maxCorrGroupRiskPct: 4 });
    const log = openTrade(emptyLog(), { symbol: 'SOL', entry_price: 100, stop_price: 90, size: 10 }).log; // 100 USD
    const r = refusal(checkOpenRisk(log, eth(2890), c, 5000)); // 110 + 100 > 200 in "wide"
    expect(r.details.group).toBe('wide');
  });
});

describe('ASSET_LOSS_CAP', () => {
  const history = (exits: number[], symbol = 'DOGE'): TradeLog => {
    let log = emptyLog();
    for (const exit of exits) log = openAndClose(log, symbol, exit);
    return log;
  };

  it('refuses after the last 3 closed trades of the symbol lost', () => {
    const r = refusal(checkOpenRisk(history([110, 90, 95, 99]), openInput({ symbol: 'DOGE' }), config, 5000));
    expect(r.code).toBe('ASSET_LOSS_CAP');
    expect(r.message).toBe('DOGE lost its last 3 closed trades (T002, T003, T004); cap is 3');
    expect(r.details).toMatchObject({ symbol: 'DOGE', cap: 3, tradeIds: ['T002', 'T003', 'T004'] });
  });

  it('counts breakeven as not winning', () => {
    const r = refusal(checkOpenRisk(history([90, 100, 95]), openInput({ symbol: 'DOGE' }), config, 5000));
    expect(r.message).toBe('DOGE did not win its last 3 closed trades (T001, T002, T003); cap is 3');
  });

  it('allows fewer losses than the cap, or a win among the last N', () => {
    expect(checkOpenRisk(history([90, 95]), openInput({ symbol: 'DOGE' }), config, 5000).ok).toBe(true);
    expect(checkOpenRisk(history([90, 95, 101]), openInput({ symbol: 'DOGE' }), config, 5000).ok).toBe(true);
    expect(checkOpenRisk(history([90, 101, 95]), openInput({ symbol: 'DOGE' }), config, 5000).ok).toBe(true);
  });

  it('uses net P&L: a partial profit can turn a losing close into a win', () => {
    let log = history([90, 95]);
    log = openTrade(log, { symbol: 'DOGE', size: 10 }).log;
    log = applyPartial(log, 'T003', { fraction: 0.5, exit_price: 110 }, NOW).log; // +50
    log = closeTrade(log, 'T003', 99); // −5 on the rest: net +45
    expect(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), config, 5000).ok).toBe(true);
  });

  it('reads the symbol’s own trades in log order, not other symbols', () => {
    let log = history([90, 95]);
    log = openAndClose(log, 'OTHER', 200);
    log = openAndClose(log, 'DOGE', 98);
    expect(refusal(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), config, 5000)).details.tradeIds).toEqual(['T001', 'T002', 'T004']);
    // Log order decides, whatever the exit times say.
    const out: TradeLog = {
      trades: [
        tradeRecord('T009', { symbol: 'DOGE', status: 'CLOSED', exit_price: 90, pnl_usd: -10, exit_time: '2026-03-05T00:00:00+00:00' }),
        tradeRecord('T001', { symbol: 'DOGE', status: 'CLOSED', exit_price: 90, pnl_usd: -10, exit_time: '2026-03-01T00:00:00+00:00' }),
        tradeRecord('T002', { symbol: 'DOGE', status: 'CLOSED', exit_price: 110, pnl_usd: 10, exit_time: '2026-03-09T00:00:00+00:00' }),
        tradeRecord('T003', { symbol: 'DOGE', status: 'CLOSED', exit_price: 90, pnl_usd: -10, exit_time: '2026-03-02T00:00:00+00:00' }),
      ],
      next_id: 10,
    };
    expect(checkOpenRisk(out, openInput({ symbol: 'DOGE' }), config, 5000).ok).toBe(true);
  });

  it('follows the configured cap, and 0 disables it', () => {
    const log = history([90, 95, 99]);
    expect(refusal(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), resolveSettings({ assetConsecutiveLossCap: 1 }), 5000)).details.tradeIds).toEqual(['T003']);
    expect(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), resolveSettings({ assetConsecutiveLossCap: 0 }), 5000).ok).toBe(true);
    expect(checkOpenRisk(log, openInput({ symbol: 'DOGE' }), resolveSettings({ assetConsecutiveLossCap: 4 }), 5000).ok).toBe(true);
  });

  it('comes last: the correlation limit is reported first', () => {
    const log = history([90, 90, 90], 'ETH');
    const big = openInput({ symbol: 'ETH', entry_price: 3000, stop_price: 2000, target_price: 3300, size: 1 });
    expect(refusal(checkOpenRisk(log, big, config, 5000)).code).toBe('CORRELATION_LIMIT');
    expect(refusal(checkOpenRisk(log, openInput({ symbol: 'ETH' }), config, 5000)).code).toBe('ASSET_LOSS_CAP');
  });
});
