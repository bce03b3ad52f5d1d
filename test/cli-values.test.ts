/**
 * What the command line makes of values a person types: a negative number given to an option
 * reaches the check that names the rule it breaks, and an explicit --log wins over a database
 * named only by the environment. Real processes on the built CLI.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, tempDir } from './helpers.js';
import { tradeRecord } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
let log: string;
beforeEach(() => {
  dir = tempDir('tse-cli-values-');
  log = path.join(dir, 'trades', 'trade_log.json');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, `${JSON.stringify({ trades: [tradeRecord('T001', { symbol: 'ETH' })], next_id: 2 }, null, 2)}\n`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TSE_DATABASE_URL: '', TSE_ACCOUNT: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const OPEN = ['open', '--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120'];

describe('a negative number as an option value', () => {
  it.each([
    ['open', [...OPEN, '--size', '-1'], /Invalid size: -1 must be a finite number > 0 \(--size\)/],
    ['open', [...OPEN.slice(0, 7), '--stop', '-95', '--target', '120', '--size', '1'], /stop.*-95/],
    ['close', ['close', 'T001', '--exit', '-3'], /-3/],
    ['partial', ['partial', 'T001', '--fraction', '-.5', '--exit', '100'], /fraction.*-0\.5|-\.5/],
  ])('%s: is refused as invalid input naming the flag and value (exit 1), not as a flag without a value', (_name, args, message) => {
    const before = fs.readFileSync(log);
    const r = cli([...args, '--log', log]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/invalid input \(EVALIDATION\)/);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/has no value/);
    expect(fs.readFileSync(log).equals(before)).toBe(true);
  });

  it('an option with no value at all is still a usage error (exit 2)', () => {
    const r = cli([...OPEN, '--log', log, '--size']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage error \(EUSAGE\).*--size/);
  });

  it('a negative value after --, or as a positional, is left alone', () => {
    const r = cli(['close', '--exit', '100', '--log', log, '--', '-1']);
    expect(r.code).toBe(1); // "-1" is the id: no such trade
    expect(r.stderr).toMatch(/-1/);
  });
});

describe('an explicit --log wins over a database named by the environment', () => {
  // Nothing listens on port 9: had the command gone to the database, it would fail EDBUNAVAILABLE.
  const ENV = { TSE_DATABASE_URL: 'postgres://bot:secret@127.0.0.1:9/trading', TSE_ACCOUNT: 'main' };

  it('status --log reads the file, exit 0', () => {
    const r = cli(['status', '--json', '--log', log], ENV);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; open: { id?: string; trade_id?: string }[] } & Record<string, unknown>;
    expect(doc.ok).toBe(true);
    expect(JSON.stringify(doc)).toContain('T001');
  });

  it('a write with --log writes the file', () => {
    const r = cli(['close', 'T001', '--exit', '110', '--log', log], ENV);
    expect(r.code, r.stderr).toBe(0);
    const after = JSON.parse(fs.readFileSync(log, 'utf8')) as { trades: { status: string }[] };
    expect(after.trades[0]?.status).toBe('CLOSED');
  });

  it('without --log the environment still names the database; --db typed beside --log is still refused', () => {
    const env = cli(['status'], ENV);
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/EDBUNAVAILABLE/);
    const both = cli(['status', '--log', log, '--db', ENV.TSE_DATABASE_URL, '--account', 'main']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--log and --db both name where the log is/);
  });
});
