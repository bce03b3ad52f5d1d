/**
 * Group commit, shared by both stores (TradeStore on a file, PostgresTradeStore on a database):
 * the write calls that arrive while one write of a store is in flight are applied together, in
 * arrival order, in the next one — one lock and one durable write (one fsync pair, or one
 * COMMIT) for the group. Each call keeps its own result or error: its step is pure, so a refused
 * call leaves the evolving log as it was and the next call sees every accepted call before it.
 */
import { AsyncResource } from 'node:async_hooks';

import { freezeAfter } from '../domain/freeze.js';
import type { TradeLog } from '../domain/types.js';

/** One queued write call: its pure step, its input (recorded by the database backend) and how to settle its caller. */
export interface PendingWrite {
  readonly operation: string;
  readonly fn: (log: TradeLog) => { log: TradeLog; result: unknown };
  /** 'strict' for a write that applies the settings (an open), which a broken or conflicting rulebook refuses. */
  readonly rules: 'strict' | 'lenient';
  readonly input: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** performance.now() at the call: its lock timeout counts from here. */
  readonly arrivedAt: number;
}

/** A call's outcome; an accepted call also carries the log it was given and the one it left. */
export type Outcome = { ok: true; value: unknown; before: TradeLog; after: TradeLog } | { ok: false; error: unknown };

/**
 * Applies each call of a group in turn to `before` (frozen), freezing each new log before the next
 * call reads it. `settingsError`: the rulebook could not be read; it refuses every strict call.
 */
export function applyGroup(
  before: TradeLog,
  group: readonly PendingWrite[],
  settingsError: { error: unknown } | null,
): { log: TradeLog; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  let log = before;
  for (const call of group) {
    try {
      if (settingsError !== null && call.rules === 'strict') throw settingsError.error;
      const next = call.fn(log);
      const after = freezeAfter(next.log, log);
      outcomes.push({ ok: true, value: next.result, before: log, after });
      log = after;
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return { log, outcomes };
}

/** Resolves or rejects each call of a group with its outcome. */
export function settleGroup(group: readonly PendingWrite[], outcomes: readonly Outcome[]): void {
  group.forEach((call, i) => {
    const o = outcomes[i] as Outcome;
    if (o.ok) call.resolve(o.value);
    else call.reject(o.error);
  });
}

/** The operations of the accepted calls, e.g. "openTrade+updateTrade", for the integrity report. */
export function doneOperations(group: readonly PendingWrite[], outcomes: readonly Outcome[]): string | null {
  const done = group.filter((_, i) => outcomes[i]?.ok === true).map((c) => c.operation);
  return done.length > 0 ? [...new Set(done)].join('+') : null;
}

/**
 * The queue of one store: calls wait in `pending`; one drain at a time calls `commitGroup` until
 * the queue is empty, so groups never overlap. `commitGroup` takes the calls it commits out of
 * `pending` itself (the file store takes them once it holds the lock, so that the calls that piled
 * up during the wait land in the same write) and settles every call it takes.
 */
export class WriteQueue {
  pending: PendingWrite[] = [];
  #draining = false;
  readonly #commitGroup: () => Promise<void>;
  /** The async context every drain runs in: a drain serves whoever queues, not the caller that started it. */
  readonly #scope: AsyncResource;

  constructor(commitGroup: () => Promise<void>, scope: AsyncResource = new AsyncResource('TradeStateDrain')) {
    this.#commitGroup = commitGroup;
    this.#scope = scope;
  }

  /** Queues a call; it settles once its group is decided. */
  push<T>(operation: string, input: unknown, fn: (log: TradeLog) => { log: TradeLog; result: T }, rules: 'strict' | 'lenient'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ operation, input, fn, rules, resolve: resolve as (value: unknown) => void, reject, arrivedAt: performance.now() });
      if (this.#draining) return;
      this.#draining = true;
      this.#scope.runInAsyncScope(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.#commitGroup();
    } catch (err) {
      // commitGroup settles its calls itself; this only guards against a bug leaving callers hanging.
      for (const call of this.pending.splice(0)) call.reject(err);
    } finally {
      this.#draining = false;
    }
  }
}
