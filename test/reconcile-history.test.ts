/**
 * The history file's log fingerprint (log_sha256): a cold cycle whose log still has the bytes the
 * last good cycle accepted skips every trade digest. What must hold: a file written before the
 * fingerprint existed is read as it always was (a reconciler upgraded in place does not trip its
 * own guard, and the old baseline still guards), the first cycle adds the fingerprint, and the
 * guard still refuses every change to a remembered closed trade after that.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RECONCILER_HISTORY_FILE, StateReconciler, type HistoryViolation, type ReconcileResult, type Trade } from '../src/index.js';
import { digestOf } from '../src/reconcile/history.js';
import { tempDir } from './helpers.js';
import { logOf, tradeRecord } from './trades.js';

type Json = Record<string, unknown>;

let dir: string;
let logFile: string;
let out: string;
let historyFile: string;

beforeEach(() => {
  dir = tempDir('tse-rec-hist-');
  logFile = path.join(dir, 'trade_log.json');
  out = path.join(dir, 'state');
  historyFile = path.join(out, RECONCILER_HISTORY_FILE);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const NOW = new Date('2026-03-12T12:00:00Z');
function mk(violations: HistoryViolation[] = []): StateReconciler {
  return new StateReconciler({ tradeLog: logFile, outputDir: out, startingCapital: 10_000, now: () => NOW, onHistoryViolation: (v) => void violations.push(v) });
}
const expectOk = (r: ReconcileResult) => {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return r;
};
const closed = (id: string, exitPrice = 110): Trade =>
  tradeRecord(id, {
    stop_price: 90, original_stop: 90, target_price: 130, entry_time: '2026-03-01T09:00:00.000000+00:00', exit_price: exitPrice,
    exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', pnl_usd: 10, pnl_pct: 10, r_multiple: 1, status: 'CLOSED',
  });
const five = (changedExit = 110) => logOf(closed('T001'), closed('T002'), closed('T003', changedExit), closed('T004'), closed('T005'));
const writeLog = (log: unknown) => fs.writeFileSync(logFile, `${JSON.stringify(log, null, 2)}\n`);
const readHistory = (): Json => JSON.parse(fs.readFileSync(historyFile, 'utf8')) as Json;
const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** The history file as versions before the fingerprint wrote it: the same file without log_sha256. */
function downgradeHistory(): void {
  const text = fs.readFileSync(historyFile, 'utf8');
  const old = text.replace(/^ {2}"log_sha256": "[0-9a-f]{64}",\n/m, '');
  expect(old).not.toBe(text);
  expect(Object.keys(JSON.parse(old) as Json)).toEqual(['format', 'fields', 'trade_log', 'next_id', 'closed']);
  fs.writeFileSync(historyFile, old);
}

describe('the log fingerprint in the history file', () => {
  it('digests are those of the versions before it (a file they wrote stays a valid baseline)', () => {
    // computed by the reconciler before this change, for exactly this trade
    const t = {
      id: 'T042', symbol: 'BTC', direction: 'LONG', status: 'CLOSED', entry_price: 100.5, entry_time: '2026-03-01T09:00:00.000000+00:00',
      original_stop: 90, stop_price: 95, size: 2, original_size: 4,
      partial_exits: [{ timestamp: '2026-03-01T12:00:00.000000+00:00', size_closed: 2, exit_price: 105, pnl_usd: 9, reason: 'tp1' }],
      exit_price: 110, exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', pnl_usd: 28, pnl_pct: 9.45, r_multiple: 1.8,
      setup_type: 'breakout', notes: 'é "q"',
    } as unknown as Trade;
    expect(digestOf(t)).toBe('b977c856d92bfa79');
  });

  it('records the SHA-256 of the log bytes a good cycle accepted', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    expect(readHistory().log_sha256).toBe(sha256(fs.readFileSync(logFile)));
  });

  it('upgrade: a file without it is a baseline as before; the first cycle passes and adds it', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    downgradeHistory();
    const violations: HistoryViolation[] = [];
    expectOk(await mk(violations).reconcile()); // a reconciler upgraded in place, on an unchanged log
    expect(violations).toEqual([]);
    const h = readHistory();
    expect(h.log_sha256).toBe(sha256(fs.readFileSync(logFile)));
    expect(Object.keys(h.closed as Json)).toEqual(['T001', 'T002', 'T003', 'T004', 'T005']);
  });

  it('upgrade: the old baseline still guards on the first cycle', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    downgradeHistory();
    const before = fs.readFileSync(historyFile);
    writeLog(five(111));
    const violations: HistoryViolation[] = [];
    expect(await mk(violations).reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    expect(violations).toEqual([expect.objectContaining({ kind: 'CLOSED_TRADE_CHANGED', tradeIds: ['T003'] })]);
    expect(fs.readFileSync(historyFile)).toEqual(before);
  });

  it('a matching fingerprint really skips the digests: a tampered digest in the file goes unread', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    // Spoil T003's remembered digest but keep the fingerprint: a cycle that digested and compared
    // every trade would refuse (CLOSED_TRADE_CHANGED); the fast path never reads the digests. This
    // pins the trade-off docs/reconciler.md states: the fingerprint vouches for the whole baseline.
    const h = readHistory();
    const closedMap = h.closed as Record<string, string>;
    expect(Object.keys(closedMap)).toContain('T003');
    closedMap.T003 = '0'.repeat(String(closedMap.T003).length);
    fs.writeFileSync(historyFile, `${JSON.stringify(h, null, 2)}\n`);
    const violations: HistoryViolation[] = [];
    expectOk(await mk(violations).reconcile());
    expect(violations).toEqual([]);
    // without the fingerprint the same spoiled file is compared trade by trade, and refused
    downgradeHistory();
    expect(await mk(violations).reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    expect(violations).toEqual([expect.objectContaining({ kind: 'CLOSED_TRADE_CHANGED', tradeIds: ['T003'] })]);
  });

  it('after a cold cycle that matched it, the guard still refuses a changed closed trade', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    const h = fs.readFileSync(historyFile);
    expectOk(await mk().reconcile()); // a restart on the same bytes: matched, nothing rewritten
    expect(fs.readFileSync(historyFile)).toEqual(h);
    writeLog(five(111));
    const violations: HistoryViolation[] = [];
    expect(await mk(violations).reconcile()).toMatchObject({ ok: false, reason: 'HISTORY_GUARD' });
    expect(violations).toEqual([expect.objectContaining({ kind: 'CLOSED_TRADE_CHANGED', tradeIds: ['T003'] })]);
  });

  it('a fingerprint of another log path is not taken for this one', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    // the same bytes under another name, read with this state folder: compared trade by trade
    const other = path.join(dir, 'other.json');
    fs.copyFileSync(logFile, other);
    const rec = new StateReconciler({ tradeLog: other, outputDir: out, startingCapital: 10_000, now: () => NOW });
    expectOk(await rec.reconcile());
    expect(readHistory().trade_log).toBe(other);
  });

  it('a fingerprint that is not 64 hex digits makes the file damaged (no baseline), as any bad field', async () => {
    writeLog(five());
    expectOk(await mk().reconcile());
    const text = fs.readFileSync(historyFile, 'utf8').replace(/"log_sha256": "[0-9a-f]{64}"/, '"log_sha256": "nope"');
    fs.writeFileSync(historyFile, text);
    writeLog(logOf(closed('T002'), closed('T003'), closed('T004'), closed('T005'))); // would be refused with a baseline
    const violations: HistoryViolation[] = [];
    expectOk(await mk(violations).reconcile());
    expect(violations).toEqual([]);
    expect(readHistory().log_sha256).toBe(sha256(fs.readFileSync(logFile)));
  });

  it('a long-running reconciler records no fingerprint for logs it did not fingerprint; the next cold cycle adds one', async () => {
    writeLog(five());
    const rec = mk();
    expectOk(await rec.reconcile());
    writeLog({ ...five(), trades: [...five().trades, closed('T006')], next_id: 7 });
    expectOk(await rec.reconcile());
    expect(readHistory().log_sha256).toBeUndefined();
    expectOk(await mk().reconcile());
    expect(readHistory().log_sha256).toBe(sha256(fs.readFileSync(logFile)));
  });
});
