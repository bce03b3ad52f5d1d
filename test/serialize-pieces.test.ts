import fs from 'node:fs';
import path from 'node:path';

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TradeStore, type TradeLog } from '../src/index.js';
import { serializeLog, type WrittenLayout } from '../src/io/serialize.js';
import { tempDir } from './helpers.js';

// Logs above 256 KiB: the serializer keeps them in pieces (views of earlier versions' bytes) and
// the durable write hands those to writev(2); below that, one joined buffer as before.
// A clean trade (pnl_usd agrees with the move): a log of 2000 PNL_SIGN_MISMATCHes made every write
// of the store tests below print them all (5 MB of npm test's output).
const trade = (i: number, extra: Record<string, unknown> = {}) =>
  Object.freeze({
    id: `T${String(i).padStart(3, '0')}`, symbol: `S${i}`, direction: 'LONG', entry_price: 100 + (i % 7), stop_price: 95,
    target_price: 110, size: 1, status: 'CLOSED', exit_price: 101, pnl_usd: 1 - (i % 7), notes: 'x'.repeat(i % 40), ...extra,
  });
const big = (n: number) => Object.freeze({ trades: Object.freeze(Array.from({ length: n }, (_, i) => trade(i + 1))), next_id: n + 1 });

describe('serializeLog in pieces', () => {
  it('stays exact version after version of a large log, across the pieces limit (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('append', 'replace', 'remove', 'front'), fc.nat()), { minLength: 100, maxLength: 300 }),
        (edits) => {
          let log = big(1500) as unknown as TradeLog;
          let prev: WrittenLayout | null = null;
          let k = 100_000;
          let most = 0;
          for (const [kind, at] of edits) {
            const trades = log.trades.slice();
            const i = at % trades.length;
            if (kind === 'append') trades.push(trade(k++) as never);
            else if (kind === 'replace') trades[i] = trade(k++, { notes: `edited ${k}` }) as never;
            else if (kind === 'remove' && trades.length > 1) trades.splice(i, 1);
            else trades.unshift(trade(k++) as never);
            log = Object.freeze({ trades: Object.freeze(trades), next_id: k }) as unknown as TradeLog;
            const out = serializeLog(log, prev);
            expect(out.pieces.length).toBeGreaterThan(256 * 1024);
            // The pieces, written one after another, are the bytes; joined, the same.
            expect(Buffer.concat(out.pieces.list as Buffer[]).toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
            expect(out.pieces.list.length).toBeLessThanOrEqual(256);
            most = Math.max(most, out.pieces.list.length);
            prev = out.layout;
          }
          expect((prev as WrittenLayout).buf.toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
          expect(most).toBeGreaterThan(100); // kept in pieces for many versions, then joined again
        },
      ),
      { numRuns: 10 },
    );
  });
});

describe('the durable write of a large log in pieces', () => {
  let dir: string;
  let logFile: string;
  beforeEach(() => {
    dir = tempDir('tse-pieces-');
    logFile = path.join(dir, 'trade_log.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = (symbol: string) => ({ symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 });

  it('writes exactly the log, write after write, also when writev runs short', async () => {
    const store = new TradeStore({ tradeLog: logFile, startingCapital: 1e9, maxPositions: 1e6, assetConsecutiveLossCap: 0 });
    await store.saveRaw(big(2000) as unknown as TradeLog);
    const realWritev = fs.writev;
    let calls = 0;
    // Every other writev(2) writes only part of what it was given: the loop must go on from there.
    (fs as { writev: unknown }).writev = (fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
      calls++;
      if (calls % 2 === 1) {
        const first = bufs[0] as Buffer;
        const part = [first.subarray(0, Math.max(1, Math.floor(first.length / 3)))];
        realWritev(fd, part, pos, (e, n) => cb(e, n));
      } else realWritev(fd, bufs, pos, (e, n) => cb(e, n));
    };
    try {
      for (let i = 0; i < 30; i++) {
        const t = await store.openTrade(open(`P${i}`));
        if (i % 3 === 0) await store.closeTrade(t.id, { exit_price: 101 });
        const text = fs.readFileSync(logFile, 'utf8');
        expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
        expect((JSON.parse(text) as TradeLog).trades).toEqual(await store.getAllTrades());
      }
    } finally {
      (fs as { writev: unknown }).writev = realWritev;
    }
    expect(calls).toBeGreaterThan(30); // the pieces path was taken
    const log = JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;
    expect(log.trades).toHaveLength(2030);
    expect(log.trades.slice(-30).map((t) => t.symbol)).toEqual(Array.from({ length: 30 }, (_, i) => `P${i}`));
    expect(await store.verifyIntegrity()).toEqual([]);
    // A second store reads what the first wrote: the bytes on disk are the log's own layout.
    const other = new TradeStore({ tradeLog: logFile, startingCapital: 1e9, maxPositions: 1e6, assetConsecutiveLossCap: 0 });
    expect(await other.getAllTrades()).toEqual(await store.getAllTrades());
    store.close();
    other.close();
  });

  it('ENOSPC in the middle of a writev fails the call and leaves the log byte for byte', async () => {
    const store = new TradeStore({ tradeLog: logFile, startingCapital: 1e9, maxPositions: 1e6, assetConsecutiveLossCap: 0 });
    await store.saveRaw(big(2000) as unknown as TradeLog);
    await store.openTrade(open('A')); // the cached version is now in pieces
    const before = fs.readFileSync(logFile);
    const realWritev = fs.writev;
    let calls = 0;
    (fs as { writev: unknown }).writev = (fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
      calls++;
      if (calls === 1) realWritev(fd, [(bufs[0] as Buffer).subarray(0, 100)], pos, (e, n) => cb(e, n));
      else cb(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }), 0);
    };
    try {
      await expect(store.openTrade(open('B'))).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      (fs as { writev: unknown }).writev = realWritev;
    }
    expect(calls).toBe(2);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const t = await store.openTrade(open('B'));
    expect(JSON.parse(fs.readFileSync(logFile, 'utf8')).trades.at(-1).id).toBe(t.id);
    store.close();
  });
});
