/**
 * ReportData -> one self-contained HTML page. Charts are drawn by Observable
 * Plot into a linkedom document at build time and inlined as SVG: the page
 * has no script, no external resource, and a Content-Security-Policy that
 * forbids both, so it opens the same offline, from a mail attachment or in CI.
 * Plot and linkedom are imported on first use only (see loadLibs).
 */
import type { CurvePoint, HistogramBin, OpenPositionRow, ReportData, SetupRow } from './shape.js';

type PlotModule = typeof import('@observablehq/plot');
type Linkedom = typeof import('linkedom');
type Doc = ReturnType<Linkedom['parseHTML']>['document'];

let libs: Promise<{ Plot: PlotModule; linkedom: Linkedom }> | null = null;

/** Loaded lazily so that `import 'trade-state-engine'` never pays for d3 and a DOM. */
function loadLibs() {
  libs ??= Promise.all([import('@observablehq/plot'), import('linkedom')]).then(([Plot, linkedom]) => ({ Plot, linkedom }));
  return libs;
}

/**
 * How to find each chart's marks in the page, for mark counts here and in the
 * browser test. Plot labels each mark's <g> with its type ("line", "bar"…).
 */
export const MARK_SELECTORS = {
  equityLine: '#chart-equity g[aria-label="line"] > path',
  equityPeak: '#chart-equity g[aria-label="dot"] > circle',
  drawdownArea: '#chart-drawdown g[aria-label="area"] > path',
  drawdownLimits: '#chart-drawdown g[aria-description^="Drawdown limit"] > line',
  drawdownEpisode: '#chart-drawdown g[aria-label="rect"] > rect',
  rHistogramBars: '#chart-r g[aria-label="rect"] > rect',
  setupExpectancyBars: '#chart-setup-expectancy g[aria-label="bar"] > rect',
  setupWinRateBars: '#chart-setup-winrate g[aria-label="bar"] > rect',
  heatBars: '#chart-heat g[aria-label="bar"] > rect',
} as const;

export type MarkName = keyof typeof MARK_SELECTORS;

export interface RenderOptions {
  title: string;
  /** Shown under the title, e.g. the log's file name. */
  source?: string | undefined;
}

// Print-safe palette: dark strokes, light fills, distinguishable in greyscale
// and for red-green colour blindness (blue vs orange for gains vs losses).
const C = {
  ink: '#1a1a1a',
  equity: '#1f4e8c',
  gain: '#2f6fb0',
  loss: '#d0711c',
  dd: '#a3303f',
  episode: '#f1c94b',
  warning: '#9a7400',
  reduce: '#c2570c',
  stop: '#8b0000',
  muted: '#555555',
};

const SVG_NS = 'http://www.w3.org/2000/svg';

// ------------------------------------------------------------------ format

const usdFmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const numFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const MINUS = '\u2212';

function signed(s: string, x: number): string {
  return x < 0 ? MINUS + s.replace(/^-/, '') : x > 0 ? `+${s}` : s;
}
export const usd = (x: number): string => (x < 0 ? MINUS + usdFmt.format(-x) : usdFmt.format(x));
export const usdSigned = (x: number): string => signed(usdFmt.format(Math.abs(x)), x);
export const pct = (x: number, digits = 2): string => signed(`${Math.abs(x).toFixed(digits)}%`, x);
export const rFmt = (x: number): string => signed(`${Math.abs(x).toFixed(2)}R`, x);
const num = (x: number): string => (x < 0 ? MINUS + numFmt.format(-x) : numFmt.format(x));
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}
const h = escapeHtml;

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

// ------------------------------------------------------------------ charts

interface Ctx {
  Plot: PlotModule;
  document: Doc;
}

/** Plot options shared by every chart: deterministic class name, our document, print-friendly text. */
function base(ctx: Ctx, aria: string, description: string) {
  return {
    document: ctx.document as never,
    className: 'tse-plot',
    ariaLabel: aria,
    ariaDescription: description,
    style: { fontSize: '12px', color: C.ink, background: 'white' },
    marginBottom: 44,
  };
}

/** The x label centred below the ticks: Plot's default (right end) collides with the last tick. */
const X_AXIS = { labelAnchor: 'center', labelOffset: 38 } as const;

function svgOf(node: unknown): string {
  return (node as { outerHTML: string }).outerHTML;
}

/** 'start' near the left end of [lo, hi], 'end' near the right end, else 'middle'. */
function anchorFor(lo: number, hi: number, x: number): 'start' | 'middle' | 'end' {
  const f = hi > lo ? (x - lo) / (hi - lo) : 0.5;
  return f < 0.2 ? 'start' : f > 0.8 ? 'end' : 'middle';
}

/** A UTC date axis; over a short span, one tick per day (Plot would otherwise tick hours of a daily series). */
function dateAxis(pts: readonly { d: Date }[]) {
  const span = ((pts[pts.length - 1]?.d.getTime() ?? 0) - (pts[0]?.d.getTime() ?? 0)) / 86_400_000;
  return span <= 12
    ? ({ ...X_AXIS, type: 'utc', label: 'Date (UTC)', ticks: 'day', tickFormat: '%b %-d' } as const)
    : ({ ...X_AXIS, type: 'utc', label: 'Date (UTC)' } as const);
}

/** The max-drawdown episode as a shaded band, from its peak to its recovery (or the last day). */
function episodeBand(ctx: Ctx, ep: NonNullable<ReportData['episode']>, lastDate: string, opacity: number, label: string) {
  return ctx.Plot.rect([ep], {
    x1: (e: typeof ep) => utcDate(e.peakDate),
    x2: (e: typeof ep) => utcDate(e.recoveryDate ?? lastDate),
    fill: C.episode,
    fillOpacity: opacity,
    ariaLabel: () => label,
  });
}

function equityChart(ctx: Ctx, data: ReportData): string {
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
      x: last.d,
      y: (v: number) => v,
      text: () => `start ${usd(start)}`,
      textAnchor: 'start',
      dx: 6,
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
      ...base(ctx, 'Equity curve', desc),
      width: 960,
      height: 360,
      marginLeft: 72,
      marginRight: 110,
      marginTop: 40,
      x: dateAxis(pts),
      y: { label: 'Equity (USD)', grid: true, tickFormat: (v: number) => usd(v).replace(/\.00$/, '') },
      marks,
    }),
  );
}

interface LimitLine {
  name: string;
  pct: number;
  color: string;
  dash: string;
}

function limitLines(data: ReportData): LimitLine[] {
  const { warning, weekly, total } = data.limits;
  const lines: LimitLine[] = [
    { name: 'WARNING', pct: warning * 100, color: C.warning, dash: '6 4' },
    { name: 'REDUCE', pct: weekly * 100, color: C.reduce, dash: '3 3' },
    { name: 'STOP', pct: total * 100, color: C.stop, dash: 'none' },
  ];
  return lines.filter((l) => Number.isFinite(l.pct)); // −Infinity disables a limit
}

function drawdownChart(ctx: Ctx, data: ReportData): string {
  const { Plot } = ctx;
  const pts = data.curve.points.map((p) => ({ ...p, d: utcDate(p.date) }));
  const last = pts[pts.length - 1] as CurvePoint & { d: Date };
  const limits = limitLines(data);
  const deepest = Math.min(minOf(pts, (p) => p.drawdownPct, 0), minOf(limits, (l) => l.pct, 0));
  const ep = data.episode;
  const marks = [];
  if (ep !== null) {
    marks.push(
      episodeBand(
        ctx,
        ep,
        last.date,
        0.45,
        `Max drawdown ${pct(ep.depthPct)} from ${ep.peakDate} to ${ep.recoveryDate ?? 'now (not recovered)'}, trough ${ep.troughDate}`,
      ),
      Plot.text([ep], {
        x: (e: typeof ep) => utcDate(e.troughDate),
        y: (e: typeof ep) => e.depthPct,
        text: (e: typeof ep) => `max ${pct(e.depthPct)}`,
        dy: 14,
        fill: C.dd,
        fontWeight: 'bold',
        stroke: 'white',
        strokeWidth: 3,
        paintOrder: 'stroke',
      }),
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
      ariaLabel: () => `Drawdown, deepest ${pct(ep?.depthPct ?? 0)}`,
    }),
    Plot.ruleY([0], { stroke: C.ink }),
  );
  for (const l of limits) {
    // one mark per limit: Plot's strokeDasharray is a constant, not a channel
    marks.push(
      Plot.ruleY([l.pct], {
        stroke: l.color,
        strokeDasharray: l.dash,
        strokeWidth: 1.5,
        ariaDescription: `Drawdown limit: ${l.name.toLowerCase()} at ${pct(l.pct, 1)}`,
      }),
      Plot.text([l.pct], {
        x: last.d,
        y: (v: number) => v,
        text: () => `${l.name} ${pct(l.pct, 0)}`,
        textAnchor: 'start',
        dx: 6,
        fill: l.color,
        fontWeight: 'bold',
      }),
    );
  }
  return svgOf(
    Plot.plot({
      ...base(
        ctx,
        'Underwater (drawdown) curve',
        `Drawdown from the running equity peak, in percent${ep !== null ? `; deepest ${pct(ep.depthPct)} on ${ep.troughDate}` : ''}.`,
      ),
      width: 960,
      height: 300,
      marginLeft: 72,
      marginRight: 110,
      marginTop: 20,
      x: dateAxis(pts),
      y: { label: 'Drawdown (%)', grid: true, domain: [deepest * 1.08, 0], tickFormat: (v: number) => pct(v, 0) },
      color: { type: 'identity' },
      marks,
    }),
  );
}

function rChart(ctx: Ctx, data: ReportData): string {
  const { Plot } = ctx;
  const hist = data.rHistogram;
  const bins = hist.bins.filter((b) => b.count > 0);
  const first = hist.bins[0] as HistogramBin;
  const lastBin = hist.bins[hist.bins.length - 1] as HistogramBin;
  // always show −1R..+1R (a full loss, a 1:1 win) so one or two bars keep a scale a trader can read
  const domain: [number, number] = [Math.min(first.x0, -1), Math.max(lastBin.x1, 1)];
  const maxCount = maxOf(bins, (b) => b.count, 1);
  const colorOf = (b: { x0: number; x1: number }) => (b.x1 <= 0 ? C.loss : b.x0 >= 0 ? C.gain : C.muted);
  return svgOf(
    Plot.plot({
      ...base(
        ctx,
        'Histogram of R-multiples',
        `R-multiples of ${plural(hist.count, 'closed trade')} in bins of ${hist.binWidth}R; mean ${rFmt(hist.meanR)}, expectancy ${rFmt(hist.expectancyR)}.`,
      ),
      width: 960,
      height: 300,
      marginLeft: 56,
      marginRight: 36,
      marginTop: 44,
      x: { ...X_AXIS, label: 'R-multiple (profit ÷ initial risk, R)', domain, tickFormat: (v: number) => rFmt(v) },
      // integer ticks only: a count of 0.5 trades means nothing
      // headroom above the tallest bar keeps its count label clear of the mean label
      y: { label: 'Closed trades (count)', grid: true, domain: [0, maxCount * 1.15], ticks: Math.min(5, maxCount), tickFormat: (v: number) => (Number.isInteger(v) ? String(v) : '') },
      color: { type: 'identity' },
      marks: [
        Plot.rectY(bins, {
          x1: 'x0',
          x2: 'x1',
          y: 'count',
          fill: colorOf,
          insetLeft: 1,
          insetRight: 1,
          ariaLabel: (b: (typeof bins)[number]) => `${rFmt(b.x0)} to ${rFmt(b.x1)}: ${plural(b.count, 'trade')}`,
        }),
        Plot.text(bins, { x: (b: (typeof bins)[number]) => (b.x0 + b.x1) / 2, y: 'count', text: 'count', dy: -7, fill: C.ink }),
        Plot.ruleY([0], { stroke: C.ink }),
        Plot.ruleX([hist.meanR], { stroke: C.ink, strokeDasharray: '5 3', strokeWidth: 1.5, ariaLabel: () => `Mean ${rFmt(hist.meanR)}` }),
        Plot.text([hist.meanR], {
          x: (v: number) => v,
          frameAnchor: 'top',
          text: () => `mean ${rFmt(hist.meanR)} · expectancy ${rFmt(hist.expectancyR)}`,
          dy: -10,
          textAnchor: anchorFor(domain[0], domain[1], hist.meanR),
          dx: anchorFor(domain[0], domain[1], hist.meanR) === 'start' ? -4 : anchorFor(domain[0], domain[1], hist.meanR) === 'end' ? 4 : 0,
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

function leftMargin(labels: readonly string[]): number {
  const longest = maxOf(labels, (l) => shortName(l).length, 4);
  return Math.min(220, 20 + longest * 8); // ~8 px per character at 12 px
}

/** [lo, hi] including 0, widened on each side that has bars so their value labels fit. */
function paddedDomain(values: readonly number[]): [number, number] {
  const lo = minOf(values, (v) => v, 0);
  const hi = maxOf(values, (v) => v, 0);
  const pad = 0.45 * (hi - lo || 1);
  return [lo < 0 ? lo - pad : 0, hi > 0 || lo === 0 ? hi + pad : 0];
}

function setupExpectancyChart(ctx: Ctx, setups: readonly SetupRow[]): string {
  const { Plot } = ctx;
  const names = setups.map((s) => s.name);
  return svgOf(
    Plot.plot({
      ...base(ctx, 'Expectancy by setup', `Expectancy in R for each of ${plural(setups.length, 'setup')}, best first.`),
      width: 470,
      height: barHeight(setups.length),
      marginLeft: leftMargin(names),
      marginRight: 48,
      x: { ...X_AXIS, label: 'Expectancy (R per trade)', grid: true, domain: paddedDomain(setups.map((s) => s.expectancy)), tickFormat: (v: number) => rFmt(v) },
      y: { label: null, domain: names, tickSize: 0, tickFormat: (s: string) => shortName(s) },
      color: { type: 'identity' },
      marks: [
        Plot.barX(setups, {
          y: 'name',
          x: 'expectancy',
          fill: (s: SetupRow) => (s.expectancy >= 0 ? C.gain : C.loss),
          ariaLabel: (s: SetupRow) => `${s.name}: expectancy ${rFmt(s.expectancy)} over ${plural(s.trades, 'trade')}`,
        }),
        Plot.ruleX([0], { stroke: C.ink }),
        Plot.text(setups, {
          y: 'name',
          x: 'expectancy',
          text: (s: SetupRow) => rFmt(s.expectancy),
          textAnchor: 'start',
          dx: 4,
          fill: C.ink,
          filter: (s: SetupRow) => s.expectancy >= 0,
        }),
        Plot.text(setups, {
          y: 'name',
          x: 'expectancy',
          text: (s: SetupRow) => rFmt(s.expectancy),
          textAnchor: 'end',
          dx: -4,
          fill: C.ink,
          filter: (s: SetupRow) => s.expectancy < 0,
        }),
      ],
    }),
  );
}

function setupWinRateChart(ctx: Ctx, setups: readonly SetupRow[]): string {
  const { Plot } = ctx;
  const names = setups.map((s) => s.name);
  return svgOf(
    Plot.plot({
      ...base(ctx, 'Win rate by setup', `Share of winning closed trades for each of ${plural(setups.length, 'setup')}, in percent.`),
      width: 470,
      height: barHeight(setups.length),
      marginLeft: leftMargin(names),
      marginRight: 48,
      x: { ...X_AXIS, label: 'Win rate (%)', domain: [0, 100], grid: true },
      y: { label: null, domain: names, tickSize: 0, tickFormat: (s: string) => shortName(s) },
      marks: [
        Plot.barX(setups, {
          y: 'name',
          x: 'winRate',
          fill: C.equity,
          fillOpacity: 0.85,
          ariaLabel: (s: SetupRow) => `${s.name}: win rate ${s.winRate.toFixed(1)}% (${s.wins} of ${s.trades})`,
        }),
        Plot.ruleX([50], { stroke: C.muted, strokeDasharray: '4 3' }),
        Plot.ruleX([0], { stroke: C.ink }),
        Plot.text(setups, { y: 'name', x: 'winRate', text: (s: SetupRow) => `${s.winRate.toFixed(1)}%`, textAnchor: 'start', dx: 4, fill: C.ink }),
      ],
    }),
  );
}

function heatChart(ctx: Ctx, rows: readonly OpenPositionRow[]): string {
  const { Plot } = ctx;
  const withRisk = rows.filter((r) => r.riskPct !== null);
  const label = (r: OpenPositionRow) => `${r.tradeId} ${r.symbol} ${r.direction}`;
  const names = withRisk.map(label);
  const max = maxOf(withRisk, (r) => r.riskPct as number, 1);
  return svgOf(
    Plot.plot({
      ...base(ctx, 'Risk of open positions', `Loss if each open position is stopped out, in percent of equity.`),
      width: 960,
      height: barHeight(withRisk.length),
      marginLeft: leftMargin(names),
      marginRight: 60,
      x: { ...X_AXIS, label: 'Risk to stop (% of equity)', domain: [0, max * 1.15], grid: true },
      y: { label: null, domain: names, tickSize: 0 },
      marks: [
        Plot.barX(withRisk, {
          y: label,
          x: 'riskPct',
          fill: C.loss,
          ariaLabel: (r: OpenPositionRow) => `${label(r)}: ${(r.riskPct as number).toFixed(2)}% of equity at risk`,
        }),
        Plot.ruleX([0], { stroke: C.ink }),
        Plot.text(withRisk, { y: label, x: 'riskPct', text: (r: OpenPositionRow) => `${(r.riskPct as number).toFixed(2)}%`, textAnchor: 'start', dx: 4, fill: C.ink }),
      ],
    }),
  );
}

// ------------------------------------------------------------------ page

function figure(id: string, svg: string, caption: string): string {
  return `<figure id="${id}" class="chart">\n${svg}\n<figcaption>${caption}</figcaption>\n</figure>`;
}

function table(caption: string, head: readonly string[], rows: readonly (readonly string[])[], numericFrom = 1): string {
  const th = head.map((c, i) => `<th scope="col"${i >= numericFrom ? ' class="n"' : ''}>${h(c)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td${i >= numericFrom ? ' class="n"' : ''}>${c}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table><caption>${h(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function details(summary: string, inner: string): string {
  return `<details><summary>${h(summary)}</summary>\n${inner}\n</details>`;
}

function empty(text: string): string {
  return `<p class="empty" role="status">${h(text)}</p>`;
}

function kpi(label: string, value: string, note = ''): string {
  return `<div class="kpi"><dt>${h(label)}</dt><dd>${h(value)}${note ? `<span class="note">${h(note)}</span>` : ''}</dd></div>`;
}

function headerHtml(data: ReportData): string {
  const hd = data.header;
  const ep = data.episode;
  const epNote =
    ep === null
      ? 'never below a peak'
      : `${plural(ep.daysUnderWater, 'day')} under water, ${ep.peakDate} → ${ep.recoveryDate ?? 'not recovered'}`;
  return `<dl class="kpis">
${kpi('Equity', usd(hd.equity), `started ${usd(hd.startingCapital)}`)}
${kpi('Total return', pct(hd.totalReturnPct), `${usdSigned(hd.realizedPnl)} realized`)}
${kpi('Win rate', hd.closedTrades > 0 ? `${hd.winRate.toFixed(1)}%` : '—', `${hd.wins} W · ${hd.losses} L · ${hd.breakeven} BE of ${plural(hd.closedTrades, 'closed trade')}`)}
${kpi('Profit factor', hd.profitFactor === null ? (hd.wins > 0 ? '∞ (no loss)' : '—') : hd.profitFactor.toFixed(2), 'gross win ÷ gross loss')}
${kpi('Max drawdown', pct(hd.maxDrawdownPct), epNote)}
${kpi('Current drawdown', pct(hd.drawdownPct), `${hd.drawdownStatus} · ${plural(hd.currentDrawdownDays, 'day')} below peak ${usd(hd.peakEquity)}`)}
${kpi('Average R', rFmt(hd.avgR), `expectancy ${rFmt(data.rHistogram.expectancyR)} · ${usdSigned(data.rHistogram.expectancyUsd)} per trade`)}
${kpi('Portfolio heat', `${hd.portfolioHeat.toFixed(2)}%`, `${plural(hd.openTrades, 'open position')}`)}
</dl>`;
}

function statusBanner(data: ReportData): string {
  const { halt, header } = data;
  if (halt.halted) return `<p class="banner stop" role="alert"><strong>Trading halted:</strong> ${h(halt.reason ?? '')}</p>`;
  const cls = header.drawdownStatus === 'NORMAL' ? 'ok' : header.drawdownStatus === 'WARNING' ? 'warn' : 'stop';
  return `<p class="banner ${cls}"><strong>Drawdown status ${h(header.drawdownStatus)}</strong> · not halted</p>`;
}

function curveSections(ctx: Ctx, data: ReportData): string {
  const c = data.curve;
  if (c.points.length === 0) {
    const msg = 'No realized P&L yet: the equity curve starts with the first close or partial exit.';
    return `<section id="equity"><h2>Equity curve</h2>${empty(msg)}</section>\n<section id="drawdown"><h2>Drawdown</h2>${empty(msg)}</section>`;
  }
  const first = c.points[0] as CurvePoint;
  const last = c.points[c.points.length - 1] as CurvePoint;
  const thinNote = c.thinned
    ? ` ${c.points.length.toLocaleString('en-US')} of ${c.totalPoints.toLocaleString('en-US')} days are drawn: each stretch keeps its highest and lowest equity and its deepest drawdown.`
    : '';
  const ep = data.episode;
  const pointsTable = details(
    `Equity and drawdown by day (${plural(c.points.length, 'row')})`,
    table(
      `Equity at the end of each UTC day and drawdown from the running peak${c.thinned ? ' (thinned as drawn)' : ''}`,
      ['Date', 'Equity (USD)', 'Drawdown (%)'],
      c.points.map((p) => [p.date, h(usd(p.equity)), h(pct(p.drawdownPct))]),
    ),
  );
  const eqFig = figure(
    'chart-equity',
    equityChart(ctx, data),
    `Equity at the end of each UTC day, ${first.date} to ${last.date} (first point: starting capital, the day before the first realized P&amp;L). Dashed line: starting capital ${h(usd(data.header.startingCapital))}; dot: peak${
      c.peak !== null ? ` ${h(usd(c.peak.equity))} on ${c.peak.date}` : ''
    }${ep !== null ? '; shaded: the max-drawdown episode' : ''}.${thinNote}`,
  );
  const limits = limitLines(data)
    .map((l) => `${l.name} ${pct(l.pct, 1)}`)
    .join(', ');
  const ddFig = figure(
    'chart-drawdown',
    drawdownChart(ctx, data),
    `Distance below the running equity peak, in percent. Lines: drawdown limits (${h(limits)}). ${
      ep !== null
        ? `Shaded: the max-drawdown episode, ${h(pct(ep.depthPct))} from ${usd(ep.peakEquity)} on ${ep.peakDate} to ${h(usd(ep.troughEquity))} on ${ep.troughDate}, ${
            ep.recoveryDate !== null ? `recovered on ${ep.recoveryDate}` : 'not yet recovered'
          } (${plural(ep.daysUnderWater, 'day')} under water).`
        : 'Equity has never closed a day below a previous peak.'
    } Longest time under water: ${plural(data.header.maxDrawdownDays, 'day')}.`,
  );
  return `<section id="equity"><h2>Equity curve</h2>\n${eqFig}\n</section>\n<section id="drawdown"><h2>Drawdown</h2>\n${ddFig}\n${pointsTable}\n</section>`;
}

function rSection(ctx: Ctx, data: ReportData): string {
  const hist = data.rHistogram;
  const head = '<h2>R-multiples of closed trades</h2>';
  if (data.header.closedTrades === 0) return `<section id="r">${head}${empty('No closed trades yet.')}</section>`;
  if (hist.count === 0) {
    return `<section id="r">${head}${empty(`No closed trade has an R-multiple (no stop or size recorded) among ${plural(data.header.closedTrades, 'closed trade')}.`)}</section>`;
  }
  const missing = hist.withoutR > 0 ? ` ${plural(hist.withoutR, 'closed trade')} without an initial risk ${hist.withoutR === 1 ? 'is' : 'are'} left out.` : '';
  const fig = figure(
    'chart-r',
    rChart(ctx, data),
    `How many closed trades ended at each R-multiple (P&amp;L ÷ initial risk), in ${hist.binWidth}R bins; blue bins are gains, orange losses. Mean ${h(rFmt(hist.meanR))}; expectancy ${h(
      rFmt(hist.expectancyR),
    )} (win rate × average win R + loss rate × average loss R), ${h(usdSigned(hist.expectancyUsd))} per trade.${missing}`,
  );
  const rows = hist.bins.map((b) => [h(`${rFmt(b.x0)} to ${rFmt(b.x1)}`), String(b.count)]);
  return `<section id="r">${head}\n${fig}\n${details(`Trades per R bin (${plural(hist.bins.length, 'bin')})`, table('Closed trades per R-multiple bin (lower edge included)', ['R range', 'Trades'], rows))}\n</section>`;
}

function setupSection(ctx: Ctx, data: ReportData): string {
  const head = '<h2>Setups</h2>';
  const s = data.setups;
  if (s.length === 0) return `<section id="setups">${head}${empty('No closed trades yet.')}</section>`;
  const figs = `<div class="pair">\n${figure(
    'chart-setup-expectancy',
    setupExpectancyChart(ctx, s),
    'Expectancy per setup in R per trade (win rate × average win R + loss rate × average loss R), best first.',
  )}\n${figure('chart-setup-winrate', setupWinRateChart(ctx, s), 'Share of closed trades that won, per setup; dashed line at 50%.')}\n</div>`;
  const rows = s.map((r) => [
    h(r.name),
    String(r.trades),
    String(r.wins),
    String(r.losses),
    String(r.breakeven),
    `${r.winRate.toFixed(1)}%`,
    h(rFmt(r.avgR)),
    h(rFmt(r.avgWinR)),
    h(rFmt(r.avgLossR)),
    h(rFmt(r.expectancy)),
    h(usdSigned(r.totalPnl)),
  ]);
  const tbl = table(
    'Performance per setup (closed trades), as in setup_performance.json',
    ['Setup', 'Trades', 'Wins', 'Losses', 'BE', 'Win rate', 'Avg R', 'Avg win', 'Avg loss', 'Expectancy', 'Net P&L'],
    rows,
  );
  return `<section id="setups">${head}\n${figs}\n${tbl}\n</section>`;
}

function openSection(ctx: Ctx, data: ReportData): string {
  const head = '<h2>Open positions and risk</h2>';
  const halt = data.halt;
  const l = data.limits;
  const haltRows = [
    ['Daily', halt.dailyPct, l.daily],
    ['Weekly', halt.weeklyPct, l.weekly],
    ['Total', halt.totalPct, l.total],
  ] as const;
  const haltTbl = table(
    `Halt state: ${halt.halted ? `HALTED (${halt.reason ?? ''})` : 'not halted'}`,
    ['Period', 'Change (%)', 'Limit (%)', 'Breached'],
    haltRows.map(([name, now, limit]) => [name, h(pct(now)), h(Number.isFinite(limit) ? pct(limit * 100, 1) : 'off'), now <= limit * 100 + 1e-9 ? '<strong>yes</strong>' : 'no']),
  );
  const rows = data.open;
  if (rows.length === 0) return `<section id="open">${head}${empty('No open positions.')}\n${haltTbl}</section>`;
  const withRisk = rows.filter((r) => r.riskPct !== null);
  const fig =
    withRisk.length > 0
      ? figure(
          'chart-heat',
          heatChart(ctx, rows),
          `Loss if each open position is stopped out, in percent of current equity (${h(usd(data.header.equity))}). Portfolio heat: ${data.header.portfolioHeat.toFixed(2)}%.`,
        )
      : '';
  const tbl = table(
    `Open positions: portfolio heat ${data.header.portfolioHeat.toFixed(2)}% of equity`,
    ['Trade', 'Symbol', 'Side', 'Setup', 'Opened (UTC)', 'Entry', 'Stop', 'Size', 'Partial P&L', 'Risk (USD)', 'Risk (%)'],
    rows.map((r) => [
      h(r.tradeId),
      h(r.symbol),
      h(r.direction),
      h(r.setup ?? '—'),
      h(r.entryTime.slice(0, 16).replace('T', ' ')),
      h(num(r.entryPrice)),
      h(num(r.stopPrice)),
      h(num(r.size)),
      h(usdSigned(r.realizedUsd)),
      r.riskUsd === null ? '—' : h(usd(r.riskUsd)),
      r.riskPct === null ? '—' : `${r.riskPct.toFixed(2)}%`,
    ]),
    5,
  );
  return `<section id="open">${head}\n${fig}\n${tbl}\n${haltTbl}\n</section>`;
}

const CSS = `
:root { color-scheme: light; --ink: ${C.ink}; --muted: ${C.muted}; --rule: #d0d0d0; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
.sub { color: var(--muted); margin: 0 0 14px; }
.banner { padding: 8px 12px; border-left: 6px solid; margin: 0 0 16px; }
.banner.ok { border-color: ${C.gain}; background: #eef4fa; }
.banner.warn { border-color: ${C.warning}; background: #fbf5e0; }
.banner.stop { border-color: ${C.stop}; background: #fbeaea; }
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; margin: 0; }
.kpi { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 10px; }
.kpi dt { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.kpi dd { margin: 2px 0 0; font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .note { display: block; font-size: .78rem; font-weight: 400; color: var(--muted); }
figure.chart { margin: 12px 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { display: block; width: 100%; height: auto; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: 4px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.empty { padding: 18px; border: 1px dashed var(--muted); border-radius: 6px; color: var(--muted); text-align: center; font-size: 1.05rem; }
table { border-collapse: collapse; width: 100%; margin: 10px 0; font-size: .85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 6px; text-align: left; }
thead th { border-bottom: 2px solid var(--ink); }
.n { text-align: right; }
tbody th { font-weight: 500; }
details { margin: 6px 0 0; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 40px; font-size: .8rem; color: var(--muted); border-top: 1px solid var(--rule); padding-top: 8px; }
@media (max-width: 760px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } .pair { grid-template-columns: 1fr; } }
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .banner, .kpi { background: none !important; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section, table { break-inside: auto; }
  tr { break-inside: avoid; }
  summary { color: var(--ink); }
}
`;

/** Counts each MARK_SELECTORS entry in a document (linkedom's or a browser's). */
export function countMarks(doc: { querySelectorAll(sel: string): { length: number } }): Record<MarkName, number> {
  const out = {} as Record<MarkName, number>;
  for (const [name, sel] of Object.entries(MARK_SELECTORS) as [MarkName, string][]) out[name] = doc.querySelectorAll(sel).length;
  return out;
}

/** The whole page; `marks` counts what was drawn, per MARK_SELECTORS. */
export async function renderReport(data: ReportData, options: RenderOptions): Promise<{ html: string; marks: Record<MarkName, number> }> {
  const { Plot, linkedom } = await loadLibs();
  // An SVG (XML) document, not an HTML one: linkedom's HTML serializer leaves & and < unescaped in
  // attribute values, and aria-labels carry setup names and symbols straight from the log.
  const document = new linkedom.DOMParser().parseFromString(`<svg xmlns="${SVG_NS}"></svg>`, 'image/svg+xml') as unknown as Doc;
  const ctx: Ctx = { Plot, document };
  const title = options.title;
  const generated = `${data.generatedAt.slice(0, 16).replace('T', ' ')} UTC`;
  const sub = `Generated ${generated}${options.source ? ` from ${options.source}` : ''} · starting capital ${usd(data.header.startingCapital)} · ${plural(
    data.header.closedTrades,
    'closed trade',
  )}, ${data.header.openTrades} open`;
  const noTrades = data.header.closedTrades === 0 ? empty('No closed trades yet.') : '';
  // the data behind every chart, for scripts and archives; not executed (type is JSON)
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const body = `<main>
<header>
<h1>${h(title)}</h1>
<p class="sub">${h(sub)}</p>
${statusBanner(data)}
${noTrades}
${headerHtml(data)}
</header>
${curveSections(ctx, data)}
${rSection(ctx, data)}
${setupSection(ctx, data)}
${openSection(ctx, data)}
<footer>Built by trade-state-engine from the trade log alone, with the reconciler's formulas (docs/formulas.md); charts by Observable Plot, rendered to SVG at build time. Equity and drawdown are daily, in UTC, on realized P&amp;L only.</footer>
</main>`;
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="generator" content="trade-state-engine">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<script type="application/json" id="report-data">${json}</script>
</body>
</html>
`;
  const parsed = linkedom.parseHTML(html).document;
  return { html, marks: countMarks(parsed) };
}
