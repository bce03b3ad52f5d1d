/**
 * The metrics tests' shared parts (test/metrics.test.ts on a file, test/metrics-pg.test.ts on
 * PostgreSQL): a registry per test with its handle stopped after it, the scripted run and what it
 * must count, the registry's values, status of the same log, a `trade-state metrics` child.
 */
import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import path from 'node:path';

import { Registry } from 'prom-client';
import { afterEach, expect, it } from 'vitest';

import type { TradeStore } from '../src/index.js';
import type { PostgresTradeStore } from '../src/postgres/index.js';
import { collectMetrics, METRIC_NAMES, type MetricsHandle } from '../src/prometheus/index.js';
import { ROOT, spawnNode, type Child } from './helpers.js';

export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

type AnyStore = TradeStore | PostgresTradeStore;

export type Seen = [string, Record<string, unknown>];

/** Records every event of a tracing channel (a copy of its context at that moment) until stop(). */
export function listen(name: string): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const channel = diagnostics.tracingChannel(name);
  const on = (event: string) => (m: unknown) => seen.push([event, { ...(m as Record<string, unknown>) }]);
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  channel.subscribe(handlers);
  return { seen, stop: () => channel.unsubscribe(handlers) };
}

export const handles: MetricsHandle[] = [];

/** Stops every handle made by collect() after each test (call once at the top of a test file). */
export function stopHandlesAfterEach(): void {
  afterEach(() => {
    for (const h of handles.splice(0)) h.stop();
  });
}

export function collect(stores: Parameters<typeof collectMetrics>[0] = {}): { registry: Registry; handle: MetricsHandle } {
  const registry = new Registry();
  const handle = collectMetrics({ registry, ...stores });
  handles.push(handle);
  return { registry, handle };
}

export const BTC = { symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 120, size: 1 };

/** Opens 2, refuses 2 (DUPLICATE_SYMBOL, POSITION_CAP: maxPositions is 2), fails 2 (bad input, unknown id), partially closes, updates and closes. */
export async function scriptedRun(store: TradeStore | PostgresTradeStore): Promise<void> {
  const btc = await store.openTrade(BTC);
  const eth = await store.openTrade({ ...BTC, symbol: 'ETH' });
  await expect(store.openTrade(BTC)).rejects.toMatchObject({ code: 'DUPLICATE_SYMBOL' });
  await expect(store.openTrade({ ...BTC, symbol: 'SOL' })).rejects.toMatchObject({ code: 'POSITION_CAP' });
  await expect(store.openTrade({ ...BTC, symbol: 'SOL', size: -1 })).rejects.toMatchObject({ code: 'EVALIDATION' });
  await expect(store.closeTrade('T999', { exit_price: 100 })).rejects.toMatchObject({ code: 'ETRADENOTFOUND' });
  await store.partialClose(btc.id, { fraction: 0.5, exit_price: 110 });
  await store.updateTrade(eth.id, { stop_price: 97 });
  await store.closeTrade(btc.id, { exit_price: 90 });
}

/** A metric's samples (histograms: _sum and _count), each keyed by its name and labels: 'name label=value ...'. */
export async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const out: Record<string, number> = {};
  for (const v of metric.values as { labels: Record<string, string | number>; value: number; metricName?: string }[]) {
    const key = [v.metricName ?? name, ...Object.entries(v.labels).filter(([k]) => k !== 'le').map(([k, x]) => `${k}=${x}`)].join(' ');
    if (!('le' in v.labels)) out[key] = v.value;
  }
  return out;
}

export function status(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [CLI, 'status', ...args, '--capital', '5000', '--max-positions', '2', '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** A `trade-state metrics --json --port 0` child and the URL it printed. */
export async function serve(args: string[]): Promise<{ child: Child; url: string }> {
  const child = spawnNode(CLI, ['metrics', ...args, '--port', '0', '--json']);
  for (let i = 0; i < 400 && child.lines.length === 0 && child.proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  const first = child.lines[0];
  if (first === undefined) throw new Error(`metrics printed nothing: ${child.stderr()}`);
  const line = JSON.parse(first) as { event: string; url: string };
  expect(line.event).toBe('listening');
  return { child, url: line.url };
}

/**
 * The scripted run's two tests on one backend: `make` a store (the suite's maxPositions is 2,
 * startingCapital 5000), `where` its CLI flags, `labels` its gauges' labels.
 */
export function scriptedRunTests(make: () => AnyStore, where: (s: AnyStore) => string[], labels: (s: AnyStore) => Record<string, string>): void {
  it('the registry counts every write, refusal and error of the run exactly; the gauges are what status says', async () => {
    const store = make();
    const { registry } = collect({ stores: [store] });
    await scriptedRun(store);

    expect(await values(registry, METRIC_NAMES.writes)).toEqual({
      'trade_state_writes_total operation=openTrade outcome=ok': 2,
      'trade_state_writes_total operation=openTrade outcome=rejected': 2,
      'trade_state_writes_total operation=openTrade outcome=error': 1,
      'trade_state_writes_total operation=closeTrade outcome=error': 1,
      'trade_state_writes_total operation=partialClose outcome=ok': 1,
      'trade_state_writes_total operation=updateTrade outcome=ok': 1,
      'trade_state_writes_total operation=closeTrade outcome=ok': 1,
    });
    expect(await values(registry, METRIC_NAMES.rejections)).toEqual({
      'trade_state_rejections_total code=DUPLICATE_SYMBOL': 1,
      'trade_state_rejections_total code=POSITION_CAP': 1,
    });
    // every call is timed; every call but the refused input waited for the lock (one group each: the calls are awaited in turn)
    expect(await values(registry, METRIC_NAMES.write)).toMatchObject({ trade_state_write_seconds_count: 9 });
    expect(await values(registry, METRIC_NAMES.lockWait)).toMatchObject({ trade_state_lock_wait_seconds_count: 8 });

    const s = status(where(store));
    const l = Object.entries(labels(store)).map(([k, v]) => `${k}=${v}`).join(' ');
    const gauges = {
      ...(await values(registry, METRIC_NAMES.openPositions)),
      ...(await values(registry, METRIC_NAMES.equity)),
      ...(await values(registry, METRIC_NAMES.drawdown)),
    };
    expect((s.positions as unknown[]).length).toBe(1);
    expect(s.drawdown_pct).toBeLessThan(0);
    expect(gauges).toEqual({
      [`trade_state_open_positions ${l}`]: (s.positions as unknown[]).length,
      [`trade_state_equity ${l}`]: s.equity,
      [`trade_state_drawdown_ratio ${l}`]: (s.drawdown_pct as number) / 100,
    });
  });

  it('trade-state metrics serves them over HTTP, read at each scrape, and stops on SIGTERM', async () => {
    const store = make();
    await store.openTrade(BTC);
    const { child, url } = await serve(where(store));
    try {
      expect(new URL(url).hostname).toBe('127.0.0.1');
      const l = Object.entries(labels(store)).map(([k, v]) => `${k}="${v}"`).join(',');
      const first = await fetch(url);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toContain('text/plain');
      expect(await first.text()).toContain(`trade_state_open_positions{${l}} 1\n`);
      await store.openTrade({ ...BTC, symbol: 'ETH' });
      expect(await (await fetch(url)).text()).toContain(`trade_state_open_positions{${l}} 2\n`);
      expect((await fetch(new URL('/', url))).status).toBe(404);
    } finally {
      child.proc.kill('SIGTERM');
    }
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(child.lines.at(-1) as string)).toEqual({ ok: true, command: 'metrics', event: 'stopped' });
  });
}
