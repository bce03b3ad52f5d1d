// trade-state venue, as a user runs it (the built CLI in a child process), on a file log and on a
// PostgreSQL account: exit 0 in agreement, 1 on drift and with --adopt when something stays
// unresolved, 2 on usage; nothing written by a bad input.
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, tempDir } from './helpers.js';
import { freshDatabase } from './pg.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const NO_ENV = { TSE_DATABASE_URL: '', TSE_ACCOUNT: '' };

let db: Awaited<ReturnType<typeof freshDatabase>>;
let dir: string;
let accounts = 0;

beforeAll(async () => {
  db = await freshDatabase();
  const r = await runNode(CLI, ['migrate', '--db', db.url], NO_ENV);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(() => {
  dir = tempDir('tse-venue-cli-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const BTC = ['--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1'];
const ETH = ['--symbol', 'ETH', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '2'];

/** A log (a file, or an account) holding BTC 1 LONG and ETH 2 LONG; `target` are the options naming it. */
async function logWithTwo(kind: 'file' | 'db'): Promise<string[]> {
  const target = kind === 'file' ? ['--log', path.join(dir, 'trade_log.json')] : ['--db', db.url, '--account', `venue-${++accounts}`];
  for (const args of [['init'], ['open', ...BTC], ['open', ...ETH]]) {
    const r = await runNode(CLI, [...args, ...target], NO_ENV);
    expect(r.code, r.stderr).toBe(0);
  }
  return target;
}

function file(name: string, data: unknown): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

const venueCli = async (target: string[], ...args: string[]) => runNode(CLI, ['venue', ...target, ...args], NO_ENV);
const venueJson = async (target: string[], ...args: string[]) => {
  const r = await venueCli(target, '--json', ...args);
  return { code: r.code, doc: JSON.parse(r.stdout) as Record<string, any>, stderr: r.stderr };
};

describe.each(['file', 'db'] as const)('trade-state venue on a %s log', (kind) => {
  it('exit 0 when the log and the venue agree', async () => {
    const target = await logWithTwo(kind);
    const positions = file('venue.json', [{ symbol: 'btc', side: 'LONG', size: 1 }, { symbol: 'ETH', side: 'LONG', size: 2.001 }, { symbol: 'SOL', side: 'SHORT', size: 0 }]);
    const r = await venueCli(target, '--positions', positions);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok: .* in agreement \(2 positions matched\)$/);
    const j = await venueJson(target, '--positions', positions);
    expect(j.doc).toMatchObject({ ok: true, command: 'venue', tolerance: 0.001, drift: { ok: true, items: [], matched: ['BTC', 'ETH'] }, adoption: null });
  });

  it('--positions takes ccxt\'s unified positions as fetchPositions() gives them (detected)', async () => {
    const target = await logWithTwo(kind);
    // As `JSON.stringify(await exchange.fetchPositions())` writes them: BTC 1 long, ETH 2 long (20 contracts of 0.1).
    const ccxtPositions = file('ccxt.json', [
      { symbol: 'BTC/USDT:USDT', side: 'long', contracts: 1, contractSize: 1, entryPrice: 100, info: {} },
      { symbol: 'ETH/USDT:USDT', side: 'long', contracts: 20, contractSize: 0.1, entryPrice: 100, info: {} },
    ]);
    const j = await venueJson(target, '--positions', ccxtPositions);
    expect(j.code, j.stderr).toBe(0);
    expect(j.doc).toMatchObject({ drift: { ok: true, items: [], matched: ['BTC', 'ETH'] } });
  });

  it('exit 1 on drift, with a table of the items; --tolerance widens what agrees', async () => {
    const target = await logWithTwo(kind);
    const positions = file('venue.json', [{ symbol: 'ETH', side: 'LONG', size: 1.9 }, { symbol: 'SOL', side: 'SHORT', size: 3 }]);
    const r = await venueCli(target, '--positions', positions);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').slice(1)).toEqual([
      'KIND    SYMBOL  TRADE     LOG     VENUE  MEANING',
      'GHOST   BTC     T001   LONG 1      flat  open in the log, flat at the venue',
      'SIZE    ETH     T002   LONG 2  LONG 1.9  same side, sizes differ beyond the tolerance',
      'ORPHAN  SOL     -        flat   SHORT 3  held at the venue, not open in the log',
    ]);
    const j = await venueJson(target, '--positions', positions, '--tolerance', '0.1');
    expect(j.code).toBe(1);
    expect(j.doc.drift.items.map((i: { kind: string }) => i.kind)).toEqual(['GHOST', 'ORPHAN']);
    expect(j.doc.drift.matched).toEqual(['ETH']);
  });

  it('--adopt closes the ghost, reduces the size, and exits 1 while the orphan stays unresolved; 0 once nothing is', async () => {
    const target = await logWithTwo(kind);
    const positions = file('venue.json', [{ symbol: 'ETH', side: 'LONG', size: 1.5 }, { symbol: 'SOL', side: 'SHORT', size: 3 }]);
    const prices = file('prices.json', { BTC: 90, ETH: 110, SOL: 20 });
    const j = await venueJson(target, '--positions', positions, '--adopt', '--prices', prices);
    expect(j.code, j.stderr).toBe(1);
    expect(j.doc.adoption).toMatchObject({ closed: ['T001'], reduced: ['T002'], unresolved: [{ kind: 'ORPHAN', symbol: 'SOL' }] });
    const status = JSON.parse((await runNode(CLI, ['status', '--json', ...target], NO_ENV)).stdout) as { positions: Array<{ id: string; size: number }> };
    expect(status.positions.map((p) => [p.id, p.size])).toEqual([['T002', 1.5]]);
    const agreed = file('venue2.json', [{ symbol: 'ETH', side: 'LONG', size: 1.5 }]);
    const r = await venueCli(target, '--positions', agreed, '--adopt', '--prices', prices, '--reason', 'stop_filled');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('adopted: nothing left unresolved');
  });

  it('exit 2 on usage; exit 1 on invalid input; neither writes', async () => {
    const target = await logWithTwo(kind);
    const positions = file('venue.json', []);
    const before = kind === 'file' ? fs.readFileSync(target[1] as string, 'utf8') : (await venueJson(target, '--positions', positions)).doc.drift;
    const usage = [
      [],
      ['--positions', path.join(dir, 'missing.json')],
      ['--positions', file('bad.json', '[{')],
      ['--positions', positions, '--adopt'],
      ['--positions', positions, '--prices', file('p.json', { BTC: 1 })],
    ];
    for (const args of usage) {
      const r = await venueJson(target, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.doc.error.code).toBe('EUSAGE');
    }
    const invalid: Array<[string[], string]> = [
      [['--positions', file('neg.json', [{ symbol: 'BTC', side: 'LONG', size: -1 }])], 'positions[0].size'],
      [['--positions', file('dup.json', [{ symbol: 'BTC', side: 'LONG', size: 1 }, { symbol: 'btc', side: 'LONG', size: 1 }])], 'positions[1].symbol'],
      [['--positions', positions, '--adopt', '--prices', file('p0.json', { BTC: 0 })], 'prices.BTC'],
      [['--positions', positions, '--tolerance', '-0.5'], 'tolerance'],
      [['--positions', positions, '--tolerance', 'abc'], '--tolerance'],
    ];
    for (const [args, field] of invalid) {
      const r = await venueJson(target, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.doc.error).toMatchObject({ code: 'EVALIDATION', field });
    }
    const after = kind === 'file' ? fs.readFileSync(target[1] as string, 'utf8') : (await venueJson(target, '--positions', positions)).doc.drift;
    expect(after).toEqual(before);
  });
});
