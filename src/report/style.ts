/**
 * The report's look: the chart palette and the page's stylesheet. One palette
 * serves both, so a colour in a chart and in the page (banners, rules) is the
 * same colour.
 */

// Print-safe palette: dark strokes, light fills, distinguishable in greyscale
// and for red-green colour blindness (blue vs orange for gains vs losses).
export const C = {
  ink: '#1a1a1a',
  equity: '#1f4e8c',
  gain: '#2f6fb0',
  loss: '#d0711c',
  /** A breakeven trade: neither gain nor loss, so neither hue. */
  breakeven: '#9a9a9a',
  /** The initial-risk bar behind each open position's risk to its stop: the loss hue, faded. */
  initialRisk: '#f3cfa8',
  dd: '#a3303f',
  episode: '#f1c94b',
  /** The daily halt line: a hue none of the drawdown_status bands use, and dotted. */
  daily: '#5b3a9b',
  warning: '#9a7400',
  reduce: '#c2570c',
  stop: '#8b0000',
  muted: '#555555',
};

/**
 * Every chart is drawn twice: wide for screens and print, narrow for phones. The stylesheet shows
 * one by its class (Plot's className, one per drawing); MARK_SELECTORS count the wide one.
 */
export type Fit = 'wide' | 'narrow';
export const CHART_CLASS = { wide: 'tse-plot', narrow: 'tse-plot-narrow' } as const satisfies Record<Fit, string>;
/** Below this viewport width the narrow drawings are shown: the wide ones' labels would be under 7.5 px. */
export const NARROW_MAX_PX = 600;

/** Inline in <style>: the Content-Security-Policy allows no stylesheet from anywhere else. */
export const CSS = `
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
figure.chart svg.${CHART_CLASS.narrow} { display: none; max-width: 460px; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: 4px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.empty { padding: 18px; border: 1px dashed var(--muted); border-radius: 6px; color: var(--muted); text-align: center; font-size: 1.05rem; }
.table-box { overflow-x: auto; margin: 10px 0; }
table { border-collapse: collapse; width: 100%; margin: 0; font-size: .85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 6px; text-align: left; }
thead th { border-bottom: 2px solid var(--ink); }
.n { text-align: right; }
td.n { white-space: nowrap; }
tbody th { font-weight: 500; }
.tag { font-size: .72rem; color: var(--muted); border: 1px solid var(--rule); border-radius: 3px; padding: 0 3px; white-space: nowrap; }
details { margin: 6px 0 0; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 40px; font-size: .8rem; color: var(--muted); border-top: 1px solid var(--rule); padding-top: 8px; }
@media (max-width: 760px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } .pair { grid-template-columns: 1fr; } }
@media screen and (max-width: ${NARROW_MAX_PX}px) {
  figure.chart svg.${CHART_CLASS.wide} { display: none; }
  figure.chart svg.${CHART_CLASS.narrow} { display: block; }
}
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .banner, .kpi { background: none !important; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section, table { break-inside: auto; }
  .table-box { overflow: visible; }
  tr { break-inside: avoid; }
  summary { color: var(--ink); }
}
`;
