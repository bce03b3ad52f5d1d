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
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deriveSetupPerformance } from '../src/domain/derive/index.js';
import { netPnl, rMultipleOf } from '../src/domain/formulas.js';
import type { TradeLog } from '../src/domain/types.js';
import { buildReport, type BuildReportResult } from '../src/report/index.js';
import { MARK_SELECTORS } from '../src/report/render.js';
import { findBrowser, NO_BROWSER } from './browser.js';
import { ROOT } from './helpers.js';

const BROWSER = await findBrowser();
const SKIP = BROWSER === null && process.env.TSE_SKIP_BROWSER === '1';
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'report-log.json');
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
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-browser-'));
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
    // computed here from the log, not taken from the report: the bins are 0.5R wide
    const nonEmptyBins = new Set(closed.map((t) => Math.floor((rMultipleOf(t, netPnl(t)) as number) / 0.5 + 1e-9))).size;
    const setups = Object.keys(deriveSetupPerformance(log, { startingCapital: 5000, now: NOW }).setups).length;
    const open = log.trades.filter((t) => t.status === 'OPEN').length;
    const expected = {
      equityLine: 1,
      equityPeak: 1,
      drawdownArea: 1,
      drawdownLimits: 3,
      drawdownEpisode: 1,
      rHistogramBars: nonEmptyBins,
      setupExpectancyBars: setups,
      setupWinRateBars: setups,
      heatBars: open,
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

    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('figure.chart')].map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: f.id,
          label: svg?.getAttribute('aria-label') ?? null,
          caption: f.querySelector('figcaption')?.textContent?.length ?? 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
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

  it('saves a screenshot as a test artifact', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  });
});
