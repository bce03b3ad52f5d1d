/** The equity curve as drawn: the daily closes with an origin, thinned to a bound, under water, and the max-drawdown episode dated. */
import type { RealizedEvent } from '../../domain/derive/core.js';
import type { Book, EquityPoint } from '../../domain/derive/index.js';
import { r2 } from '../../domain/round.js';
import { addDays, dateToDay, dayToDate, microsToDay } from '../../domain/time.js';
import { DEFAULT_MAX_POINTS, MIN_MAX_POINTS, type CurvePoint, type DrawdownEpisode, type ReportData } from './types.js';

/**
 * The daily curve with an origin point in front (the day before the first
 * realized event, at the starting capital: the equity at that day's end), so
 * even a one-day curve draws a line and the underwater curve starts at 0.
 */
export function withOrigin(curve: readonly EquityPoint[], startingCapital: number): EquityPoint[] {
  const first = curve[0];
  if (first === undefined) return [];
  return [{ date: addDays(first.date, -1), equity: r2(startingCapital) }, ...curve];
}

export interface UnderwaterResult {
  points: CurvePoint[];
  episode: DrawdownEpisode | null;
  /** Indices into points of the episode's peak, trough and recovery, and of the highest point. */
  keyIndices: number[];
}

/**
 * Walks the curve as equity.json does (running peak from the starting
 * capital, compared at cent precision) and finds the deepest drawdown's
 * episode: the peak it fell from, the trough, and the recovery if any.
 */
export function underwater(curve: readonly EquityPoint[], startingCapital: number): UnderwaterResult {
  const points: CurvePoint[] = [];
  let runPeak = r2(startingCapital);
  let peakIdx = -1;
  let best: { peakIdx: number; peakEquity: number; troughIdx: number; depth: number; recoveryIdx: number } | null = null;
  let highIdx = -1;
  for (let i = 0; i < curve.length; i++) {
    const eq = (curve[i] as EquityPoint).equity;
    if (highIdx < 0 || eq > (curve[highIdx] as EquityPoint).equity) highIdx = i;
    let dd = 0;
    if (eq >= runPeak) {
      if (best !== null && best.recoveryIdx < 0 && best.peakIdx === peakIdx && i > best.troughIdx) best.recoveryIdx = i;
      runPeak = eq;
      peakIdx = i;
    } else if (runPeak > 0) {
      dd = r2(((eq - runPeak) / runPeak) * 100);
      if (dd < (best?.depth ?? 0)) best = { peakIdx, peakEquity: runPeak, troughIdx: i, depth: dd, recoveryIdx: -1 };
    }
    points.push({ date: (curve[i] as EquityPoint).date, equity: eq, drawdownPct: dd });
  }
  const keyIndices = highIdx >= 0 ? [highIdx] : [];
  let episode: DrawdownEpisode | null = null;
  if (best !== null) {
    // peakIdx −1: the peak is the starting capital before the curve (no origin point given)
    const peakPoint = best.peakIdx >= 0 ? (points[best.peakIdx] as CurvePoint) : null;
    const trough = points[best.troughIdx] as CurvePoint;
    const end = best.recoveryIdx >= 0 ? best.recoveryIdx : points.length;
    episode = {
      peakDate: peakPoint?.date ?? addDays((points[0] as CurvePoint).date, -1),
      peakEquity: best.peakEquity,
      troughDate: trough.date,
      troughEquity: trough.equity,
      depthPct: best.depth,
      recoveryDate: best.recoveryIdx >= 0 ? (points[best.recoveryIdx] as CurvePoint).date : null,
      daysUnderWater: end - best.peakIdx - 1,
    };
    keyIndices.push(best.troughIdx);
    if (best.peakIdx >= 0) keyIndices.push(best.peakIdx);
    if (best.recoveryIdx >= 0) keyIndices.push(best.recoveryIdx);
  }
  return { points, episode, keyIndices };
}

/**
 * Which of n points to plot, at most maxPoints of them: the first, the last,
 * the `pinned` ones, and from each of equal-width buckets over the rest the
 * points where each key is lowest and highest. So every peak and trough a
 * reader could see at full resolution survives; only the wiggles between go.
 */
export function thinIndices(
  n: number,
  maxPoints: number,
  keys: ReadonlyArray<(i: number) => number>,
  pinned: readonly number[] = [],
): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const keep = new Set<number>([0, n - 1]);
  for (const i of pinned) if (Number.isInteger(i) && i >= 0 && i < n) keep.add(i);
  const perBucket = 2 * keys.length;
  const buckets = Math.floor((maxPoints - keep.size) / perBucket);
  if (buckets < 1) throw new RangeError(`maxPoints ${maxPoints} is too small to thin ${n} points`);
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    for (const key of keys) {
      let minI = lo;
      let maxI = lo;
      for (let i = lo + 1; i < hi; i++) {
        const v = key(i);
        if (v < key(minI)) minI = i;
        if (v > key(maxI)) maxI = i;
      }
      keep.add(minI);
      keep.add(maxI);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

/**
 * The plotted curve: thinned on equity (min and max) and on drawdown (its
 * minimum, the troughs), with the highest point and the max-drawdown
 * episode's peak, trough and recovery always kept.
 */
export function shapeCurve(
  curve: readonly EquityPoint[],
  startingCapital: number,
  maxPoints: number = DEFAULT_MAX_POINTS,
  /** Days that must stay drawn as well (the report's own drawdown episode: its peak, trough and recovery days). */
  pinDates: readonly (string | null | undefined)[] = [],
): { points: CurvePoint[]; totalPoints: number; thinned: boolean; episode: DrawdownEpisode | null; peak: ReportData['curve']['peak'] } {
  checkMaxPoints(maxPoints);
  const uw = underwater(curve, startingCapital);
  const all = uw.points;
  const eq = (i: number) => (all[i] as CurvePoint).equity;
  // drawdown is ≤ 0, so its "max" is a recovery to 0 and its "min" a trough: both worth keeping
  const dd = (i: number) => (all[i] as CurvePoint).drawdownPct;
  const pinned = [...uw.keyIndices];
  if (pinDates.length > 0) {
    const wanted = new Set(pinDates);
    all.forEach((p, i) => {
      if (wanted.has(p.date)) pinned.push(i);
    });
  }
  const idx = thinIndices(all.length, maxPoints, [eq, dd], pinned);
  const points = idx.length === all.length ? all : idx.map((i) => all[i] as CurvePoint);
  const high = uw.keyIndices[0];
  const peak = high === undefined ? null : { date: (all[high] as CurvePoint).date, equity: eq(high) };
  return { points, totalPoints: all.length, thinned: points.length < all.length, episode: uw.episode, peak };
}

export function checkMaxPoints(maxPoints: number): void {
  if (!Number.isInteger(maxPoints) || maxPoints < MIN_MAX_POINTS) {
    throw new TypeError(`Expected "maxPoints" to be an integer ≥ ${MIN_MAX_POINTS}, got ${String(maxPoints)}`);
  }
}

/**
 * The book's max-drawdown episode (its deepest fall below a running peak of the equity after
 * every realized event), dated. `points` is the daily curve (origin point first): it dates the
 * peak when that is the starting capital, and counts the days closed under water. The daily
 * closes alone would miss a fall that recovers within a day.
 */
export function maxDrawdownEpisode(book: Book, now: Date, points: readonly CurvePoint[]): DrawdownEpisode | null {
  const origin = points[0];
  const best = book.episode;
  if (origin === undefined || best === null) return null;
  const events = book.path.events;
  const today = dateToDay(now);
  // unparsed timestamps count on the curve's first day, future ones on today, as on the daily curve
  const firstDay = (points[1] ?? origin).date;
  const dateOf = (e: RealizedEvent) => (Number.isNaN(e.micros) ? firstDay : dayToDate(Math.min(microsToDay(e.micros), today)));
  const isoOf = (e: RealizedEvent | undefined) => (e === undefined || Number.isNaN(e.micros) ? null : new Date(Math.floor(e.micros / 1000)).toISOString());
  const peakEvent = best.peakK >= 0 ? events[best.peakK] : undefined;
  const trough = events[best.troughK] as RealizedEvent;
  const recovery = best.recoveryK >= 0 ? events[best.recoveryK] : undefined;
  const peakDate = peakEvent === undefined ? origin.date : dateOf(peakEvent);
  const recoveryDate = recovery === undefined ? null : dateOf(recovery);
  let daysUnderWater = 0;
  for (const p of points) {
    if (p.date >= peakDate && (recoveryDate === null || p.date < recoveryDate) && p.equity < best.peakEquity) daysUnderWater++;
  }
  return {
    peakDate,
    peakEquity: best.peakEquity,
    troughDate: dateOf(trough),
    troughEquity: best.troughEquity,
    depthPct: best.depthPct,
    recoveryDate,
    daysUnderWater,
    peakAt: isoOf(peakEvent),
    troughAt: isoOf(trough),
    recoveryAt: isoOf(recovery),
  };
}
