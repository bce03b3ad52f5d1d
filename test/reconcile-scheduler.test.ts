import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { StateReconciler, TradeLogCorruptError, TradeStore, type ReconcilerOptions } from '../src/index.js';
import { ROOT, sleep, tempDir } from './helpers.js';
import { logOf, tradeRecord } from './trades.js';

let dir: string;
let logFile: string;
let out: string;
const started: StateReconciler[] = [];

beforeEach(() => {
  dir = tempDir('tse-sched-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  out = path.join(dir, 'state');
  fs.mkdirSync(path.dirname(logFile));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const mk = (extra: Partial<ReconcilerOptions> = {}) => {
  const rec = new StateReconciler({ tradeLog: logFile, outputDir: out, startingCapital: 10_000, ...extra });
  started.push(rec);
  return rec;
};

/** Polls until `fn` is true; the timeout is generous: this checks that it happens, not how fast. */
async function until(fn: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const closedTrade = (id: string, pnl: number) =>
  tradeRecord(id, {
    stop_price: 90, original_stop: 90, entry_time: '2026-03-01T09:00:00.000000+00:00', exit_price: 110,
    exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', pnl_usd: pnl, pnl_pct: 10, r_multiple: 1, status: 'CLOSED',
  });
// Sums past the largest double: every cycle reports invariant violations, which lets a test hook a slow callback in.
const writeOverflowingLog = () =>
  fs.writeFileSync(logFile, `${JSON.stringify(logOf(closedTrade('T001', 1.5e308), closedTrade('T002', 1.5e308)), null, 2)}\n`);

/** A reconciler whose cycles take ~`slowMs` (an async invariant callback), counting cycles and overlap. */
function instrumented(slowMs: number, extra: Partial<ReconcilerOptions> = {}) {
  writeOverflowingLog();
  const s = { cycles: 0, active: 0, maxActive: 0, finished: 0 };
  const rec = mk({
    now: () => {
      s.cycles++;
      s.maxActive = Math.max(s.maxActive, ++s.active);
      return new Date('2026-03-12T12:00:00Z');
    },
    onInvariantViolation: async () => {
      await sleep(slowMs);
      s.active--;
      s.finished++;
    },
    ...extra,
  });
  return { rec, s };
}

describe('start / stop', () => {
  it('runs a cycle at once and then every intervalMs, never two at a time', async () => {
    const { rec, s } = instrumented(60);
    rec.start({ intervalMs: 15 }); // shorter than a cycle: ticks arrive while one runs
    expect(rec.running).toBe(true);
    await until(() => s.finished >= 4, 'four cycles');
    expect(s.maxActive).toBe(1);
    await rec.stop();
    expect(rec.running).toBe(false);
  });

  it('stop() waits for the cycle in flight, and no cycle starts after it', async () => {
    const { rec, s } = instrumented(150);
    rec.start({ intervalMs: 10 });
    await until(() => s.active === 1, 'a cycle in flight');
    await rec.stop();
    expect(s.active).toBe(0); // the in-flight cycle ended before stop() resolved
    const cycles = s.cycles;
    await sleep(200);
    expect(s.cycles).toBe(cycles);
  });

  it('an aborted signal stops it', async () => {
    const { rec, s } = instrumented(20);
    const ac = new AbortController();
    rec.start({ intervalMs: 10, signal: ac.signal });
    await until(() => s.finished >= 2, 'two cycles');
    ac.abort();
    await until(() => !rec.running, 'running to turn false');
    await until(() => s.active === 0, 'the last cycle to end');
    const cycles = s.cycles;
    await sleep(150);
    expect(s.cycles).toBe(cycles);
  });

  it('does not start with a signal that is already aborted', async () => {
    const { rec, s } = instrumented(1);
    rec.start({ intervalMs: 10, signal: AbortSignal.abort() });
    expect(rec.running).toBe(false);
    await sleep(60);
    expect(s.cycles).toBe(0);
  });

  it('refuses a second start() while running, and can start again after stop()', async () => {
    const { rec, s } = instrumented(1);
    rec.start({ intervalMs: 1e9 });
    expect(() => rec.start()).toThrow(expect.objectContaining({ code: 'ERECONCILERRUNNING' }));
    await until(() => s.finished === 1, 'the first cycle');
    await rec.stop();
    rec.start({ intervalMs: 1e9 });
    await until(() => s.finished === 2, 'a cycle after restart');
    expect(() => rec.start({ intervalMs: 0 })).toThrow(); // still running: refused before options are looked at
    await rec.stop();
    expect(() => rec.start({ intervalMs: -1 })).toThrow(expect.objectContaining({ code: 'EVALIDATION' }));
    expect(() => rec.start({ debounceMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'EVALIDATION' }));
    expect(rec.running).toBe(false);
  });

  it('sends errors of cycles to onError and keeps going (outputDir is a file)', async () => {
    fs.writeFileSync(out, 'not a directory');
    const errors: unknown[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const rec = mk({ onError: (e) => void errors.push(e) });
      rec.start({ intervalMs: 10 });
      await until(() => errors.length >= 3, 'three failed cycles');
      await rec.stop();
      await sleep(20);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(errors[0]).toMatchObject({ code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/) });
    expect(unhandled).toEqual([]);
  });

  it('reports a damaged log to onError on scheduled cycles (the derived files are kept)', async () => {
    fs.writeFileSync(logFile, '{"trades": [');
    const errors: unknown[] = [];
    const rec = mk({ onError: (e) => void errors.push(e) });
    rec.start({ intervalMs: 1e9 });
    await until(() => errors.length === 1, 'the refusal');
    expect(errors[0]).toBeInstanceOf(TradeLogCorruptError);
    expect(fs.existsSync(out)).toBe(false);
    await rec.stop();
  });

  it('a throwing onError does not crash the loop', async () => {
    fs.writeFileSync(out, 'not a directory');
    let calls = 0;
    const rec = mk({
      onError: () => {
        calls++;
        throw new Error('the handler itself failed');
      },
    });
    rec.start({ intervalMs: 10 });
    await until(() => calls >= 3, 'three calls');
    await rec.stop();
  });
});

describe('watch', () => {
  it('rebuilds shortly after each store write, through several replacements of the file', async () => {
    const store = new TradeStore({ tradeLog: logFile, startingCapital: 10_000 });
    const rec = mk();
    rec.start({ watch: true, intervalMs: 1e9, debounceMs: 50 });
    const portfolio = () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(out, 'portfolio.json'), 'utf8')) as { open_positions: { trade_id: string }[]; total_trades: number };
      } catch {
        return null;
      }
    };
    await until(() => portfolio() !== null, 'the first cycle');
    const t = await store.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
    await until(() => portfolio()?.open_positions.some((p) => p.trade_id === t.id) === true, 'the open to show');
    await store.closeTrade(t.id, { exit_price: 101 });
    await until(() => portfolio()?.total_trades === 1 && portfolio()?.open_positions.length === 0, 'the close to show');
    const u = await store.openTrade({ symbol: 'ETH', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
    await until(() => portfolio()?.open_positions.some((p) => p.trade_id === u.id) === true, 'the third write to show');
    await rec.stop();
  });

  it('ignores other files in the directory', async () => {
    let cycles = 0;
    const rec = mk({
      now: () => {
        cycles++;
        return new Date();
      },
    });
    rec.start({ watch: true, intervalMs: 1e9, debounceMs: 20 });
    await until(() => cycles === 1, 'the first cycle');
    fs.writeFileSync(path.join(path.dirname(logFile), 'other.json'), '{}');
    fs.writeFileSync(path.join(path.dirname(logFile), 'trade_log.json.bak'), '{}');
    await sleep(250);
    expect(cycles).toBe(1);
    await rec.stop();
  });
});

describe('process lifetime', () => {
  const DIST = path.join(ROOT, 'dist', 'index.js');
  const run = (code: string, ms: number) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }>((resolve) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let timedOut = false;
      const t = setTimeout(() => {
        timedOut = true;
        p.kill('SIGKILL');
      }, ms);
      p.on('exit', (c, s) => {
        clearTimeout(t);
        resolve({ code: c, signal: s, stderr, timedOut });
      });
    });

  it('keeps the process alive while started, and lets it exit after stop()', async () => {
    const opts = JSON.stringify({ tradeLog: logFile, outputDir: out });
    const alive = await run(`import { StateReconciler } from ${JSON.stringify(DIST)};
      new StateReconciler(${opts}).start({ intervalMs: 60000, watch: true });`, 1500);
    expect(alive.timedOut).toBe(true); // timers are ref'd on purpose
    const exits = await run(`import { StateReconciler } from ${JSON.stringify(DIST)};
      const r = new StateReconciler(${opts}); r.start({ intervalMs: 60000, watch: true });
      setTimeout(() => r.stop(), 200);`, 10_000);
    expect(exits).toMatchObject({ code: 0, timedOut: false, stderr: '' }); // nothing left behind
  });
});
