/**
 * Stops and targets keep their sides (validate.ts stopTargetProblem): LONG target > entry and
 * stop < target, SHORT mirrored; a trailed stop may pass entry. Enforced by updateTrade and
 * updateTradesBatch (all or nothing), reported by verifyIntegrity as STOP_TARGET_INCONSISTENT,
 * and seen through the real CLI process as a user runs it.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { verifyIntegrity } from '../src/domain/integrity.js';
import { applyUpdate, applyUpdatesBatch } from '../src/domain/trade-ops.js';
import { ValidationError } from '../src/errors.js';
import { TradeStore } from '../src/index.js';
import { ROOT, runNode, tempDir } from './helpers.js';
import { emptyLog, logOf, openTrade, tradeRecord } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('applyUpdate: the stop and target keep their sides', () => {
  // LONG entered at 120, stop 110, target 150; SHORT entered at 120, stop 130, target 90.
  const long = () => openTrade(emptyLog(), { symbol: 'NVDA', entry_price: 120, stop_price: 110, target_price: 150 }).log;
  const short = () => openTrade(emptyLog(), { symbol: 'NVDA', direction: 'SHORT', entry_price: 120, stop_price: 130, target_price: 90 }).log;

  it.each([
    ['LONG stop past entry (locked-in profit)', long, { stop_price: 140 }],
    ['LONG stop at entry', long, { stop_price: 120 }],
    ['LONG target raised', long, { target_price: 200 }],
    ['LONG stop and target past the old target together', long, { stop_price: 160, target_price: 180 }],
    ['SHORT stop past entry', short, { stop_price: 100 }],
    ['SHORT target lowered', short, { target_price: 80 }],
  ] as const)('allows %s', (_name, make, patch) => {
    expect(applyUpdate(make(), 'T001', patch).trade).toMatchObject(patch);
  });

  it.each([
    ['LONG stop above the target', long, { stop_price: 200 }, 'stop_price', 200, /below target_price 150 for LONG trade T001/],
    ['LONG stop at the target', long, { stop_price: 150 }, 'stop_price', 150, /below target_price 150/],
    ['LONG target below entry', long, { target_price: 100 }, 'target_price', 100, /above entry_price 120 for LONG trade T001/],
    ['LONG target at entry', long, { target_price: 120 }, 'target_price', 120, /above entry_price 120/],
    ['LONG stop and target moved across each other', long, { target_price: 130, stop_price: 135 }, 'stop_price', 135, /below target_price 130/],
    ['SHORT stop below the target', short, { stop_price: 80 }, 'stop_price', 80, /above target_price 90 for SHORT trade T001/],
    ['SHORT target above entry', short, { target_price: 125 }, 'target_price', 125, /below entry_price 120 for SHORT trade T001/],
  ] as const)('refuses %s, naming the field and the value', (_name, make, patch, field, value, message) => {
    const err = refusal(() => applyUpdate(make(), 'T001', patch));
    expect(err).toMatchObject({ code: 'EVALIDATION', field, value });
    expect(err.message).toMatch(message);
  });

  it('names the target when only the target moved onto the wrong side of a trailed stop', () => {
    const trailed = applyUpdate(long(), 'T001', { stop_price: 140 }).log;
    const err = refusal(() => applyUpdate(trailed, 'T001', { target_price: 135 }));
    expect(err).toMatchObject({ field: 'target_price', value: 135 });
    expect(err.message).toMatch(/above stop_price 140/);
  });

  it('leaves a null target (a Python writer may leave one) free, and a stop-only move of a trade whose target was already wrong', () => {
    const noTarget = logOf(tradeRecord('T001', { target_price: null }));
    expect(applyUpdate(noTarget, 'T001', { stop_price: 500 }).trade.stop_price).toBe(500);
    // Protecting a position must not wait for someone to repair an unrelated field; verify reports it.
    const badTarget = logOf(tradeRecord('T001', { entry_price: 100, stop_price: 80, target_price: 90 }));
    expect(applyUpdate(badTarget, 'T001', { stop_price: 85 }).trade.stop_price).toBe(85);
    expect(refusal(() => applyUpdate(badTarget, 'T001', { stop_price: 95 })).field).toBe('stop_price');
    expect(applyUpdate(badTarget, 'T001', { notes: 'x' }).trade.notes).toBe('x');
  });

  it('checks each pair of a batch as it applies, and the whole batch fails on one bad pair', () => {
    const log = openTrade(long(), { symbol: 'AMD', entry_price: 50, stop_price: 45, target_price: 60 }).log;
    expect(refusal(() => applyUpdatesBatch(log, [['T002', { stop_price: 48 }], ['T001', { target_price: 100 }]]))).toMatchObject({
      field: 'target_price',
      value: 100,
    });
    // Stop first, target after, in two pairs: the first pair already puts the stop past the target.
    expect(refusal(() => applyUpdatesBatch(log, [['T001', { stop_price: 155 }], ['T001', { target_price: 170 }]])).field).toBe('stop_price');
    expect(applyUpdatesBatch(log, [['T001', { stop_price: 155, target_price: 170 }]]).trades[0]).toMatchObject({ stop_price: 155 });
  });
});

describe('verifyIntegrity: STOP_TARGET_INCONSISTENT', () => {
  it('reports an OPEN trade that is already inconsistent in the log, and nothing else', () => {
    const log = logOf(
      tradeRecord('T001', { symbol: 'A', entry_price: 120, stop_price: 200, target_price: 150 }), // stop beyond target
      tradeRecord('T002', { symbol: 'B', entry_price: 120, stop_price: 110, target_price: 100 }), // target below entry
      tradeRecord('T003', { symbol: 'C', direction: 'SHORT', entry_price: 120, stop_price: 80, target_price: 90 }), // stop below target
      tradeRecord('T004', { symbol: 'D', entry_price: 120, stop_price: 140, target_price: 150 }), // trailed past entry: fine
      tradeRecord('T005', { symbol: 'E', entry_price: 120, stop_price: 110, target_price: null }), // no target: fine
      tradeRecord('T006', { symbol: 'F', entry_price: 120, stop_price: 200, target_price: 150, status: 'CLOSED', exit_price: 125, pnl_usd: 5 }),
    );
    const v = verifyIntegrity(log);
    expect(v.map((x) => [x.code, x.trade_id])).toEqual([
      ['STOP_TARGET_INCONSISTENT', 'T001'],
      ['STOP_TARGET_INCONSISTENT', 'T002'],
      ['STOP_TARGET_INCONSISTENT', 'T003'],
    ]);
    expect(v[0]!.message).toBe('T001 is OPEN but its stop_price 200 must be below target_price 150 for a LONG trade (a stop may pass entry, not the target)');
    expect(v[1]!.message).toBe('T002 is OPEN but its target_price 100 must be above entry_price 120 for a LONG trade');
  });
});

describe('the store and the CLI refuse what open refuses', () => {
  let dir: string;
  let log: string;
  beforeEach(() => {
    dir = tempDir('tse-sides-');
    log = path.join(dir, 'trade_log.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('updateTrade and updateTradesBatch refuse before writing: the log stays byte for byte', async () => {
    const store = new TradeStore({ tradeLog: log });
    await store.openTrade({ symbol: 'NVDA', direction: 'LONG', entry_price: 120, stop_price: 110, target_price: 150, size: 1 });
    await store.openTrade({ symbol: 'AMD', direction: 'LONG', entry_price: 50, stop_price: 45, target_price: 60, size: 1 });
    const before = fs.readFileSync(log);
    await expect(store.updateTrade('T001', { stop_price: 200 })).rejects.toMatchObject({ code: 'EVALIDATION', field: 'stop_price', value: 200 });
    await expect(store.updateTrade('T001', { target_price: 100 })).rejects.toMatchObject({ code: 'EVALIDATION', field: 'target_price', value: 100 });
    await expect(store.updateTradesBatch([['T002', { stop_price: 48, notes: 'fine' }], ['T001', { target_price: 100 }]])).rejects.toMatchObject({
      code: 'EVALIDATION',
      field: 'target_price',
    });
    expect(fs.readFileSync(log).equals(before)).toBe(true);
    expect(await store.verifyIntegrity()).toEqual([]);
    expect(await store.updateTrade('T001', { stop_price: 130 })).toMatchObject({ stop_price: 130 }); // past entry: fine
  });

  it('trade-state update refuses --stop beyond the target and --target below entry (exit 1, naming the flag); verify reports a hand-made one', async () => {
    const cli = (...args: string[]) => runNode(CLI, ['--log', log, ...args]);
    fs.writeFileSync(log, '{"trades": [], "next_id": 1}\n'); // an existing log, as a bot's would be
    const opened = await cli('open', '--symbol', 'NVDA', '--direction', 'LONG', '--entry', '120', '--stop', '110', '--target', '150', '--size', '1');
    expect(opened.code).toBe(0);
    const before = fs.readFileSync(log);

    const stop = await cli('--json', 'update', 'T001', '--stop', '200');
    expect(stop.code).toBe(1);
    expect(JSON.parse(stop.stdout).error).toMatchObject({ code: 'EVALIDATION', field: 'stop_price', value: 200, option: '--stop' });
    const target = await cli('update', 'T001', '--target', '100');
    expect(target.code).toBe(1);
    expect(target.stderr).toMatch(/EVALIDATION.*target_price: 100 must be above entry_price 120 for LONG trade T001.*\(--target\)/);
    expect(fs.readFileSync(log).equals(before)).toBe(true);
    expect((await cli('verify')).code).toBe(0);

    // The same change made behind the library's back (by hand, another writer): verify says so.
    const data = JSON.parse(fs.readFileSync(log, 'utf8')) as { trades: Record<string, unknown>[] };
    data.trades[0]!.target_price = 100;
    fs.writeFileSync(log, `${JSON.stringify(data, null, 2)}\n`);
    const v = await cli('--json', 'verify');
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: false, violations: [{ code: 'STOP_TARGET_INCONSISTENT', trade_id: 'T001' }] });
  });
});
