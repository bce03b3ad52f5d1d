/**
 * The report's data shaping (src/report/shape.ts) and the page built from it:
 * thinning bounds and keeps extremes, histogram counts, drawdown episodes,
 * empty and tiny logs, escaping, size on huge inputs, lazy loading of Plot.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { parseHTML } from 'linkedom';
import { afterEach, describe, expect, it } from 'vitest';

import { deriveEquity, deriveSetupPerformance, type EquityPoint } from '../src/domain/derive/index.js';
import { netPnl, netR, rMultipleOf } from '../src/domain/formulas.js';
import { r2 } from '../src/domain/round.js';
import type { TradeLog } from '../src/domain/types.js';
import { TradeLogCorruptError, ValidationError } from '../src/errors.js';
import { buildReport } from '../src/report/index.js';
import { renderReport } from '../src/report/render.js';
import {
  DEFAULT_MAX_POINTS,
  histogramR,
  shapeCurve,
  shapeReportData,
  thinIndices,
  underwater,
  withOrigin,
  type ReportData,
} from '../src/report/shape.js';
import { CHART_CLASS } from '../src/report/style.js';
import { emptyLog, goldenClosed, goldenOpen, logOf, partialExit } from './trades.js';
import { ROOT, tempDir } from './helpers.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report-log.json');
const NOW = new Date('2026-04-06T12:00:00Z');
const START = 5000;
const fixtureLog = (): TradeLog => JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as TradeLog;

/** "YYYY-MM-DD" of day i after 2000-01-01 (a synthetic calendar, any length). */
const dayN = (i: number) => new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

/** A deterministic random walk of n daily points with one deep crash and recovery in it. */
function syntheticCurve(n: number): EquityPoint[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: EquityPoint[] = [];
  let eq = START;
  for (let i = 0; i < n; i++) {
    eq += (rnd() - 0.49) * 20;
    if (i === Math.floor(n * 0.6)) eq *= 0.55; // the crash: deeper than any random wiggle
    out.push({ date: dayN(i), equity: Math.round(eq * 100) / 100 });
  }
  return out;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = tempDir('tse-report-');
  dirs.push(d);
  return d;
}

describe('thinIndices', () => {
  it('keeps every point when there are at most maxPoints', () => {
    expect(thinIndices(5, 100, [(i) => i])).toEqual([0, 1, 2, 3, 4]);
    expect(thinIndices(0, 100, [(i) => i])).toEqual([]);
  });

  it('caps the count and keeps first, last, pinned and every bucket min and max', () => {
    const n = 50_000;
    const values = Array.from({ length: n }, (_, i) => Math.sin(i / 97) * 100 + ((i * 7919) % 13));
    values[31_337] = -1000; // a lone spike down and one up must both survive
    values[12_345] = 1000;
    const idx = thinIndices(n, 500, [(i) => values[i] as number], [777]);
    expect(idx.length).toBeLessThanOrEqual(500);
    expect(idx.length).toBeGreaterThan(400);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(n - 1);
    expect(idx).toContain(31_337);
    expect(idx).toContain(12_345);
    expect(idx).toContain(777);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(new Set(idx).size).toBe(idx.length);
  });

  it('refuses a maxPoints too small to hold a bucket', () => {
    expect(() => thinIndices(100, 3, [(i) => i, (i) => -i], [5, 6])).toThrow(RangeError);
  });
});

describe('underwater and the max-drawdown episode', () => {
  const curve = (values: number[]): EquityPoint[] => values.map((equity, i) => ({ date: dayN(i), equity }));

  it('finds peak, trough and recovery on a hand-made curve', () => {
    // peak 1100 on day 1, trough 990 on day 3 (−10 %), back to 1100 on day 5; a shallower dip later
    const uw = underwater(curve([1000, 1100, 1050, 990, 1080, 1100, 1150, 1120, 1160]), 1000);
    expect(uw.episode).toEqual({
      peakDate: dayN(1),
      peakEquity: 1100,
      troughDate: dayN(3),
      troughEquity: 990,
      depthPct: -10,
      recoveryDate: dayN(5),
      daysUnderWater: 3,
    });
    expect(uw.points.map((p) => p.drawdownPct)).toEqual([0, 0, -4.55, -10, -1.82, 0, 0, -2.61, 0]);
  });

  it('picks the deeper of two episodes and reports an open one as not recovered', () => {
    const uw = underwater(curve([1000, 950, 1000, 1200, 1000, 900, 950]), 1000);
    expect(uw.episode).toMatchObject({ peakDate: dayN(3), troughDate: dayN(5), depthPct: -25, recoveryDate: null, daysUnderWater: 3 });
  });

  it('measures from the starting capital when the curve starts below it', () => {
    const uw = underwater(curve([900, 950, 1000]), 1000);
    // no point is the peak: the episode starts the day before the curve
    expect(uw.episode).toMatchObject({ peakDate: dayN(-1), peakEquity: 1000, depthPct: -10, recoveryDate: dayN(2), daysUnderWater: 2 });
  });

  it('has no episode on a curve that never falls below a peak', () => {
    expect(underwater(curve([1000, 1000, 1010, 1020]), 1000).episode).toBeNull();
    expect(underwater([], 1000).episode).toBeNull();
  });

  it('agrees with equity.json on the fixture (depth, peak, longest stretch)', () => {
    const log = fixtureLog();
    const eq = deriveEquity(log, { startingCapital: START, now: NOW });
    const uw = underwater(withOrigin(eq.equity_curve, START), START);
    expect(uw.episode?.depthPct).toBe(eq.max_drawdown_pct);
    expect(Math.max(...uw.points.map((p) => p.equity), START)).toBe(eq.peak_equity);
    expect(uw.points.at(-1)?.drawdownPct).toBe(eq.drawdown_percent);
  });
});

describe('shapeCurve on a huge curve', () => {
  it('thins 200,000 daily points to at most maxPoints, keeping first, last, peak, troughs and the episode', () => {
    const raw = syntheticCurve(200_000);
    const t0 = performance.now();
    const shaped = shapeCurve(withOrigin(raw, START), START);
    const ms = performance.now() - t0;
    const full = underwater(withOrigin(raw, START), START).points;
    expect(shaped.totalPoints).toBe(200_001);
    expect(shaped.thinned).toBe(true);
    expect(shaped.points.length).toBeLessThanOrEqual(DEFAULT_MAX_POINTS);
    expect(shaped.points.length).toBeGreaterThan(DEFAULT_MAX_POINTS / 2);
    expect(shaped.points[0]).toEqual(full[0]);
    expect(shaped.points.at(-1)).toEqual(full.at(-1));
    const dates = new Set(shaped.points.map((p) => p.date));
    const argBy = (f: (p: (typeof full)[number]) => number, dir: 1 | -1) =>
      full.reduce((best, p) => (dir * f(p) > dir * f(best) ? p : best)).date;
    expect(dates).toContain(argBy((p) => p.equity, 1)); // the peak
    expect(dates).toContain(argBy((p) => p.equity, -1)); // the lowest equity
    expect(dates).toContain(argBy((p) => p.drawdownPct, -1)); // the deepest drawdown
    const ep = shaped.episode;
    expect(ep).not.toBeNull();
    for (const d of [ep?.peakDate, ep?.troughDate, ep?.recoveryDate].filter((x) => x != null)) expect(dates).toContain(d);
    expect(ep?.depthPct).toBe(full.reduce((m, p) => Math.min(m, p.drawdownPct), 0));
    // every 100th point's neighbourhood: no plotted point is invented, each is a real day of the curve
    const byDate = new Map(full.map((p) => [p.date, p]));
    for (const p of shaped.points) expect(byDate.get(p.date)).toEqual(p);
    expect(ms).toBeLessThan(2000);
  });

  it('honours a smaller maxPoints and rejects a nonsense one', () => {
    const shaped = shapeCurve(syntheticCurve(10_000), START, 300);
    expect(shaped.points.length).toBeLessThanOrEqual(300);
    expect(() => shapeCurve(syntheticCurve(100), START, 5)).toThrow(TypeError);
    expect(() => shapeCurve(syntheticCurve(100), START, 100.5)).toThrow(TypeError);
  });

  it('keeps a page built from the thinned curve small (< 2 MB)', async () => {
    const base = shapeReportData(fixtureLog(), { startingCapital: START, now: NOW });
    const curve = shapeCurve(withOrigin(syntheticCurve(200_000), START), START);
    const data: ReportData = {
      ...base,
      curve: { points: curve.points, totalPoints: curve.totalPoints, thinned: curve.thinned, peak: curve.peak },
      episode: curve.episode,
    };
    const { html, marks } = await renderReport(data, { title: 'Huge' });
    const bytes = Buffer.byteLength(html);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    expect(marks.equityLine).toBe(1);
    expect(marks.drawdownArea).toBe(1);
    expect(html).toMatch(/[\d,]+ of 200,001 days are drawn/);
  });
});

describe('histogramR', () => {
  it('bins on multiples of 0.5R, lower edge included, the top value in the last bin', () => {
    const { bins, binWidth } = histogramR([-1, -0.99, -0.5, 0, 0.49, 1.5, 2]);
    expect(binWidth).toBe(0.5);
    expect(bins).toEqual([
      { x0: -1, x1: -0.5, count: 2 },
      { x0: -0.5, x1: 0, count: 1 },
      { x0: 0, x1: 0.5, count: 2 },
      { x0: 0.5, x1: 1, count: 0 },
      { x0: 1, x1: 1.5, count: 0 },
      { x0: 1.5, x1: 2, count: 1 },
      { x0: 2, x1: 2.5, count: 1 },
    ]);
  });

  it('widens the bins for a wide spread and keeps at most 40', () => {
    const rs = [-3, 0.7, 55, 12.2];
    const { bins, binWidth } = histogramR(rs);
    expect(binWidth).toBe(2);
    expect(bins.length).toBeLessThanOrEqual(40);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(rs.length);
    expect(histogramR([]).bins).toEqual([]);
  });

  it('counts every closed trade of the fixture exactly once', () => {
    const log = fixtureLog();
    const data = shapeReportData(log, { startingCapital: START, now: NOW });
    const closedCount = log.trades.filter((t) => t.status === 'CLOSED').length;
    const h = data.rHistogram;
    expect(h.bins.reduce((s, b) => s + b.count, 0) + h.withoutR).toBe(closedCount);
    expect(h.withoutR).toBe(0);
    expect(h.count).toBe(closedCount);
    // net R, not equity.json's avg_r (which averages the stored r_multiple and ignores partial exits)
    const rs = log.trades.filter((t) => t.status === 'CLOSED').map((t) => netR(t) as number);
    expect(h.meanR).toBe(r2(rs.reduce((a, b) => a + b, 0) / rs.length));
    expect(h.segments.reduce((s, g) => s + g.count, 0)).toBe(closedCount);
  });

  it('leaves out, and counts, closed trades without an initial risk', () => {
    const log = logOf(
      goldenClosed('T1', '2026-04-01T10:00:00Z', 10, { r_multiple: 1 }),
      goldenClosed('T2', '2026-04-01T11:00:00Z', 5, { r_multiple: null, stop_price: 100, original_stop: 100 }),
    );
    expect(rMultipleOf(log.trades[1] as never, netPnl(log.trades[1] as never))).toBeNull();
    const h = shapeReportData(log, { startingCapital: START, now: NOW }).rHistogram;
    expect(h.count).toBe(1);
    expect(h.withoutR).toBe(1);
    expect(h.expectancyUsd).toBe(7.5);
  });
});

describe('shapeReportData', () => {
  it('matches the reconciler on the fixture: header, setups, open risk', () => {
    const log = fixtureLog();
    const data = shapeReportData(log, { startingCapital: START, now: NOW });
    const eq = deriveEquity(log, { startingCapital: START, now: NOW });
    const sp = deriveSetupPerformance(log, { startingCapital: START, now: NOW });
    expect(data.header).toMatchObject({
      equity: eq.current_equity,
      totalReturnPct: eq.total_return_pct,
      winRate: eq.win_rate,
      profitFactor: eq.profit_factor,
      maxDrawdownPct: eq.max_drawdown_pct,
      maxDrawdownDays: eq.max_drawdown_days,
      closedTrades: 60,
      openTrades: 2,
    });
    // no event of this fixture falls below its day's close, so the per-event max drawdown is the daily one
    expect(data.header.dailyMaxDrawdownPct).toBe(eq.max_drawdown_pct);
    // setups: the file's names, counts and P&L; expectancy (and so the order) in net R
    expect(data.setups.map((s) => s.name).sort()).toEqual(Object.keys(sp.setups).sort());
    for (const row of data.setups) {
      const f = sp.setups[row.name];
      expect([row.trades, row.wins, row.losses, row.breakeven, row.winRate, row.totalPnl]).toEqual([
        f?.total_trades,
        f?.wins,
        f?.losses,
        f?.breakeven,
        f?.win_rate,
        f?.total_pnl,
      ]);
      const rs = log.trades.filter((t) => t.status === 'CLOSED' && t.setup_type === row.name).map((t) => netR(t) as number);
      expect(row.expectancy).toBe(r2(rs.reduce((a, b) => a + b, 0) / rs.length));
    }
    expect(data.setups.map((s) => s.expectancy)).toEqual(data.setups.map((s) => s.expectancy).sort((a, b) => b - a));
    // no stop of this fixture has moved, so the risk to each stop is equity.json's heat
    expect(data.open.map((o) => o.riskToStopPct)).toEqual(eq.heat_per_position.map((h) => h.risk_pct));
    expect(data.header.openRiskPct).toBe(eq.portfolio_heat);
    expect(data.curve.points.length).toBe(eq.equity_curve.length + 1); // + the origin point
    expect(data.curve.points[0]).toEqual({ date: '2026-01-05', equity: START, drawdownPct: 0 });
    expect(data.curve.thinned).toBe(false);
    expect(data.episode?.recoveryDate).not.toBeNull();
  });

  it('shapes an empty log into empty series, not broken ones', () => {
    const data = shapeReportData(emptyLog(), { startingCapital: START, now: NOW });
    expect(data.curve).toEqual({ points: [], totalPoints: 0, thinned: false, peak: null });
    expect(data.episode).toBeNull();
    expect(data.rHistogram).toMatchObject({ bins: [], count: 0, withoutR: 0, meanR: 0, expectancyR: 0, expectancyUsd: 0 });
    expect(data.setups).toEqual([]);
    expect(data.open).toEqual([]);
    expect(data.header).toMatchObject({ equity: START, closedTrades: 0, winRate: null, avgNetR: null, profitFactor: null, maxDrawdownPct: 0 }); // no rate without a closed trade
    expect(data.halt.halted).toBe(false);
  });

  it('gives a one-trade log a two-point curve (origin + today)', () => {
    const data = shapeReportData(logOf(goldenClosed('T1', '2026-04-06T09:00:00Z', 25, { r_multiple: 2.5 })), { startingCapital: START, now: NOW });
    expect(data.curve.points.map((p) => [p.date, p.equity])).toEqual([
      ['2026-04-05', 5000],
      ['2026-04-06', 5025],
    ]);
    expect(data.rHistogram.bins).toEqual([{ x0: 2.5, x1: 3, count: 1 }]);
    expect(data.setups).toHaveLength(1);
  });

  it('reports open positions with their risk, partial P&L and the halt state', () => {
    const log = logOf(
      goldenClosed('T1', '2026-04-06T09:00:00Z', -150, { r_multiple: -1.5 }),
      goldenOpen('T2', { symbol: 'ETH', direction: 'SHORT', entry_price: 100, stop_price: 104, original_stop: 105, size: 2, original_size: 4, partial_exits: [partialExit('2026-04-06T10:00:00Z', 12, 2)] }),
    );
    const data = shapeReportData(log, { startingCapital: START, now: NOW });
    // equity 5,000 − 150 + 12 = 4,862: to the stop (104 − 100) × 2 left = 8; initially (105 − 100) × 4 = 20
    expect(data.open).toEqual([
      expect.objectContaining({
        tradeId: 'T2',
        symbol: 'ETH',
        direction: 'SHORT',
        size: 2,
        realizedUsd: 12,
        riskToStopUsd: 8,
        riskToStopPct: 0.16,
        lockedIn: false,
        initialRiskUsd: 20,
        initialRiskPct: 0.41,
      }),
    ]);
    // the day's low, 5,000 − 150 = 4,850 at 09:00 (−3 %), breaches the −2 % daily limit; the +12 at
    // 10:00 brings it to −2.76 %, but the halt (the book's) judges the day by its low
    expect(data.halt).toMatchObject({ halted: true, dailyPct: -3 });
    expect(data.halt.reason).toBe('Daily drawdown -3.0% at its lowest (4850.00) exceeds -2.0% limit');
  });
});

describe('the page', () => {
  it('says "No closed trades yet" for an empty log and draws no chart', async () => {
    const data = shapeReportData(emptyLog(), { startingCapital: START, now: NOW });
    const { html, marks } = await renderReport(data, { title: 'Empty' });
    expect(html).toContain('No closed trades yet');
    expect(html).toContain('No realized P&amp;L yet');
    expect(html).not.toContain('<svg');
    expect(Object.values(marks).every((n) => n === 0)).toBe(true);
  });

  it('escapes names from the log and stays self-contained', async () => {
    const evil = '<script>alert(1)</script>&"\'';
    const log = logOf(
      goldenClosed('T1', '2026-04-05T09:00:00Z', 25, { r_multiple: 2.5, setup_type: evil, symbol: '<img src=x>' }),
      goldenOpen('T2', { symbol: '<img src=x onerror=alert(2)>', setup_type: evil }),
    );
    const { html } = await renderReport(shapeReportData(log, { startingCapital: START, now: NOW }), { title: '<b>T</b>' });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html.match(/<script/g)).toEqual(['<script']); // only the JSON data block
    expect(html).toContain('<script type="application/json" id="report-data">');
    expect(html).toContain('<title>&lt;b&gt;T&lt;/b&gt;</title>');
    // nothing to fetch at view time, and a policy that forbids it anyway
    const { document } = parseHTML(html);
    expect(document.querySelectorAll('[src], [href], link, img, iframe, object, embed, script:not([type="application/json"])').length).toBe(0);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain(`default-src 'none'`);
    // every & outside the JSON block starts a character reference (a name like "R&amp;D" must survive)
    const markup = html.replace(/<script type="application\/json"[\s\S]*?<\/script>/, '');
    expect(markup).not.toMatch(/&(?![a-z]+;|#\d+;|#x[0-9a-f]+;)/i);
    // the embedded data parses back (</script> cannot end the block early)
    const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect((JSON.parse(json) as ReportData).setups[0]?.name).toBe(evil);
  });

  it('labels charts for screen readers and print: titles, captions, axis units, tables', async () => {
    const { html } = await renderReport(shapeReportData(fixtureLog(), { startingCapital: START, now: NOW }), { title: 'Fixture' });
    expect(html).toMatch(/<h1>Fixture<\/h1>/);
    expect(html.match(/<figure /g)?.length).toBe(6);
    expect(html.match(/<figcaption>/g)?.length).toBe(6);
    // each chart drawn twice, wide and narrow (for phones), each labelled; the stylesheet shows one
    const svgs = (html.match(/<svg [^>]*>/g) ?? []).filter((t) => / aria-label="[^"]+"/.test(t));
    expect(svgs.filter((t) => t.includes(` class="${CHART_CLASS.wide}"`))).toHaveLength(6);
    expect(svgs.filter((t) => t.includes(` class="${CHART_CLASS.narrow}"`))).toHaveLength(6);
    expect(svgs).toHaveLength(12);
    for (const unit of ['Equity (USD)', 'Drawdown (%)', 'Date (UTC)', 'Net R (net profit ÷ initial risk, R)', 'Closed trades (count)', 'Win rate (%)', 'Expectancy (R per trade)', 'Risk (% of equity)']) {
      expect(html).toContain(unit);
    }
    expect(html.match(/<table>/g)?.length).toBe(5);
    expect(html).toContain('@media print');
  });
});

describe('buildReport', () => {
  it('writes the page atomically and reports what it drew', async () => {
    const dir = scratch();
    const out = path.join(dir, 'sub', 'report.html');
    const r = await buildReport({ tradeLog: FIXTURE, out, now: NOW, title: 'Fixture report' });
    expect(r.path).toBe(out);
    expect(fs.readFileSync(out, 'utf8')).toBe(r.html);
    expect(r.bytes).toBe(fs.statSync(out).size);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['report.html']); // no temp file left behind
    const data = shapeReportData(fixtureLog(), { startingCapital: START, now: NOW });
    expect(r.marks).toEqual({
      equityLine: 1,
      equityPeak: 1,
      drawdownArea: 1,
      // the axis ends near −11.8 %: DAILY HALT, WARNING and REDUCE are inside it, STOP −20 % is not
      drawdownLimits: 3,
      drawdownEpisode: 1,
      drawdownTrough: 0,
      rHistogramBars: data.rHistogram.segments.length,
      setupExpectancyBars: data.setups.length,
      setupWinRateBars: data.setups.length,
      heatBars: 2,
      heatInitialBars: 2,
    });
    expect(r.bytes).toBeLessThan(200_000);
  });

  it('returns the page without writing when there is no out', async () => {
    const r = await buildReport({ tradeLog: FIXTURE, now: NOW });
    expect(r.path).toBeNull();
    expect(r.html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(r.html).toContain('<title>Trading performance report</title>');
  });

  it('propagates TradeLogCorruptError for a damaged log and writes nothing', async () => {
    const dir = scratch();
    const log = path.join(dir, 'trade_log.json');
    fs.writeFileSync(log, fs.readFileSync(FIXTURE, 'utf8').slice(0, 500));
    const out = path.join(dir, 'report.html');
    await expect(buildReport({ tradeLog: log, out, now: NOW })).rejects.toBeInstanceOf(TradeLogCorruptError);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('treats a missing log as no trades yet, and says so', async () => {
    const dir = scratch();
    const r = await buildReport({ tradeLog: path.join(dir, 'nope.json'), now: NOW });
    expect(r.html).toContain('No closed trades yet');
    expect(r.html).toContain('nope.json (not found: no trades yet)');
  });

  it('bounds the page for a long real log (55 years of daily closes)', async () => {
    const dir = scratch();
    const trades = [];
    let seed = 3;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 20_000; i++) {
      const day = new Date(Date.UTC(1971, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      const pnl = Math.round((rnd() - 0.48) * 4000) / 100;
      trades.push(goldenClosed(`T${i + 1}`, `${day}T15:00:00+00:00`, pnl, { r_multiple: Math.round(pnl) / 10 || 0.1, setup_type: `S${i % 7}` }));
    }
    const log = path.join(dir, 'trade_log.json');
    fs.writeFileSync(log, JSON.stringify(logOf(...trades)));
    const r = await buildReport({ tradeLog: log, now: NOW, startingCapital: 50_000 });
    expect(r.bytes).toBeLessThan(2 * 1024 * 1024);
    expect(r.html).toMatch(/of 2\d,\d{3} days are drawn/);
    expect(r.marks.setupExpectancyBars).toBe(7);
  });

  it('rejects bad options', async () => {
    await expect(buildReport({ tradeLog: '' })).rejects.toThrow(TypeError);
    // the settings go through the one resolver (domain/settings.ts): the store's ValidationError
    await expect(buildReport({ tradeLog: FIXTURE, startingCapital: Number.NaN })).rejects.toThrow(ValidationError);
    await expect(buildReport({ tradeLog: FIXTURE, maxPoints: 2 })).rejects.toThrow(TypeError);
    await expect(buildReport({ tradeLog: FIXTURE, drawdownLimits: { total: 0.2 } })).rejects.toThrow(/drawdownLimits\.total/);
  });
});

describe('lazy loading', () => {
  it('loads Plot and linkedom only when a report is built, never with the core entry', () => {
    const built = path.join(ROOT, 'dist', 'report', 'index.js');
    if (!fs.existsSync(built)) throw new Error('dist/report/index.js is missing: run `npx tsc -p tsconfig.build.json` first');
    // A resolve hook reports every module the child loads; see the script below.
    const dir = scratch();
    const hooks = path.join(dir, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      `let port; export function initialize(d) { port = d.port; }
       export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }`,
    );
    const main = path.join(dir, 'main.mjs');
    fs.writeFileSync(
      main,
      `import { register } from 'node:module';
       import { MessageChannel } from 'node:worker_threads';
       const { port1, port2 } = new MessageChannel();
       const seen = [];
       port1.on('message', (u) => seen.push(u));
       register(${JSON.stringify(new URL(`file://${hooks}`).href)}, import.meta.url, { data: { port: port2 }, transferList: [port2] });
       const tick = () => new Promise((r) => setTimeout(r, 50));
       const heavy = () => seen.filter((u) => /@observablehq|linkedom|\\/d3-/.test(u)).length;
       await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))}); await tick();
       const core = heavy();
       const report = await import(${JSON.stringify(built)}); await tick();
       const imported = heavy();
       await report.buildReport({ tradeLog: ${JSON.stringify(FIXTURE)}, now: new Date('2026-04-06T12:00:00Z') }); await tick();
       console.log(JSON.stringify({ core, imported, built: heavy() }));
       port1.close();`,
    );
    const out = execFileSync(process.execPath, [main], { encoding: 'utf8' });
    const counts = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { core: number; imported: number; built: number };
    expect(counts.core).toBe(0);
    expect(counts.imported).toBe(0);
    expect(counts.built).toBeGreaterThan(0);
  });
});
