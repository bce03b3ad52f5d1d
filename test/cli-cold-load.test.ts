/**
 * What a command loads is part of its cost: a cron `status` or `reconcile` runs in a fresh
 * process, and every module it imports is read, compiled and run before the first trade is read.
 * Through the built CLI (dist/), with an ESM loader hook that writes down every module the process
 * loads: the commands that do not draw never load the report or its dependencies (Observable
 * Plot, linkedom), and each loads only its own command module and the layers it uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, tempDir, tracedRun } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const DIST = `${pathToFileURL(path.join(ROOT, 'dist')).href}/`;

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir('tse-cold-load-');
  log = path.join(dir, 'trade_log.json');
  fs.writeFileSync(log, '{\n  "trades": [],\n  "next_id": 1\n}\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; returns the modules it loaded, as paths under dist/ ("cli/run.js") or full URLs for the rest. */
function loaded(...args: string[]): string[] {
  const r = tracedRun([CLI, '--log', log, '--state', path.join(dir, 'state'), ...args]);
  expect(r.status, r.stderr).toBe(0);
  return r.modules.map((u) => (u.startsWith(DIST) ? u.slice(DIST.length) : u));
}

const drawing = (m: string): boolean => m.startsWith('report/') || /\/node_modules\/(@observablehq\/plot|linkedom|d3-)/.test(m);
const commandModules = (mods: string[]): string[] => mods.filter((m) => m.startsWith('cli/commands/') && m !== 'cli/commands/registry.js');

const OPEN = ['open', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1'];

describe('the commands that do not draw load neither the report nor its dependencies', () => {
  it.each([['status'], ['verify'], ['reconcile'], [OPEN.join(' ')]])('%s', (line) => {
    const args = line.split(' ');
    const mods = loaded(...args);
    expect(mods).toContain('cli/run.js'); // the trace works
    expect(mods.filter(drawing)).toEqual([]);
    // its own command module and no other: a command's imports are its own cost only
    expect(commandModules(mods)).toEqual([`cli/commands/${args[0]}.js`]);
  });

  it('reconcile loads neither the store, the lock layer nor the native addon', () => {
    const mods = loaded('reconcile');
    expect(mods.filter((m) => /^(store|lock|native|demo)\//.test(m))).toEqual([]);
  });

  it('status loads neither the reconciler nor the demo', () => {
    const mods = loaded('status');
    expect(mods.filter((m) => /^(reconcile|demo)\//.test(m))).toEqual([]);
  });

  // The check above would pass vacuously if the hook missed packages: the report must show them.
  it('report does load Plot and linkedom (the trace sees them)', () => {
    const mods = loaded('report', '--out', path.join(dir, 'report.html'));
    expect(mods.some((m) => m.includes('/node_modules/@observablehq/plot/'))).toBe(true);
    expect(mods.some((m) => m.includes('/node_modules/linkedom/'))).toBe(true);
  });
});
