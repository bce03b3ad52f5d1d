/**
 * store.watch(): the loop over a backend's change feed (store/backend.ts `changes`), the same for
 * a file and a database. Pull, hand out every event, then sleep until the feed says the log may
 * have changed, the signal aborts or the store closes. A failed look is reported and retried
 * (back-off up to 5 s, and at every wake): the feed's cursor only moves on a look that succeeded,
 * so nothing is lost or repeated by a failure.
 */
import type { TradeEvent } from '../domain/trade-events.js';
import { StoreClosedError, ValidationError } from '../errors.js';
import type { ChangeFeed, StoreBackend } from './backend.js';

export interface WatchOptions {
  /** Ends the loop (it finishes without an error) and closes what the watch opened. */
  signal?: AbortSignal;
  /** PostgreSQL only: start after this event_seq (an event's `seq`) instead of now, e.g. a restarted bot's last one. */
  since?: number;
  /** How often the log is looked at besides the file watcher or LISTEN. Default: 2000 ms (file), 3000 ms (PostgreSQL). */
  pollMs?: number;
  /** Problems the watch survives (it keeps trying). Default: a process warning, TSE_WATCH (the same problem again in a row is not warned again). */
  onError?: (err: unknown) => void;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/** The watches of one store, ended by its close(). */
export class Watches {
  readonly #live = new Set<{ stop: AbortController; feed: Promise<ChangeFeed> }>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  start(backend: StoreBackend<unknown>, options: WatchOptions): AsyncIterableIterator<TradeEvent> {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    if (this.#closed) throw new StoreClosedError(backend.where, 'watch()');
    const { signal, since, pollMs } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ValidationError('signal', signal, 'must be an AbortSignal');
    if (since !== undefined && !(Number.isSafeInteger(since) && since >= 0)) throw new ValidationError('since', since, 'must be an integer >= 0');
    if (pollMs !== undefined && !(typeof pollMs === 'number' && pollMs > 0)) throw new ValidationError('pollMs', pollMs, 'must be a number > 0 (Infinity: never)');
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new ValidationError('onError', options.onError, 'must be a function');
    const report = options.onError ?? warnOncePerOutage(backend.where);
    const wake = new Wake();
    const stop = new AbortController();
    // Opened now, not at the first next(): the watch starts from the log as it is at the call.
    const feed = backend.changes({ since, pollMs, onChange: () => wake.ring(), onError: (err) => safely(report, err) });
    feed.catch(() => {}); // rejected at the first next(); unobserved if the loop is never run
    const entry = { stop, feed };
    this.#live.add(entry);
    const signals = signal === undefined ? [stop.signal] : [stop.signal, signal];
    const done = (): boolean => signals.some((s) => s.aborted);
    const live = this.#live;
    return (async function* events(): AsyncGenerator<TradeEvent> {
      try {
        const f = await feed;
        let delay = RETRY_MIN_MS;
        while (!done()) {
          wake.reset();
          let events: TradeEvent[];
          try {
            events = await f.pull();
            delay = RETRY_MIN_MS;
          } catch (err) {
            if (done()) break;
            safely(report, err);
            await wake.wait(signals, delay);
            delay = Math.min(delay * 2, RETRY_MAX_MS);
            continue;
          }
          for (const e of events) {
            if (done()) return;
            yield e;
          }
          await wake.wait(signals);
        }
      } finally {
        live.delete(entry);
        await feed.then((f) => f.close(), () => {});
      }
    })();
  }

  /** Refuses new watches and ends the running ones (their loops finish), closing what each opened. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#live];
    for (const w of all) w.stop.abort();
    await Promise.all(all.map((w) => w.feed.then((f) => f.close(), () => {})));
  }
}

/** A flag set by the feed, and a sleep that ends at once when it is set. */
class Wake {
  #rung = false;
  #wakeUp: (() => void) | null = null;

  ring(): void {
    this.#rung = true;
    this.#wakeUp?.();
  }

  reset(): void {
    this.#rung = false;
  }

  wait(signals: readonly AbortSignal[], ms?: number): Promise<void> {
    if (this.#rung || signals.some((s) => s.aborted)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = ms === undefined ? null : setTimeout(done, ms);
      function done(this: void): void {
        if (timer !== null) clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      }
      this.#wakeUp = () => {
        this.#wakeUp = null;
        done();
      };
      for (const s of signals) s.addEventListener('abort', done, { once: true });
    });
  }
}

function warnOncePerOutage(where: string): (err: unknown) => void {
  let last = '';
  return (err) => {
    const message = err instanceof Error ? err.message : String(err);
    if (message === last) return;
    last = message;
    process.emitWarning(`trade-state watch of ${where}: ${message} (still watching)`, { code: 'TSE_WATCH' });
  };
}

function safely(report: (err: unknown) => void, err: unknown): void {
  try {
    report(err);
  } catch {
    // a failing handler must not end the watch
  }
}
