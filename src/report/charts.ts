/**
 * The charts: ReportData -> SVG markup, one function per chart, drawn by
 * Observable Plot into the document the caller passes (see render.ts, which
 * loads Plot and linkedom on first use; this module imports their types only).
 */
import { addDays } from '../domain/time.js';
import { typeset } from '../format.js';
import type { CurvePoint, HistogramBin, HistogramSegment, OpenPositionRow, Outcome, ReportData, SetupRow } from './shape.js';
import { C, CHART_CLASS, type Fit } from './style.js';

type PlotModule = typeof import('@observablehq/plot');
type Linkedom = typeof import('linkedom');
export type Doc = ReturnType<Linkedom['parseHTML']>['document'];

const { usd, signedPct, r: rFmt, pct, plural } = typeset;

function shortName(s: string, max = 24): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// loops, not Math.min(...xs): a spread of a few hundred thousand arguments overflows the stack
function minOf<T>(xs: readonly T[], f: (x: T) => number, floor: number): number {
  let m = floor;
  for (const x of xs) m = Math.min(m, f(x));
  return m;
}
function maxOf<T>(xs: readonly T[], f: (x: T) => number, floor: number): number {
  let m = floor;
  for (const x of xs) m = Math.max(m, f(x));
  return m;
}

const utcDate = (d: string): Date => new Date(`${d}T00:00:00Z`);

export interface Ctx {
  Plot: PlotModule;
  document: Doc;
}

/**
 * How wide each drawing is. Plot lays a chart out at a fixed width and the page scales it, so
 * the wide one's 12 px labels would be 4.4 px on a 390 px phone; the narrow one is drawn at
 * about a phone's width (350 px of content at 390) and keeps its labels at ~12 px there.
 */
const WIDTH = { wide: 960, narrow: 360 } as const satisfies Record<Fit, number>;

/** Plot options shared by every chart: deterministic class name (one per fit), our document, print-friendly text. */
function base(ctx: Ctx, aria: string, description: string, fit: Fit) {
  return {
    document: ctx.document as never,
    className: CHART_CLASS[fit],
    ariaLabel: aria,
    ariaDescription: description,
    style: { fontSize: '12px', color: C.ink, background: 'white' },
    marginBottom: 44,
  };
}

/** The x label centred below the ticks: Plot's default (right end) collides with the last tick. */
const X_AXIS = { labelAnchor: 'center', labelOffset: 38 } as const;

/**
 * A date axis's label sits lower: Plot writes its ticks on two lines (the day,
 * and the month under the first tick of each month), and a month name that
 * falls mid-axis ("Nov") would otherwise run into the centred label.
 */
const DATE_X_AXIS = { labelAnchor: 'center', labelOffset: 50 } as const;
const DATE_MARGIN_BOTTOM = 58;

function svgOf(node: unknown): string {
  return (node as { outerHTML: string }).outerHTML;
}

/** 'start' near the left end of [lo, hi], 'end' near the right end, else 'middle'. */
function anchorFor(lo: number, hi: number, x: number): 'start' | 'middle' | 'end' {
  const f = hi > lo ? (x - lo) / (hi - lo) : 0.5;
  return f < 0.2 ? 'start' : f > 0.8 ? 'end' : 'middle';
}

/**
 * A UTC date axis; over a short span, whole days (Plot would otherwise tick hours of a daily
 * series): every day when wide, about four ticks when narrow, where "Mar 14" takes a sixth of the axis.
 */
function dateAxis(pts: readonly { d: Date }[], fit: Fit) {
  const span = ((pts[pts.length - 1]?.d.getTime() ?? 0) - (pts[0]?.d.getTime() ?? 0)) / 86_400_000;
  const every = fit === 'wide' ? 1 : Math.max(1, Math.ceil(span / 4));
  if (span <= 12) return { ...DATE_X_AXIS, type: 'utc', label: 'Date (UTC)', ticks: every === 1 ? 'day' : `${every} days`, tickFormat: '%b %-d' } as const;
  return fit === 'wide' ? ({ ...DATE_X_AXIS, type: 'utc', label: 'Date (UTC)' } as const) : ({ ...DATE_X_AXIS, type: 'utc', label: 'Date (UTC)', ticks: 4 } as const);
}

/** Where a line's name goes: beyond the plot's right end when wide, inside it above the line's left end when narrow. */
function lineLabel(fit: Fit, first: Date, last: Date) {
  return fit === 'wide'
    ? ({ x: last, textAnchor: 'start', dx: 6 } as const)
    : ({ x: first, textAnchor: 'start', dx: 2, dy: -7, stroke: 'white', strokeWidth: 3, paintOrder: 'stroke' } as const);
}

/**
 * Where the max-drawdown episode's band starts. A day's point stands for its
 * close, so a day's trading lies between the previous point and its own: the
 * band starts at the peak's point, or at the close before the trough's day
 * when the peak was reached that same day (an intraday fall would otherwise
 * be a band of no width).
 */
function episodeStart(ep: NonNullable<ReportData['episode']>): string {
  return ep.peakDate < ep.troughDate ? ep.peakDate : addDays(ep.troughDate, -1);
}

/** The max-drawdown episode as a shaded band, from its peak to its recovery (or the last day). */
function episodeBand(ctx: Ctx, ep: NonNullable<ReportData['episode']>, lastDate: string, opacity: number, label: string) {
  return ctx.Plot.rect([ep], {
    x1: (e: typeof ep) => utcDate(episodeStart(e)),
    x2: (e: typeof ep) => utcDate(e.recoveryDate ?? lastDate),
    fill: C.episode,
    fillOpacity: opacity,
    ariaLabel: () => label,
  });
}

export function equityChart(ctx: Ctx, data: ReportData, fit: Fit): string {
  const { Plot } = ctx;
  const pts = data.curve.points.map((p) => ({ ...p, d: utcDate(p.date) }));
  const first = pts[0] as CurvePoint & { d: Date };
  const last = pts[pts.length - 1] as CurvePoint & { d: Date };
  const start = data.header.startingCapital;
  const peak = data.curve.peak;
  const ep = data.episode;
  const marks = [];
  if (ep !== null) {
    marks.push(episodeBand(ctx, ep, last.date, 0.25, `Max drawdown episode ${ep.peakDate} to ${ep.recoveryDate ?? 'now'}`));
  }
  marks.push(
    Plot.ruleY([start], { stroke: C.muted, strokeDasharray: '5 4', ariaDescription: 'Starting capital' }),
    Plot.text([start], {
      ...lineLabel(fit, first.d, last.d),
      y: (v: number) => v,
      text: () => `start ${usd(start)}`,
      fill: C.muted,
    }),
    Plot.lineY(pts, {
      x: 'd',
      y: 'equity',
      stroke: C.equity,
      strokeWidth: 1.75,
      ariaLabel: () => `Equity from ${usd(first.equity)} on ${first.date} to ${usd(last.equity)} on ${last.date}`,
    }),
  );
  if (peak !== null) {
    marks.push(
      Plot.dot([peak], {
        x: (p: typeof peak) => utcDate(p.date),
        y: 'equity',
        r: 4.5,
        fill: C.equity,
        stroke: 'white',
        ariaLabel: (p: typeof peak) => `Peak ${usd(p.equity)} on ${p.date}`,
      }),
      Plot.text([peak], {
        x: (p: typeof peak) => utcDate(p.date),
        y: 'equity',
        text: (p: typeof peak) => `peak ${usd(p.equity)}`,
        dy: -12,
        // near an edge the label grows inwards, away from the axis label and the margin
        textAnchor: anchorFor(first.d.getTime(), last.d.getTime(), utcDate(peak.date).getTime()),
        fill: C.equity,
        fontWeight: 'bold',
        stroke: 'white',
        strokeWidth: 3,
        paintOrder: 'stroke',
      }),
    );
  }
  const desc = `Daily equity at each UTC day's end from ${first.date} to ${last.date}, starting capital ${usd(start)}${
    peak !== null ? `, peak ${usd(peak.equity)} on ${peak.date}` : ''
  }.`;
  return svgOf(
    Plot.plot({
      ...base(ctx, 'Equity curve', desc, fit),
      width: WIDTH[fit],
      height: fit === 'wide' ? 370 : 280,
      marginLeft: fit === 'wide' ? 72 : 62,
      marginRight: fit === 'wide' ? 120 : 16,
      marginTop: 40,
      marginBottom: DATE_MARGIN_BOTTOM,
      x: dateAxis(pts, fit),
      y: { label: 'Equity (USD)', grid: true, ...(fit === 'narrow' && { ticks: 5 }), tickFormat: (v: number) => usd(v).replace(/\.00$/, '') },
      marks,
    }),
  );
}

export interface LimitLine {
  name: string;
  pct: number;
  color: string;
  dash: string;
}

/**
 * Every drawdown limit as a line: the daily halt (risk_state.json: trading
 * halts when equity is this far below the previous day's close, so after a
 * day that closed at the peak it is a fall from the peak like this curve's)
 * and equity.json's drawdown_status bands, which are measured on this curve.
 */
function limitLines(data: ReportData): LimitLine[] {
  const { daily, warning, weekly, total } = data.limits;
  const lines: LimitLine[] = [
    { name: 'DAILY HALT', pct: daily * 100, color: C.daily, dash: '2 3' },
    { name: 'WARNING', pct: warning * 100, color: C.warning, dash: '6 4' },
    { name: 'REDUCE', pct: weekly * 100, color: C.reduce, dash: '3 3' },
    { name: 'STOP', pct: total * 100, color: C.stop, dash: 'none' },
  ];
  return lines.filter((l) => Number.isFinite(l.pct)); // −Infinity disables a limit
}

export interface DrawdownAxis {
  /** [lowest, 0] in percent. */
  domain: [number, number];
  /** Limits inside the domain, drawn; the others are named in the caption. */
  shown: LimitLine[];
  hidden: LimitLine[];
}

/** Smallest depth the axis shows, so a flat account is not magnified into noise. */
const MIN_DRAWDOWN_SPAN = 1;

/**
 * The drawdown axis follows the data: down to the deepest of the daily curve
 * and the max-drawdown episode, with a fifth more for the trough's label, and
 * at least 1 %. A fixed axis down to the STOP limit made a 2 % episode a
 * sliver; a limit below the data's range is named, not drawn.
 */
export function drawdownAxis(data: ReportData): DrawdownAxis {
  const deepest = Math.min(minOf(data.curve.points, (p) => p.drawdownPct, 0), data.episode?.depthPct ?? 0);
  const lo = Math.min(deepest * 1.2, -MIN_DRAWDOWN_SPAN);
  const lines = limitLines(data);
  return { domain: [lo, 0], shown: lines.filter((l) => l.pct >= lo), hidden: lines.filter((l) => l.pct < lo) };
}

/** Decimals a tick value needs (−2, −2.5, −0.25): a scaled axis ticks in fractions of a percent. */
function tickDigits(v: number): number {
  for (let d = 0; d < 3; d++) if (Math.abs(v * 10 ** d - Math.round(v * 10 ** d)) < 1e-6) return d;
  return 3;
}

/** "11:20 UTC" from an ISO instant. */
const utcTime = (iso: string): string => `${iso.slice(11, 16)} UTC`;

/**
 * The episode's trough lies below the daily curve when it was reached between
 * two closes: then a marker shows it where the area cannot.
 */
export function intradayTrough(data: ReportData): { date: string; closePct: number; depthPct: number; at: string } | null {
  const ep = data.episode;
  if (ep === null || ep.troughAt == null) return null;
  const close = data.curve.points.find((p) => p.date === ep.troughDate);
  if (close === undefined || ep.depthPct >= close.drawdownPct) return null;
  return { date: ep.troughDate, closePct: close.drawdownPct, depthPct: ep.depthPct, at: ep.troughAt };
}

export function drawdownChart(ctx: Ctx, data: ReportData, fit: Fit): string {
  const { Plot } = ctx;
  const pts = data.curve.points.map((p) => ({ ...p, d: utcDate(p.date) }));
  const first = pts[0] as CurvePoint & { d: Date };
  const last = pts[pts.length - 1] as CurvePoint & { d: Date };
  const axis = drawdownAxis(data);
  const ep = data.episode;
  const below = intradayTrough(data);
  const marks = [];
  if (ep !== null) {
    marks.push(
      episodeBand(
        ctx,
        ep,
        last.date,
        0.45,
        `Max drawdown ${signedPct(ep.depthPct)} from ${ep.peakDate} to ${ep.recoveryDate ?? 'now (not recovered)'}, trough ${ep.troughDate}`,
      ),
    );
  }
  marks.push(
    Plot.areaY(pts, {
      x: 'd',
      y: 'drawdownPct',
      fill: C.dd,
      fillOpacity: 0.25,
      stroke: C.dd,
      strokeWidth: 1.25,
      ariaLabel: () => `Drawdown at the daily closes, deepest ${signedPct(minOf(pts, (p) => p.drawdownPct, 0))}`,
    }),
    Plot.ruleY([0], { stroke: C.ink }),
  );
  for (const l of axis.shown) {
    // one mark per limit: Plot's strokeDasharray is a constant, not a channel
    marks.push(
      Plot.ruleY([l.pct], {
        stroke: l.color,
        strokeDasharray: l.dash,
        strokeWidth: 1.5,
        ariaDescription: `Drawdown limit: ${l.name.toLowerCase()} at ${signedPct(l.pct, 1)}`,
      }),
      Plot.text([l.pct], {
        ...lineLabel(fit, first.d, last.d),
        y: (v: number) => v,
        text: () => `${l.name} ${signedPct(l.pct, 0)}`,
        fill: l.color,
        fontWeight: 'bold',
      }),
    );
  }
  if (below !== null) {
    // from the day's close down to the intraday trough: the fall the daily area cannot show
    marks.push(
      Plot.ruleX([below], {
        x: (b: typeof below) => utcDate(b.date),
        y1: 'closePct',
        y2: 'depthPct',
        stroke: C.dd,
        strokeWidth: 1.5,
        strokeDasharray: '3 2',
      }),
      Plot.dot([below], {
        x: (b: typeof below) => utcDate(b.date),
        y: 'depthPct',
        r: 4,
        fill: C.dd,
        stroke: 'white',
        ariaLabel: (b: typeof below) => `Intraday trough ${signedPct(b.depthPct)} at ${utcTime(b.at)} on ${b.date}`,
      }),
    );
  }
  if (ep !== null) {
    marks.push(
      Plot.text([ep], {
        x: (e: typeof ep) => utcDate(e.troughDate),
        y: (e: typeof ep) => e.depthPct,
        text: (e: typeof ep) => `max ${signedPct(e.depthPct)}${below !== null ? ` at ${utcTime(below.at)}` : ''}`,
        dy: 14,
        textAnchor: anchorFor(first.d.getTime(), last.d.getTime(), utcDate(ep.troughDate).getTime()),
        fill: C.dd,
        fontWeight: 'bold',
        stroke: 'white',
        strokeWidth: 3,
        paintOrder: 'stroke',
      }),
    );
  }
  return svgOf(
    Plot.plot({
      ...base(
        ctx,
        'Underwater (drawdown) curve',
        `Drawdown from the running equity peak at each day's close, in percent${ep !== null ? `; deepest after any exit ${signedPct(ep.depthPct)} on ${ep.troughDate}` : ''}.`,
        fit,
      ),
      width: WIDTH[fit],
      height: fit === 'wide' ? 310 : 280,
      marginLeft: fit === 'wide' ? 72 : 62,
      marginRight: fit === 'wide' ? 120 : 16,
      // narrow, the "0%" tick would touch the axis label above it
      marginTop: fit === 'wide' ? 20 : 30,
      marginBottom: DATE_MARGIN_BOTTOM,
      x: dateAxis(pts, fit),
      y: { label: 'Drawdown (%)', grid: true, domain: axis.domain, ...(fit === 'narrow' && { ticks: 5 }), tickFormat: (v: number) => signedPct(v, tickDigits(v)) },
      color: { type: 'identity' },
      marks,
    }),
  );
}

const OUTCOME_FILL: Record<Outcome, string> = { win: C.gain, loss: C.loss, breakeven: C.breakeven };
const OUTCOME_NOUN: Record<Outcome, string> = { win: 'win', loss: 'loss', breakeven: 'breakeven trade' };

export function rChart(ctx: Ctx, data: ReportData, fit: Fit): string {
  const { Plot } = ctx;
  const hist = data.rHistogram;
  const bins = hist.bins.filter((b) => b.count > 0);
  const first = hist.bins[0] as HistogramBin;
  const lastBin = hist.bins[hist.bins.length - 1] as HistogramBin;
  // always show −1R..+1R (a full loss, a 1:1 win) so one or two bars keep a scale a trader can read
  const domain: [number, number] = [Math.min(first.x0, -1), Math.max(lastBin.x1, 1)];
  const maxCount = maxOf(bins, (b) => b.count, 1);
  const anchor = anchorFor(domain[0], domain[1], hist.meanR);
  return svgOf(
    Plot.plot({
      ...base(
        ctx,
        'Histogram of net R',
        `Net R (net P&L including partial exits ÷ initial risk) of ${plural(hist.count, 'closed trade')} in bins of ${hist.binWidth}R: ${plural(hist.wins, 'win')}, ${plural(hist.losses, 'loss', 'losses')}, ${hist.breakeven} breakeven; mean = expectancy ${rFmt(hist.meanR)}.`,
        fit,
      ),
      width: WIDTH[fit],
      height: fit === 'wide' ? 300 : 260,
      marginLeft: fit === 'wide' ? 56 : 44,
      marginRight: fit === 'wide' ? 36 : 24,
      marginTop: 44,
      x: { ...X_AXIS, label: 'Net R (net profit ÷ initial risk, R)', domain, ...(fit === 'narrow' && { ticks: 5 }), tickFormat: (v: number) => rFmt(v) },
      // integer ticks only: a count of 0.5 trades means nothing
      // headroom above the tallest bar keeps its count label clear of the mean label
      y: { label: 'Closed trades (count)', grid: true, domain: [0, maxCount * 1.15], ticks: Math.min(5, maxCount), tickFormat: (v: number) => (Number.isInteger(v) ? String(v) : '') },
      color: { type: 'identity' },
      marks: [
        // a bar per bin, stacked by outcome: blue wins, grey breakeven, orange losses, as the header counts them
        Plot.rect(hist.segments, {
          x1: 'x0',
          x2: 'x1',
          y1: 'y0',
          y2: 'y1',
          fill: (g: HistogramSegment) => OUTCOME_FILL[g.outcome],
          insetLeft: 1,
          insetRight: 1,
          ariaLabel: (g: HistogramSegment) => `${rFmt(g.x0)} to ${rFmt(g.x1)}: ${plural(g.count, OUTCOME_NOUN[g.outcome], g.outcome === 'loss' ? 'losses' : undefined)}`,
        }),
        Plot.text(bins, { x: (b: (typeof bins)[number]) => (b.x0 + b.x1) / 2, y: 'count', text: 'count', dy: -7, fill: C.ink }),
        Plot.ruleY([0], { stroke: C.ink }),
        Plot.ruleX([hist.meanR], { stroke: C.ink, strokeDasharray: '5 3', strokeWidth: 1.5, ariaLabel: () => `Mean ${rFmt(hist.meanR)}` }),
        Plot.text([hist.meanR], {
          x: (v: number) => v,
          frameAnchor: 'top',
          text: () => `mean = expectancy ${rFmt(hist.meanR)}`,
          dy: -10,
          textAnchor: anchor,
          dx: anchor === 'start' ? -4 : anchor === 'end' ? 4 : 0,
          fill: C.ink,
          fontWeight: 'bold',
        }),
      ],
    }),
  );
}

function barHeight(n: number): number {
  return 56 + 30 * Math.max(1, n);
}

/** The longest name a bar chart's left axis prints: a narrow chart keeps half its width for the bars. */
const NAME_CHARS = { wide: 24, narrow: 14 } as const satisfies Record<Fit, number>;

function leftMargin(labels: readonly string[], fit: Fit): number {
  const longest = maxOf(labels, (l) => shortName(l, NAME_CHARS[fit]).length, 4);
  return Math.min(fit === 'wide' ? 220 : 130, 20 + longest * 8); // ~8 px per character at 12 px
}

/** [lo, hi] including 0, widened on each side that has bars so their value labels fit. */
function paddedDomain(values: readonly number[]): [number, number] {
  const lo = minOf(values, (v) => v, 0);
  const hi = maxOf(values, (v) => v, 0);
  const pad = 0.45 * (hi - lo || 1);
  return [lo < 0 ? lo - pad : 0, hi > 0 || lo === 0 ? hi + pad : 0];
}

/** One bar per setup for one column of the setup table; the two setup charts differ only in this. */
export interface SetupMetric {
  /** The SetupRow field the bars measure (and Plot's channel name for it). */
  key: 'expectancy' | 'winRate';
  title: string;
  /** The chart's description, given "N setups". */
  describe: (setups: string) => string;
  axis: { label: string; domain: (values: readonly number[]) => [number, number]; tickFormat?: (v: number) => string };
  /** The value printed at a bar's end. */
  text: (s: SetupRow) => string;
  /** A constant colour, or one per bar (which then needs Plot's identity colour scale). */
  fill: string | ((s: SetupRow) => string);
  fillOpacity?: number;
  /** Each bar's aria-label. */
  aria: (s: SetupRow) => string;
  /** A dashed reference line (the 50% of a win rate), drawn under the zero line. */
  reference?: number;
  /** Whether values can be negative: then those labels stand left of their bar's end, inside the axis. */
  signed: boolean;
}

export const SETUP_METRICS = {
  expectancy: {
    key: 'expectancy',
    title: 'Expectancy by setup',
    describe: (n) => `Expectancy in net R per trade for each of ${n}, best first.`,
    axis: { label: 'Expectancy (R per trade)', domain: paddedDomain, tickFormat: (v) => rFmt(v) },
    text: (s) => rFmt(s.expectancy),
    fill: (s) => (s.expectancy >= 0 ? C.gain : C.loss),
    aria: (s) => `${s.name}: expectancy ${rFmt(s.expectancy)} (net R) over ${plural(s.trades, 'trade')}`,
    signed: true,
  },
  winRate: {
    key: 'winRate',
    title: 'Win rate by setup',
    describe: (n) => `Share of winning closed trades for each of ${n}, in percent.`,
    axis: { label: 'Win rate (%)', domain: () => [0, 100] },
    text: (s) => pct(s.winRate, 1),
    fill: C.equity,
    fillOpacity: 0.85,
    aria: (s) => `${s.name}: win rate ${pct(s.winRate, 1)} (${s.wins} of ${s.trades})`,
    reference: 50,
    signed: false,
  },
} satisfies Record<string, SetupMetric>;

/** Horizontal bars of one metric per setup, in the order given (best expectancy first). */
export function setupChart(ctx: Ctx, setups: readonly SetupRow[], m: SetupMetric, fit: Fit): string {
  const { Plot } = ctx;
  const names = setups.map((s) => s.name);
  const value = (s: SetupRow): number => s[m.key];
  const label = (textAnchor: 'start' | 'end', filter?: (s: SetupRow) => boolean) =>
    Plot.text(setups, { y: 'name', x: m.key, text: m.text, textAnchor, dx: textAnchor === 'start' ? 4 : -4, fill: C.ink, ...(filter && { filter }) });
  return svgOf(
    Plot.plot({
      ...base(ctx, m.title, m.describe(plural(setups.length, 'setup')), fit),
      // half the page's width when wide: the two stand side by side
      width: fit === 'wide' ? 470 : WIDTH.narrow,
      height: barHeight(setups.length),
      marginLeft: leftMargin(names, fit),
      marginRight: fit === 'wide' ? 48 : 40,
      x: { ...X_AXIS, label: m.axis.label, grid: true, domain: m.axis.domain(setups.map(value)), ...(m.axis.tickFormat && { tickFormat: m.axis.tickFormat }) },
      y: { label: null, domain: names, tickSize: 0, tickFormat: (s: string) => shortName(s, NAME_CHARS[fit]) },
      ...(typeof m.fill === 'function' && { color: { type: 'identity' } as const }),
      marks: [
        Plot.barX(setups, { y: 'name', x: m.key, fill: m.fill, ...(m.fillOpacity !== undefined && { fillOpacity: m.fillOpacity }), ariaLabel: m.aria }),
        ...(m.reference !== undefined ? [Plot.ruleX([m.reference], { stroke: C.muted, strokeDasharray: '4 3' })] : []),
        Plot.ruleX([0], { stroke: C.ink }),
        ...(m.signed ? [label('start', (s) => value(s) >= 0), label('end', (s) => value(s) < 0)] : [label('start')]),
      ],
    }),
  );
}

/** Each open position's row: two bars, initial risk above and risk to the current stop below. */
const HEAT_ROW = 48;
const HEAT_PADDING = 0.2;

export function heatChart(ctx: Ctx, rows: readonly OpenPositionRow[], fit: Fit): string {
  const { Plot } = ctx;
  const shown = rows.filter((r) => r.riskToStopPct !== null || r.initialRiskPct !== null);
  const label = (r: OpenPositionRow) => `${r.tradeId} ${r.symbol} ${r.direction}`;
  const names = shown.map(label);
  const max = Math.max(maxOf(shown, (r) => r.riskToStopPct ?? 0, 0), maxOf(shown, (r) => r.initialRiskPct ?? 0, 0), 0.5);
  const marginTop = 20;
  const marginBottom = 44;
  const height = marginTop + marginBottom + HEAT_ROW * Math.max(1, shown.length);
  // half a band per bar; Plot's band is the row less its padding
  const half = (HEAT_ROW * (1 - HEAT_PADDING)) / 2;
  const initial = shown.filter((r) => r.initialRiskPct !== null);
  const toStop = shown.filter((r) => r.riskToStopPct !== null);
  const toStopText = (r: OpenPositionRow) => `${pct(r.riskToStopPct)} to stop${r.lockedIn ? ' · locked in' : ''}`;
  return svgOf(
    Plot.plot({
      ...base(
        ctx,
        'Risk of open positions',
        'For each open position, in percent of equity: the initial risk (to the original stop, on the original size) and the loss if the current stop is hit (on the size still open).',
        fit,
      ),
      width: WIDTH[fit],
      height,
      marginTop,
      marginBottom,
      marginLeft: leftMargin(names, fit),
      marginRight: fit === 'wide' ? 40 : 16,
      // room for "1.25% to stop" after the longest bar; a locked-in position's label starts at 0
      x: { ...X_AXIS, label: 'Risk (% of equity)', domain: [0, max * (fit === 'wide' ? 1.35 : 2)], grid: true, ...(fit === 'narrow' && { ticks: 4 }), tickFormat: (v: number) => pct(v, tickDigits(v)) },
      y: { label: null, domain: names, tickSize: 0, padding: HEAT_PADDING, tickFormat: (s: string) => shortName(s, NAME_CHARS[fit]) },
      marks: [
        Plot.barX(initial, {
          y: label,
          x: 'initialRiskPct',
          fill: C.initialRisk,
          stroke: C.loss,
          strokeWidth: 1,
          insetBottom: half,
          ariaDescription: 'Initial risk',
          ariaLabel: (r: OpenPositionRow) => `${label(r)}: initial risk ${usd(r.initialRiskUsd)}, ${pct(r.initialRiskPct)} of equity`,
        }),
        Plot.barX(toStop, {
          y: label,
          x: 'riskToStopPct',
          fill: C.loss,
          insetTop: half,
          ariaDescription: 'Risk to stop',
          ariaLabel: (r: OpenPositionRow) => `${label(r)}: ${usd(r.riskToStopUsd)}, ${pct(r.riskToStopPct)} of equity lost if the current stop is hit${r.lockedIn ? ' (stop at or past entry: locked in)' : ''}`,
        }),
        Plot.ruleX([0], { stroke: C.ink }),
        Plot.text(initial, { y: label, x: 'initialRiskPct', text: (r: OpenPositionRow) => `${pct(r.initialRiskPct)} initial`, textAnchor: 'start', dx: 4, dy: -half / 2, fill: C.muted }),
        Plot.text(toStop, { y: label, x: 'riskToStopPct', text: toStopText, textAnchor: 'start', dx: 4, dy: half / 2, fill: C.ink, fontWeight: 'bold' }),
      ],
    }),
  );
}
