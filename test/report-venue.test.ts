// The report's drift section: the log's open trades against what the venue holds (buildReport's
// `venue`, the CLI's `report --venue`), a table of the items or one "in agreement" line.
import fs from 'node:fs';
import path from 'node:path';

import { parseHTML } from 'linkedom';
import { afterEach, describe, expect, it } from 'vitest';

import { buildReport } from '../src/report/index.js';
import { ROOT, runNode, tempDir } from './helpers.js';
import { openTrade } from './trades.js';
import type { TradeLog } from '../src/domain/types.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const NOW = new Date('2026-04-06T12:00:00Z');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A log file with BTC 1 LONG and ETH 2 LONG open. */
function logFile(): string {
  const dir = tempDir('tse-report-venue-');
  dirs.push(dir);
  let log: TradeLog = { trades: [], next_id: 1 };
  log = openTrade(log, { symbol: 'BTC' }).log;
  log = openTrade(log, { symbol: 'ETH', size: 2 }).log;
  const file = path.join(dir, 'trade_log.json');
  fs.writeFileSync(file, JSON.stringify(log, null, 2));
  return file;
}

const section = (html: string) => parseHTML(html).document.querySelector('section#venue');
const rows = (html: string) =>
  [...(section(html)?.querySelectorAll('tbody tr') ?? [])].map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent));

describe('the report\'s drift section', () => {
  it('a table of the drift items, in the comparison\'s order, with the tolerance', async () => {
    const tradeLog = logFile();
    const r = await buildReport({ tradeLog, now: NOW, venue: { positions: [{ symbol: 'eth', side: 'LONG', size: 1 }, { symbol: 'SOL', side: 'SHORT', size: 3 }] } });
    expect(rows(r.html)).toEqual([
      ['GHOST', 'BTC', 'T001', 'LONG 1', 'flat', 'open in the log, flat at the venue'],
      ['SIZE', 'ETH', 'T002', 'LONG 2', 'LONG 1', 'same side, sizes differ beyond the tolerance'],
      ['ORPHAN', 'SOL', '—', 'flat', 'SHORT 3', 'held at the venue, not open in the log'],
    ]);
    expect(section(r.html)?.textContent).toContain('Drift: 3 items, 0 matched (tolerance 0.1%).');
    const data = JSON.parse(parseHTML(r.html).document.querySelector('#report-data')?.textContent ?? '{}') as { venue: { tolerance: number; drift: { ok: boolean } } };
    expect(data.venue).toMatchObject({ tolerance: 0.001, drift: { ok: false } });
  });

  it('one "in agreement" line when the venue matches; no section without a venue', async () => {
    const tradeLog = logFile();
    const ok = await buildReport({ tradeLog, now: NOW, venue: { positions: [{ symbol: 'BTC', side: 'LONG', size: 1 }, { symbol: 'ETH', side: 'LONG', size: 2.0005 }] } });
    expect(section(ok.html)?.textContent).toBe('Log against the venue' + 'In agreement with the venue: 2 positions matched (tolerance 0.1%).');
    expect(section(ok.html)?.querySelector('table')).toBeNull();
    expect(section((await buildReport({ tradeLog, now: NOW })).html)).toBeNull();
  });

  it('bad positions are refused before anything is written', async () => {
    const tradeLog = logFile();
    const out = path.join(path.dirname(tradeLog), 'report.html');
    await expect(buildReport({ tradeLog, out, venue: { positions: [{ symbol: 'BTC', side: 'LONG', size: -1 }] } })).rejects.toMatchObject({ code: 'EVALIDATION', field: 'positions[0].size' });
    await expect(buildReport({ tradeLog, out, venue: { positions: [], tolerance: 5 } })).rejects.toMatchObject({ field: 'tolerance' });
    expect(fs.existsSync(out)).toBe(false);
  });

  it('trade-state report --venue draws it; an unreadable venue file is a usage error', async () => {
    const tradeLog = logFile();
    const dir = path.dirname(tradeLog);
    const venue = path.join(dir, 'venue.json');
    fs.writeFileSync(venue, JSON.stringify([{ symbol: 'ETH', side: 'LONG', size: 2 }]));
    const out = path.join(dir, 'report.html');
    const r = await runNode(CLI, ['report', '--log', tradeLog, '--out', out, '--venue', venue]);
    expect(r.code, r.stderr).toBe(0);
    expect(rows(fs.readFileSync(out, 'utf8'))).toEqual([['GHOST', 'BTC', 'T001', 'LONG 1', 'flat', 'open in the log, flat at the venue']]);
    const bad = await runNode(CLI, ['report', '--log', tradeLog, '--out', path.join(dir, 'b.html'), '--venue', path.join(dir, 'none.json')]);
    expect(bad.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'b.html'))).toBe(false);
  });
});
