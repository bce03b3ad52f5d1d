/** The end of the demo: checks against the log and the derived files, the summary, where the files are. */
import path from 'node:path';

import { checkDerivedInvariants, DERIVED_FILES, TradeStore, type ReconcileResult } from '../index.js';
import { MAX_POSITIONS, demoStoreOptions } from './config.js';
import { describeState } from './describe-state.js';
import type { Ledger } from './ledger.js';
import { writeReportIfAvailable, type ReportWriter } from './report-hook.js';
import { readDerivedState } from './state-files.js';
import { summaryJson, summaryText } from './summary.js';
import { verdict } from './verdict.js';

export interface Conclusion {
  dir: string;
  log: string;
  lock: string;
  stateDir: string;
  capital: number;
  ledger: Ledger;
  /** The final reconcile, run after every writer stopped. */
  reconciled: ReconcileResult;
  badExits: string[];
  /** Builds the HTML report; none is written without one. */
  writeReport: ReportWriter | undefined;
  /** The CLI's entry script, for the command printed at the end to look at the log. */
  cli: string;
  /** Whether the folder stays after the run (--dir or --keep). */
  keep: boolean;
  print(line: string): void;
  say(line: string): void;
}

export async function conclude(c: Conclusion): Promise<{ ok: boolean; json: Record<string, unknown> }> {
  const store = new TradeStore(demoStoreOptions({ log: c.log, lock: c.lock }, c.capital));
  const trades = await store.getAllTrades();
  const integrity = await store.verifyIntegrity();
  const state = readDerivedState(c.stateDir);
  c.say(`[reconciler] final: ${describeState(state)}`);
  const r = c.reconciled;
  const checks = verdict({
    trades,
    ledger: c.ledger,
    integrity,
    reconcile: r.ok
      ? { ok: r.invariantViolations.length === 0, detail: `${r.files.length} files written, ${r.closedTrades} closed and ${r.openTrades} open trades` }
      : { ok: false, detail: `refused (${r.reason}): ${r.message}` },
    // the files on disk, not the reconciler's memory of them
    derivedViolations: state === null ? ['the derived files could not be read'] : checkDerivedInvariants(state, { trades: [...trades], next_id: 0 }),
    badExits: c.badExits,
  });
  const input = { trades, state, ledger: c.ledger, checks };
  const json = summaryJson(input);
  for (const line of summaryText(input)) c.print(line);

  // A temp folder about to be removed gets no report and no file list: runDemo says it is gone.
  let report: string | null = null;
  // Without the report's renderers (optional peers, EREPORTDEPS) the verdict stands; the line says what to install.
  let reportMissing: string | null = null;
  if (c.keep) {
    try {
      report = await writeReportIfAvailable(c.writeReport, c.dir, c.log, c.capital);
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== 'EREPORTDEPS') throw err;
      reportMissing = (err as Error).message;
    }
  }
  if (c.keep) {
    const cli = path.relative(process.cwd(), c.cli);
    c.print('');
    c.print('Files');
    c.print(`  trade log   ${c.log}`);
    c.print(`  state       ${c.stateDir}/ (${DERIVED_FILES.join(', ')})`);
    if (report !== null) c.print(`  report      ${report}`);
    if (reportMissing !== null) c.print(`  report      not written: ${reportMissing}`);
    c.print(`  look        node ${cli} status --log ${c.log} --capital ${c.capital} --max-positions ${MAX_POSITIONS}`);
  }
  return { ok: json.verdict === 'PASS', json: { dir: c.dir, log: c.log, state_dir: c.stateDir, ...json, report, ...(reportMissing !== null && { report_missing: reportMissing }), kept: c.keep } };
}
