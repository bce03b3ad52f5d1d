import { once } from 'node:events';
import path from 'node:path';

import { FileLogSource } from '../../reconcile/file-source.js';
import { Scheduler } from '../../reconcile/scheduler.js';
import type { LogSource } from '../../reconcile/source.js';
import { StateReconciler, watchOf, type ReconcileResult } from '../../reconcile/state-reconciler.js';
import { str } from '../args.js';
import { whereJson, whereText, type Where } from '../backend.js';
import { CommandRefusedError } from '../cli-errors.js';
import type { Command, CommandResult, Context } from '../command.js';
import { formatDuration, parseDuration } from '../duration.js';
import { openSource } from '../store.js';

type Outcome = ReconcileResult;
/** The log the reconciler reads (the file at --log, or with --db the account's) and where it is. */
type Db = { source: LogSource; where: Where };

export const reconcile: Command = {
  name: 'reconcile',
  summary: 'rebuild the derived state files from the log (once, periodically or on change)',
  usage: 'reconcile [--log <path> | --db <url> --account <name>] [--state <dir>] [--capital <n>] [--every <duration>] [--watch] [--json]',
  help: `Rebuilds portfolio.json, equity.json, risk_state.json and setup_performance.json
in --state (default ./state) from the trade log, or with --db from the account's
log in PostgreSQL (the same files as from that log exported to JSON). Never
writes the log.

Options:
  --every <duration>   keep running, reconciling every 30s / 15m / 1h, until
                       SIGINT or SIGTERM
  --watch              keep running, reconciling shortly after the log changes
                       (and every 15m as a safety net, unless --every says otherwise);
                       with --db: woken by the writers' NOTIFY, and polling the
                       account's version every few seconds (notifications are lost
                       while disconnected)

Once: exit 0 when the files were written, 1 when the reconciler refused
(LOG_CORRUPT, COUNT_GUARD, HISTORY_GUARD: the previous files are kept) or the
rebuilt state broke a derived invariant. Running: problems are reported as they
happen and the process keeps going; the first good cycle after them is reported
as "recovered"; it exits 0 on SIGINT/SIGTERM.
For cron, prefer the one-shot form:  */15 * * * * trade-state reconcile --log ... --state ...`,
  options: {
    every: { type: 'string' },
    watch: { type: 'boolean' },
  },
  async run(ctx): Promise<CommandResult | null> {
    const every = str(ctx.values, 'every');
    const intervalMs = every === undefined ? undefined : parseDuration('--every', every);
    const watch = ctx.values.watch === true;
    const log = ctx.globals.log;
    const db: Db = (await openSource(ctx.globals)) ?? { source: new FileLogSource(log), where: { log: path.resolve(log) } };
    try {
      if (intervalMs === undefined && !watch) return await reconcileOnce(ctx, db);
      await runForever(ctx, db, intervalMs, watch);
      return null;
    } finally {
      await db.source.close?.();
    }
  },
};

/** Running: each problem is one stderr line, or one JSON line with the same error shape as everywhere. */
function announce(ctx: Context, event: string, code: string, message: string, fields: Record<string, unknown> = {}): void {
  if (ctx.globals.json) ctx.io.stdout(`${JSON.stringify({ ok: false, command: 'reconcile', event, error: { ...fields, code, message } })}\n`);
  else ctx.io.stderr(`trade-state: reconcile: ${event} (${code}): ${message}\n`);
}

function announceError(ctx: Context, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code;
  announce(ctx, 'error', typeof code === 'string' ? code : 'EINTERNAL', err instanceof Error ? err.message : String(err));
}

function reconcilerFor(ctx: Context, db: Db, report: boolean): StateReconciler {
  const g = ctx.globals;
  // once: the result says it all, callbacks would repeat it
  const say = (event: string, code: string, message: string, fields: Record<string, unknown> = {}): void => {
    if (report) announce(ctx, event, code, message, fields);
  };
  return new StateReconciler({
    source: db.source,
    outputDir: g.state,
    ...(g.capital !== undefined && { startingCapital: g.capital }),
    onCorruption: (previous, current) =>
      say('refused', 'COUNT_GUARD', `closed trades fell from ${previous} to ${current}; the derived files were kept`, { previous, current }),
    onHistoryViolation: (v) => say('refused', 'HISTORY_GUARD', `${v.message}; the derived files were kept`, { kind: v.kind, trade_ids: v.tradeIds }),
    onInvariantViolation: (violations) => say('invariant', 'EDERIVEDINVARIANT', violations.join('; '), { violations }),
    onError: (err) => {
      if (report) announceError(ctx, err);
    },
  });
}

/** The JSON fields and text of a successful cycle, or the error a refusal becomes. */
function describe(r: Outcome, ctx: Context, db: Db): { json: Record<string, unknown>; text: string; failure: CommandRefusedError | null } {
  if (!r.ok) {
    const cause = (r.error as { code?: unknown } | undefined)?.code;
    const fields = { reason: r.reason, ...(typeof cause === 'string' && { cause_code: cause }) };
    return { json: {}, text: '', failure: new CommandRefusedError(r.reason, 'reconcile refused', r.message, fields) };
  }
  // Absolute paths, as every other command and `files` give them: a script reading the JSON
  // may run elsewhere than the cwd the relative flag meant.
  const json = {
    ...whereJson(db.where),
    state_dir: path.resolve(ctx.globals.state),
    files: r.files,
    closed_trades: r.closedTrades,
    open_trades: r.openTrades,
    invariant_violations: r.invariantViolations,
    // performance.now() differences carry float noise (74.10524399999997); 0.1 ms is what it can tell
    duration_ms: Math.round(r.durationMs * 10) / 10,
  };
  const text = `reconciled ${r.closedTrades} closed and ${r.openTrades} open trades into ${ctx.globals.state} (${r.files.length} files, ${Math.round(r.durationMs)} ms)`;
  const failure =
    r.invariantViolations.length === 0
      ? null
      : new CommandRefusedError('EDERIVEDINVARIANT', 'derived invariants broken', r.invariantViolations.join('; '), json);
  return { json, text, failure };
}

async function reconcileOnce(ctx: Context, db: Db): Promise<CommandResult> {
  const d = describe(await reconcilerFor(ctx, db, false).reconcile(), ctx, db);
  if (d.failure) throw d.failure;
  return { json: d.json, text: d.text };
}

async function runForever(ctx: Context, db: Db, intervalMs: number | undefined, watch: boolean): Promise<void> {
  const { io, globals: g } = ctx;
  const rec = reconcilerFor(ctx, db, true);
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  // `on`, not `once`, until the end: a write in flight has write-file-atomic's signal-exit handler
  // installed, which re-raises a signal it sees no other listener for, and a `once` listener has
  // already removed itself when that handler looks.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  /** Cycles that failed since the last good one: a good cycle after them is reported as a recovery. */
  let failed = 0;
  const describeHere = (r: Outcome): ReturnType<typeof describe> => describe(r, ctx, db);
  const counted = (d: ReturnType<typeof describe>): void => {
    if (d.failure !== null) {
      failed++;
      return;
    }
    if (failed > 0) {
      if (g.json) io.stdout(`${JSON.stringify({ ok: true, command: 'reconcile', event: 'recovered', failed_cycles: failed, ...d.json })}\n`);
      else io.stderr(`trade-state: reconcile: recovered after ${failed} failed cycle${failed === 1 ? '' : 's'}: ${d.text}\n`);
    }
    failed = 0;
  };
  const sayError = (err: unknown): void => announceError(ctx, err);
  // The reconciler's own start() reports only problems; driving its scheduler here gives each
  // cycle's result, so the first good cycle after a failure can say so.
  const scheduler = new Scheduler(
    watchOf(db.source),
    async () => {
      let r: ReconcileResult;
      try {
        r = await rec.reconcile();
      } catch (err) {
        sayError(err); // an I/O error (the state folder unwritable…): the next cycle tries again
        failed++;
        return;
      }
      // COUNT_GUARD and HISTORY_GUARD were reported by their callbacks; a damaged log has none.
      if (!r.ok && r.reason === 'LOG_CORRUPT') sayError(r.error ?? new Error(r.message));
      counted(describeHere(r));
    },
    sayError, // the watcher's errors: not a failed cycle
  );
  try {
    const how = [intervalMs !== undefined && `every ${formatDuration(intervalMs)}`, watch && 'when the log changes'].filter(Boolean).join(' and ');
    if (!g.json) io.stderr(`trade-state: reconciling ${whereText(db.where)} into ${g.state} ${how}; SIGINT or SIGTERM stops\n`);
    // A cycle of our own first, to print its outcome whatever it is.
    const first = describeHere(await rec.reconcile());
    const f = first.failure;
    if (g.json) {
      const error = f && { error: { ...f.fields, code: f.code, message: f.message } };
      io.stdout(`${JSON.stringify({ ok: f === null, command: 'reconcile', event: 'cycle', ...first.json, ...error })}\n`);
    } else if (f) {
      io.stderr(`trade-state: ${f.label} (${f.code}): ${f.message}\n`);
    } else {
      io.stdout(`${first.text}\n`);
    }
    counted(first);
    scheduler.start({ ...(intervalMs !== undefined && { intervalMs }), watch, signal: ac.signal });
    if (!ac.signal.aborted) await once(ac.signal, 'abort');
    await scheduler.stop();
    await rec.stop();
    if (g.json) io.stdout(`${JSON.stringify({ ok: true, command: 'reconcile', event: 'stopped' })}\n`);
    else io.stderr('trade-state: reconcile stopped\n');
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
