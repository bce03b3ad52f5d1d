/**
 * What the one store publishes through node:diagnostics_channel, for both backends: a tracing
 * channel for each write call and one for each wait for the log's lock. OpenTelemetry and APM
 * agents subscribe to these; so does trade-state-engine/prometheus. When nobody subscribes, a call
 * pays one `hasSubscribers` look and nothing else (bench/metrics.js).
 */
import diagnostics from 'node:diagnostics_channel';

import { RiskRejectedError } from '../errors.js';

/**
 * The channels' names and their context fields, in one place (docs/observability.md). Each name is
 * a TracingChannel: subscribers get `tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd` and
 * `:error`, each with the same context object.
 */
export const DIAGNOSTICS_CHANNELS = {
  /** One write call (openTrade, closeTrade, partialClose, updateTrade, updateTradesBatch, adoptVenue, saveRaw), from the call to its settling. */
  write: 'trade-state-engine:write',
  /** One wait for the log's lock: the file's flock(2), or the account row's lock in PostgreSQL. */
  lockWait: 'trade-state-engine:lock-wait',
  /** The fields of a write's context: set at the start, except `outcome` and `code`, set before `asyncEnd` (and `error`). */
  writeFields: ['operation', 'backend', 'store', 'tradeLog', 'account', 'outcome', 'code'],
  /** The fields of a lock wait's context, all set at the start. */
  lockWaitFields: ['backend', 'store', 'tradeLog', 'account'],
} as const;

/** Where a store's log lives, as the channels name it: `store` is the backend's own name for it (a path, `postgres account "main"`). */
export type StoreIdentity =
  | { readonly backend: 'file'; readonly store: string; readonly tradeLog: string }
  | { readonly backend: 'postgres'; readonly store: string; readonly account: string };

/** How a write call ended: `rejected` is a refusal of the risk gateway (RiskRejectedError), `error` any other failure. */
export type WriteOutcome = 'ok' | 'rejected' | 'error';

/** The context object of the write channel. `result` or `error` are added by the TracingChannel itself. */
export type WriteContext = StoreIdentity & {
  readonly operation: string;
  outcome?: WriteOutcome;
  /** The error's stable code (a risk code for `rejected`); null for `ok` or an error without one. */
  code?: string | null;
  result?: unknown;
  error?: unknown;
};

/** The context object of the lock-wait channel (`error` added on a failed wait: a timeout, a dead connection). */
export type LockWaitContext = StoreIdentity & { result?: unknown; error?: unknown };

const writeChannel = diagnostics.tracingChannel<unknown, WriteContext>(DIAGNOSTICS_CHANNELS.write);
const lockWaitChannel = diagnostics.tracingChannel<unknown, LockWaitContext>(DIAGNOSTICS_CHANNELS.lockWait);

/** The outcome of a failed write call: a refusal of the risk gateway, or an error. */
export function outcomeOf(err: unknown): { outcome: WriteOutcome; code: string | null } {
  const code = (err as { code?: unknown } | null)?.code;
  return { outcome: err instanceof RiskRejectedError ? 'rejected' : 'error', code: typeof code === 'string' ? code : null };
}

/** Whether someone subscribes to the write channel: a store calls traceWrite only then. */
export function writesTraced(): boolean {
  return writeChannel.hasSubscribers;
}

/** Runs one write call, traced when someone subscribes to the write channel. */
export function traceWrite<T>(identity: () => StoreIdentity, operation: string, call: () => Promise<T>): Promise<T> {
  if (!writeChannel.hasSubscribers) return call();
  const context: WriteContext = { ...identity(), operation };
  return writeChannel.tracePromise(
    // Settled here first, so that `error` and `asyncEnd` subscribers see the outcome.
    () =>
      call().then(
        (value) => {
          context.outcome = 'ok';
          context.code = null;
          return value;
        },
        (err: unknown) => {
          Object.assign(context, outcomeOf(err));
          throw err;
        },
      ),
    context,
  );
}

/** Runs one lock wait, traced when someone subscribes to the lock-wait channel (never for a wait no store owns: undefined). */
export function traceLockWait<T>(identity: StoreIdentity | undefined, wait: () => Promise<T>): Promise<T> {
  if (identity === undefined || !lockWaitChannel.hasSubscribers) return wait();
  return lockWaitChannel.tracePromise(wait, { ...identity });
}
