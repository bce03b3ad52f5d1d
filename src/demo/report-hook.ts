import path from 'node:path';

import type { DrawdownLimits } from '../index.js';
import { DRAWDOWN_LIMITS } from './config.js';

/** What the demo asks of a report builder: report/'s buildReport takes these options. */
export interface DemoReportRequest {
  tradeLog: string;
  out: string;
  startingCapital: number;
  drawdownLimits: Partial<DrawdownLimits>;
  title: string;
}

/**
 * Builds the HTML report. The demo is handed one rather than importing
 * report/ itself: the demo reaches the library only through its public
 * entry, and whoever runs it (the `demo` command) decides whether the
 * charting code is loaded at all.
 */
export type ReportWriter = (request: DemoReportRequest) => Promise<unknown>;

/** Writes the demo's HTML report to <dir>/report.html and returns its path; null without a writer. */
export async function writeReportIfAvailable(write: ReportWriter | undefined, dir: string, logFile: string, startingCapital: number): Promise<string | null> {
  if (write === undefined) return null;
  const out = path.join(dir, 'report.html');
  await write({ tradeLog: logFile, out, startingCapital, drawdownLimits: DRAWDOWN_LIMITS, title: 'trade-state-engine demo' });
  return out;
}
