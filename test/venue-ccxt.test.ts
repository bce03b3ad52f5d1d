/**
 * The ccxt adapters on ccxt's real shapes: recorded raw payloads (in the shape of each exchange's API
 * documentation, test/fixtures/ccxt/) go through ccxt's own parsers offline, and the adapters run on
 * the unified structures ccxt returns. The library itself must never load ccxt.
 */
import fs from 'node:fs';
import path from 'node:path';

import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../src/errors.js';
import { fromCcxtBalance, fromCcxtPositions, venuePositionsFrom } from '../src/index.js';
import { FIXTURES, ROOT, sourceFiles, tracedRun } from './helpers.js';

const recorded = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ccxt', name), 'utf8'));

/** Binance USDⓈ-M: markets from GET /fapi/v1/exchangeInfo, positions from GET /fapi/v2/positionRisk, as fetchPositions parses them. */
function binanceUsdmPositions(): any[] {
  const exchange = new ccxt.binanceusdm();
  exchange.setMarkets(recorded('binanceusdm-exchangeInfo.json').symbols.map((m: unknown) => exchange.parseMarket(m)));
  return recorded('binanceusdm-positionRisk.json').map((p: unknown) => exchange.parsePositionRisk(p));
}

/** OKX: markets from GET /api/v5/public/instruments?instType=SWAP, positions from GET /api/v5/account/positions (a hedged account). */
function okxPositions(): any[] {
  const exchange = new ccxt.okx();
  exchange.setMarkets(recorded('okx-instruments.json').data.map((m: unknown) => exchange.parseMarket(m)));
  return exchange.parsePositions(recorded('okx-positions-hedged.json').data);
}

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('fromCcxtPositions on ccxt-parsed derivatives', () => {
  it('Binance USDⓈ-M: a long, a short and a flat position; sizes in base units, entry prices kept', () => {
    const parsed = binanceUsdmPositions();
    expect(parsed.map((p) => [p.symbol, p.side, p.contracts])).toEqual([
      ['BTC/USDT:USDT', 'long', 0.125],
      ['ETH/USDT:USDT', 'short', 1],
      ['SOL/USDT:USDT', undefined, 0],
    ]);
    expect(fromCcxtPositions(parsed)).toEqual([
      { symbol: 'BTC', side: 'LONG', size: 0.125, entry_price: 96250.4 },
      { symbol: 'ETH', side: 'SHORT', size: 1, entry_price: 3710.5 },
    ]);
  });

  it('OKX: contracts × contractSize (0.01 BTC, 0.1 ETH a contract); a hedged long and short both kept, never netted', () => {
    const parsed = okxPositions();
    expect(parsed.map((p) => [p.symbol, p.side, p.contracts, p.contractSize])).toEqual([
      ['BTC/USDT:USDT', 'long', 3, 0.01],
      ['BTC/USDT:USDT', 'short', 2, 0.01],
      ['ETH/USDT:USDT', 'long', 10, 0.1],
    ]);
    expect(fromCcxtPositions(parsed)).toEqual([
      { symbol: 'BTC', side: 'LONG', size: 0.03, entry_price: 96120.5 },
      { symbol: 'BTC', side: 'SHORT', size: 0.02, entry_price: 97300 },
      { symbol: 'ETH', side: 'LONG', size: 1, entry_price: 3705.12 },
    ]);
  });

  it('the symbol map: a function, or a record with the base currency for what it does not name; null leaves a symbol out', () => {
    const parsed = binanceUsdmPositions();
    expect(fromCcxtPositions(parsed, { symbol: (s) => s.replace(/[/:]/g, '-') }).map((p) => p.symbol)).toEqual(['BTC-USDT-USDT', 'ETH-USDT-USDT']);
    expect(fromCcxtPositions(parsed, { symbol: { 'BTC/USDT:USDT': 'BTCUSDT' } }).map((p) => p.symbol)).toEqual(['BTCUSDT', 'ETH']);
    expect(fromCcxtPositions(parsed, { symbol: { 'ETH/USDT:USDT': null } }).map((p) => p.symbol)).toEqual(['BTC']);
    expect(refusal(() => fromCcxtPositions(parsed, { symbol: () => '' })).field).toBe('positions[0].symbol');
  });

  it('contractSize missing counts as 1; a shape it cannot map is refused, naming the field, index and value', () => {
    expect(fromCcxtPositions([{ symbol: 'XRP/USDT:USDT', side: 'short', contracts: 40 }])).toEqual([{ symbol: 'XRP', side: 'SHORT', size: 40 }]);
    expect(fromCcxtPositions([{ symbol: 'ETH/USDT:USDT', side: 'long', contracts: 3, contractSize: 0.1 }])[0]!.size).toBe(0.3);
    const parsed = binanceUsdmPositions();
    const noSide = refusal(() => fromCcxtPositions([parsed[0], { ...parsed[1], side: undefined }]));
    expect([noSide.code, noSide.field, noSide.message]).toEqual(['EVALIDATION', 'positions[1].side', "Invalid positions[1].side: undefined is not 'long' or 'short'"]);
    const negative = refusal(() => fromCcxtPositions([{ ...parsed[0], contracts: -0.125 }]));
    expect([negative.field, negative.value]).toEqual(['positions[0].contracts', -0.125]);
    expect(refusal(() => fromCcxtPositions([{ ...parsed[0], contracts: Number.NaN }])).field).toBe('positions[0].contracts');
    expect(refusal(() => fromCcxtPositions([{ ...parsed[0], contractSize: 0 }])).field).toBe('positions[0].contractSize');
    expect(refusal(() => fromCcxtPositions([{ ...parsed[0], symbol: 42 }])).field).toBe('positions[0].symbol');
  });

  it('inverse contracts and options are refused (their contracts are no amount of the base) unless mapped to null', () => {
    const inverse = { symbol: 'BTC/USD:BTC', side: 'long', contracts: 10, contractSize: 100 };
    const option = { symbol: 'BTC/USDT:USDT-241227-100000-C', side: 'long', contracts: 1, contractSize: 0.01 };
    expect(refusal(() => fromCcxtPositions([inverse])).message).toContain('inverse');
    expect(refusal(() => fromCcxtPositions([option])).message).toContain('option');
    expect(fromCcxtPositions([inverse, option], { symbol: { 'BTC/USD:BTC': null, 'BTC/USDT:USDT-241227-100000-C': null } })).toEqual([]);
    // A dated linear future is a holding of the base.
    expect(fromCcxtPositions([{ symbol: 'BTC/USDT:USDT-241227', side: 'long', contracts: 2, contractSize: 0.001 }])).toEqual([{ symbol: 'BTC', side: 'LONG', size: 0.002 }]);
  });
});

describe('fromCcxtBalance on ccxt-parsed spot balances', () => {
  it('Binance spot (GET /api/v3/account): free + locked of each traded base, by market or currency; zero skipped', () => {
    const exchange = new ccxt.binance();
    const balance = exchange.parseBalanceCustom(recorded('binance-account.json'), 'spot');
    expect(balance.BTC).toEqual({ free: 0.04, used: 0.01, total: 0.05 });
    expect(fromCcxtBalance(balance, { symbols: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'DOGE/USDT'] })).toEqual([
      { symbol: 'BTC', side: 'LONG', size: 0.05 },
      { symbol: 'SOL', side: 'LONG', size: 12.5 },
    ]);
    expect(fromCcxtBalance(balance, { symbols: ['BTC', 'SOL'], symbol: (s) => `${s}-SPOT` })).toEqual([
      { symbol: 'BTC-SPOT', side: 'LONG', size: 0.05 },
      { symbol: 'SOL-SPOT', side: 'LONG', size: 12.5 },
    ]);
  });

  it("Kraken (POST /0/private/BalanceEx): ccxt's codes (XXBT → BTC), balance.free / balance.used when an entry is absent", () => {
    const exchange = new ccxt.kraken();
    const balance = exchange.parseBalance(recorded('kraken-balanceEx.json'));
    expect(fromCcxtBalance(balance, { symbols: ['BTC/USD', 'ETH/USD', 'DOT/USD'] })).toEqual([
      { symbol: 'BTC', side: 'LONG', size: 0.12345 },
      { symbol: 'DOT', side: 'LONG', size: 40 },
    ]);
    const { free, used, total } = balance;
    expect(fromCcxtBalance({ free, used, total }, { symbols: ['BTC/USD'] })).toEqual([{ symbol: 'BTC', side: 'LONG', size: 0.12345 }]);
    expect(fromCcxtBalance({ total: { BTC: 0.5 } }, { symbols: ['BTC/USD'] })).toEqual([{ symbol: 'BTC', side: 'LONG', size: 0.5 }]);
  });

  it('refuses two symbols of one currency and amounts it cannot read', () => {
    const e = refusal(() => fromCcxtBalance({ BTC: { free: 1, used: 0 } }, { symbols: ['BTC/USDT', 'BTC/USDC'] }));
    expect([e.field, e.message]).toEqual(['symbols[1]', 'Invalid symbols[1]: "BTC/USDC" counts the currency BTC, as symbols[0] does']);
    expect(refusal(() => fromCcxtBalance({ BTC: { free: -1, used: 0 } }, { symbols: ['BTC'] })).field).toBe('balance.BTC.free');
    expect(refusal(() => fromCcxtBalance({ BTC: { free: 1 } }, { symbols: 'BTC' as never })).field).toBe('symbols');
  });
});

describe('venuePositionsFrom (the --positions file)', () => {
  it('VenuePositions pass as they are; raw ccxt positions (as JSON) are detected and mapped', () => {
    const own = [{ symbol: 'BTC', side: 'LONG', size: 0.1, entry_price: 95000 }];
    expect(venuePositionsFrom(own)).toEqual(own);
    expect(venuePositionsFrom([])).toEqual([]);
    const fromFile = JSON.parse(JSON.stringify(binanceUsdmPositions()));
    expect(venuePositionsFrom(fromFile)).toEqual(fromCcxtPositions(binanceUsdmPositions()));
    expect(venuePositionsFrom(JSON.parse(JSON.stringify(okxPositions()))).map((p) => p.size)).toEqual([0.03, 0.02, 1]);
  });

  it('refuses what it cannot map: not a list, a mixed list, a ccxt position without a side', () => {
    expect(refusal(() => venuePositionsFrom({ positions: [] })).field).toBe('positions');
    const mixed = refusal(() => venuePositionsFrom([{ symbol: 'BTC', side: 'LONG', size: 1 }, { symbol: 'ETH/USDT:USDT', side: 'long', contracts: 1 }]));
    expect(mixed.field).toBe('positions[1]');
    expect(refusal(() => venuePositionsFrom([{ symbol: 'ETH/USDT:USDT', contracts: 1, info: {} }])).field).toBe('positions[0].side');
  });
});

describe('the library does not depend on ccxt', () => {
  it('no file of src/ names ccxt in an import, and loading dist and running the adapters loads no ccxt module', () => {
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      expect(fs.readFileSync(file, 'utf8'), file).not.toMatch(/(?:from|import\()\s*['"]ccxt/);
    }
    const code = `const m = await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      console.log(JSON.stringify(m.fromCcxtPositions([{ symbol: 'BTC/USDT:USDT', side: 'long', contracts: 2, contractSize: 0.5 }])));`;
    const r = tracedRun(['--input-type=module', '-e', code]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ symbol: 'BTC', side: 'LONG', size: 1 }]);
    expect(r.modules.some((u) => u.includes('/dist/venue/ccxt.js'))).toBe(true);
    expect(r.modules.filter((u) => u.includes('node_modules/ccxt'))).toEqual([]);
  });
});
