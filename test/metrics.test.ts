/**
 * Issue 19, metrics: the store's diagnostics channels, trade-state-engine/prometheus and
 * `trade-state metrics`, on the file store (test/metrics-pg.test.ts: on PostgreSQL). A scripted run of known opens, refusals, errors and
 * closes, then the registry's values equal its counts exactly, and the gauges equal what
 * `trade-state status` says of the same log.
 */
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { TradeStore } from '../src/index.js';
import { collectMetrics, DIAGNOSTICS_CHANNELS, METRIC_NAMES, PROM_CLIENT_INSTALL, PROM_CLIENT_RANGE } from '../src/prometheus/index.js';
import { ROOT, runNode, spawnNode, tempDir, userProject } from './helpers.js';
import { BTC, CLI, collect, handles, listen, scriptedRunTests, stopHandlesAfterEach, values } from './metrics.js';
import { fileStores } from './stores.js';

const LOCK_CHILD = path.join(ROOT, 'test', 'fixtures', 'lock-child.mjs');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;

let dir: string;
beforeEach(() => {
  dir = tempDir('tse-metrics-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const files = fileStores(() => ({ tradeLog: path.join(dir, 'trade_log.json'), startingCapital: 5000, maxPositions: 2 }));
stopHandlesAfterEach();

describe('the package', () => {
  it('declares prom-client an optional peer (and a dev dependency) with the range the module is written for', () => {
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('prom-client');
    expect(pkg.peerDependencies?.['prom-client']).toBe(PROM_CLIENT_RANGE);
    expect(pkg.peerDependenciesMeta?.['prom-client']).toEqual({ optional: true });
    expect(pkg.devDependencies?.['prom-client']).toBe(PROM_CLIENT_RANGE);
    expect((pkg.exports as Record<string, unknown>)['./prometheus']).toEqual({ types: './dist/prometheus/index.d.ts', default: './dist/prometheus/index.js' });
  });
});

describe('a scripted run on the file store', () => {
  scriptedRunTests(
    () => files.store(),
    (s) => ['--log', (s as TradeStore).tradeLog],
    (s) => ({ backend: 'file', store: (s as TradeStore).tradeLog }),
  );
});

describe('the diagnostics channels', () => {
  it('publish start, end, asyncStart and asyncEnd of a write with its context, and error with the outcome and code of a refusal', async () => {
    const store = files.store();
    const w = listen(DIAGNOSTICS_CHANNELS.write);
    try {
      await store.openTrade(BTC);
      await expect(store.openTrade(BTC)).rejects.toMatchObject({ code: 'DUPLICATE_SYMBOL' });
    } finally {
      w.stop();
    }
    const id = { backend: 'file', store: store.tradeLog, tradeLog: store.tradeLog, operation: 'openTrade' };
    expect(w.seen.map(([e]) => e)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(w.seen[0]?.[1]).toEqual(id);
    expect(w.seen[3]?.[1]).toMatchObject({ ...id, outcome: 'ok', code: null, result: { id: 'T001', symbol: 'BTC' } });
    expect(w.seen[6]?.[1]).toMatchObject({ ...id, outcome: 'rejected', code: 'DUPLICATE_SYMBOL', error: { code: 'DUPLICATE_SYMBOL' } });
  });

  it('publish a lock wait, and its error when it times out (the write then fails with ELOCKTIMEOUT)', async () => {
    const store = files.store({ lockTimeoutMs: 50 });
    const lw = listen(DIAGNOSTICS_CHANNELS.lockWait);
    const w = listen(DIAGNOSTICS_CHANNELS.write);
    try {
      await store.openTrade(BTC);
      // another bot holds the lock
      const holder = spawnNode(LOCK_CHILD, ['hold', store.lockFile]);
      await holder.waitFor('locked');
      try {
        await expect(store.updateTrade('T001', { notes: 'x' })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
      } finally {
        holder.proc.stdin?.end();
        await holder.exited;
      }
    } finally {
      lw.stop();
      w.stop();
    }
    const id = { backend: 'file', store: store.tradeLog, tradeLog: store.tradeLog };
    expect(lw.seen.map(([e]) => e)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(lw.seen[0]?.[1]).toEqual(id);
    expect(lw.seen[6]?.[1]).toMatchObject({ ...id, error: { code: 'ELOCKTIMEOUT' } });
    expect(w.seen.at(-1)?.[1]).toMatchObject({ operation: 'updateTrade', outcome: 'error', code: 'ELOCKTIMEOUT' });
  });

  it('stop() leaves nobody subscribed: nothing is counted after it, and collectMetrics may run again on that registry', async () => {
    const store = files.store();
    const { registry, handle } = collect();
    await store.openTrade(BTC);
    handle.stop();
    handle.stop();
    expect(diagnostics.tracingChannel(DIAGNOSTICS_CHANNELS.write).hasSubscribers).toBe(false);
    expect(diagnostics.tracingChannel(DIAGNOSTICS_CHANNELS.lockWait).hasSubscribers).toBe(false);
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    await store.openTrade({ ...BTC, symbol: 'ETH' });
    const again = collectMetrics({ registry });
    handles.push(again);
    await store.closeTrade('T001', { exit_price: 101 });
    expect(await values(registry, METRIC_NAMES.writes)).toEqual({ 'trade_state_writes_total operation=closeTrade outcome=ok': 1 });
  });
});

describe('bad use of collectMetrics', () => {
  it('a second call on a registry that holds the metrics is refused with EMETRICSREGISTERED', () => {
    const { registry } = collect();
    expect(() => collectMetrics({ registry })).toThrow(expect.objectContaining({ code: 'EMETRICSREGISTERED', name: 'MetricsError' }));
    // a second registry is fine: each counts every write of the process
    collect();
  });

  it('refuses what is not a store or a registry, naming the field', () => {
    expect(() => collectMetrics({ stores: [{}] as never, registry: new Registry() })).toThrow(expect.objectContaining({ code: 'EVALIDATION', field: 'stores[0]' }));
    expect(() => collectMetrics({ stores: 'x' as never })).toThrow(expect.objectContaining({ code: 'EVALIDATION', field: 'stores' }));
    expect(() => collectMetrics({ registry: {} as never })).toThrow(expect.objectContaining({ code: 'EVALIDATION', field: 'registry' }));
  });
});

describe('trade-state metrics: bad use', () => {
  it('a port in use exits 1 with EMETRICSPORT naming the port', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const log = path.join(dir, 'trade_log.json');
      await files.store({ tradeLog: log }).openTrade(BTC);
      const text = await runNode(CLI, ['metrics', '--log', log, '--port', String(port)]);
      expect(text.code).toBe(1);
      expect(text.stderr).toContain(`trade-state: error (EMETRICSPORT): port ${port} on 127.0.0.1 is in use`);
      const json = await runNode(CLI, ['metrics', '--log', log, '--port', String(port), '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, command: 'metrics', error: { code: 'EMETRICSPORT', port, host: '127.0.0.1' } });
    } finally {
      busy.close();
    }
  });

  it('a port that is not one is invalid input naming --port', async () => {
    const r = await runNode(CLI, ['metrics', '--log', path.join(dir, 'trade_log.json'), '--allow-missing', '--port', '70000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(EVALIDATION)');
    expect(r.stderr).toContain('--port');
  });
});

describe('installed without prom-client', () => {
  const DEPS = Object.keys(pkg.dependencies ?? {});
  let app: string;
  beforeAll(() => {
    app = userProject('tse-noprom-', ['prom-client'], DEPS);
  });
  afterAll(() => fs.rmSync(path.dirname(app), { recursive: true, force: true }));

  it('the subpath imports; collectMetrics throws EPROMMISSING naming the install command, each time', async () => {
    fs.writeFileSync(
      path.join(app, 'bot.mjs'),
      `import { collectMetrics, PromClientMissingError } from 'trade-state-engine/prometheus';
for (let i = 0; i < 2; i++) {
  try { collectMetrics(); console.log('collected'); }
  catch (err) { console.log(JSON.stringify({ code: err.code, ours: err instanceof PromClientMissingError, install: err.install, message: err.message })); }
}
`,
    );
    const r = await runNode(path.join(app, 'bot.mjs'), []);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatchObject({ code: 'EPROMMISSING', ours: true, install: PROM_CLIENT_INSTALL });
      expect(l.message).toContain('npm install prom-client');
    }
  });

  it('trade-state metrics exits 1 with EPROMMISSING, before listening', async () => {
    const cli = path.join(app, 'node_modules', 'trade-state-engine', 'dist', 'cli', 'main.js');
    const r = await runNode(cli, ['metrics', '--log', path.join(app, 'trade_log.json'), '--allow-missing', '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(EPROMMISSING)`);
    expect(r.stderr).toContain(PROM_CLIENT_INSTALL);
  });
});
