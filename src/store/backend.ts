/**
 * What a store needs from where its log lives: `Store` (store/store.ts) owns everything a write
 * call decides and every promise a caller holds; a backend only locks, reads and persists.
 *
 * Writing a backend (a third one, SQLite say, is this interface in one new file plus its tests):
 *
 * - `where` names the log in messages (`/srv/bot/trade_log.json`, `postgres account "main"`) and
 *   `context(operation)` is what the integrity handler is given besides the violations;
 *   `identity` is how the diagnostics channels name it (store/diagnostics.ts), and the lock step
 *   runs inside `traceLockWait(identity, ...)`.
 * - `read()` is the log as it is now, without the lock, with its rulebook: one whole version, never
 *   a half-written one (a file is replaced by rename; a database read is one statement). The log
 *   must be deep-frozen (domain/freeze.ts): its records are also the store's cache.
 * - `runGroup(wait, take, apply)` is one write: take the log's lock, waiting until `wait.until` (a
 *   performance.now() instant, Infinity: as long as it takes) and throwing LockTimeoutError after;
 *   then call `take()` for the calls to commit (taken once the lock is held, so that the calls that
 *   piled up during the wait land in this write; it may be called again, it returns the same
 *   calls); read the log and its rulebook under the lock; call `apply(before, rulebook)` (pure: the
 *   store runs every call's step); persist `log` when it is not `before`, durably, before
 *   returning (a database: the changed trades and one event per accepted call whose `after` is not
 *   its `before`, recording its `operation` and `input`); release the lock whatever happens.
 *   When the log did not change but a call was accepted (a client_id retry), make sure the version
 *   read is durable before returning. Return what `apply` returned (a backend may turn accepted
 *   outcomes into failures when it cannot vouch for them). An error thrown before `take()` fails the
 *   queued calls (a LockTimeoutError only those whose own deadline passed); after it, every taken
 *   call. An uncertain outcome (a connection lost during COMMIT) is the backend's to resolve:
 *   return once it is known to have landed, throw once it is known not to, or throw
 *   OutcomeUnknownError.
 * - `refuseCall(operation)`, optional, runs at the call, in the caller's async context: a call that
 *   could only wait for its own caller (the file store: inside a withLock() of its own lock file) is
 *   rejected at once and never queued.
 * - `refuseInput(input)`, optional, runs at the call too: an input this backend cannot store (PostgreSQL:
 *   NUL, a lone UTF-16 surrogate) refuses that call alone, in its group, after its step (so the
 *   step's own refusal comes first), as any refusal: not the whole group's write.
 * - `changes(options)` is what `store.watch()` reads (store/watch.ts): a feed whose `pull()` gives the
 *   events after the ones it gave last (at first: after the log as it is when `changes` is called, or
 *   after `since`, a backend's own cursor), in the log's order, never one twice; `onChange` is called
 *   whenever the log may have changed (extra calls are harmless), `onError` for problems the feed
 *   survives; `close()` (idempotent) ends every timer, watcher and connection it opened.
 * - `drainScope()`, optional, the async context every group runs in (the file store's is created
 *   outside every withLock(), so that the lock step never counts a caller's locks as its own).
 */
import type { AsyncResource } from 'node:async_hooks';

import type { TradeEvent } from '../domain/trade-events.js';
import type { TradeLog } from '../domain/types.js';
import { ValidationError } from '../errors.js';
import type { RulebookRead } from '../io/rulebook.js';
import type { StoreIdentity } from './diagnostics.js';
import type { Outcome } from './write-group.js';

/** The log as read, with its rulebook (RulebookRead: its version and contents, looked at when applied). */
export interface LogRead {
  readonly log: TradeLog;
  readonly rulebook: RulebookRead;
}

/** One call of a group as a backend sees it: what it is and its input (a database records both). */
export interface GroupCall {
  readonly operation: string;
  readonly input: unknown;
}

/** A group applied: the log after every accepted call, and each call's outcome in call order. */
export interface Applied {
  readonly log: TradeLog;
  readonly outcomes: Outcome[];
}

/** How long the lock step may wait: until `until` (performance.now() time), `timeoutMs` for messages. */
export interface LockWait {
  readonly until: number;
  readonly timeoutMs: number;
}

/** What store.watch() hands a backend's `changes` (checked by the store). */
export interface ChangeFeedOptions {
  readonly since: number | undefined;
  readonly pollMs: number | undefined;
  readonly onChange: () => void;
  readonly onError: (err: unknown) => void;
}

/** A backend's changes, pulled by store.watch(). */
export interface ChangeFeed {
  pull(): Promise<TradeEvent[]>;
  close(): Promise<void>;
}

export interface StoreBackend<Context> {
  readonly where: string;
  readonly identity: StoreIdentity;
  context(operation: string): Context;
  read(): Promise<LogRead>;
  runGroup(wait: LockWait, take: () => readonly GroupCall[], apply: (before: TradeLog, rulebook: RulebookRead) => Applied): Promise<Applied>;
  changes(options: ChangeFeedOptions): Promise<ChangeFeed>;
  refuseCall?(operation: string): Error | null;
  refuseInput?(input: unknown): Error | null;
  drainScope?(): AsyncResource;
}

/** The one check of a lockTimeoutMs option: a number >= 0; Infinity waits as long as it takes. */
export function lockTimeoutOption(value: unknown, fallback = 30_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new ValidationError('lockTimeoutMs', value, 'must be a number >= 0');
  return value;
}
