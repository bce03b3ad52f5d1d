import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, tempDir } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
beforeEach(() => {
  dir = tempDir('tse-demo-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('trade-state demo', () => {
  it('--short: real processes, a race with one winner, a SIGKILL, and a passing verdict', async () => {
    const demoDir = path.join(dir, 'run');
    const r = await runNode(CLI, ['demo', '--short', '--dir', demoDir]);
    const out = r.stdout;
    expect(r.code, `${out}\n${r.stderr}`).toBe(0);

    expect(out).toContain(`trade-state demo: 4 s in ${demoDir}`);
    // exactly one racer won; the others were refused by the risk gateway
    expect(out.match(/\[racer-\d\] won the race: opened T\d+ BTC LONG/g)).toHaveLength(1);
    expect(out.match(/\[racer-\d\] lost the race: DUPLICATE_SYMBOL \(BTC is already open as T\d+\)/g)?.length).toBeGreaterThanOrEqual(1);
    expect(out).toMatch(/\[demo\] SIGKILL -> scanner \(pid \d+\)/);
    expect(out).toMatch(/\[demo\] restarted the scanner \(pid \d+\)/);
    expect(out).toMatch(/\[scanner\] opened T\d+ \w+ (LONG|SHORT) @ [\d.]+ \(\w+ [ABC]\)/);
    expect(out).toMatch(/\[reconciler\] final: equity \$[\d,.]+ /);
    // machine lines are consumed by the parent, not shown
    expect(out).not.toMatch(/^\s*ACK /m);

    expect(out).toMatch(/^Trades\s+\d+ opened, \d+ closed, \d+ still open$/m);
    expect(out).toMatch(/^Rejections\s+.*DUPLICATE_SYMBOL \d+ \(\d+ in the race\)/m);
    expect(out).toMatch(/^Equity\s+\$[\d,.]+ /m);
    expect(out).toMatch(/^Win rate\s+/m);
    expect(out).toMatch(/^Profit factor\s+/m);
    expect(out).toMatch(/^Best setup\s+/m);
    for (const check of ['0 duplicate ids', '0 duplicate open symbols', '0 lost acknowledged trades', 'verifyIntegrity() clean',
      'derived invariants clean', 'reconcile ok', 'race for one symbol: 1 winner, 2 DUPLICATE_SYMBOL', 'writers: no unexpected errors']) {
      expect(out).toContain(`[ok] ${check}`);
    }
    expect(out).not.toContain('[FAIL]');
    expect(out).toMatch(/^VERDICT: PASS \(8 of 8 checks hold\)$/m);

    const log = JSON.parse(fs.readFileSync(path.join(demoDir, 'trades', 'trade_log.json'), 'utf8')) as { trades: { id: string; symbol: string; client_id?: string }[]; next_id: number };
    expect(log.trades.length).toBeGreaterThanOrEqual(1);
    expect(new Set(log.trades.map((t) => t.id)).size).toBe(log.trades.length);
    expect(log.trades.filter((t) => t.client_id?.startsWith('racer-'))).toHaveLength(1);
    for (const f of ['portfolio.json', 'equity.json', 'risk_state.json', 'setup_performance.json']) {
      expect(() => JSON.parse(fs.readFileSync(path.join(demoDir, 'state', f), 'utf8'))).not.toThrow();
    }
    expect(out).toContain(`trade log   ${path.join(demoDir, 'trades', 'trade_log.json')}`);
    // The demo ends by writing the HTML report and printing its path.
    const report = path.join(demoDir, 'report.html');
    expect(out).toContain(`report      ${report}`);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/<svg/);
  });

  it('a scanner still loading when time is up (a busy machine) is stopped, not counted as an unexpected error', async () => {
    // The restarted scanner (generation 2) takes 6 s to load: the 4 s run ends while it is still
    // loading, before its SIGTERM handler is set, so the demo's SIGTERM ends it by the signal.
    const slow = path.join(dir, 'slow-load.mjs');
    fs.writeFileSync(
      slow,
      "if (process.argv[1]?.endsWith('scanner.js') && process.argv[2]?.includes('\"generation\":2')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 6000);\n",
    );
    const r = await runNode(CLI, ['demo', '--short', '--dir', path.join(dir, 'run')], { NODE_OPTIONS: `--import ${slow}` });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/\[demo\] scanner \(pid \d+\) was still starting when time was up: stopped before its first line/);
    expect(r.stdout).toMatch(/^VERDICT: PASS/m);
  });

  it('refuses a folder that is not empty (exit 1) and options naming another log (exit 2)', async () => {
    fs.writeFileSync(path.join(dir, 'something'), 'x');
    const r = await runNode(CLI, ['demo', '--short', '--dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: invalid input \(EVALIDATION\): Invalid --dir: .* must be a new or empty folder/);
    const u = await runNode(CLI, ['demo', '--short', '--log', path.join(dir, 'trade_log.json')]);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/demo: --log does not apply/);
  });
});
