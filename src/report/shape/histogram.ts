/** The R histogram: net R of the closed trades, binned on round edges, stacked by outcome. */
import { netPnl, netR } from '../../domain/formulas.js';
import { r2 } from '../../domain/round.js';
import type { Trade } from '../../domain/types.js';
import type { HistogramBin, HistogramSegment, Outcome, RHistogram } from './types.js';

const BIN_WIDTHS = [0.5, 1, 2, 5, 10, 20, 50, 100, 1000];
const MAX_BINS = 40;

/**
 * Bins aligned on multiples of the width (0.5 R unless the spread needs more
 * than 40 bins), so a bar's edges read as round R values and 0 is an edge.
 */
export function histogramR(rs: readonly number[]): { bins: HistogramBin[]; binWidth: number } {
  const { bins, binWidth } = binR(rs);
  return { bins, binWidth };
}

/** histogramR, with the bin of each value (in the order given). */
function binR(rs: readonly number[]): { bins: HistogramBin[]; binWidth: number; binOf: number[] } {
  if (rs.length === 0) return { bins: [], binWidth: BIN_WIDTHS[0] as number, binOf: [] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rs) {
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  // 1e-9: R values are cents (1.5 / 0.5 must be bin 3, not 2.9999…)
  const index = (r: number, w: number) => Math.floor(r / w + 1e-9);
  let w = BIN_WIDTHS[BIN_WIDTHS.length - 1] as number;
  for (const cand of BIN_WIDTHS) {
    if (index(hi, cand) - index(lo, cand) + 1 <= MAX_BINS) {
      w = cand;
      break;
    }
  }
  const first = index(lo, w);
  const n = Math.max(1, index(hi, w) - first + 1);
  const bins: HistogramBin[] = Array.from({ length: n }, (_, k) => ({
    x0: r2((first + k) * w),
    x1: r2((first + k + 1) * w),
    count: 0,
  }));
  const binOf = rs.map((r) => {
    const k = Math.min(n - 1, index(r, w) - first);
    (bins[k] as HistogramBin).count++;
    return k;
  });
  return { bins, binWidth: w, binOf };
}

const outcomeOf = (net: number): Outcome => (net > 0 ? 'win' : net < 0 ? 'loss' : 'breakeven');

/** Bottom to top within a bar. */
const STACK: readonly Outcome[] = ['loss', 'breakeven', 'win'];

/** Net R of every closed trade that has one, binned, split by outcome, and its mean. */
export function rHistogramOf(closed: readonly Trade[], fileAvgR: number): RHistogram {
  const rs: number[] = [];
  const outcomes: Outcome[] = [];
  let netSum = 0;
  let rSum = 0;
  const tally = { win: 0, loss: 0, breakeven: 0 };
  for (const t of closed) {
    const net = netPnl(t);
    netSum += net;
    const r = netR(t);
    if (r === null) continue;
    const o = outcomeOf(net);
    rs.push(r);
    outcomes.push(o);
    rSum += r;
    tally[o]++;
  }
  const { bins, binWidth, binOf } = binR(rs);
  const perBin = bins.map(() => ({ win: 0, loss: 0, breakeven: 0 }));
  binOf.forEach((k, i) => (perBin[k] as Record<Outcome, number>)[outcomes[i] as Outcome]++);
  const segments: HistogramSegment[] = [];
  bins.forEach((b, k) => {
    let y = 0;
    for (const outcome of STACK) {
      const count = (perBin[k] as Record<Outcome, number>)[outcome];
      if (count === 0) continue;
      segments.push({ x0: b.x0, x1: b.x1, outcome, count, y0: y, y1: y + count });
      y += count;
    }
  });
  const meanR = rs.length > 0 ? r2(rSum / rs.length) : 0;
  return {
    bins,
    segments,
    binWidth,
    count: rs.length,
    withoutR: closed.length - rs.length,
    wins: tally.win,
    losses: tally.loss,
    breakeven: tally.breakeven,
    meanR,
    expectancyR: meanR,
    expectancyUsd: closed.length > 0 ? r2(netSum / closed.length) : 0,
    fileAvgR,
  };
}
