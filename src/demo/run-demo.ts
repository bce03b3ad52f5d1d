/**
 * The demo: real processes writing one trade log at once (a scanner, a
 * position monitor, racing scanners), one of them SIGKILLed and restarted,
 * the reconciler rebuilding the derived files meanwhile; then a summary and
 * a verdict on what must hold (nothing lost, nothing duplicated).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { plain } from '../format.js';
import { StateReconciler, TradeStore, ValidationError } from '../index.js';
import {
  ASSET_LOSS_CAP,
  DRAWDOWN_LIMITS,
  MAX_CORR_GROUP_RISK_PCT,
  MAX_POSITIONS,
  RACE_SYMBOL,
  RACERS,
  SYMBOLS,
  demoStoreOptions,
} from './config.js';
import { elapsedSay } from './output.js';
import { conclude } from './conclude.js';
import { describeState } from './describe-state.js';
import { Ledger } from './ledger.js';
import type { ReportWriter } from './report-hook.js';
import { startChild, type DemoChild } from './spawn.js';
import { readDerivedState } from './state-files.js';

export interface DemoOptions {
  /** A new or empty folder, kept at the end; default: a new temp folder, removed at the end. */
  dir?: string;
  /** Keep the temp folder (with the log, the state files and the report) instead of removing it. */
  keep?: boolean;
  seconds: number;
  seed: number;
  capital: number;
  /** Progress lines (the summary too, unless the caller prints JSON). */
  print(line: string): void;
  /** Builds the closing HTML report (report/'s buildReport); without one the demo writes none. */
  writeReport?: ReportWriter;
  /** The CLI's entry script, named in the closing hint on how to look at the log. */
  cli: string;
}

export interface DemoResult {
  ok: boolean;
  json: Record<string, unknown>;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/** The demo's folder: a new temp one (named after `prefix`), or `dir`, which must be new or empty. */
export function prepareDir(dir: string | undefined, prefix = 'trade-state-demo-'): string {
  if (dir === undefined) return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const abs = path.resolve(dir);
  fs.mkdirSync(abs, { recursive: true });
  if (fs.readdirSync(abs).length > 0) throw new ValidationError('--dir', dir, 'must be a new or empty folder (the demo checks every trade in its log)');
  return abs;
}

/**
 * Removes the demo's own temp folder. Synchronous, so that it also runs on the way out of a
 * second Ctrl-C; retried because a child killed a moment ago may still be finishing a rename.
 */
function removeDir(dir: string, print: (line: string) => void): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    print(`  removed     ${dir} (the demo's temp folder; --keep or --dir <folder> keeps it, with the log, the state files and an HTML report)`);
  } catch (err) {
    print(`  not removed ${dir}: ${(err as Error).message}`);
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const dir = prepareDir(o.dir);
  // A temp folder nobody asked for must not pile up in the temp dir: it goes at the end, whatever
  // the end (a verdict, an error, Ctrl-C). A folder the user named, or --keep, stays to be looked at.
  const keep = o.dir !== undefined || o.keep === true;
  let removed = false;
  const remove = (): void => {
    if (keep || removed) return;
    removed = true;
    o.print('');
    o.print('Files');
    removeDir(dir, o.print);
  };
  try {
    return await trade(o, dir, keep, remove);
  } finally {
    remove();
  }
}

/** The run itself; `remove` is runDemo's cleanup, for a hard stop that never returns. */
async function trade(o: DemoOptions, dir: string, keep: boolean, remove: () => void): Promise<DemoResult> {
  const log = path.join(dir, 'trades', 'trade_log.json');
  const lock = new TradeStore({ tradeLog: log }).lockFile; // the default, beside the log: the store's own rule
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(path.dirname(log), { recursive: true }); // the reconciler watches this folder from the start
  const t0 = Date.now();
  const say = elapsedSay(o.print, t0);
  const ms = o.seconds * 1000;

  o.print(`trade-state demo: ${o.seconds} s in ${dir}`);
  o.print(
    `risk: capital ${plain.usd(o.capital)}, max ${MAX_POSITIONS} positions, correlation groups at ${plain.pct(MAX_CORR_GROUP_RISK_PCT, 1)} of equity, ` +
      `${ASSET_LOSS_CAP} losses in a row block a symbol, daily halt at ${plain.signedPct(DRAWDOWN_LIMITS.daily * 100, 0)}`,
  );
  o.print(`symbols: ${Object.keys(SYMBOLS).join(', ')}; market seed ${o.seed}`);

  const ledger = new Ledger();
  const sinks = { message: ledger.record.bind(ledger), print: say };
  const base = { log, lock, capital: o.capital, seed: o.seed, t0 };
  const killed = new Set<DemoChild>();
  /** Every child ever started, restarted scanner included: all must be gone before their folder is. */
  const started: DemoChild[] = [];
  const launch = (...args: Parameters<typeof startChild>): DemoChild => {
    const c = startChild(...args);
    started.push(c);
    return c;
  };
  const alive = (): DemoChild[] => started.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);

  // Ctrl-C ends the run early, still with a summary; a second one (or SIGTERM) stops at once:
  // the children are killed, the temp folder removed, and the signal raised again to end us as usual.
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) return hardStop('SIGINT');
    say('[demo] interrupted: finishing early (Ctrl-C again stops at once)');
    interrupt.abort();
  };
  const onSigterm = (): void => hardStop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  function hardStop(signal: NodeJS.Signals): void {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    for (const c of alive()) c.proc.kill('SIGKILL');
    remove();
    process.kill(process.pid, signal);
  }

  const stopReconciler = new AbortController();
  const rec = new StateReconciler({
    tradeLog: log,
    outputDir: stateDir,
    startingCapital: o.capital,
    drawdownLimits: DRAWDOWN_LIMITS,
    onCorruption: (prev, cur) => say(`[reconciler] corruption guard: closed trades ${prev} -> ${cur}`),
    onHistoryViolation: (v) => say(`[reconciler] history guard (${v.kind}): ${v.message}`),
    onInvariantViolation: (v) => say(`[reconciler] derived invariants broken: ${v.join('; ')}`),
    onError: (err) => say(`[reconciler] error: ${(err as Error).message}`),
  });
  rec.start({ watch: true, intervalMs: 1000, debounceMs: 100, signal: stopReconciler.signal });
  say(`[demo] reconciler watching ${path.relative(dir, log)} -> ${path.relative(dir, stateDir)}/`);

  const raceAt = t0 + 1500;
  const monitor = launch('monitor', { ...base, name: 'monitor' }, sinks);
  let scanner = launch('scanner', { ...base, name: 'scanner', generation: 1, startAt: raceAt + 300 }, sinks);
  const racers = Array.from({ length: RACERS }, (_, i) => launch('racer', { ...base, name: `racer-${i + 1}`, releaseAt: raceAt }, sinks));
  say(
    `[demo] started monitor (pid ${monitor.proc.pid}), scanner (pid ${scanner.proc.pid}) and ${RACERS} racing scanners ` +
      `(pids ${racers.map((r) => r.proc.pid).join(', ')}) released together at +1.5 s, all opening ${RACE_SYMBOL}`,
  );

  try {
    await sleep(Math.max(raceAt + 800, t0 + ms * 0.45) - Date.now(), interrupt.signal);
    if (!interrupt.signal.aborted) scanner = await killAndRestart(scanner);

    await sleep(t0 + ms * 0.7 - Date.now(), interrupt.signal);
    say(`[reconciler] mid-run: ${describeState(readDerivedState(stateDir))}`);

    await sleep(t0 + ms - Date.now(), interrupt.signal);
    say('[demo] time is up: SIGTERM to the scanner and the monitor');
    const bad = await Promise.all([stopChild(scanner), stopChild(monitor), ...racers.map((r) => stopChild(r, 10_000))]);
    stopReconciler.abort();
    await rec.stop();

    const { ok, json } = await conclude({
      dir, log, lock, stateDir, capital: o.capital, ledger, reconciled: await rec.reconcile(),
      badExits: bad.filter((x): x is string => x !== null), print: o.print, say, writeReport: o.writeReport, cli: o.cli, keep,
    });
    return { ok, json: { ...json, seconds: o.seconds, seed: o.seed } };
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    const running = alive();
    for (const c of running) c.proc.kill('SIGKILL');
    // Dead before the folder they write in is removed.
    await Promise.all(running.map((c) => c.done));
    stopReconciler.abort();
    await rec.stop();
  }

  /**
   * SIGKILLs the scanner right after it announces an open that the advisory
   * check expects to be written, so the kill most likely lands inside
   * openTrade's write; then restarts it.
   */
  async function killAndRestart(victim: DemoChild): Promise<DemoChild> {
    const advisor = new TradeStore(demoStoreOptions({ log, lock }, o.capital));
    await new Promise<void>((resolve) => {
      let done = false;
      const kill = (): void => {
        if (done) return;
        done = true;
        clearTimeout(fallback);
        ledger.onIntent(null);
        victim.proc.kill('SIGKILL');
        killed.add(victim);
        resolve();
      };
      const fallback = setTimeout(kill, 1500);
      ledger.onIntent((child, intent) => {
        // checkOpen reads synchronously, so it settles before the child's write (~1 ms) is done;
        // killing now or one event-loop turn later lands before, during or just after the write
        if (child === victim.name) advisor.checkOpen(intent.input).then((r) => r.ok && (Math.random() < 0.5 ? kill() : setImmediate(kill)), kill);
      });
    });
    say(`[demo] SIGKILL -> scanner (pid ${victim.proc.pid})`);
    await victim.done;
    const pending = ledger.inFlight(victim.name);
    say(
      pending
        ? `[demo] it died after announcing an open of ${pending.input.symbol} (client_id ${pending.client_id}) and before reporting its outcome`
        : '[demo] it died between two operations',
    );
    const next = launch(
      'scanner',
      { ...base, name: victim.name, generation: 2, startAt: Date.now() + 200, ...(pending && { resume: pending }) },
      sinks,
    );
    say(`[demo] restarted the scanner (pid ${next.proc.pid})`);
    return next;
  }

  /** SIGTERM, then SIGKILL after a grace period; the reason it did not exit cleanly, or null. */
  async function stopChild(c: DemoChild, graceMs = 5000): Promise<string | null> {
    if (c.proc.exitCode === null && c.proc.signalCode === null && !c.name.startsWith('racer')) c.proc.kill('SIGTERM');
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
    const { code, signal } = await c.done;
    clearTimeout(timer);
    if (killed.has(c) || code === 0) return null;
    // Still loading when time was up (a busy machine, a scanner just restarted): its SIGTERM handler
    // was not set yet, so the signal ended it before it did anything: nothing to report.
    if (signal === 'SIGTERM' && !c.spoke()) {
      say(`[demo] ${c.name} (pid ${c.proc.pid}) was still starting when time was up: stopped before its first line`);
      return null;
    }
    return `${c.name} (pid ${c.proc.pid}) exited with ${signal ?? `code ${code}`}`;
  }
}
