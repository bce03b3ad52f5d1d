/**
 * A store write called inside withLock() of the store's lock file, with group commit: refused at
 * the call (ESELFDEADLOCK) without stalling the writes queued beside it, and a drain started inside
 * some withLock() callback never carries that caller's locks into the work it does for others.
 */
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { withLock, type TradeLog } from '../src/index.js';
import { tempDir } from './helpers.js';
import { fileStores } from './stores.js';

let dir: string;
let logFile: string;
let lockFile: string;
/** A short lock timeout: without the fix, the stalled calls end in ELOCKTIMEOUT after it. */
const LOCK_TIMEOUT_MS = 3000;
const { store: mkStore } = fileStores(() => ({ tradeLog: logFile, lockFile, startingCapital: 100_000, maxPositions: 100, lockTimeoutMs: LOCK_TIMEOUT_MS }));
const open = (symbol: string) => ({ symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
const readLog = (): TradeLog => JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;

beforeEach(() => {
  dir = tempDir('tse-reentry-');
  logFile = path.join(dir, 'trade_log.json');
  lockFile = path.join(dir, 'trade.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a store write inside withLock() of its lock file', () => {
  it('is refused at once while other writes are in flight and queued, which all go through', async () => {
    const store = mkStore();
    await store.openTrade(open('Z'));
    const t0 = performance.now();
    const inFlight = outcome(store.updateTrade('T001', { notes: 'monitor' }));
    const queued = outcome(store.updateTrade('T001', { notes: 'monitor 2' }));
    let innerAfter = -1;
    const inner = outcome(
      withLock(lockFile, async () => {
        const t = performance.now();
        try {
          return await store.openTrade(open('B'));
        } finally {
          innerAfter = performance.now() - t;
        }
      }),
    );
    expect(await Promise.all([inFlight, inner, queued])).toEqual(['ok', 'ESELFDEADLOCK', 'ok']);
    // Refused at the call, not after a lock wait; and nobody waited for a lock timeout.
    expect(innerAfter).toBeLessThan(200);
    expect(performance.now() - t0).toBeLessThan(LOCK_TIMEOUT_MS / 2);
    const log = readLog();
    expect(log.trades.map((t) => t.symbol)).toEqual(['Z']);
    expect(log.trades[0]?.notes).toBe('monitor 2');
  });

  it('is refused in a shared withLock() too, and through another spelling of the lock file', async () => {
    const store = mkStore();
    await store.openTrade(open('Z'));
    fs.symlinkSync(lockFile, path.join(dir, 'other.lock'));
    await expect(withLock(lockFile, () => store.updateTrade('T001', { notes: 'x' }), { shared: true })).rejects.toMatchObject({
      code: 'ESELFDEADLOCK',
    });
    await expect(withLock(path.join(dir, 'other.lock'), () => store.updateTrade('T001', { notes: 'x' }))).rejects.toMatchObject({
      code: 'ESELFDEADLOCK',
    });
    // The store is not left stalled.
    expect(await outcome(store.updateTrade('T001', { notes: 'after' }))).toBe('ok');
  });

  it('does not take down a call of another task made in the same tick', async () => {
    const store = mkStore();
    await store.openTrade(open('Z'));
    // Stands for a monitor's task: its context holds no lock.
    const otherTask = new AsyncResource('monitor');
    let victim: Promise<string> | undefined;
    const t0 = performance.now();
    const mine = await outcome(
      withLock(lockFile, async () => {
        const call = store.openTrade(open('C'));
        victim = otherTask.runInAsyncScope(() => outcome(store.updateTrade('T001', { notes: 'from another task' })));
        return call;
      }),
    );
    expect(mine).toBe('ESELFDEADLOCK');
    expect(await victim).toBe('ok');
    expect(performance.now() - t0).toBeLessThan(LOCK_TIMEOUT_MS / 2);
    expect(readLog().trades.map((t) => [t.symbol, t.notes])).toEqual([['Z', 'from another task']]);
  });
});

describe("a drain started inside another file's withLock()", () => {
  it("serves other callers, and runs its integrity handler, without that caller's locks", async () => {
    const otherLock = path.join(dir, 'other.lock');
    const handled: string[] = [];
    let handlerDone!: () => void;
    const handlerRan = new Promise<void>((resolve) => (handlerDone = resolve));
    const store = mkStore({
      maxPositions: 1,
      // A handler that takes the other lock itself: run in the starting caller's context, it was
      // refused ESELFDEADLOCK for a lock that caller had released long before.
      onIntegrityViolation: () => {
        void outcome(withLock(otherLock, () => 'ok', { timeoutMs: 1000 })).then((r) => {
          handled.push(r);
          handlerDone();
        });
      },
    });
    // Two open positions for a cap of one: saveRaw is not risk-checked, the after-write check reports it.
    const seed = mkStore();
    await seed.openTrade(open('A'));
    await seed.openTrade(open('B'));
    const two = readLog();
    const otherTask = new AsyncResource('monitor');
    let others: Array<Promise<string>> = [];
    const caller = withLock(otherLock, () => {
      const mine = store.saveRaw(two); // starts the drain, in this callback's context
      others = [
        otherTask.runInAsyncScope(() => outcome(store.updateTrade('T001', { notes: 'n1' }))),
        otherTask.runInAsyncScope(() => outcome(store.updateTrade('T002', { notes: 'n2' }))),
      ];
      return mine;
    });
    await caller;
    expect(await Promise.all(others)).toEqual(['ok', 'ok']);
    await handlerRan;
    expect(handled[0]).toBe('ok');
  });
});
