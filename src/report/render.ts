/**
 * ReportData -> one self-contained HTML page. Charts are drawn by Observable
 * Plot into a linkedom document at build time and inlined as SVG: the page
 * has no script, no external resource, and a Content-Security-Policy that
 * forbids both, so it opens the same offline, from a mail attachment or in CI.
 * Plot and linkedom are imported on first use only (see loadLibs).
 *
 * The parts: charts.ts draws each chart, page.ts lays out the document around
 * them, style.ts holds the palette and stylesheet; numbers are written in the
 * house style of ../format.ts.
 */
import { ReportDepsMissingError } from '../errors.js';
import type { Ctx, Doc } from './charts.js';
import { pageHtml } from './page.js';
import type { RenderOptions } from './render-options.js';
import type { ReportData } from './shape.js';
import { CHART_CLASS } from './style.js';

export type { RenderOptions } from './render-options.js';

type PlotModule = typeof import('@observablehq/plot');
type Linkedom = typeof import('linkedom');

/**
 * The renderers, optional peer dependencies (package.json's peerDependencies, which a test keeps
 * equal to these ranges): a bot that only trades installs neither.
 */
// typed wide on purpose: declarations that name the libraries would read, to a check of the public types, as reaching them
export const REPORT_RENDERERS: Readonly<Record<string, string>> = { '@observablehq/plot': '^0.6.17', linkedom: '^0.18.15' };
const RENDERER_NAMES = ['@observablehq/plot', 'linkedom'] as const;

/** `npm install` spec within a caret range: "^0.6.17" -> "0.6" (the newest 0.6.x), "^2.1.0" -> "2"; no shell-special character. */
function installSpec(name: string, range: string): string {
  const [major, minor] = range.replace(/^\^/, '').split('.');
  return `${name}@${major === '0' ? `0.${minor}` : major}`;
}

let libs: Promise<{ Plot: PlotModule; linkedom: Linkedom }> | null = null;

/**
 * Loaded lazily so that `import 'trade-state-engine'` never pays for d3 and a DOM; each one that
 * does not load is named in one ReportDepsMissingError (retried on the next call: it may be installed by then).
 */
function loadLibs() {
  libs ??= Promise.allSettled([import('@observablehq/plot'), import('linkedom')]).then(([plot, dom]) => {
    if (plot.status === 'fulfilled' && dom.status === 'fulfilled') return { Plot: plot.value, linkedom: dom.value };
    libs = null;
    const failed = RENDERER_NAMES.filter((_, i) => [plot, dom][i]?.status === 'rejected');
    const cause = [plot, dom].find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    throw new ReportDepsMissingError(failed, `npm install ${failed.map((n) => installSpec(n, REPORT_RENDERERS[n] as string)).join(' ')}`, cause);
  });
  return libs;
}

/** A chart's wide drawing (each figure also holds a narrow one for phones, with the same marks). */
const wide = (figureId: string) => `#${figureId} svg.${CHART_CLASS.wide}`;

/**
 * How to find each chart's marks in the page, for mark counts here and in the
 * browser test. Plot labels each mark's <g> with its type ("line", "bar"…).
 */
export const MARK_SELECTORS = {
  equityLine: `${wide('chart-equity')} g[aria-label="line"] > path`,
  equityPeak: `${wide('chart-equity')} g[aria-label="dot"] > circle`,
  drawdownArea: `${wide('chart-drawdown')} g[aria-label="area"] > path`,
  drawdownLimits: `${wide('chart-drawdown')} g[aria-description^="Drawdown limit"] > line`,
  drawdownEpisode: `${wide('chart-drawdown')} g[aria-label="rect"] > rect`,
  /** The max-drawdown trough when it lies below the daily curve (reached between two closes). */
  drawdownTrough: `${wide('chart-drawdown')} g[aria-label="dot"] > circle`,
  /** One per (bin, outcome): a bar is stacked from its wins, breakeven and losses. */
  rHistogramBars: `${wide('chart-r')} g[aria-label="rect"] > rect`,
  setupExpectancyBars: `${wide('chart-setup-expectancy')} g[aria-label="bar"] > rect`,
  setupWinRateBars: `${wide('chart-setup-winrate')} g[aria-label="bar"] > rect`,
  /** Risk to the current stop, one per open position (zero-width when locked in). */
  heatBars: `${wide('chart-heat')} g[aria-description="Risk to stop"] > rect`,
  heatInitialBars: `${wide('chart-heat')} g[aria-description="Initial risk"] > rect`,
} as const;

export type MarkName = keyof typeof MARK_SELECTORS;

const SVG_NS = 'http://www.w3.org/2000/svg';

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
  const html = pageHtml(ctx, data, options);
  return { html, marks: countMarks(linkedom.parseHTML(html).document) };
}
