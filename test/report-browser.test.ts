/**
 * The report in a real browser: headless Chromium driven by playwright-core (test/browser.ts says
 * which one: TSE_CHROMIUM, a system Chromium or Chrome, else the one @sparticuz/chromium ships in
 * the npm package). Loads a report built from test/fixtures/report-log.json from file://, checks
 * that every chart rendered with the expected number of marks, that nothing was fetched and
 * nothing logged an error, and saves a screenshot to test-artifacts/report.png.
 *
 * No browser is a FAILURE, not a skip; TSE_SKIP_BROWSER=1 turns it into a loud skip for machines
 * that cannot have one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deriveSetupPerformance } from '../src/domain/derive/index.js';
import { netPnl, netR } from '../src/domain/formulas.js';
import type { TradeLog } from '../src/domain/types.js';
import { buildReport, type BuildReportResult } from '../src/report/index.js';
import { MARK_SELECTORS } from '../src/report/render.js';
import { CHART_CLASS, NARROW_MAX_PX } from '../src/report/style.js';
import { findBrowser, NO_BROWSER } from './browser.js';
import { ROOT, tempDir } from './helpers.js';

const BROWSER = await findBrowser();
const SKIP = BROWSER === null && process.env.TSE_SKIP_BROWSER === '1';
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report-log.json');
const CASES = path.join(ROOT, 'test', 'fixtures', 'report-cases.json');
const CASES_NOW = new Date('2026-03-27T20:00:00Z');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const NOW = new Date('2026-04-06T12:00:00Z');

if (SKIP) console.warn(`${NO_BROWSER}\n  TSE_SKIP_BROWSER=1: skipping test/report-browser.test.ts\n`);
else if (BROWSER) console.log(`report-browser: driving ${BROWSER.source}`);

describe.skipIf(SKIP)('report in headless chromium', () => {
  let dir: string;
  let report: BuildReportResult;
  let context: BrowserContext | null = null;
  let page: Page;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!BROWSER) throw new Error(NO_BROWSER);
    dir = tempDir('tse-browser-');
    report = await buildReport({ tradeLog: FIXTURE, out: path.join(dir, 'report.html'), now: NOW, title: 'Fixture performance report' });
    // a fresh profile per run: nothing cached, no first-run state from an earlier test
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: BROWSER.executablePath,
      headless: true,
      args: BROWSER.args,
      viewport: { width: 1100, height: 1400 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(report.path as string).href, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads from file:// with no other request and no console error', () => {
    expect(requests).toEqual([pathToFileURL(report.path as string).href]);
    expect(consoleErrors).toEqual([]);
  });

  it('renders every chart as a visible SVG with the expected marks', async () => {
    const log = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as TradeLog;
    const closed = log.trades.filter((t) => t.status === 'CLOSED');
    // computed here from the log, not taken from the report: the bins are 0.5R wide, of net R, and a
    // bar is stacked from one rect per outcome (win, loss, breakeven by net P&L) present in its bin
    const barSegments = new Set(closed.map((t) => `${Math.floor((netR(t) as number) / 0.5 + 1e-9)} ${Math.sign(netPnl(t))}`)).size;
    const setups = Object.keys(deriveSetupPerformance(log, { startingCapital: 5000, now: NOW }).setups).length;
    const open = log.trades.filter((t) => t.status === 'OPEN').length;
    const expected = {
      equityLine: 1,
      equityPeak: 1,
      drawdownArea: 1,
      // the axis is scaled to the −9.85 % episode: DAILY HALT, WARNING and REDUCE inside, STOP below
      drawdownLimits: 3,
      drawdownEpisode: 1,
      drawdownTrough: 0,
      rHistogramBars: barSegments,
      setupExpectancyBars: setups,
      setupWinRateBars: setups,
      heatBars: open,
      heatInitialBars: open,
    };
    expect(setups).toBeGreaterThanOrEqual(4);
    expect(open).toBe(2);

    const counted = await page.evaluate((sels) => {
      const out: Record<string, number> = {};
      for (const [name, sel] of Object.entries(sels)) out[name] = document.querySelectorAll(sel).length;
      return out;
    }, MARK_SELECTORS);
    expect(counted).toEqual(expected);
    expect(report.marks).toEqual(expected);

    const charts = await page.evaluate((wideClass) =>
      [...document.querySelectorAll('figure.chart')].map((f) => {
        const svg = f.querySelector(`svg.${wideClass}`);
        const box = svg?.getBoundingClientRect();
        return {
          id: f.id,
          label: svg?.getAttribute('aria-label') ?? null,
          caption: f.querySelector('figcaption')?.textContent?.length ?? 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
      CHART_CLASS.wide,
    );
    expect(charts.map((c) => c.id)).toEqual([
      'chart-equity',
      'chart-drawdown',
      'chart-r',
      'chart-setup-expectancy',
      'chart-setup-winrate',
      'chart-heat',
    ]);
    for (const c of charts) {
      expect(c.label, c.id).toBeTruthy();
      expect(c.caption, c.id).toBeGreaterThan(20);
      expect(c.width, c.id).toBeGreaterThan(200);
      expect(c.height, c.id).toBeGreaterThan(50);
    }

    // bars are drawn, not just present: each has a real height or width on screen
    const barSizes = await page.evaluate(
      (sels) => ({
        r: [...document.querySelectorAll(sels.r)].map((e) => e.getBoundingClientRect().height),
        setup: [...document.querySelectorAll(sels.setup)].map((e) => e.getBoundingClientRect().width),
      }),
      { r: MARK_SELECTORS.rHistogramBars, setup: MARK_SELECTORS.setupExpectancyBars },
    );
    for (const hgt of barSizes.r) expect(hgt).toBeGreaterThan(1);
    for (const w of barSizes.setup) expect(w).toBeGreaterThan(1);
    // the equity line spans most of the chart's width
    const lineWidth = await page.evaluate((sel) => document.querySelector(sel)?.getBoundingClientRect().width ?? 0, MARK_SELECTORS.equityLine);
    expect(lineWidth).toBeGreaterThan(500);
  });

  it('shows the header numbers and the tables as text', async () => {
    expect(await page.title()).toBe('Fixture performance report');
    const text = await page.locator('header').innerText();
    for (const k of ['EQUITY', 'TOTAL RETURN', 'WIN RATE', 'PROFIT FACTOR', 'MAX DRAWDOWN']) expect(text).toContain(k);
    expect(await page.locator('h2').allInnerTexts()).toEqual([
      'Equity curve',
      'Drawdown',
      'R-multiples of closed trades',
      'Setups',
      'Open positions and risk',
    ]);
    expect(await page.locator('table').count()).toBe(5);
    expect(await page.locator('#open tbody tr').first().innerText()).toContain('T061');
  });

  it('prints on a white page with dark text', async () => {
    await page.emulateMedia({ media: 'print' });
    const colors = await page.evaluate(() => {
      const cs = getComputedStyle(document.body);
      return { bg: cs.backgroundColor, fg: cs.color };
    });
    await page.emulateMedia({ media: 'screen' });
    expect(colors.bg).toBe('rgb(255, 255, 255)');
    expect(colors.fg).toBe('rgb(26, 26, 26)');
  });

  it('draws the planted cases of test/fixtures/report-cases.json where they belong', async () => {
    if (!context) throw new Error('no browser context');
    const out = path.join(dir, 'cases.html');
    await buildReport({ tradeLog: CASES, out, now: CASES_NOW, title: 'Cases' });
    const cases = await context.newPage();
    const problems: string[] = [];
    cases.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    try {
      await cases.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      // the wide drawings, the ones shown at this width
      const boxes = await cases.evaluate((wideClass) => {
        const box = (e: Element | null | undefined) => {
          const b = e?.getBoundingClientRect();
          return b ? { top: b.top, bottom: b.bottom, left: b.left, right: b.right, width: b.width } : null;
        };
        const heat = (desc: string) => [...document.querySelectorAll(`#chart-heat svg.${wideClass} g[aria-description="${desc}"] > rect`)].map((r) => box(r)?.width ?? -1);
        const dd = `#chart-drawdown svg.${wideClass}`;
        return {
          svg: box(document.querySelector(dd)),
          zero: box(document.querySelector(`${dd} g[aria-label="rule"] > line`)),
          daily: box(document.querySelector(`${dd} g[aria-description^="Drawdown limit: daily halt"] > line`)),
          trough: box(document.querySelector(`${dd} g[aria-label="dot"] > circle`)),
          toStop: heat('Risk to stop'),
          initial: heat('Initial risk'),
        };
      }, CHART_CLASS.wide);
      expect(problems).toEqual([]);
      const { svg, zero, daily, trough } = boxes;
      if (!svg || !zero || !daily || !trough) throw new Error(`missing drawdown marks: ${JSON.stringify(boxes)}`);
      // the daily halt line and the intraday trough are drawn inside the plot, below the 0 % line, the trough lower
      expect(daily.top).toBeGreaterThan(zero.top + 20);
      expect(trough.top).toBeGreaterThan(daily.top);
      expect(trough.bottom).toBeLessThan(svg.bottom);
      // on a scaled axis the 2 % line sits well down the chart, not in a sliver at the top
      expect(daily.top - svg.top).toBeGreaterThan((svg.bottom - svg.top) * 0.4);
      // T021 and T023 are locked in: no bar to the stop, a full initial-risk bar
      expect(boxes.toStop.slice(0, 2).every((w) => w < 1)).toBe(true);
      expect(boxes.initial.every((w) => w > 100)).toBe(true);
      expect(boxes.toStop[2]).toBeCloseTo(boxes.initial[2] as number, 0); // T025's stop never moved
    } finally {
      await cases.close();
    }
  });

  // A phone and a desktop: the page never scrolls sideways; a wide table scrolls inside its own box,
  // and each chart shows one drawing, narrow on the phone, wide on the desktop, scaled to the width
  // with labels still readable. Screenshots of both, down to the setups: test-artifacts/report-<width>.png
  // (docs/report-390.png and docs/report-1280.png are copies).
  for (const width of [390, 1280]) {
    it(`fits a ${width} px wide screen: no sideways scroll of the page, tables in scrolling boxes, readable charts within the width`, async () => {
      if (!context) throw new Error('no browser context');
      const narrow = await context.newPage();
      try {
        await narrow.setViewportSize({ width, height: width < 600 ? 844 : 900 });
        await narrow.goto(pathToFileURL(report.path as string).href, { waitUntil: 'load' });
        const layout = await narrow.evaluate(() => {
          const right = (e: Element) => e.getBoundingClientRect().right;
          return {
            inner: window.innerWidth,
            scrollWidth: document.documentElement.scrollWidth,
            tables: [...document.querySelectorAll('table')].map((t) => {
              const box = t.parentElement as HTMLElement;
              return { fits: right(t) <= window.innerWidth, boxScrolls: getComputedStyle(box).overflowX === 'auto', boxRight: right(box) };
            }),
            // the drawings shown; each text's size on screen is its font size times the drawing's scale
            charts: [...document.querySelectorAll('figure.chart svg')]
              .filter((svg) => getComputedStyle(svg).display !== 'none')
              .map((svg) => {
                const box = svg.getBoundingClientRect();
                const scale = box.width / (svg as SVGSVGElement).viewBox.baseVal.width;
                const texts = [...svg.querySelectorAll('text')].map((t) => ({ text: t.textContent ?? '', px: parseFloat(getComputedStyle(t).fontSize) * scale }));
                const smallest = texts.reduce((a, b) => (b.px < a.px ? b : a), { text: '', px: Infinity });
                const xTicks = [...svg.querySelectorAll('g[aria-label="x-axis tick label"] text')].map((t) => t.getBoundingClientRect()).sort((a, b) => a.left - b.left);
                const overlaps = xTicks.slice(1).filter((b, i) => b.left < (xTicks[i] as DOMRect).right).length;
                return { id: svg.closest('figure')?.id, cls: svg.getAttribute('class'), left: box.left, right: box.right, texts: texts.length, smallest, overlaps };
              }),
          };
        });
        expect(layout.inner).toBe(width);
        expect(layout.scrollWidth, 'the page scrolls sideways').toBeLessThanOrEqual(width);
        expect(layout.tables).toHaveLength(5);
        for (const t of layout.tables) {
          expect(t.fits || t.boxScrolls, JSON.stringify(t)).toBe(true);
          expect(t.boxRight).toBeLessThanOrEqual(width);
        }
        // one drawing per chart, the one drawn for this width
        expect(layout.charts.map((c) => c.id)).toEqual(['chart-equity', 'chart-drawdown', 'chart-r', 'chart-setup-expectancy', 'chart-setup-winrate', 'chart-heat']);
        const fit = width <= NARROW_MAX_PX ? CHART_CLASS.narrow : CHART_CLASS.wide;
        for (const c of layout.charts) {
          expect(c.cls, c.id).toBe(fit);
          expect(c.left, c.id).toBeGreaterThanOrEqual(0);
          expect(c.right, c.id).toBeLessThanOrEqual(width);
          expect(c.texts, c.id).toBeGreaterThan(5);
          // a drawing 960 px wide scaled to a phone has labels of 4.4 px
          expect(c.smallest.px, `${c.id}: "${c.smallest.text}" is ${c.smallest.px.toFixed(1)} px`).toBeGreaterThanOrEqual(10);
          expect(c.overlaps, `${c.id}: x tick labels overlap`).toBe(0);
        }
        if (width < 600) expect(layout.tables.some((t) => !t.fits), 'no table is wider than a phone: the box is not tested').toBe(true);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        // the page down to the setups (every kind of chart but the open risk, and a table in its box): the whole page is 350–430 KB of PNG
        const bottom = await narrow.evaluate(() => document.getElementById('setups')?.getBoundingClientRect().bottom ?? 0);
        expect(bottom).toBeGreaterThan(1000);
        await narrow.screenshot({ path: path.join(ARTIFACTS, `report-${width}.png`), fullPage: true, clip: { x: 0, y: 0, width, height: Math.ceil(bottom) + 16 } });
      } finally {
        await narrow.close();
      }
    });
  }

  it('saves a screenshot as a test artifact', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  });
});
