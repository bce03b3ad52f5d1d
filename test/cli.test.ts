import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, sleep, spawnNode, tempDir } from './helpers.js';
import { tradeRecord, type TradeFields } from './trades.js';

// The built CLI, as a user runs it (npm test builds dist/ first).
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let dir: string;
let log: string;
let state: string;

// Every test starts from an existing, empty log (what trade-state init creates): commands refuse
// a missing one (test/cli-missing-log.test.ts).
const EMPTY_LOG = '{\n  "trades": [],\n  "next_id": 1\n}\n';
beforeEach(() => {
  dir = tempDir('tse-cli-');
  log = path.join(dir, 'trades', 'trade_log.json');
  state = path.join(dir, 'state');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, EMPTY_LOG);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runNode(CLI, ['--log', log, '--state', state, ...args]);
const json = async (...args: string[]) => {
  const r = await run('--json', ...args);
  return { code: r.code, doc: JSON.parse(r.stdout) as Record<string, any>, stderr: r.stderr };
};
const BTC = ['--symbol', 'BTC', '--direction', 'LONG', '--entry', '65000', '--stop', '63500', '--target', '68000', '--size', '0.02'];
/** The BTC trade above as a hand-written record, entered at a Python-spelled time. */
const trade = (over: TradeFields) =>
  tradeRecord('T001', {
    entry_price: 65000, stop_price: 63500, original_stop: 63500, target_price: 68000, size: 0.02, original_size: 0.02,
    entry_time: '2026-03-14T11:28:53.123456+00:00', ...over,
  });
const writeLog = (data: unknown) => {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`);
};
const STACK = /\n\s+at /;

describe('trade-state CLI: help, version, usage errors (exit 2)', () => {
  it('prints the global help and each command help with exit 0', async () => {
    const g = await runNode(CLI, ['--help']);
    expect(g.code).toBe(0);
    for (const c of ['status', 'open', 'close', 'partial', 'update', 'verify', 'reconcile', 'demo']) expect(g.stdout).toContain(`  ${c}`);
    const o = await runNode(CLI, ['open', '-h']);
    expect(o.code).toBe(0);
    expect(o.stdout).toMatch(/^Usage: trade-state open --symbol/);
    expect((await runNode(CLI, ['help', 'close'])).stdout).toMatch(/^Usage: trade-state close <id> --exit/);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runNode(CLI, ['--version']);
    expect([r.code, r.stdout]).toEqual([0, pkg.version]);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['status', '--bogus'], /Unknown option '--bogus'/],
    [['open', ...BTC.slice(0, 6)], /open: missing required options --stop, --target, --size/],
    [['close', '--exit', '1'], /close: missing <id>/],
    [['close', 'T001', 'T002', '--exit', '1'], /unexpected argument "T002"/],
    [['open', '--symbol'], /--symbol/],
    [['update', 'T001'], /nothing to change/],
    [['update', 'T001', '--set', 'novalue'], /--set expects key=<json value>/],
  ])('%j is a usage error: exit 2, one line, no stack', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trade-state: usage error \(EUSAGE\): /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('without a command prints the help to stderr with exit 2', async () => {
    const r = await runNode(CLI, []);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: trade-state <command>');
  });

  it('under --json a usage error is a JSON document on stdout', async () => {
    const { code, doc } = await json('status', '--bogus');
    expect(code).toBe(2);
    expect(doc).toMatchObject({ ok: false, command: 'status', error: { code: 'EUSAGE' } });
  });
});

describe('trade-state CLI: open, close, partial, update', () => {
  it('opens a trade (exit 0) and refuses a second one on the symbol with DUPLICATE_SYMBOL (exit 1)', async () => {
    const a = await run('open', ...BTC, '--setup', 'RSI_Div', '--grade', 'A');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('opened T001 BTC LONG 0.02 @ 65000 stop 63500 target 68000 (RSI_Div A)');
    const b = await run('open', ...BTC);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe('trade-state: rejected (DUPLICATE_SYMBOL): BTC is already open as T001\n');
    const c = await json('open', ...BTC);
    expect(c.code).toBe(1);
    expect(c.doc).toEqual({
      ok: false,
      command: 'open',
      error: { code: 'DUPLICATE_SYMBOL', message: 'BTC is already open as T001', symbol: 'BTC', openTradeId: 'T001', openSymbol: 'BTC' },
    });
  });

  it('refuses `open --symbol btc` beside an open BTC (one instrument key): exit 1, DUPLICATE_SYMBOL, nothing written', async () => {
    expect((await run('open', ...BTC)).code).toBe(0);
    const before = fs.readFileSync(log, 'utf8');
    for (const spelling of ['btc', 'Btc']) {
      const r = await run('open', ...BTC.map((a) => (a === 'BTC' ? spelling : a)));
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`trade-state: rejected (DUPLICATE_SYMBOL): ${spelling} is already open as T001 BTC\n`);
    }
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
  });

  it('--json open returns the trade as written; a repeated --client-id returns it again without writing', async () => {
    // --direction in lower case (any case is accepted); given once, as a repeated option is a usage error
    const { code, doc } = await json('open', ...BTC.map((a) => (a === 'LONG' ? 'long' : a)), '--client-id', 'k1');
    expect(code).toBe(0);
    expect(doc).toMatchObject({
      ok: true, command: 'open', existing: false,
      trade: { id: 'T001', symbol: 'BTC', direction: 'LONG', entry_price: 65000, stop_price: 63500, size: 0.02, status: 'OPEN', client_id: 'k1' },
    });
    const before = fs.readFileSync(log, 'utf8');
    const again = await json('open', ...BTC, '--client-id', 'k1');
    expect(again.doc).toMatchObject({ ok: true, existing: true, trade: { id: 'T001' } });
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
  });

  it.each([['abc'], [''], ['1e'], ['NaN'], ['0x10'], ['Infinity'], [' 5']])(
    'a non-number %j is invalid input naming the flag: exit 1, nothing written',
    async (bad) => {
      const args = [...BTC];
      args[args.indexOf('--entry') + 1] = bad;
      const r = await run('open', ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`trade-state: invalid input (EVALIDATION): Invalid --entry: ${JSON.stringify(bad)} is not a number\n`);
      expect(fs.readFileSync(log, 'utf8')).toBe(EMPTY_LOG);
    },
  );

  it('a number the library refuses names the field and the flag', async () => {
    const args = [...BTC];
    args[args.indexOf('--stop') + 1] = '66000';
    const { code, doc } = await json('open', ...args);
    expect(code).toBe(1);
    expect(doc.error).toMatchObject({ code: 'EVALIDATION', field: 'stop_price', value: 66000, option: '--stop' });
    expect(doc.error.message).toMatch(/stop_price.*below entry_price.*\(--stop\)$/);
  });

  it('partial, update and close, text and --json', async () => {
    await run('open', ...BTC);
    const p = await json('partial', 'T001', '--fraction', '0.5', '--exit', '66000', '--reason', 'first target');
    expect(p).toMatchObject({ code: 0, doc: { ok: true, command: 'partial', result: { trade_id: 'T001', size_closed: 0.01, remaining_size: 0.01, partial_pnl: 10 } } });
    const u = await json('update', 'T001', '--stop', '65000', '--notes', 'breakeven', '--set', 'confidence=0.8', '--set', 'tags=["swing"]');
    expect(u.code).toBe(0);
    expect(u.doc).toMatchObject({ ok: true, command: 'update', changed: ['stop_price', 'notes', 'confidence', 'tags'] });
    expect(u.doc.trade).toMatchObject({ stop_price: 65000, original_stop: 63500, notes: 'breakeven', confidence: 0.8, tags: ['swing'] });
    const c = await run('close', 'T001', '--exit', '68000', '--reason', 'target', '--lessons', 'patience');
    expect(c.code).toBe(0);
    expect(c.stdout).toBe('closed T001 BTC LONG @ 68000: +$30.00, +4.62%, +2.00R (net +$40.00 with partial exits)');
    const again = await json('close', 'T001', '--exit', '68000');
    expect(again.code).toBe(1);
    expect(again.doc.error).toMatchObject({ code: 'ETRADESTATE', id: 'T001', status: 'CLOSED' });
  });

  it('--json close returns the closed trade and its net P&L', async () => {
    await run('open', ...BTC);
    const { code, doc } = await json('close', 'T001', '--exit', '64000');
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, command: 'close', net_pnl_usd: -20, trade: { id: 'T001', status: 'CLOSED', exit_price: 64000, pnl_usd: -20 } });
  });

  it.each([
    [['close', 'T404', '--exit', '1'], 'ETRADENOTFOUND', /No trade with id "T404"/],
    [['update', 'T001', '--set', 'size=1'], 'EIMMUTABLEFIELD', /Field size cannot be changed/],
    [['update', 'T001', '--set', 'note=bare'], 'EVALIDATION', /Invalid --set note: "bare" is not a JSON value/],
    [['partial', 'T001', '--fraction', '1.5', '--exit', '66000'], 'EVALIDATION', /Invalid fraction: 1.5 .*\(--fraction\)/],
  ])('%j is invalid input (exit 1, %s)', async (args, code, message) => {
    await run('open', ...BTC);
    const r = await run(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^trade-state: invalid input \\(${code}\\): `));
    expect(r.stderr).toMatch(message);
  });

  it('uses ./trades/trade_log.json, trade.lock beside it and ./state by default', () => {
    const inDir = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
    fs.rmSync(path.join(dir, 'trades'), { recursive: true });
    expect(inDir('init').status).toBe(0);
    expect(inDir('open', ...BTC).status).toBe(0);
    expect(fs.existsSync(path.join(dir, 'trades', 'trade_log.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'trades', 'trade.lock'))).toBe(true);
    expect(inDir('reconcile').status).toBe(0);
    expect(fs.existsSync(path.join(dir, 'state', 'portfolio.json'))).toBe(true);
  });
});

describe('trade-state CLI: status, verify, damaged logs, --debug', () => {
  it('status shows the positions with their risk, equity, drawdown and halt state', async () => {
    await run('open', ...BTC, '--setup', 'RSI_Div');
    await run('open', '--symbol', 'NVDA', '--direction', 'SHORT', '--entry', '120', '--stop', '123', '--target', '110', '--size', '10');
    const t = await run('status');
    expect(t.code).toBe(0);
    const lines = t.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+SYMBOL\s+DIR\s+SIZE\s+ENTRY\s+STOP\s+TARGET\s+RISK USD$/);
    expect(lines[1]).toMatch(/^T001\s+BTC\s+LONG\s+0\.02\s+65000\s+63500\s+68000\s+\$30\.00$/);
    expect(lines[2]).toMatch(/^T002\s+NVDA\s+SHORT\s+10\s+120\s+123\s+110\s+\$30\.00$/);
    expect(lines[1]?.length).toBe(lines[0]?.length); // right-aligned last column
    expect(t.stdout).toMatch(/Equity\s+\$5,000\.00 /);
    expect(t.stdout).toMatch(/Trading\s+allowed/);

    const { code, doc } = await json('status', '--capital', '10000');
    expect(code).toBe(0);
    expect(doc).toMatchObject({
      ok: true, command: 'status', starting_capital: 10000, equity: 10000, realized_pnl: 0, drawdown_pct: 0,
      drawdown_status: 'NORMAL', halted: false, halt_reason: null, max_positions: 7, open_risk_usd: 60,
    });
    expect(doc.positions).toEqual([
      expect.objectContaining({ id: 'T001', symbol: 'BTC', direction: 'LONG', size: 0.02, entry_price: 65000, stop_price: 63500, target_price: 68000, risk_usd: 30 }),
      expect.objectContaining({ id: 'T002', symbol: 'NVDA', direction: 'SHORT', risk_usd: 30 }),
    ]);
  });

  it('status on an empty log', async () => {
    const r = await run('status');
    expect([r.code, r.stdout.split('\n')[0]]).toEqual([0, 'No open positions.']);
  });

  it('status: win rate "—" (null in JSON) with no closed trade, not 0.0 %', async () => {
    await run('open', ...BTC);
    const { doc } = await json('status');
    expect(doc).toMatchObject({ closed_trades: 0, wins: 0, losses: 0, breakeven: 0, win_rate: null, avg_net_r: null, profit_factor: null });
    expect((await run('status')).stdout).toMatch(/^Closed\s+0 \(0 won, 0 lost, 0 breakeven\), win rate —, avg net R —$/m);
  });

  it('status: after +$10 then −$10 the same day the peak stays 5,010 and the dip is a drawdown (the book)', async () => {
    const closed = (id: string, symbol: string, time: string, pnl: number) =>
      tradeRecord(id, { symbol, status: 'CLOSED', exit_price: 1, exit_time: time, pnl_usd: pnl });
    const first = closed('T001', 'BTC', '2026-03-14T10:00:00+00:00', 10);
    writeLog({ trades: [first], next_id: 2 });
    expect((await json('status')).doc).toMatchObject({ equity: 5010, peak_equity: 5010, drawdown_pct: 0 });
    writeLog({ trades: [first, closed('T002', 'ETH', '2026-03-14T11:00:00+00:00', -10)], next_id: 3 });
    const { doc } = await json('status');
    // (5,000 − 5,010) ÷ 5,010 = −0.1996 %
    expect(doc).toMatchObject({
      equity: 5000, peak_equity: 5010, drawdown_pct: -0.2, max_drawdown_pct: -0.2, max_drawdown_usd: -10,
      closed_trades: 2, wins: 1, losses: 1, win_rate: 50,
    });
    expect((await run('status')).stdout).toMatch(/^Drawdown\s+-0\.20% from peak \$5,010\.00 \(NORMAL\), max -0\.20%$/m);
  });

  it('status reports a drawdown halt and its reason', async () => {
    writeLog({
      trades: [trade({ status: 'CLOSED', exit_price: 60000, exit_time: new Date().toISOString().replace('Z', '+00:00'), pnl_usd: -300, size: 0.06, original_size: 0.06 })],
      next_id: 2,
    });
    const { doc } = await json('status');
    expect(doc).toMatchObject({ halted: true, equity: 4700, realized_pnl: -300 });
    expect(doc.halt_reason).toMatch(/^Daily drawdown -6\.0% exceeds -2\.0% limit$/);
    expect((await run('status')).stdout).toMatch(/Trading\s+HALTED: Daily drawdown/);
  });

  it('verify: exit 0 on a clean log, exit 1 listing each violation of a hand-written one', async () => {
    await run('open', ...BTC);
    const ok = await json('verify');
    expect(ok).toMatchObject({ code: 0, doc: { ok: true, command: 'verify', trades: 1, open: 1, violations: [] } });

    writeLog({ trades: [trade({}), trade({ id: 'T002' })], next_id: 3 });
    const bad = await run('verify');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAILED: 1 integrity violation in /);
    expect(bad.stdout).toContain('DUPLICATE_OPEN_SYMBOL T002: T002 and T001 are both OPEN on "BTC"');
    const j = await json('verify');
    expect(j.code).toBe(1);
    expect(j.doc).toMatchObject({
      ok: false, command: 'verify', trades: 2, open: 2,
      violations: [{ code: 'DUPLICATE_OPEN_SYMBOL', trade_id: 'T002' }],
      error: { code: 'EINTEGRITY' },
    });
  });

  it('verify reports two open trades whose symbols differ only in case (exit 1)', async () => {
    writeLog({ trades: [trade({}), trade({ id: 'T002', symbol: 'btc' })], next_id: 3 });
    const r = await json('verify');
    expect(r.code).toBe(1);
    expect(r.doc.violations).toEqual([
      { code: 'DUPLICATE_OPEN_SYMBOL', trade_id: 'T002', message: 'T002 on "btc" and T001 on "BTC" are both OPEN on one instrument (key "btc")' },
    ]);
  });

  it('verify counts --max-positions', async () => {
    await run('open', ...BTC);
    await run('open', '--symbol', 'NVDA', '--direction', 'LONG', '--entry', '120', '--stop', '115', '--target', '130', '--size', '1');
    const r = await json('verify', '--max-positions', '1');
    expect(r.code).toBe(1);
    expect(r.doc.violations).toEqual([expect.objectContaining({ code: 'POSITION_CAP_EXCEEDED' })]);
  });

  it('a damaged log: exit 1 naming ETRADELOGCORRUPT, the file untouched, no stack unless --debug', async () => {
    const damaged = '{"trades": [{"id": "T001", "symbol": "BTC"';
    writeLog(damaged);
    for (const args of [['status'], ['verify'], ['open', ...BTC], ['close', 'T001', '--exit', '1']]) {
      const r = await run(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^trade-state: error \(ETRADELOGCORRUPT\): Trade log .*trade_log\.json is damaged \(truncated JSON/);
      expect(r.stderr).not.toMatch(STACK);
      expect(fs.readFileSync(log, 'utf8')).toBe(damaged);
    }
    const d = await run('status', '--debug');
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(STACK);
    expect(d.stderr).toContain('TradeLogCorruptError');
    const j = await json('open', ...BTC);
    expect(j.doc).toMatchObject({ ok: false, command: 'open', error: { code: 'ETRADELOGCORRUPT', file: log } });
  });

  it('a system error is exit 1 naming its code', async () => {
    const r = await runNode(CLI, ['status', '--log', dir]); // a directory, not a file
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: system error \(EISDIR\): EISDIR: illegal operation on a directory/);
    expect(r.stderr).not.toMatch(STACK);
    const j = await runNode(CLI, ['status', '--log', dir, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, command: 'status', error: { code: 'EISDIR', syscall: 'read' } });
  });
});

describe('trade-state CLI: reconcile', () => {
  const FILES = ['portfolio.json', 'equity.json', 'risk_state.json', 'setup_performance.json'];

  it('reconcile once writes the four derived files', async () => {
    await run('open', ...BTC, '--setup', 'RSI_Div');
    await run('close', 'T001', '--exit', '68000');
    const r = await run('reconcile');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^reconciled 1 closed and 0 open trades into /);
    for (const f of FILES) expect(fs.existsSync(path.join(state, f))).toBe(true);
    const equity = JSON.parse(fs.readFileSync(path.join(state, 'equity.json'), 'utf8')) as Record<string, unknown>;
    expect(equity).toMatchObject({ current_equity: 5060, total_trades: 1 });
  });

  it('--json reconcile has a stable shape', async () => {
    await run('open', ...BTC);
    const { code, doc } = await json('reconcile');
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, command: 'reconcile', closed_trades: 0, open_trades: 1, invariant_violations: [] });
    expect(Object.keys(doc).sort()).toEqual(
      ['ok', 'command', 'log', 'state_dir', 'files', 'closed_trades', 'open_trades', 'invariant_violations', 'duration_ms'].sort(),
    );
    expect((doc.files as string[]).map((f) => path.basename(f)).sort()).toEqual([...FILES].sort());
    expect(typeof doc.duration_ms).toBe('number');
  });

  it('reconcile refuses a damaged log: exit 1, LOG_CORRUPT, nothing written', async () => {
    writeLog('{"trades": [');
    const r = await run('reconcile');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: reconcile refused \(LOG_CORRUPT\): /);
    const { doc } = await json('reconcile');
    expect(doc).toMatchObject({ ok: false, command: 'reconcile', error: { code: 'LOG_CORRUPT', reason: 'LOG_CORRUPT' } });
    expect(fs.existsSync(path.join(state, 'portfolio.json'))).toBe(false);
  });

  it('an invalid --every is invalid input naming the flag', async () => {
    const r = await run('reconcile', '--every', '15 minutes');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid --every: "15 minutes" is not a duration/);
  });

  it('reconcile --every runs until SIGTERM, then exits 0', async () => {
    await run('open', ...BTC);
    const c = spawnNode(CLI, ['--log', log, '--state', state, 'reconcile', '--every', '1s', '--json']);
    const deadline = Date.now() + 15_000;
    while (c.lines.length === 0) {
      if (c.proc.exitCode !== null || Date.now() > deadline) {
        c.proc.kill('SIGKILL');
        throw new Error(`no first cycle: exit ${c.proc.exitCode}, stderr ${c.stderr()}`);
      }
      await sleep(20);
    }
    expect(JSON.parse(c.lines[0] as string)).toMatchObject({ ok: true, command: 'reconcile', event: 'cycle', open_trades: 1 });
    c.proc.kill('SIGTERM');
    const { code } = await c.exited;
    expect(code).toBe(0);
    expect(JSON.parse(c.lines.at(-1) as string)).toEqual({ ok: true, command: 'reconcile', event: 'stopped' });
    for (const f of FILES) expect(fs.existsSync(path.join(state, f))).toBe(true);
  });
});

describe('trade-state report', () => {
  it('writes a self-contained HTML report (exit 0) and refuses a damaged log (exit 1)', async () => {
    const out = path.join(dir, 'out', 'report.html');
    await run('open', ...BTC);
    const r = await json('report', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, command: 'report', path: out });
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    writeLog('{"trades": [');
    const bad = await run('report', '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ETRADELOGCORRUPT');
    expect(fs.readFileSync(out, 'utf8')).toBe(html); // the old report is kept
    expect((await run('report')).code).toBe(2);
  });
});
