/**
 * buildReport(): the trade log -> one self-contained HTML performance report
 * (equity, drawdown, R-multiples, setups, open risk). docs/report.md says what
 * each chart shows. The charting code is loaded only when a report is built.
 */
import fs from 'node:fs';
import path from 'node:path';

import { resolveDrawdownLimits, resolveStartingCapital } from '../domain/settings.js';
import type { DrawdownLimits } from '../domain/types.js';
import { compareVenue, validateTolerance, validateVenuePositions } from '../domain/venue.js';
import { writeAtomicFile } from '../io/atomic-file.js';
import { Rulebook } from '../io/rulebook.js';
import { FileLogSource } from '../reconcile/file-source.js';
import { isLogSource, SnapshotRulebook, type LogSource } from '../reconcile/source.js';
import { renderReport, type MarkName } from './render.js';
import { DEFAULT_MAX_POINTS, shapeReportData } from './shape.js';

export { shapeReportData, DEFAULT_MAX_POINTS, type ReportData } from './shape.js';
export { renderReport, MARK_SELECTORS, type MarkName } from './render.js';

export type { LogSource, SourceSnapshot } from '../reconcile/source.js';
export { ReportDepsMissingError } from '../errors.js';

export const DEFAULT_REPORT_TITLE = 'Trading performance report';

export interface BuildReportOptions {
  /** Path of trade_log.json, read through a FileLogSource; a missing file is an empty log. Give this or `source`. */
  tradeLog?: string;
  /**
   * The log from elsewhere than a file: a database account (trade-state-engine/postgres's
   * PostgresLogSource). Its rulebook stands for the settings file. Read once; not closed here.
   */
  source?: LogSource;
  /** Where to write the page (atomically and durably); nothing is written when absent. */
  out?: string;
  /**
   * Default and validation as TradeStore's (domain/settings.ts); the log's settings file
   * (trade-state.json beside it) rules, and these may only agree with it or be stricter.
   */
  startingCapital?: number;
  drawdownLimits?: Partial<DrawdownLimits>;
  now?: Date;
  title?: string;
  /** Upper bound on plotted equity-curve points (default 2,000). */
  maxPoints?: number;
  /**
   * What the venue holds now (VenuePosition[]): the page gets a drift section, the log's open trades
   * against it (docs/venue.md). `tolerance` as compareVenue's (default 0.001).
   */
  venue?: { positions: unknown; tolerance?: number };
  /**
   * Name `source` by its full name (a database's host, port and database, the password masked)
   * on the page. Default false: by its label (a database account's name only), so that a page
   * passed around does not tell where the database is.
   */
  showConnection?: boolean;
}

export interface BuildReportResult {
  html: string;
  /** Absolute path written, or null without `out`. */
  path: string | null;
  /** UTF-8 size of the page. */
  bytes: number;
  /** Marks drawn per chart (see MARK_SELECTORS), e.g. rHistogramBars = non-empty R bins. */
  marks: Record<MarkName, number>;
  /**
   * Why the log's rulebook could not be applied (broken, or an option looser than it), null when
   * it was: the page was built with the defaults and the options instead, said under its title,
   * and a process warning (TSE_SETTINGS) was given.
   */
  settingsProblem: Error | null;
}

/**
 * Builds the report from the trade log, read through its LogSource (a file's, built here for
 * `tradeLog`, or the one given). A damaged log throws TradeLogCorruptError: a report must never
 * show an empty account for a file it could not read.
 */
export async function buildReport(options: BuildReportOptions): Promise<BuildReportResult> {
  const source = options?.source;
  if (source !== undefined) {
    if (options.tradeLog !== undefined) throw new TypeError('Expected either "tradeLog" or "source", not both');
    if (!isLogSource(source)) throw new TypeError('Expected "source" to be a LogSource (name, read())');
  } else if (typeof options?.tradeLog !== 'string' || options.tradeLog === '') {
    throw new TypeError('Expected "tradeLog" to be a non-empty path');
  }
  if (options.out !== undefined && (typeof options.out !== 'string' || options.out === '')) {
    throw new TypeError('Expected "out" to be a non-empty path');
  }
  // Checked before the log is read: a bad venue file writes no page.
  const venue =
    options.venue === undefined ? null : { positions: validateVenuePositions(options.venue?.positions), tolerance: validateTolerance(options.venue?.tolerance) };
  // The options are checked as ever, then judged against the log's settings file (resolveRules).
  resolveStartingCapital(options.startingCapital);
  resolveDrawdownLimits(options.drawdownLimits);
  // The log and its rulebook; the line under the title names where it came from (a file by its base name).
  const own = source === undefined ? new FileLogSource(options.tradeLog as string) : null;
  const from = source ?? (own as FileLogSource);
  let snapshot;
  try {
    snapshot = await from.read();
  } finally {
    await own?.close();
  }
  const log = snapshot.log;
  const rulebook = new SnapshotRulebook().look(snapshot);
  const name = own !== null ? path.basename(own.name) : options.showConnection === true ? from.name : (source?.label ?? from.name);
  let shown = snapshot.exists ? name : `${name} (not found: no trades yet)`;
  // A broken or conflicting rulebook does not stop the report: one warning, the defaults and options, said on the page.
  const rules = new Rulebook(
    {
      ...(options.startingCapital !== undefined && { startingCapital: options.startingCapital }),
      ...(options.drawdownLimits !== undefined && { drawdownLimits: options.drawdownLimits }),
    },
    from.name,
  );
  rules.applyLeniently(() => rulebook);
  const { settings, problem } = rules;
  if (problem !== null) {
    const code = (problem as { code?: unknown }).code;
    shown += ` — its rulebook is unusable (${typeof code === 'string' ? code : 'error'}), so the defaults and options are used`;
  }
  const data = shapeReportData(log, {
    startingCapital: settings.startingCapital,
    drawdownLimits: settings.drawdownLimits,
    now: options.now ?? new Date(),
    maxPoints: options.maxPoints ?? DEFAULT_MAX_POINTS,
  });
  if (venue !== null) data.venue = { drift: compareVenue(log, venue.positions, { tolerance: venue.tolerance }), tolerance: venue.tolerance };
  const { html, marks } = await renderReport(data, { title: options.title ?? DEFAULT_REPORT_TITLE, source: shown });
  let written: string | null = null;
  if (options.out !== undefined) {
    written = path.resolve(options.out);
    fs.mkdirSync(path.dirname(written), { recursive: true });
    await writeAtomicFile(written, html);
  }
  return { html, path: written, bytes: Buffer.byteLength(html, 'utf8'), marks, settingsProblem: problem };
}
