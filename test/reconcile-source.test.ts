/**
 * Every log is read through a LogSource: a file through the FileLogSource a reconciler builds for
 * `tradeLog`, a database account through PostgresLogSource, and any other kind through a source of
 * one's own. What must hold: a third kind (here, a log kept in memory) gets the whole cycle — the
 * fingerprint its first read is asked for, a damaged log refused as LOG_CORRUPT, watch mode — and
 * the file source's watch wakes on a rename-replace and on an in-place edit even when fs.watch
 * delivers nothing (its poll), without waking again for a version already read.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RECONCILER_HISTORY_FILE, StateReconciler, TradeLogCorruptError, type ReconcileResult, type TradeLog } from '../src/index.js';
import { FileLogSource } from '../src/reconcile/file-source.js';
import type { LogSource, SourceReadOptions, SourceSnapshot, SourceWatch } from '../src/reconcile/source.js';
import { sleep, tempDir } from './helpers.js';
import { logOf, tradeRecord } from './trades.js';

let dir: string;
let logFile: string;
let out: string;
const cleanup: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = tempDir('tse-rec-source-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  out = path.join(dir, 'state');
  fs.mkdirSync(path.dirname(logFile));
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = new Date('2026-03-12T12:00:00Z');
const closed = (id: string) =>
  tradeRecord(id, {
    stop_price: 90, original_stop: 90, target_price: 130, entry_time: '2026-03-01T09:00:00.000000+00:00', exit_price: 110,
    exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', pnl_usd: 10, pnl_pct: 10, r_multiple: 1, status: 'CLOSED',
  });
const open = (id: string) => tradeRecord(id, { entry_time: '2026-03-03T09:00:00.000000+00:00' });
const expectOk = (r: ReconcileResult) => {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
  return r;
};
const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

/** Polls until `fn` is true; the timeout is generous: this checks that it happens, not how fast. */
async function until(fn: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A third kind of log: kept in memory, with a fingerprint of its own, damage on demand, and a watch. */
class MemorySource implements LogSource {
  readonly name = 'memory:book-1';
  log: TradeLog = logOf();
  damaged = false;
  version = 1;
  readonly reads: (SourceReadOptions | undefined)[] = [];
  readonly #listeners = new Set<() => void>();

  set(log: TradeLog): void {
    this.log = log;
    this.version++;
    for (const l of this.#listeners) l();
  }

  async read(options?: SourceReadOptions): Promise<SourceSnapshot> {
    this.reads.push(options);
    if (this.damaged) throw new TradeLogCorruptError(this.name, 'the book is damaged');
    return { log: this.log, version: this.version, settings: null, exists: true, ...(options?.fingerprint === true && { fingerprint: `mem-${this.version}` }) };
  }

  watch(onChange: () => void): SourceWatch {
    this.#listeners.add(onChange);
    return { close: async () => void this.#listeners.delete(onChange) };
  }
}

describe('a StateReconciler on a LogSource of a third kind', () => {
  it('runs the whole cycle through it: the first read asks for the fingerprint, which the history file records', async () => {
    const source = new MemorySource();
    source.log = logOf(closed('T001'), closed('T002'), open('T003'));
    const rec = new StateReconciler({ source, outputDir: out, startingCapital: 10_000, now: () => NOW });
    const r = expectOk(await rec.reconcile());
    expect(r).toMatchObject({ closedTrades: 2, openTrades: 1 });
    expect(readJson(path.join(out, 'equity.json')).total_trades).toBe(2);
    const history = readJson(path.join(out, RECONCILER_HISTORY_FILE));
    expect(history).toMatchObject({ trade_log: 'memory:book-1', log_sha256: 'mem-1' });
    expectOk(await rec.reconcile());
    expect(source.reads).toEqual([{ fingerprint: true }, undefined]); // a warm reconciler does not ask again
  });

  it('refuses a damaged log as LOG_CORRUPT, the derived files left as they are, and goes on when it is repaired', async () => {
    const source = new MemorySource();
    source.log = logOf(closed('T001'));
    const rec = new StateReconciler({ source, outputDir: out, startingCapital: 10_000, now: () => NOW });
    expectOk(await rec.reconcile());
    const before = fs.readFileSync(path.join(out, 'portfolio.json'));
    source.damaged = true;
    const r = await rec.reconcile();
    expect(r).toMatchObject({ ok: false, reason: 'LOG_CORRUPT', files: [] });
    expect(!r.ok && r.message).toMatch(/the book is damaged.*; the derived files were left as they are$/);
    expect(!r.ok && r.error).toBeInstanceOf(TradeLogCorruptError);
    expect(fs.readFileSync(path.join(out, 'portfolio.json'))).toEqual(before);
    source.damaged = false;
    expectOk(await rec.reconcile());
  });

  it('watch mode wakes on its watch', async () => {
    const source = new MemorySource();
    const rec = new StateReconciler({ source, outputDir: out, startingCapital: 10_000 });
    cleanup.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    const total = () => (fs.existsSync(path.join(out, 'equity.json')) ? readJson(path.join(out, 'equity.json')).total_trades : null);
    await until(() => total() === 0, 'the first cycle');
    source.set(logOf(closed('T001')));
    await until(() => total() === 1, 'the change to show');
  });
});

describe('the file source', () => {
  const write = (log: TradeLog) => fs.writeFileSync(logFile, `${JSON.stringify(log, null, 2)}\n`);
  const replace = (log: TradeLog) => {
    const tmp = `${logFile}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(log, null, 2)}\n`);
    fs.renameSync(tmp, logFile);
  };
  function watching(source: FileLogSource): { changes: () => number; errors: unknown[] } {
    let n = 0;
    const errors: unknown[] = [];
    const w = source.watch(
      () => void n++,
      (err) => void errors.push(err),
    );
    cleanup.push(() => w.close());
    return { changes: () => n, errors };
  }

  it('reads the log, its settings file and the fingerprint of its bytes; a damaged log rejects with TradeLogCorruptError', async () => {
    const source = new FileLogSource(logFile);
    cleanup.push(() => source.close());
    expect(source.name).toBe(path.resolve(logFile));
    const missing = await source.read();
    expect(missing).toMatchObject({ exists: false, settings: null, log: { trades: [] } });
    write(logOf(closed('T001')));
    fs.writeFileSync(path.join(path.dirname(logFile), 'trade-state.json'), JSON.stringify({ startingCapital: 7000 }));
    const s = await source.read({ fingerprint: true });
    expect(s.exists).toBe(true);
    expect(s.version).not.toBe(missing.version);
    expect(s.settings?.settings.startingCapital).toBe(7000);
    expect(s.fingerprint).toBe(crypto.createHash('sha256').update(fs.readFileSync(logFile)).digest('hex'));
    const again = await source.read();
    expect(again.log).toBe(s.log); // unchanged: the same log object, the same version, no fingerprint unasked
    expect(again.version).toBe(s.version);
    expect(again.fingerprint).toBeUndefined();
    fs.writeFileSync(logFile, '{"trades": [');
    await expect(source.read()).rejects.toBeInstanceOf(TradeLogCorruptError);
  });

  it('its watch fires on a rename-replace (fs.watch)', async () => {
    write(logOf());
    const source = new FileLogSource(logFile, { pollMs: Infinity });
    await source.read();
    const w = watching(source);
    replace(logOf(open('T001')));
    await until(() => w.changes() > 0, 'the replacement to be seen');
    expect(w.errors).toEqual([]);
  });

  it('with fs.watch missing every event, its poll sees an in-place edit and a rename-replace, each once', async () => {
    write(logOf());
    const source = new FileLogSource(logFile, { fsWatch: false, pollMs: 10 });
    await source.read();
    const w = watching(source);
    await sleep(100);
    expect(w.changes()).toBe(0); // the version read is not a change
    fs.appendFileSync(logFile, '\n'); // in place: the same inode, another size
    await until(() => w.changes() === 1, 'the in-place edit to be seen');
    await sleep(100);
    expect(w.changes()).toBe(1); // signalled once, though not read yet
    await source.read();
    replace(logOf(open('T001')));
    await until(() => w.changes() === 2, 'the replacement to be seen');
    await source.read();
    await sleep(100);
    expect(w.changes()).toBe(2); // read: nothing new
    expect(w.errors).toEqual([]);
  });

  it('a reconciler on it, polling only, rebuilds after an in-place edit', async () => {
    write(logOf(open('T001')));
    const source = new FileLogSource(logFile, { fsWatch: false, pollMs: 10 });
    const rec = new StateReconciler({ source, outputDir: out, startingCapital: 10_000 });
    cleanup.push(() => rec.close());
    rec.start({ watch: true, intervalMs: Infinity, debounceMs: 0 });
    const opens = () => {
      try {
        return (readJson(path.join(out, 'portfolio.json')).open_positions as unknown[]).length;
      } catch {
        return null;
      }
    };
    await until(() => opens() === 1, 'the first cycle');
    const fd = fs.openSync(logFile, 'r+'); // an editor saving in place: same inode
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${JSON.stringify(logOf(open('T001'), open('T002')), null, 2)}\n`, 0);
    } finally {
      fs.closeSync(fd);
    }
    await until(() => opens() === 2, 'the edit to show');
  });

  it('a log whose folder does not exist yet: the watcher failure is reported once, and the poll sees the log appear', async () => {
    const later = path.join(dir, 'later', 'trade_log.json');
    const source = new FileLogSource(later, { pollMs: 10 });
    await source.read();
    const w = watching(source);
    await sleep(100);
    expect(w.errors).toEqual([expect.objectContaining({ code: 'ENOENT' })]);
    expect(w.changes()).toBe(0);
    fs.mkdirSync(path.dirname(later));
    fs.writeFileSync(later, `${JSON.stringify(logOf(open('T001')), null, 2)}\n`);
    await until(() => w.changes() > 0, 'the new log to be seen');
    expect(w.errors).toHaveLength(1);
  });
});
