/**
 * The report's numbers agree with each other and with their captions, on
 * test/fixtures/report-cases.json: 26 trades from 2026-03-02 to 2026-03-27, written by the domain's
 * own applyOpen / applyPartial / applyUpdate / applyClose (so r_multiple is what the store writes),
 * each case planted on purpose with a 1R of $50 (the open TSLA short: $48):
 *   - partial exits whose net P&L and stored r_multiple disagree in sign: T003 (+$40 net, stored
 *     −0.40R), T008 (−$7.50, stored +0.20R), T010 (breakeven, stored −0.40R), T020 (+$75, stored +2.00R);
 *   - trailed stops: T021 LONG moved to entry, T023 SHORT moved below entry (both locked in), T026
 *     SHORT trailed halfway; T025 untouched;
 *   - 2026-03-18: three stops between 10:05 and 11:20 take equity from the 5,302.50 peak to 5,152.50
 *     (−2.83 %, past the −2 % daily halt), two targets by 16:30 close the day at a new peak 5,322.50,
 *     so no daily close shows it; the daily curve's deepest point is −1.83 % (2026-03-11).
 * Every expected number below was worked out by hand from those trades.
 */
import fs from 'node:fs';
import path from 'node:path';

import { parseHTML } from 'linkedom';
import { describe, expect, it } from 'vitest';

import { deriveEquity, deriveSetupPerformance } from '../src/domain/derive/index.js';
import { netR } from '../src/domain/formulas.js';
import type { TradeLog } from '../src/domain/types.js';
import { renderReport } from '../src/report/render.js';
import { shapeReportData, type ReportData } from '../src/report/shape.js';
import { CHART_CLASS } from '../src/report/style.js';
import { goldenClosed, logOf } from './trades.js';
import { ROOT } from './helpers.js';

const CASES = path.join(ROOT, 'test', 'fixtures', 'report-cases.json');
const NOW = new Date('2026-03-27T20:00:00Z');
const START = 5000;
const casesLog = (): TradeLog => JSON.parse(fs.readFileSync(CASES, 'utf8')) as TradeLog;
const shape = (log: TradeLog = casesLog()): ReportData => shapeReportData(log, { startingCapital: START, now: NOW });

async function page(data: ReportData) {
  const { html, marks } = await renderReport(data, { title: 'Cases' });
  return { html, marks, document: parseHTML(html).document };
}
const text = (document: ReturnType<typeof parseHTML>['document'], sel: string): string => document.querySelector(sel)?.textContent ?? '';

describe('net R, the one R of the report', () => {
  // net P&L ÷ (|entry − original stop| × original size), per closed trade in log order
  const NET_R: Record<string, number> = {
    T001: 1.6, T002: -0.7, T003: 0.8, T004: 1.6, T005: -1, T006: 1.75, T007: -1, T008: -0.15, T009: -0.75, T010: 0, T011: 2.1,
    T012: 1, T013: -1, T014: 0.8, T015: -1, T016: -1, T017: 2, T018: 1.4, T019: 0.6, T020: 1.5, T022: -0.6, T024: 0.8,
  };

  it('counts partial exits: netR(trade) = net P&L ÷ initial risk, null without a risk', () => {
    const closed = casesLog().trades.filter((t) => t.status === 'CLOSED');
    expect(Object.fromEntries(closed.map((t) => [t.id, netR(t)]))).toEqual(NET_R);
    // the stored r_multiple (the original's, from the last close alone) says otherwise for the partial-exit cases
    const stored = Object.fromEntries(closed.map((t) => [t.id, t.r_multiple]));
    expect([stored.T003, stored.T008, stored.T010, stored.T020]).toEqual([-0.4, 0.2, -0.4, 2]);
    const noRisk = goldenClosed('T1', '2026-03-02T10:00:00Z', 10, { stop_price: 100, original_stop: 100 });
    expect(netR(noRisk)).toBeNull();
  });

  it('gives the header and the histogram the same wins, losses and breakevens', async () => {
    const data = shape();
    expect([data.header.wins, data.header.losses, data.header.breakeven]).toEqual([12, 9, 1]);
    const h = data.rHistogram;
    expect([h.wins, h.losses, h.breakeven, h.count, h.withoutR]).toEqual([12, 9, 1, 22, 0]);
    const by = (o: string) => h.segments.filter((g) => g.outcome === o).reduce((n, g) => n + g.count, 0);
    expect([by('win'), by('loss'), by('breakeven')]).toEqual([12, 9, 1]);
    // a blue bar never stands left of 0R nor an orange one right of it
    for (const g of h.segments) {
      if (g.outcome === 'win') expect(g.x0).toBeGreaterThanOrEqual(0);
      if (g.outcome === 'loss') expect(g.x1).toBeLessThanOrEqual(0);
    }
    expect(h.bins.map((b) => [b.x0, b.count])).toEqual([[-1, 8], [-0.5, 1], [0, 1], [0.5, 4], [1, 2], [1.5, 4], [2, 2]]);
    const { html, marks, document } = await page(data);
    expect(marks.rHistogramBars).toBe(7); // seven bins, one outcome each
    expect(text(document, '#r figcaption')).toContain('Blue: 12 wins; orange: 9 losses; grey: 1 breakeven');
    expect(text(document, 'header')).toContain('12 W · 9 L · 1 BE');
    expect(html).toContain('aria-label="−0.50R to 0.00R: 1 loss"');
  });

  it('takes the mean and the expectancy from the same R, in the header, the histogram and the setups', async () => {
    const data = shape();
    // Σ net R = 8.75 over 22 trades
    expect(data.rHistogram.meanR).toBe(0.4);
    expect(data.rHistogram.expectancyR).toBe(0.4);
    // the caption's formula, win rate × average win + loss rate × average loss, over the same R
    const rs = casesLog().trades.filter((t) => t.status === 'CLOSED').map((t) => netR(t) as number);
    const wins = rs.filter((r) => r > 0);
    const losses = rs.filter((r) => r < 0);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect((wins.length / rs.length) * avg(wins) + (losses.length / rs.length) * avg(losses)).toBeCloseTo(0.4, 2);
    expect(data.header.avgNetR).toBe(0.4);
    expect(data.rHistogram.expectancyUsd).toBe(19.89); // $437.50 over 22 closed trades
    // equity.json keeps the original's R: the page names it, and why it differs
    expect(data.rHistogram.fileAvgR).toBe(deriveEquity(casesLog(), { startingCapital: START, now: NOW }).avg_r);
    expect(data.rHistogram.fileAvgR).toBe(0.36);
    expect(data.setups.map((s) => [s.name, s.trades, s.avgWinR, s.avgLossR, s.expectancy])).toEqual([
      ['Breakout', 7, 1.62, -1, 1.25],
      ['Mean reversion', 4, 1.07, -0.15, 0.76],
      ['Pullback', 6, 1, -0.85, 0.22],
      ['News fade', 5, 0, -0.87, -0.87],
    ]);
    const sp = deriveSetupPerformance(casesLog(), { startingCapital: START, now: NOW });
    expect(sp.setups.Breakout?.expectancy).not.toBe(1.25); // the file's own, from the stored r_multiple
    const { document } = await page(data);
    expect(text(document, 'header')).toMatch(/Average net R\s*\+0\.40R/);
    expect(text(document, '#chart-r')).toContain('mean = expectancy +0.40R');
    expect(text(document, '#r figcaption')).toContain("equity.json's avg_r is +0.36R");
    expect(text(document, '#setups table')).toContain('+1.25R');
  });
});

describe('open risk: to the current stop, and the initial risk', () => {
  it('is 0 for a stop at or past entry (LONG at entry, SHORT below entry) and keeps the initial risk apart', () => {
    const data = shape();
    // equity 5,462.50
    expect(data.open.map((o) => [o.tradeId, o.direction, o.riskToStopUsd, o.riskToStopPct, o.lockedIn, o.initialRiskUsd, o.initialRiskPct])).toEqual([
      ['T021', 'LONG', 0, 0, true, 50, 0.92], // stop 126 → 130 = entry; half closed, 1R was 4 × 12.5
      ['T023', 'SHORT', 0, 0, true, 50, 0.92], // stop 2125 → 2080, below the 2100 entry
      ['T025', 'LONG', 50, 0.92, false, 50, 0.92], // untouched: both are 2.5 × 20
      ['T026', 'SHORT', 24, 0.44, false, 48, 0.88], // stop 256 → 253: 3 × 8 to the stop, 6 × 8 initially
    ]);
    expect(data.header).toMatchObject({ openRiskUsd: 74, openRiskPct: 1.35, initialRiskUsd: 198, initialRiskPct: 3.62 });
  });

  it('labels both, in the chart and the table', async () => {
    const { marks, document, html } = await page(shape());
    expect([marks.heatBars, marks.heatInitialBars]).toEqual([4, 4]);
    expect(html).toContain('aria-label="T021 NVDA LONG: $0.00, 0.00% of equity lost if the current stop is hit (stop at or past entry: locked in)"');
    expect(html).toContain('aria-label="T026 TSLA SHORT: initial risk $48.00, 0.88% of equity"');
    const caption = text(document, '#chart-heat figcaption');
    expect(caption).toContain('the initial risk, |entry − original stop| × original size');
    expect(caption).toContain('the risk to stop, the loss if the current stop is hit, on the size still open: 0 when the stop is at or past entry');
    expect(caption).toContain('Open risk $74.00 (1.35%) to the current stops; initial risk $198.00 (3.62%)');
    const heads = [...document.querySelectorAll('#open table')][0]?.querySelectorAll('thead th') ?? [];
    expect([...heads].map((th) => th.textContent)).toContain('Risk to stop');
    expect([...heads].map((th) => th.textContent)).toContain('Initial risk');
    const row = (id: string) => [...document.querySelectorAll('#open tbody tr')].find((tr) => tr.textContent?.startsWith(id))?.textContent ?? '';
    expect(row('T021')).toMatch(/126 → 130.*\$0\.00 locked in\$50\.00 \(0\.92%\)/);
    expect(row('T023')).toMatch(/2125 → 2080.*\$0\.00 locked in\$50\.00 \(0\.92%\)/);
    expect(row('T026')).toContain('$24.00 (0.44%)$48.00 (0.88%)');
    expect(text(document, 'header')).toMatch(/Open risk\s*1\.35%\$74\.00 if every stop is hit · initial risk 3\.62%/);
  });
});

describe('max drawdown after every realized event', () => {
  it('finds the intraday fall the daily closes hide', () => {
    const data = shape();
    const eq = deriveEquity(casesLog(), { startingCapital: START, now: NOW });
    expect(data.header.maxDrawdownPct).toBe(-2.83);
    expect(eq.max_drawdown_pct).toBe(-1.83); // equity.json, daily closes: unchanged
    expect(data.header.dailyMaxDrawdownPct).toBe(-1.83);
    expect(data.episode).toEqual({
      peakDate: '2026-03-17',
      peakEquity: 5302.5,
      troughDate: '2026-03-18',
      troughEquity: 5152.5,
      depthPct: -2.83,
      recoveryDate: '2026-03-18',
      daysUnderWater: 0,
      peakAt: '2026-03-17T16:00:00.000Z',
      troughAt: '2026-03-18T11:20:00.000Z',
      recoveryAt: '2026-03-18T16:30:00.000Z',
    });
    // the daily curve is still what the chart draws: no close below the peak on 2026-03-18
    expect(data.curve.points.find((p) => p.date === '2026-03-18')).toEqual({ date: '2026-03-18', equity: 5322.5, drawdownPct: 0 });
  });

  it('says so on the page, and marks the trough below the daily curve', async () => {
    const { marks, document } = await page(shape());
    expect(marks.drawdownTrough).toBe(1);
    expect(text(document, 'header')).toMatch(/Max drawdown\s*−2\.83%low at 11:20 UTC on 2026-03-18, recovered the same day · daily closes: −1\.83%/);
    const caption = text(document, '#drawdown figcaption');
    expect(caption).toContain('the deepest fall was −2.83%, from $5,302.50 (2026-03-17) to $5,152.50 at 11:20 UTC on 2026-03-18; recovered on 2026-03-18');
    expect(caption).toContain('the daily curve (deepest −1.83%) does not reach it');
    expect(text(document, '#chart-drawdown')).toContain('max −2.83% at 11:20 UTC');
  });

  it('is not "never below a peak" when equity fell and recovered within one day', async () => {
    // the demo's case: −1 % at 10:00, back above the start by 15:00, one daily close at a new high
    const log = logOf(goldenClosed('T1', '2026-03-27T10:00:00Z', -50), goldenClosed('T2', '2026-03-27T15:00:00Z', 60));
    const data = shape(log);
    expect(deriveEquity(log, { startingCapital: START, now: NOW }).max_drawdown_pct).toBe(0);
    expect(data.header.maxDrawdownPct).toBe(-1);
    expect(data.episode).toMatchObject({ peakDate: '2026-03-26', peakEquity: 5000, troughDate: '2026-03-27', recoveryDate: '2026-03-27', daysUnderWater: 0 });
    const { document, marks } = await page(data);
    expect(text(document, 'header')).toMatch(/Max drawdown\s*−1\.00%low at 10:00 UTC on 2026-03-27, recovered the same day · daily closes: 0\.00%/);
    expect(document.querySelector('main')?.textContent).not.toContain('never');
    expect(marks.drawdownEpisode).toBe(1);
    expect(marks.drawdownTrough).toBe(1);
  });
});

describe('the drawdown axis follows the data', () => {
  /** The wide drawdown chart's y tick labels, as numbers (the narrow one has fewer). */
  const yTicks = (document: ReturnType<typeof parseHTML>['document']) =>
    [...document.querySelectorAll(`#chart-drawdown svg.${CHART_CLASS.wide} g[aria-label="y-axis tick label"] text`)].map((t) => Number((t.textContent ?? '').replace('−', '-').replace('%', '')));

  it('draws the daily halt limit and only the limits inside the scaled axis', async () => {
    const { marks, document } = await page(shape());
    // −2.83 % deep: the axis ends at −3.4 %; of the limits only DAILY HALT −2 % falls inside it
    expect(marks.drawdownLimits).toBe(1);
    expect(text(document, '#chart-drawdown')).toContain('DAILY HALT −2%');
    expect(document.querySelector('#chart-drawdown g[aria-description="Drawdown limit: daily halt at −2.0%"]')).not.toBeNull();
    const ticks = yTicks(document);
    expect(Math.min(...ticks)).toBe(-3);
    expect(Math.min(...ticks)).toBeGreaterThan(-3.4);
    expect(ticks).toContain(-2.5); // half-percent ticks, printed as such
    const caption = text(document, '#drawdown figcaption');
    expect(caption).toContain("Lines: DAILY HALT −2.0%: new trades are refused once equity is 2.0% below the previous day's close.");
    expect(caption).toContain('Below the axis, not drawn: WARNING −5.0%, REDUCE −10.0%, STOP −20.0%.');
  });

  it('reaches further down for a deeper fall and draws the limits that come into range', async () => {
    // −9.85 % in test/fixtures/report-log.json: the axis ends near −11.8 %
    const log = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'report-log.json'), 'utf8')) as TradeLog;
    const { marks, document } = await page(shapeReportData(log, { startingCapital: START, now: new Date('2026-04-06T12:00:00Z') }));
    expect(marks.drawdownLimits).toBe(3);
    const labels = text(document, '#chart-drawdown');
    for (const l of ['DAILY HALT −2%', 'WARNING −5%', 'REDUCE −10%']) expect(labels).toContain(l);
    expect(labels).not.toContain('STOP −20%');
    expect(Math.min(...yTicks(document))).toBe(-10);
  });
});
