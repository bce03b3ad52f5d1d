/**
 * The page around the charts: header figures, sections, tables, captions,
 * and the HTML document itself. Everything from the log is escaped here
 * (setup names, symbols, the title); the charts escape through the DOM.
 */
import { typeset } from '../format.js';
import {
  SETUP_METRICS,
  drawdownAxis,
  drawdownChart,
  equityChart,
  heatChart,
  intradayTrough,
  rChart,
  setupChart,
  type Ctx,
  type LimitLine,
  type SetupMetric,
} from './charts.js';
import { DRIFT_MEANING } from '../domain/venue.js';
import type { RenderOptions } from './render-options.js';
import type { CurvePoint, OpenPositionRow, ReportData } from './shape.js';
import { CSS, type Fit } from './style.js';

const { count, decimal, none, pct, plural, price, r: rFmt, signedPct, signedUsd, usd } = typeset;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}
const h = escapeHtml;

/** A chart's two drawings, wide first (the one MARK_SELECTORS count), under one caption; the stylesheet shows one. */
function figure(id: string, draw: (fit: Fit) => string, caption: string): string {
  return `<figure id="${id}" class="chart">\n${draw('wide')}\n${draw('narrow')}\n<figcaption>${caption}</figcaption>\n</figure>`;
}

function table(caption: string, head: readonly string[], rows: readonly (readonly string[])[], numericFrom = 1): string {
  const th = head.map((c, i) => `<th scope="col"${i >= numericFrom ? ' class="n"' : ''}>${h(c)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td${i >= numericFrom ? ' class="n"' : ''}>${c}</td>`)).join('')}</tr>`)
    .join('\n');
  // in a box of its own that scrolls sideways: an eleven-column table must not widen the page on a phone
  return `<div class="table-box"><table><caption>${h(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
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

/** "11:20 UTC" from an ISO instant. */
const utcTime = (iso: string): string => `${iso.slice(11, 16)} UTC`;

/** The max-drawdown episode in a few words, and the daily closes' depth when the episode goes deeper. */
function maxDrawdownNote(data: ReportData): string {
  const ep = data.episode;
  const hd = data.header;
  if (ep === null) return 'equity never fell below a peak';
  const low = ep.troughAt != null ? `low at ${utcTime(ep.troughAt)} on ${ep.troughDate}` : `low on ${ep.troughDate}`;
  const span =
    ep.recoveryDate === null
      ? `${plural(ep.daysUnderWater, 'day')} under water since ${ep.peakDate}, not recovered`
      : ep.daysUnderWater === 0
        ? `${low}, recovered the same day`
        : `${plural(ep.daysUnderWater, 'day')} under water, ${ep.peakDate} → ${ep.recoveryDate}`;
  return hd.maxDrawdownPct < hd.dailyMaxDrawdownPct ? `${span} · daily closes: ${signedPct(hd.dailyMaxDrawdownPct)}` : span;
}

function headerHtml(data: ReportData): string {
  const hd = data.header;
  const epNote = maxDrawdownNote(data);
  return `<dl class="kpis">
${kpi('Equity', usd(hd.equity), `started ${usd(hd.startingCapital)}`)}
${kpi('Total return', signedPct(hd.totalReturnPct), `${signedUsd(hd.realizedPnl)} realized`)}
${kpi('Win rate', hd.winRate !== null ? pct(hd.winRate, 1) : none, `${count(hd.wins)} W · ${count(hd.losses)} L · ${count(hd.breakeven)} BE of ${plural(hd.closedTrades, 'closed trade')}`)}
${kpi('Profit factor', hd.profitFactor === null ? (hd.wins > 0 ? '∞ (no loss)' : none) : decimal(hd.profitFactor, 2), 'gross win ÷ gross loss')}
${kpi('Max drawdown', signedPct(hd.maxDrawdownPct), epNote)}
${kpi('Current drawdown', signedPct(hd.drawdownPct), `${hd.drawdownStatus} · ${plural(hd.currentDrawdownDays, 'day')} below peak ${usd(hd.peakEquity)}`)}
${kpi('Average net R', rFmt(hd.avgNetR), `= expectancy · ${signedUsd(data.rHistogram.expectancyUsd)} per trade`)}
${kpi('Open risk', pct(hd.openRiskPct), `${usd(hd.openRiskUsd)} if every stop is hit · initial risk ${pct(hd.initialRiskPct)}`)}
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
    ? ` ${count(c.points.length)} of ${count(c.totalPoints)} days are drawn: each stretch keeps its highest and lowest equity and its deepest drawdown.`
    : '';
  const ep = data.episode;
  const pointsTable = details(
    `Equity and drawdown by day (${plural(c.points.length, 'row')})`,
    table(
      `Equity at the end of each UTC day and drawdown from the running peak${c.thinned ? ' (thinned as drawn)' : ''}`,
      ['Date', 'Equity (USD)', 'Drawdown (%)'],
      c.points.map((p) => [p.date, h(usd(p.equity)), h(signedPct(p.drawdownPct))]),
    ),
  );
  const eqFig = figure(
    'chart-equity',
    (fit) => equityChart(ctx, data, fit),
    `Equity at the end of each UTC day, ${first.date} to ${last.date} (first point: starting capital, the day before the first realized P&amp;L). Dashed line: starting capital ${h(usd(data.header.startingCapital))}; dot: peak${
      c.peak !== null ? ` ${h(usd(c.peak.equity))} on ${c.peak.date}` : ''
    }${ep === null ? '' : `; shaded: the max-drawdown episode${intradayTrough(data) !== null ? `, whose low on ${ep.troughDate} came between two closes, so this daily line does not show it` : ''}`}.${thinNote}`,
  );
  const ddFig = figure('chart-drawdown', (fit) => drawdownChart(ctx, data, fit), h(drawdownCaption(data)));
  return `<section id="equity"><h2>Equity curve</h2>\n${eqFig}\n</section>\n<section id="drawdown"><h2>Drawdown</h2>\n${ddFig}\n${pointsTable}\n</section>`;
}

const named = (ls: readonly LimitLine[]): string => ls.map((l) => `${l.name} ${signedPct(l.pct, 1)}`).join(', ');

/** What the drawdown chart draws, each line and the episode said exactly (plain text; the caller escapes). */
function drawdownCaption(data: ReportData): string {
  const { shown, hidden } = drawdownAxis(data);
  const daily = shown.filter((l) => l.name === 'DAILY HALT');
  const bands = shown.filter((l) => l.name !== 'DAILY HALT');
  const lines = [
    ...daily.map((l) => `${l.name} ${signedPct(l.pct, 1)}: new trades are refused once equity is ${pct(-l.pct, 1)} below the previous day's close`),
    ...(bands.length > 0 ? [`${named(bands)}: equity.json's drawdown_status bands, measured on this curve`] : []),
  ];
  const parts = [`Distance below the running equity peak at each UTC day's close, in percent; the axis is scaled to the data.`];
  if (lines.length > 0) parts.push(`Lines: ${lines.join('; ')}.`);
  if (hidden.length > 0) parts.push(`Below the axis, not drawn: ${named(hidden)}.`);
  const ep = data.episode;
  if (ep === null) {
    parts.push('Equity never fell below a running peak, after any exit or at any close.');
  } else {
    const at = ep.troughAt != null ? ` at ${utcTime(ep.troughAt)}` : '';
    parts.push(
      `Shaded: the max-drawdown episode. Walking the equity after every realized event (each partial exit and close, in time order), the deepest fall was ${signedPct(ep.depthPct)}, from ${usd(ep.peakEquity)} (${ep.peakDate}) to ${usd(ep.troughEquity)}${at} on ${ep.troughDate}; ${
        ep.recoveryDate !== null ? `recovered on ${ep.recoveryDate}` : 'not yet recovered'
      } (${plural(ep.daysUnderWater, 'day')} closed under water).`,
    );
    const below = intradayTrough(data);
    if (below !== null) {
      parts.push(`The dot marks that low: it came between two closes, so the daily curve (deepest ${signedPct(data.header.dailyMaxDrawdownPct)}) does not reach it.`);
    }
  }
  parts.push(`Longest time under water: ${plural(data.header.maxDrawdownDays, 'day')}.`);
  return parts.join(' ');
}

function rSection(ctx: Ctx, data: ReportData): string {
  const hist = data.rHistogram;
  const head = '<h2>R-multiples of closed trades</h2>';
  if (data.header.closedTrades === 0) return `<section id="r">${head}${empty('No closed trades yet.')}</section>`;
  if (hist.count === 0) {
    return `<section id="r">${head}${empty(`No closed trade has an R-multiple (no stop or size recorded) among ${plural(data.header.closedTrades, 'closed trade')}.`)}</section>`;
  }
  const missing = hist.withoutR > 0 ? ` ${plural(hist.withoutR, 'closed trade')} without an initial risk ${hist.withoutR === 1 ? 'is' : 'are'} left out.` : '';
  const file =
    hist.fileAvgR !== hist.meanR
      ? ` equity.json's avg_r is ${rFmt(hist.fileAvgR)}: it averages each trade's stored r_multiple, which the original computes from the final close's price move alone, so it ignores partial exits.`
      : '';
  const caption =
    `How many closed trades ended at each net R: net P&L including partial exits ÷ initial risk (|entry − original stop| × original size), in ${hist.binWidth}R bins. ` +
    `Blue: ${plural(hist.wins, 'win')}; orange: ${plural(hist.losses, 'loss', 'losses')}; grey: ${count(hist.breakeven)} breakeven (by net P&L, as in the header). ` +
    `Mean net R ${rFmt(hist.meanR)}, which is also the expectancy (win rate × average win R + loss rate × average loss R, over the same R), ${signedUsd(hist.expectancyUsd)} per trade.${missing}${file}`;
  const fig = figure('chart-r', (fit) => rChart(ctx, data, fit), h(caption));
  const rows = hist.bins.map((b) => [h(`${rFmt(b.x0)} to ${rFmt(b.x1)}`), count(b.count)]);
  return `<section id="r">${head}\n${fig}\n${details(`Trades per R bin (${plural(hist.bins.length, 'bin')})`, table('Closed trades per net R bin (lower edge included)', ['Net R range', 'Trades'], rows))}\n</section>`;
}

/** The two setup charts side by side: figure id (MARK_SELECTORS finds the bars by it), metric, caption. */
const SETUP_FIGURES: readonly (readonly [string, SetupMetric, string])[] = [
  ['chart-setup-expectancy', SETUP_METRICS.expectancy, 'Expectancy per setup in net R per trade (win rate × average win R + loss rate × average loss R, which is the setup’s mean net R), best first.'],
  ['chart-setup-winrate', SETUP_METRICS.winRate, 'Share of closed trades that won, per setup; dashed line at 50%.'],
];

function setupSection(ctx: Ctx, data: ReportData): string {
  const head = '<h2>Setups</h2>';
  const s = data.setups;
  if (s.length === 0) return `<section id="setups">${head}${empty('No closed trades yet.')}</section>`;
  const figs = `<div class="pair">\n${SETUP_FIGURES.map(([id, metric, caption]) => figure(id, (fit) => setupChart(ctx, s, metric, fit), caption)).join('\n')}\n</div>`;
  const rows = s.map((r) => [
    h(r.name),
    count(r.trades),
    count(r.wins),
    count(r.losses),
    count(r.breakeven),
    pct(r.winRate, 1),
    h(rFmt(r.avgWinR)),
    h(rFmt(r.avgLossR)),
    h(rFmt(r.expectancy)),
    h(signedUsd(r.totalPnl)),
  ]);
  const withoutR = s.reduce((n, r) => n + r.withoutR, 0);
  const tbl = table(
    `Performance per setup (closed trades) in net R; trades, wins, losses, win rate and net P&L as in setup_performance.json, whose R columns use the stored r_multiple instead${
      withoutR > 0 ? `; ${plural(withoutR, 'trade')} without an initial risk left out of the R columns` : ''
    }`,
    ['Setup', 'Trades', 'Wins', 'Losses', 'BE', 'Win rate', 'Avg win (R)', 'Avg loss (R)', 'Expectancy (R)', 'Net P&L'],
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
    haltRows.map(([name, now, limit]) => [name, h(signedPct(now)), h(Number.isFinite(limit) ? signedPct(limit * 100, 1) : 'off'), now <= limit * 100 + 1e-9 ? '<strong>yes</strong>' : 'no']),
  );
  const rows = data.open;
  if (rows.length === 0) return `<section id="open">${head}${empty('No open positions.')}\n${haltTbl}</section>`;
  const hd = data.header;
  const eqNote = `% of current equity (${usd(hd.equity)})`;
  const fig = rows.some((r) => r.riskToStopPct !== null || r.initialRiskPct !== null)
    ? figure(
        'chart-heat',
        (fit) => heatChart(ctx, rows, fit),
        h(
          `For each open position, in ${eqNote}: light bar, the initial risk, |entry − original stop| × original size, what the trade risked when opened (its 1R); ` +
            `solid bar, the risk to stop, the loss if the current stop is hit, on the size still open: 0 when the stop is at or past entry in the trade's favour (locked in). ` +
            `Open risk ${usd(hd.openRiskUsd)} (${pct(hd.openRiskPct)}) to the current stops; initial risk ${usd(hd.initialRiskUsd)} (${pct(hd.initialRiskPct)}).`,
        ),
      )
    : '';
  const money = (usdValue: number | null, pctValue: number | null) => (usdValue === null ? none : `${usd(usdValue)} (${pct(pctValue)})`);
  const stopCell = (r: OpenPositionRow) => (r.originalStop === r.stopPrice ? price(r.stopPrice) : `${price(r.originalStop)} → ${price(r.stopPrice)}`);
  const tbl = table(
    `Open positions: risk to stop = loss if the current stop is hit, on the size still open (0 when locked in); initial risk = |entry − original stop| × original size; both in USD and ${eqNote}`,
    ['Trade', 'Symbol', 'Side', 'Setup', 'Opened (UTC)', 'Entry', 'Stop (original → now)', 'Size', 'Partial P&L', 'Risk to stop', 'Initial risk'],
    rows.map((r) => [
      h(r.tradeId),
      h(r.symbol),
      h(r.direction),
      h(r.setup ?? '—'),
      h(r.entryTime.slice(0, 16).replace('T', ' ')),
      h(price(r.entryPrice)),
      h(stopCell(r)),
      h(price(r.size)),
      h(signedUsd(r.realizedUsd)),
      // locked in: nothing to lose, so the tag says why instead of a 0.00 %
      r.lockedIn ? `${h(usd(0))} <span class="tag">locked in</span>` : h(money(r.riskToStopUsd, r.riskToStopPct)),
      h(money(r.initialRiskUsd, r.initialRiskPct)),
    ]),
    5,
  );
  return `<section id="open">${head}\n${fig}\n${tbl}\n${haltTbl}\n</section>`;
}

/** The log against the venue: an "in agreement" line, or a table of the drift items (docs/venue.md). */
function venueSection(data: ReportData): string {
  if (data.venue === undefined) return '';
  const { drift, tolerance } = data.venue;
  const head = '<h2>Log against the venue</h2>';
  const within = `tolerance ${pct(tolerance * 100, 1)}`;
  if (drift.ok) return `<section id="venue">${head}${empty(`In agreement with the venue: ${plural(drift.matched.length, 'position')} matched (${within}).`)}</section>`;
  const held = (side: string | null, size: number | null): string => (side === null ? 'flat' : `${side} ${price(size)}`);
  const rows = drift.items.map((i) => [h(i.kind), h(i.symbol), h(i.trade_id ?? none), h(held(i.log_side, i.log_size)), h(held(i.venue_side, i.venue_size)), h(DRIFT_MEANING[i.kind])]);
  const note = `<p role="status">${h(`Drift: ${plural(drift.items.length, 'item')}, ${count(drift.matched.length)} matched (${within}).`)}</p>`;
  const tbl = table('Where the log and the venue differ', ['Kind', 'Symbol', 'Trade', 'Log', 'Venue', 'Meaning'], rows, 6);
  return `<section id="venue">${head}\n${note}\n${tbl}\n</section>`;
}

/** The whole HTML document, with the charts drawn through `ctx`. */
export function pageHtml(ctx: Ctx, data: ReportData, options: RenderOptions): string {
  const title = options.title;
  const generated = `${data.generatedAt.slice(0, 16).replace('T', ' ')} UTC`;
  const sub = `Generated ${generated}${options.source ? ` from ${options.source}` : ''} · starting capital ${usd(data.header.startingCapital)} · ${plural(
    data.header.closedTrades,
    'closed trade',
  )}, ${count(data.header.openTrades)} open`;
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
${venueSection(data)}
<footer>Built by trade-state-engine from the trade log alone, with the reconciler's formulas (docs/formulas.md); charts by Observable Plot, rendered to SVG at build time. R on this page is net R, net P&amp;L including partial exits ÷ initial risk; equity.json and setup_performance.json keep the original's stored r_multiple. Equity and the drawdown curve are daily, in UTC, on realized P&amp;L only; the max drawdown is measured after every realized event.</footer>
</main>`;
  return `<!DOCTYPE html>
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
}
