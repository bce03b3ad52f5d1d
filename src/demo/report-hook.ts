import path from 'node:path';

import type { DerivedState } from '../domain/derive.js';
import type { Trade } from '../domain/types.js';
import { DRAWDOWN_LIMITS } from './config.js';

export interface ReportInput {
  trades: readonly Trade[];
  state: DerivedState | null;
  logFile: string;
  stateDir: string;
  startingCapital: number;
}

/**
 * Writes the demo's HTML report to <dir>/report.html and returns its path.
 * The report module (and its charting library) is loaded only here, so the
 * rest of the demo and the core library stay light.
 */
export async function writeReportIfAvailable(dir: string, input: ReportInput): Promise<string | null> {
  const { buildReport } = await import('../report/index.js');
  const out = path.join(dir, 'report.html');
  await buildReport({
    tradeLog: input.logFile,
    out,
    startingCapital: input.startingCapital,
    drawdownLimits: DRAWDOWN_LIMITS,
    title: 'trade-state-engine demo',
  });
  return out;
}
