/**
 * The book: the one set of figures every screen shows (status, the demo's summary, the report) and
 * the drawdown halt enforces, from the log, the starting capital and the clock (docs/formulas.md,
 * "The book").
 *   - Equity is walked after every realized event (each partial exit, each close) in time order,
 *     so a fall that recovers before the day's end still counts; the peak never falls.
 *   - R is net R (netR: net P&L with partial exits ÷ initial risk); wins and losses are by net P&L.
 * The derived files keep the original's fields (FORMULAS.md) and carry these beside them under
 * `book` keys, which the original's readers ignore.
 */
import { netR, tally, type Tally } from '../formulas.js';
import { r1, r2 } from '../round.js';
import type { DrawdownLimits, Trade } from '../types.js';
import { buildLedger, context, tradesOf, type Context, type Ledger, type RealizedEvent } from './core.js';
import type { BookFigures, DrawdownStatus, NetRStats } from './types.js';

const DAY_MICROS = 86_400_000_000;

/**
 * The realized events in time order. Events whose timestamp does not parse go first, as the daily
 * curve counts them on its first day; ties keep log order (partial exits before their trade's close).
 */
export function timelineOf(events: readonly RealizedEvent[]): RealizedEvent[] {
  // Usually the log's order already is: then the stable sort would return it as it is.
  let sorted = true;
  for (let i = 1; i < events.length && sorted; i++) sorted = timeKey(events[i - 1] as RealizedEvent) <= timeKey(events[i] as RealizedEvent);
  // Array.prototype.sort is stable: equal instants keep log order
  return sorted ? [...events] : [...events].sort((a, b) => timeKey(a) - timeKey(b));
}

/** Equity after every realized event, in time order. */
export interface BookPath {
  events: readonly RealizedEvent[];
  /** r2(start + Σ amounts so far) after events[k]; the last one is the current equity, r2(start + realized). */
  equity: readonly number[];
}

const paths = new WeakMap<Ledger, { start: number; realized: number; path: BookPath; cum: number }>();

/**
 * The lowest equity of a path before its last figure (Infinity when it has none), kept beside each
 * path pathOf makes so that the halt's total window does not walk the whole history on every open.
 */
const lowsBeforeLast = new WeakMap<BookPath, number>();

/**
 * What a halt window needs of a path, kept beside it per window start asked about (today's, this
 * week's): the lowest figure of the window's events before the path's last, and whether the last
 * event is in the window. A path extended by a close carries them over by looking at the events it
 * added alone, so the halt's daily and weekly windows do not walk the whole day's or week's events
 * on every open: a bot that closed 2,000 trades this week walked 4,000 figures per open.
 */
interface WindowLow {
  readonly from: number;
  readonly lowBeforeLast: number;
  readonly lastIn: boolean;
}
const windowLowsOf = new WeakMap<BookPath, WindowLow[]>();
/** Window starts kept per path: today's and this week's, and one of each from before a day or week turned. */
const WINDOW_STARTS_KEPT = 4;

/** A ledger continued from another (open-state.ts): its events are `base`'s, then more from `from` on. */
/** The base held weakly: a strong one would chain every ledger a long-running store ever built (log-index.ts says why). */
const extensions = new WeakMap<Ledger, { base: WeakRef<Ledger>; from: number }>();

/** Records that `next` holds `base`'s events first: pathOf may then extend base's path instead of sorting again. */
export function noteLedgerExtension(next: Ledger, base: Ledger): void {
  extensions.set(next, { base: new WeakRef(base), from: base.events.length });
}

const timeKey = (e: RealizedEvent): number => (Number.isNaN(e.micros) ? -Infinity : e.micros);

/**
 * The path of a ledger's events. Cached per ledger: the store asks for the halt on every open of a
 * group, and an open realizes nothing (open-state.ts shares the ledger while that holds). A ledger
 * continued from one whose path is known, by events no earlier than its last (a close now, the
 * usual case), extends that path: the stable sort would put them last, and the running sum adds
 * them in that same order, so every figure is the one a full pass gives.
 */
export function pathOf(ledger: Ledger, start: number, realized: number): BookPath {
  const hit = paths.get(ledger);
  if (hit !== undefined && hit.start === start && hit.realized === realized && hit.path.events.length === ledger.events.length) return hit.path;
  const extended = extendPath(ledger, start);
  let events: RealizedEvent[];
  let equity: number[];
  let cum = 0;
  let low = Infinity;
  let prior: BookPath | null = null;
  if (extended !== null) ({ events, equity, cum, low, prior } = extended);
  else {
    events = timelineOf(ledger.events);
    equity = new Array<number>(events.length);
    for (let k = 0; k < events.length; k++) {
      cum += (events[k] as RealizedEvent).amount;
      equity[k] = r2(start + cum);
      if (k < events.length - 1 && (equity[k] as number) < low) low = equity[k] as number;
    }
  }
  // the same current equity as every file, whatever order the sums ran in
  if (events.length > 0) equity[events.length - 1] = r2(start + realized);
  const path = { events, equity };
  paths.set(ledger, { start, realized, path, cum });
  lowsBeforeLast.set(path, low);
  const carried = prior === null ? undefined : windowLowsOf.get(prior);
  if (prior !== null && carried !== undefined) {
    const m = prior.events.length;
    windowLowsOf.set(path, carried.map((w) => carriedWindow(w, path, m)));
  }
  return path;
}

/**
 * `w`, known for a path of `m` events, for `path`: that path's events with more appended from `m`
 * on (extendPath: none earlier than its last, which the halt's walk back from the end relies on).
 * Walks back over the appended events as windowLows does; if none of them ends the window, the
 * earlier events are in it exactly when they were before, and their figures are the same but the
 * old last one's, which extendPath restored to its running sum (equity[m − 1]).
 */
function carriedWindow(w: WindowLow, path: BookPath, m: number): WindowLow {
  const { events, equity } = path;
  const n = events.length;
  if (n === m) return w;
  let low = Infinity;
  for (let k = n - 1; k >= m; k--) {
    const at = (events[k] as RealizedEvent).micros;
    if (!Number.isNaN(at) && at < w.from) return { from: w.from, lowBeforeLast: low, lastIn: k < n - 1 };
    if (k < n - 1 && (equity[k] as number) < low) low = equity[k] as number;
  }
  if (m > 0 && w.lastIn && (equity[m - 1] as number) < low) low = equity[m - 1] as number;
  if (w.lowBeforeLast < low) low = w.lowBeforeLast;
  return { from: w.from, lowBeforeLast: low, lastIn: true };
}

/**
 * The window starting at `from` of `path`: carried over (pathOf) or, the first time, walked back
 * from the end — the window of the empty path carried over all of its events.
 */
function windowOf(path: BookPath, from: number): WindowLow {
  let known = windowLowsOf.get(path);
  const hit = known?.find((w) => w.from === from);
  if (hit !== undefined) return hit;
  const w = carriedWindow({ from, lowBeforeLast: Infinity, lastIn: false }, path, 0);
  known = known === undefined ? [] : known.slice(-(WINDOW_STARTS_KEPT - 1));
  known.push(w);
  windowLowsOf.set(path, known);
  return w;
}

/** The running path of a continued ledger from its base's cached one, or null when a full sort must decide. */
function extendPath(ledger: Ledger, start: number): { events: RealizedEvent[]; equity: number[]; cum: number; low: number; prior: BookPath } | null {
  const ext = extensions.get(ledger);
  if (ext === undefined) return null;
  const base = ext.base.deref();
  const prior = base === undefined ? undefined : paths.get(base);
  if (prior === undefined || prior.start !== start || prior.path.events.length !== ext.from) return null;
  const added = timelineOf(ledger.events.slice(ext.from));
  const last = prior.path.events[prior.path.events.length - 1];
  if (added.length > 0 && last !== undefined && timeKey(added[0] as RealizedEvent) < timeKey(last)) return null;
  const events = prior.path.events.concat(added);
  const m = prior.path.equity.length;
  let cum = prior.cum;
  let low = lowsBeforeLast.get(prior.path) ?? lowOf(prior.path.equity, m - 1);
  // The base's last figure was set to its current equity; the running sum's own value comes back.
  const restored = r2(start + cum);
  let before: number | undefined = m > 0 ? restored : undefined;
  const tail: number[] = [];
  for (const e of added) {
    // every figure before the new last one: the base's last (restored) and all but the final added
    if (before !== undefined && before < low) low = before;
    cum += e.amount;
    before = r2(start + cum);
    tail.push(before);
  }
  // One allocation at its size (a copy grown by push allocates the 10,000 figures twice).
  const equity = prior.path.equity.concat(tail);
  if (m > 0) equity[m - 1] = restored;
  return { events, equity, cum, low, prior: prior.path };
}

/** The lowest of equity[0, end), Infinity when empty. */
function lowOf(equity: readonly number[], end: number): number {
  let low = Infinity;
  for (let k = 0; k < end; k++) if ((equity[k] as number) < low) low = equity[k] as number;
  return low;
}

/** The drawdown bands of equity.json's drawdown_status, for any drawdown in percent (≤ 0). */
export function drawdownStatusOf(ddPct: number, limits: DrawdownLimits): DrawdownStatus {
  // tolerance: -0.07 * 100 is -7.000000000000001, and -7.00 % must count as reaching it
  const atOrBelow = (limit: number): boolean => ddPct <= limit * 100 + 1e-9;
  if (atOrBelow(limits.total)) return 'STOP';
  if (atOrBelow(limits.weekly)) return 'REDUCE';
  if (atOrBelow(limits.warning)) return 'WARNING';
  return 'NORMAL';
}

/** The deepest fall below a running peak; indices into the path, −1 for the starting capital / no recovery yet. */
export interface BookEpisode {
  peakK: number;
  peakEquity: number;
  troughK: number;
  troughEquity: number;
  /** r2((trough − peak) ÷ peak × 100). */
  depthPct: number;
  recoveryK: number;
}

/** The running peak (from the starting capital, never falling) and the deepest fall below it. */
function walk(path: BookPath, start: number): { peak: number; episode: BookEpisode | null } {
  // compared at cent precision, as equity.json does, so a flat account is never "in drawdown"
  let runPeak = r2(start);
  let peakK = -1;
  let best: BookEpisode | null = null;
  for (let k = 0; k < path.equity.length; k++) {
    const eq = path.equity[k] as number;
    if (eq >= runPeak) {
      if (best !== null && best.recoveryK < 0 && best.peakK === peakK) best.recoveryK = k;
      runPeak = eq;
      peakK = k;
    } else if (runPeak > 0) {
      const dd = r2(((eq - runPeak) / runPeak) * 100);
      if (dd < (best?.depthPct ?? 0)) best = { peakK, peakEquity: runPeak, troughK: k, troughEquity: eq, depthPct: dd, recoveryK: -1 };
    }
  }
  return { peak: runPeak, episode: best };
}

/** Net R over closed trades: how many have one, their mean, and the means of the wins' and losses' R (by net P&L). */
export function netRStats(closed: readonly Trade[], nets: readonly number[]): NetRStats {
  let n = 0;
  let sum = 0;
  let winSum = 0;
  let winN = 0;
  let lossSum = 0;
  let lossN = 0;
  for (let i = 0; i < closed.length; i++) {
    const r = netR(closed[i] as Trade);
    if (r === null) continue;
    const net = nets[i] as number;
    n++;
    sum += r;
    if (net > 0) {
      winSum += r;
      winN++;
    } else if (net < 0) {
      lossSum += r;
      lossN++;
    }
  }
  return {
    with_r: n,
    without_r: closed.length - n,
    avg_net_r: n > 0 ? r2(sum / n) : null,
    avg_win_net_r: winN > 0 ? r2(winSum / winN) : null,
    avg_loss_net_r: lossN > 0 ? r2(lossSum / lossN) : null,
  };
}

/** Wins, losses, breakeven by net P&L; the win rate is null with no closed trade. */
export function outcomesOf(nets: readonly number[]): { wins: number; losses: number; breakeven: number; win_rate: number | null } {
  let wins = 0;
  let losses = 0;
  for (const n of nets) {
    if (n > 0) wins++;
    else if (n < 0) losses++;
  }
  const total = nets.length;
  return { wins, losses, breakeven: total - wins - losses, win_rate: total > 0 ? r1((wins / total) * 100) : null };
}

export interface Book {
  figures: BookFigures;
  path: BookPath;
  episode: BookEpisode | null;
}

/** The book of a log, from derive's first pass (tally, ledger) and context. */
export function buildBook(a: Tally, ledger: Ledger, c: Context): Book {
  const current = r2(c.start + a.realized);
  const path = pathOf(ledger, c.start, a.realized);
  const { peak, episode } = walk(path, c.start);
  const ddPct = peak > 0 ? r2(((current - peak) / peak) * 100) : 0;
  let winSum = 0;
  let lossSum = 0;
  for (const n of a.closedNet) {
    if (n > 0) winSum += n;
    else if (n < 0) lossSum += n;
  }
  const o = outcomesOf(a.closedNet);
  const r = netRStats(a.closed, a.closedNet);
  return {
    figures: {
      peak_equity: peak,
      drawdown_pct: ddPct,
      drawdown_usd: r2(current - peak),
      drawdown_status: drawdownStatusOf(ddPct, c.limits),
      max_drawdown_pct: episode?.depthPct ?? 0,
      max_drawdown_usd: episode === null ? 0 : r2(episode.troughEquity - episode.peakEquity),
      closed_trades: a.closed.length,
      ...o,
      profit_factor: o.losses > 0 ? r2(winSum / Math.abs(lossSum)) : null,
      ...r,
    },
    path,
    episode,
  };
}

/** The lowest equity after an event of each halt window (today, this ISO week, ever), the current one included. */
export interface WindowLows {
  daily: number;
  weekly: number;
  total: number;
}

/**
 * A window's events are those met walking back from the last event until one dated before the
 * window's start. An event whose timestamp does not parse sits first and counts on the curve's first
 * day: it is reached only when every dated event is in the window, and then that first day is too.
 * Future-dated events count on today. The walk is done once per path and window start (windowOf),
 * then carried over as the path grows (carriedWindow).
 */
export function windowLows(path: BookPath, current: number, c: Context): WindowLows {
  const { equity } = path;
  const low = (fromMicros: number): number => {
    const w = windowOf(path, fromMicros);
    let m = current;
    if (w.lowBeforeLast < m) m = w.lowBeforeLast;
    if (w.lastIn && (equity[equity.length - 1] as number) < m) m = equity[equity.length - 1] as number;
    return m;
  };
  // The whole path's lowest figure: kept beside the path (pathOf), its last figure apart.
  const before = lowsBeforeLast.get(path) ?? lowOf(equity, equity.length - 1);
  const last = equity.length > 0 ? (equity[equity.length - 1] as number) : Infinity;
  let total = current;
  if (before < total) total = before;
  if (last < total) total = last;
  return { daily: low(c.today * DAY_MICROS), weekly: low(c.monday * DAY_MICROS), total };
}

/** The book of a log on its own (the report's view; deriveState carries its figures in the files). */
export function deriveBook(log: { trades: unknown }, options: { startingCapital: number; drawdownLimits?: Partial<DrawdownLimits> | undefined; now: Date }): Book {
  const c = context(options);
  const trades = tradesOf(log);
  return buildBook(tally(trades), buildLedger(trades), c);
}
