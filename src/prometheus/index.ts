/**
 * trade-state-engine/prometheus: the store's diagnostics channels (store/diagnostics.ts) as
 * Prometheus metrics, and each store's book read at scrape time. prom-client is an optional peer
 * dependency, loaded on the first collectMetrics() call; this module's declarations never name its
 * types (test/public-types.test.ts), so a consumer without it still type-checks.
 */
import diagnostics from 'node:diagnostics_channel';
import { createRequire } from 'node:module';

import { deriveBook } from '../domain/derive/book.js';
import { equityOf } from '../domain/formulas.js';
import { round2 } from '../domain/round.js';
import { MetricsError, PromClientMissingError, ValidationError } from '../errors.js';
import { DIAGNOSTICS_CHANNELS, type LockWaitContext, type StoreIdentity, type WriteContext } from '../store/diagnostics.js';
import { identityOf, Store } from '../store/store.js';

export { DIAGNOSTICS_CHANNELS, type LockWaitContext, type StoreIdentity, type WriteContext, type WriteOutcome } from '../store/diagnostics.js';
export { MetricsError, PromClientMissingError } from '../errors.js';

type PromClient = typeof import('prom-client');

/**
 * The prom-client range this module is written for (package.json's peerDependencies, which a test
 * keeps equal to it). Typed wide: a declaration naming the package would read as reaching its types.
 */
export const PROM_CLIENT_RANGE: string = '^15.1.3';
/** The one command the missing-package error names. */
export const PROM_CLIENT_INSTALL: string = 'npm install prom-client@15';

/** Every metric collectMetrics() registers, by name. */
export const METRIC_NAMES = {
  writes: 'trade_state_writes_total',
  rejections: 'trade_state_rejections_total',
  lockWait: 'trade_state_lock_wait_seconds',
  write: 'trade_state_write_seconds',
  openPositions: 'trade_state_open_positions',
  equity: 'trade_state_equity',
  drawdown: 'trade_state_drawdown_ratio',
} as const;

/** Seconds: from a lock taken at once (well under a millisecond) to a wait near the default 30 s lockTimeoutMs. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A prom-client Registry, as far as this module uses one (structural: the public types never name
 * prom-client's). Pass `new Registry()` from the prom-client your application imports.
 */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** A TradeStore or a PostgresTradeStore (`any`: the two differ in their integrity handler's context, which is not read here). */
export type MetricsStore = Store<any>;

export interface CollectMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry (`register`). */
  registry?: MetricsRegistry;
  /** The stores whose open positions, equity and drawdown are read at each scrape. Default: none. */
  stores?: readonly MetricsStore[];
}

/** What collectMetrics() returns: the registry it used, and stop() (unsubscribes and removes its metrics from the registry; safe to call twice). */
export interface MetricsHandle {
  readonly registry: MetricsRegistry;
  stop(): void;
}

let promClient: PromClient | null = null;

/** prom-client, loaded once; PromClientMissingError when it is not installed (retried on the next call). */
function loadPromClient(): PromClient {
  if (promClient !== null) return promClient;
  try {
    promClient = createRequire(import.meta.url)('prom-client') as PromClient;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes("'prom-client'")) throw new PromClientMissingError(PROM_CLIENT_INSTALL, err);
    throw err;
  }
  return promClient;
}

/**
 * Registers the metrics on `registry` and subscribes to the store's diagnostics channels, for every
 * store of this process (the stores in `stores` are also read at scrape time):
 * - `trade_state_writes_total{operation,outcome}`: write calls by operation and outcome (`ok`,
 *   `rejected` by the risk gateway, `error`);
 * - `trade_state_rejections_total{code}`: the risk gateway's refusals by code;
 * - `trade_state_write_seconds`, `trade_state_lock_wait_seconds`: histograms of a write call (from
 *   the call to its settling) and of a wait for the log's lock;
 * - `trade_state_open_positions`, `trade_state_equity`, `trade_state_drawdown_ratio`
 *   `{backend,store}`: each store's book as `status` shows it.
 * A second call on a registry that holds these metrics is refused (EMETRICSREGISTERED).
 */
export function collectMetrics(options: CollectMetricsOptions = {}): MetricsHandle {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
  const stores = checkStores(options.stores);
  const client = loadPromClient();
  const registry = options.registry ?? (client.register as MetricsRegistry);
  checkRegistry(registry);
  const taken = Object.values(METRIC_NAMES).find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    throw new MetricsError(
      'EMETRICSREGISTERED',
      `collectMetrics() was already called on this registry (it holds ${taken}): stop() the first handle, or pass another registry`,
    );
  }
  const registers = [registry as unknown as InstanceType<PromClient['Registry']>];
  const writes = new client.Counter({ name: METRIC_NAMES.writes, help: 'Write calls of the trade stores, by operation and outcome (ok, rejected by the risk gateway, error).', labelNames: ['operation', 'outcome'], registers });
  const rejections = new client.Counter({ name: METRIC_NAMES.rejections, help: "Open calls refused by the risk gateway, by the gateway's code.", labelNames: ['code'], registers });
  const writeSeconds = new client.Histogram({ name: METRIC_NAMES.write, help: 'Seconds from a write call to its settling (the lock wait and the durable write included).', buckets: BUCKETS, registers });
  const lockWaitSeconds = new client.Histogram({ name: METRIC_NAMES.lockWait, help: "Seconds a write waited for the log's lock (flock(2), or the account row in PostgreSQL).", buckets: BUCKETS, registers });

  const books = new Books(stores);
  const labelNames = ['backend', 'store'] as const;
  const gauge = (name: string, help: string, pick: (b: BookSample) => number): void => {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const samples = await books.read();
        this.reset();
        for (const s of samples) this.set({ backend: s.backend, store: s.store }, pick(s));
      },
    });
  };
  gauge(METRIC_NAMES.openPositions, 'Open positions in the log, read at scrape time.', (b) => b.open);
  gauge(METRIC_NAMES.equity, 'Equity: starting capital plus realized P&L (as trade-state status), read at scrape time.', (b) => b.equity);
  gauge(METRIC_NAMES.drawdown, "Drawdown from the equity peak as a ratio (<= 0; status's drawdown_pct / 100), read at scrape time.", (b) => b.drawdown);

  const started = new WeakMap<object, number>();
  const start = (ctx: unknown): void => void started.set(ctx as object, performance.now());
  const seconds = (ctx: unknown): number | null => {
    const t = started.get(ctx as object);
    return t === undefined ? null : (performance.now() - t) / 1000;
  };
  // The types want every event's handler; these two are the ones used.
  const ignore = (): void => {};
  const writeHandlers = {
    start,
    end: ignore,
    asyncStart: ignore,
    error: ignore,
    asyncEnd(message: unknown) {
      const ctx = message as WriteContext;
      const s = seconds(ctx);
      if (s !== null) writeSeconds.observe(s);
      const outcome = ctx.outcome ?? 'error';
      writes.inc({ operation: ctx.operation, outcome });
      if (outcome === 'rejected') rejections.inc({ code: ctx.code ?? 'unknown' });
    },
  };
  const lockHandlers = {
    start,
    end: ignore,
    asyncStart: ignore,
    error: ignore,
    asyncEnd(message: unknown) {
      const s = seconds(message as LockWaitContext);
      if (s !== null) lockWaitSeconds.observe(s);
    },
  };
  const writeChannel = diagnostics.tracingChannel(DIAGNOSTICS_CHANNELS.write);
  const lockChannel = diagnostics.tracingChannel(DIAGNOSTICS_CHANNELS.lockWait);
  writeChannel.subscribe(writeHandlers);
  lockChannel.subscribe(lockHandlers);

  let stopped = false;
  return {
    registry,
    stop() {
      if (stopped) return;
      stopped = true;
      writeChannel.unsubscribe(writeHandlers);
      lockChannel.unsubscribe(lockHandlers);
      for (const name of Object.values(METRIC_NAMES)) registry.removeSingleMetric(name);
    },
  };
}

/** One store's figures at a scrape. */
interface BookSample {
  backend: string;
  store: string;
  open: number;
  equity: number;
  drawdown: number;
}

/**
 * The stores' books, read once per scrape: the three gauges' collect() share the read in flight.
 * A store that cannot be read (a damaged log, a server down) has no sample in that scrape; the
 * others still have theirs.
 */
class Books {
  readonly #stores: readonly MetricsStore[];
  #reading: Promise<BookSample[]> | null = null;

  constructor(stores: readonly MetricsStore[]) {
    this.#stores = stores;
  }

  read(): Promise<BookSample[]> {
    this.#reading ??= Promise.all(this.#stores.map((s) => sampleOf(s).catch(() => null))).then((all) => {
      this.#reading = null;
      return all.filter((s): s is BookSample => s !== null);
    });
    return this.#reading;
  }
}

async function sampleOf(store: MetricsStore): Promise<BookSample> {
  const trades = await store.getAllTrades();
  // After the read: it applied the log's rulebook to store.settings.
  const { startingCapital, drawdownLimits } = store.settings;
  const book = deriveBook({ trades }, { startingCapital, drawdownLimits, now: new Date() });
  const id: StoreIdentity = identityOf(store);
  return {
    backend: id.backend,
    store: id.backend === 'file' ? id.tradeLog : id.account,
    open: trades.filter((t) => t.status === 'OPEN').length,
    equity: round2(equityOf({ trades }, startingCapital)),
    drawdown: book.figures.drawdown_pct / 100,
  };
}

function checkStores(stores: unknown): readonly MetricsStore[] {
  if (stores === undefined) return [];
  if (!Array.isArray(stores)) throw new ValidationError('stores', stores, 'must be an array of stores (TradeStore, PostgresTradeStore)');
  stores.forEach((s, i) => {
    if (!(s instanceof Store)) throw new ValidationError(`stores[${i}]`, s, 'must be a TradeStore or a PostgresTradeStore');
  });
  return [...(stores as MetricsStore[])];
}

function checkRegistry(registry: unknown): void {
  const r = registry as Partial<Record<string, unknown>> | null;
  if (r === null || typeof r !== 'object' || typeof r.getSingleMetric !== 'function' || typeof r.removeSingleMetric !== 'function' || typeof r.metrics !== 'function') {
    throw new ValidationError('registry', registry, "must be a prom-client Registry (new Registry() from 'prom-client')");
  }
}
