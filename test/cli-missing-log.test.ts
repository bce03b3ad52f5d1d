/**
 * A missing log must not look like an empty account: through the built CLI (dist/), every command
 * that reads or writes a log exits 1 naming the absolute path it looked at — and creates nothing —
 * unless --allow-missing says that an empty log is meant. init and demo do not need one.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, tempDir } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
let log: string;
beforeEach(() => {
  dir = tempDir('tse-missing-log-');
  log = path.join(dir, 'trades', 'trade_log.json'); // trades/ does not exist either
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runNode(CLI, ['--log', log, '--state', path.join(dir, 'state'), ...args]);

const COMMANDS: [string, string[]][] = [
  ['status', ['status']],
  ['verify', ['verify']],
  ['reconcile', ['reconcile']],
  ['report', ['report', '--out', 'OUT']],
  ['open', ['open', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1']],
  ['close', ['close', 'T001', '--exit', '110']],
  ['partial', ['partial', 'T001', '--fraction', '0.5', '--exit', '110']],
  ['update', ['update', 'T001', '--stop', '96']],
  ['config', ['config']],
];
const withOut = (args: string[]) => args.map((a) => (a === 'OUT' ? path.join(dir, 'report.html') : a));

describe('a missing log is an error, not an empty account', () => {
  it.each(COMMANDS)('%s: exit 1 naming the absolute path, nothing created', async (_, args) => {
    const r = await run(...withOut(args));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `trade-state: error (ELOGMISSING): no trade log at ${log}: check --log and the working directory; ` +
        'trade-state init creates a log, --allow-missing treats a missing one as empty\n',
    );
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(dir)).toEqual([]); // no log, no trades/ folder, no state/, no report
  });

  it.each(COMMANDS)('%s --json: one JSON document with the code and the path', async (name, args) => {
    const r = await run('--json', ...withOut(args));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, command: name, error: { code: 'ELOGMISSING', path: log } });
  });

  it('a relative --log is named by its absolute path', async () => {
    const r = await runNode(CLI, ['status', '--log', 'tades/trade_log.json'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no trade log at ${path.resolve('tades/trade_log.json')}`);
  });
});

describe('--allow-missing: a missing log is an empty one, as in the library', () => {
  it('status, verify and config answer for an empty log with exit 0', async () => {
    const s = await run('status', '--allow-missing');
    expect([s.code, s.stdout.split('\n')[0]]).toEqual([0, 'No open positions.']);
    expect((await run('verify', '--allow-missing')).code).toBe(0);
    expect((await run('--allow-missing', 'config')).code).toBe(0);
    expect(fs.existsSync(log)).toBe(false);
  });

  it('open creates the log, as it always did', async () => {
    const r = await run('open', '--allow-missing', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(log)).toBe(true);
    expect((await run('status')).code).toBe(0); // now it exists: no flag needed
  });

  it('init needs no log (it creates one) and takes no --allow-missing to do so', async () => {
    const r = await run('init');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(log)).toBe(true);
    const s = await run('status');
    expect([s.code, s.stdout.split('\n')[0]]).toEqual([0, 'No open positions.']);
  });
});
