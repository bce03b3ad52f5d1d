/**
 * The command line's details, through real processes as a user runs them (dist/, built first):
 * repeated flags, help that lists what each command accepts and agrees with docs/cli.md, the
 * --json paths and durations, reconcile --watch reporting its recovery, the report subpath export,
 * and the demo's wording of a retried open and its cleanup of its own temp folder.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ROOT, runNode, sleep, spawnNode, tempDir, type Child } from './helpers.js';
import { tradeRecord } from './trades.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

interface CommandSpec {
  name: string;
  usage: string;
  options: Record<string, { type: string; short?: string; multiple?: boolean }>;
}
// The commands and their option specs as the built CLI has them: what it accepts.
const { COMMANDS } = (await import(path.join(ROOT, 'dist', 'cli', 'commands', 'index.js'))) as { COMMANDS: readonly CommandSpec[] };
const { GLOBAL_OPTIONS } = (await import(path.join(ROOT, 'dist', 'cli', 'args.js'))) as { GLOBAL_OPTIONS: CommandSpec['options'] };

let dir: string;
let log: string;
const children: Child[] = [];

beforeEach(() => {
  dir = tempDir('tse-cli-details-');
  log = path.join(dir, 'trades', 'trade_log.json');
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const BTC = ['--symbol', 'BTC', '--direction', 'LONG', '--entry', '100', '--stop', '95', '--target', '120', '--size', '1'];
const writeLog = (file: string, trades: unknown[]): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ trades, next_id: trades.length + 1 }, null, 2)}\n`);
};
/** The CLI run in the test's folder, so relative paths (and the default ./trades/trade_log.json) land there. */
const inDir = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** Replaces the file by rename, as every writer of the log does. */
const replaceLog = (file: string, text: string): void => {
  fs.writeFileSync(`${file}.test.tmp`, text);
  fs.renameSync(`${file}.test.tmp`, file);
};

/** A process that has not exited; a zombie (killed, not yet reaped by whoever inherited it) has. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0); // no /proc (macOS)
    return true;
  } catch {
    return false;
  }
}

/** Polls until `get()` is truthy; the child's output so far in the failure message. */
async function until<T>(get: () => T, what: string, c: Child, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\nstdout: ${c.lines.join('\n')}\nstderr: ${c.stderr()}`);
    await sleep(50);
  }
}

describe('a repeated option is a usage error naming it', () => {
  it.each([
    [['open', ...BTC, '--stop', '99'], '--stop', '"95", "99"'],
    [['open', ...BTC.slice(0, 6), '--stop=95', '--stop', '99', '--target', '120', '--size', '1'], '--stop', '"95", "99"'],
    [['status', '--capital', '5000', '--capital', '6000'], '--capital', '"5000", "6000"'],
    [['--log', 'a.json', 'verify', '--log', 'b.json'], '--log', '"a.json", "b.json"'],
  ])('%j: exit 2, nothing written', (args, flag, values) => {
    const r = inDir(...args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^trade-state: usage error \(EUSAGE\): /);
    expect(r.stderr).toContain(`${flag} is given `);
    expect(r.stderr).toContain(values);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(log)).toBe(false);
  });

  it('under --json: one document with EUSAGE and the command', () => {
    const r = inDir('--json', 'open', ...BTC, '--size', '2');
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; command: string; error: { code: string; message: string } };
    expect(doc).toMatchObject({ ok: false, command: 'open', error: { code: 'EUSAGE' } });
    expect(doc.error.message).toMatch(/^open: --size is given 2 times \("1", "2"\); give it once/);
  });

  it('update --set stays repeatable, and a repeated switch changes nothing', () => {
    writeLog(log, [tradeRecord('T001')]);
    const r = inDir('update', 'T001', '--set', 'a=1', '--set', 'b=2', '--json', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, command: 'update', changed: ['a', 'b'] });
  });
});

describe('help lists every option a command accepts, as docs/cli.md does', () => {
  const docs = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
  /** The first code block under "### <name>" in docs/cli.md: the command's usage. */
  const documentedUsage = (name: string): string | null => {
    const section = new RegExp(`^### ${name}\\n([\\s\\S]*?)(?=^##)`, 'm').exec(docs)?.[1];
    return section === undefined ? null : (/```\n([\s\S]*?)```/.exec(section)?.[1] ?? null);
  };
  const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

  it('knows the commands (the checks below are not vacuous)', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(expect.arrayContaining(['status', 'open', 'reconcile', 'report', 'demo']));
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s --help', async (name, c) => {
    const r = await runNode(CLI, [name, '--help']);
    expect(r.code).toBe(0);
    const [own = '', globals = ''] = r.stdout.split(/^Global options/m);
    const usage = /^Usage: trade-state ([\s\S]*?)\n\n/.exec(own)?.[1] ?? '';
    expect(usage, r.stdout).not.toBe('');
    // each of the command's own options is in its usage line and explained in its options
    for (const [opt, spec] of Object.entries(c.options)) {
      expect(usage, `${name} usage lacks --${opt}`).toContain(`--${opt}`);
      expect(own.slice(own.indexOf('\n\n')), `${name} help does not explain --${opt}`).toMatch(new RegExp(`^\\s+--${opt}\\b`, 'm'));
      if (spec.short !== undefined) expect(own).toContain(`-${spec.short}`);
    }
    // and every global option is listed for it
    for (const opt of Object.keys(GLOBAL_OPTIONS)) expect(globals, `${name} help lacks --${opt}`).toContain(`--${opt}`);
    // the usage names no option the command would refuse as unknown
    const accepted = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(c.options)]);
    for (const m of usage.matchAll(/--([a-z][\w-]*)/g)) expect(accepted, `${name} usage names --${m[1]}`).toContain(m[1]);
    // docs/cli.md has a section for the command, whose usage is the same
    expect(documentedUsage(name), `docs/cli.md has no "### ${name}" section with a usage block`).not.toBeNull();
    expect(squash(documentedUsage(name) ?? '')).toBe(squash(`trade-state ${usage}`));
  });

  it('status --help names --max-positions, which its "N of M open" uses', async () => {
    const r = await runNode(CLI, ['status', '--help']);
    expect(r.stdout.split('\n')[0]).toContain('[--max-positions <n>]');
  });

  it('the docs list every command in their table of contents', () => {
    const toc = /^- Commands: ([\s\S]*?)\n- /m.exec(docs)?.[1] ?? '';
    for (const c of COMMANDS) expect(toc, `docs/cli.md contents lack ${c.name}`).toContain(`[${c.name}](#${c.name})`);
  });
});

describe('--json: absolute paths and rounded durations', () => {
  /** Every string under a path-like key, anywhere in the document. */
  const paths = (doc: unknown, key = ''): string[] => {
    if (typeof doc === 'string') return /^(log|path|dir|state_dir|files|file)$/.test(key) ? [doc] : [];
    if (Array.isArray(doc)) return doc.flatMap((x) => paths(x, key));
    if (doc !== null && typeof doc === 'object') return Object.entries(doc).flatMap(([k, v]) => paths(v, k));
    return [];
  };
  /** Numbers with float noise: more than 6 decimals. */
  const noisy = (doc: unknown): number[] => {
    if (typeof doc === 'number') return /\.\d{7,}/.test(String(doc)) ? [doc] : [];
    if (Array.isArray(doc)) return doc.flatMap(noisy);
    if (doc !== null && typeof doc === 'object') return Object.values(doc).flatMap(noisy);
    return [];
  };

  it('every command, given relative paths, answers with absolute ones', () => {
    writeLog(log, [tradeRecord('T001', { client_id: 'c-1' })]);
    const docs: Record<string, unknown>[] = [];
    for (const args of [['status'], ['verify'], ['reconcile'], ['report', '--out', 'report.html'], ['open', ...BTC, '--client-id', 'c-1']]) {
      const r = inDir('--json', '--log', 'trades/trade_log.json', '--state', 'state', ...args);
      expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(0);
      docs.push(JSON.parse(r.stdout) as Record<string, unknown>);
    }
    for (const doc of docs) {
      const found = paths(doc);
      if (doc.command !== 'open') expect(found.length, `${String(doc.command)} gives no path`).toBeGreaterThan(0);
      for (const p of found) expect(path.isAbsolute(p), `${String(doc.command)}: ${p}`).toBe(true);
      expect(noisy(doc), String(doc.command)).toEqual([]);
    }
    const rec = docs.find((d) => d.command === 'reconcile') as { log: string; state_dir: string; duration_ms: number };
    expect(fs.realpathSync(rec.log)).toBe(fs.realpathSync(log));
    expect(fs.realpathSync(rec.state_dir)).toBe(fs.realpathSync(path.join(dir, 'state')));
    expect(Math.round(rec.duration_ms * 10) / 10).toBe(rec.duration_ms);
  });
});

describe('reconcile --watch reports a recovery', () => {
  it('text: a damaged log is reported, and so is the first good cycle after it', async () => {
    writeLog(log, [tradeRecord('T001')]);
    const c = spawnNode(CLI, ['--log', log, '--state', path.join(dir, 'state'), 'reconcile', '--watch']);
    children.push(c);
    await until(() => c.lines.some((l) => l.startsWith('reconciled 0 closed and 1 open trades')), 'the first cycle', c);
    replaceLog(log, '{"trades": [');
    await until(() => /reconcile: error \(ETRADELOGCORRUPT\)/.test(c.stderr()), 'the damage to be reported', c);
    expect(c.stderr()).not.toContain('recovered');
    writeLog(log, [tradeRecord('T001'), tradeRecord('T002', { symbol: 'ETH' })]);
    const line = await until(() => c.stderr().split('\n').find((l) => l.includes('recovered')), 'the recovery line', c);
    expect(line).toMatch(/^trade-state: reconcile: recovered after \d+ failed cycles?: reconciled 0 closed and 2 open trades into /);
    c.proc.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    // one recovery per failure, not one per good cycle
    expect(c.stderr().split('\n').filter((l) => l.includes('recovered'))).toHaveLength(1);
  });

  it('--json: a "recovered" event with the cycle fields and the count of failed cycles', async () => {
    writeLog(log, [tradeRecord('T001')]);
    replaceLog(log, '{"trades": [');
    const c = spawnNode(CLI, ['--log', log, '--state', path.join(dir, 'state'), 'reconcile', '--watch', '--json']);
    children.push(c);
    await until(() => c.lines.length > 0, 'the first cycle', c);
    expect(JSON.parse(c.lines[0] as string)).toMatchObject({ ok: false, event: 'cycle', error: { code: 'LOG_CORRUPT' } });
    writeLog(log, [tradeRecord('T001')]);
    const line = await until(() => c.lines.find((l) => l.includes('"recovered"')), 'the recovery event', c);
    const doc = JSON.parse(line) as Record<string, unknown>;
    expect(doc).toMatchObject({ ok: true, command: 'reconcile', event: 'recovered', open_trades: 1, closed_trades: 0, log });
    expect(doc.failed_cycles).toBeGreaterThanOrEqual(1);
    c.proc.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  });
});

describe('the report is a subpath export: trade-state-engine/report', () => {
  it('package.json exports it with its types, and it builds a report', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['./report']).toEqual({ types: './dist/report/index.d.ts', default: './dist/report/index.js' });
    writeLog(log, [tradeRecord('T001')]);
    // resolved by the package's own name from inside it (a self-reference), as a user's import would be
    const script = `import { buildReport } from 'trade-state-engine/report';
      const r = await buildReport({ tradeLog: ${JSON.stringify(log)} });
      console.log(JSON.stringify({ bytes: r.bytes, shows: r.html.includes('T001') && r.html.includes('<svg') }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ shows: true });
  });

  it('the package entry does not re-export it', async () => {
    const script = `import * as tse from 'trade-state-engine'; console.log('buildReport' in tse);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, 'false']);
  });
});

describe('demo: a retried open says what happened', () => {
  const SCANNER = path.join(ROOT, 'dist', 'demo', 'scanner.js');
  const input = { symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 120, size: 1, setup_type: 'Breakout', grade: 'A' };
  /** The scanner as the demo restarts it after a SIGKILL: with the attempt its predecessor had in flight. */
  const restart = (clientId: string): Child => {
    const args = {
      name: 'scanner', log, lock: path.join(dir, 'trades', 'trade.lock'), capital: 5000, seed: 42, t0: Date.now(),
      generation: 2, startAt: Date.now() + 600_000, resume: { client_id: clientId, input },
    };
    const c = spawnNode(SCANNER, [JSON.stringify(args)]);
    children.push(c);
    return c;
  };
  const said = (c: Child) => c.lines.filter((l) => l.startsWith('[scanner] '));

  it('the open had landed: the retry returns the existing trade, same id, nothing written', async () => {
    writeLog(log, [tradeRecord('T006', { client_id: 'scan-1-7', setup_type: 'Breakout', grade: 'A' })]);
    const before = fs.readFileSync(log, 'utf8');
    const c = restart('scan-1-7');
    await until(() => said(c).length >= 2, 'two lines', c);
    expect(said(c)).toEqual([
      '[scanner] restarted: the interrupted open scan-1-7 had reached the log as T006; retrying it with the same client_id',
      '[scanner] retry of scan-1-7 returned the existing T006 BTC (same id, nothing written)',
    ]);
    expect(c.lines.join('\n')).not.toMatch(/opened T006/);
    expect(fs.readFileSync(log, 'utf8')).toBe(before);
  });

  it('the open had not landed: the retry opens it', async () => {
    writeLog(log, [tradeRecord('T001', { symbol: 'ETH' })]);
    const c = restart('scan-1-7');
    await until(() => said(c).length >= 2, 'two lines', c);
    expect(said(c)[0]).toBe('[scanner] restarted: the interrupted open scan-1-7 never reached the log; retrying it');
    expect(said(c)[1]).toMatch(/^\[scanner\] opened T002 BTC LONG @ 100\.00 \(Breakout A\)$/);
  });
});

describe('demo: its own temp folder does not stay behind', () => {
  /** Demo folders in the test's own temp dir (TMPDIR points the demo there). */
  const demoDirs = () => fs.readdirSync(dir).filter((n) => n.startsWith('trade-state-demo-'));
  const env = () => ({ TMPDIR: dir });

  it('removed at the end of a run, and said so; the JSON says kept: false', async () => {
    const r = await runNode(CLI, ['demo', '--short', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { dir: string; kept: boolean; report: string | null; verdict: string };
    expect(doc).toMatchObject({ kept: false, report: null, verdict: 'PASS' });
    expect(path.dirname(doc.dir)).toBe(dir);
    expect(fs.existsSync(doc.dir)).toBe(false);
    expect(demoDirs()).toEqual([]);
    expect(r.stderr).toContain(`  removed     ${doc.dir} (the demo's temp folder; --keep or --dir <folder> keeps it`);
    // the retry of a SIGKILLed open, when it had landed, is worded as what it is
    const landed = /had reached the log as (T\d+); retrying it with the same client_id/.exec(r.stderr);
    if (landed) expect(r.stderr).toMatch(new RegExp(`\\[scanner\\] retry of scan-1-\\d+ returned the existing ${landed[1]} `));
  });

  it('--keep keeps it, even when interrupted by Ctrl-C', async () => {
    const c = spawnNode(CLI, ['demo', '--seconds', '30', '--keep'], env());
    children.push(c);
    await until(() => c.lines.some((l) => l.includes('[demo] started monitor')), 'the bots to start', c);
    c.proc.kill('SIGINT');
    await c.exited;
    expect(c.lines.join('\n')).toContain('[demo] interrupted: finishing early');
    const kept = demoDirs();
    expect(kept).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, kept[0] as string, 'trades', 'trade_log.json'))).toBe(true);
    expect(c.lines.join('\n')).toContain(`  trade log   ${path.join(dir, kept[0] as string, 'trades', 'trade_log.json')}`);
  });

  it('a second Ctrl-C stops at once: children killed, folder removed, the process ends by SIGINT', async () => {
    const c = spawnNode(CLI, ['demo', '--seconds', '30'], env());
    children.push(c);
    await until(() => c.lines.some((l) => l.includes('[demo] started monitor')), 'the bots to start', c);
    const started = c.lines.find((l) => l.includes('[demo] started monitor')) ?? '';
    const pids = [...started.matchAll(/\(pids? ([\d, ]+)\)/g)].flatMap((m) => (m[1] as string).split(', ').map(Number));
    expect(pids).toHaveLength(5);
    expect(demoDirs()).toHaveLength(1);
    c.proc.kill('SIGINT');
    await until(() => c.lines.some((l) => l.includes('interrupted')), 'the first interrupt', c);
    c.proc.kill('SIGINT');
    const { signal } = await c.exited;
    expect(signal).toBe('SIGINT');
    expect(demoDirs()).toEqual([]);
    await sleep(200);
    expect(pids.filter(running)).toEqual([]);
  });
});
