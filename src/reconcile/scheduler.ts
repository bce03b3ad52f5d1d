/**
 * When the reconciler's cycles run: one at start, then every intervalMs and,
 * in watch mode, shortly after each change of the log (the source's own watch:
 * fs.watch and a stat poll for a file, LISTEN and a poll for a database), until
 * stop() or the signal aborts. Never two at once: a request that arrives while a cycle runs
 * asks for exactly one more after it. docs/reconciler.md, "Scheduling".
 */
import { ValidationError } from '../errors.js';
import type { SourceWatch } from './source.js';

/** What watch mode watches: the log's source's own watch (LogSource.watch, through watchOf). */
export type WatchTarget = (onChange: () => void, onError: (err: unknown) => void) => SourceWatch;

export interface ReconcilerStartOptions {
  /** Time between periodic cycles. Default 15 minutes; Infinity = none (watch only). */
  intervalMs?: number;
  /** Aborting it is stop(). */
  signal?: AbortSignal;
  /** Also reconcile shortly after each change of the log. Default false. */
  watch?: boolean;
  /** With watch: reconcile this long after the last change. Default 250. */
  debounceMs?: number;
}

const DEFAULT_INTERVAL_MS = 15 * 60_000;
const DEFAULT_DEBOUNCE_MS = 250;
/** setTimeout fires at once (with a warning) beyond this. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A steady stream of writes still gets a reconcile at least this often in watch mode. */
const MAX_WATCH_DELAY_MS = 1000;

export class Scheduler {
  readonly #target: WatchTarget;
  readonly #cycle: () => Promise<void>;
  readonly #report: (err: unknown) => void;
  #running = false;
  #loop: Promise<void> | null = null;
  #pending = false;
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #firstChange = 0;
  #debounceMs = DEFAULT_DEBOUNCE_MS;
  #watchWanted = false;
  /** The source's watch, kept until stop(): it recovers from its own failures (reconnects, retries). */
  #sourceWatch: SourceWatch | null = null;
  #abort: { signal: AbortSignal; listener: () => void } | null = null;

  /**
   * `target`: the source's watch function. `cycle`: one cycle; its rejection goes to `report`, as do the
   * watcher's errors. `report` must not throw.
   */
  constructor(target: WatchTarget, cycle: () => Promise<void>, report: (err: unknown) => void) {
    this.#target = target;
    this.#cycle = cycle;
    this.#report = report;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Runs a cycle now, then on the timer (and the watcher) until stop(). The
   * timers are not unref'd: a process whose job is to reconcile stays alive
   * for it. The caller refuses a start while running.
   */
  start(options: ReconcilerStartOptions = {}): void {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', options, 'must be an object');
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (typeof intervalMs !== 'number' || Number.isNaN(intervalMs) || intervalMs <= 0) {
      throw new ValidationError('intervalMs', intervalMs, 'must be a number > 0 (Infinity: no periodic cycle)');
    }
    const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (typeof debounceMs !== 'number' || !Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new ValidationError('debounceMs', debounceMs, 'must be a finite number >= 0');
    }
    const { signal } = options;
    if (signal !== undefined && (signal === null || typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
      throw new ValidationError('signal', signal, 'must be an AbortSignal');
    }
    if (signal?.aborted) return;

    this.#running = true;
    this.#debounceMs = debounceMs;
    this.#watchWanted = options.watch === true;
    if (signal !== undefined) {
      const listener = (): void => {
        this.stop().catch((err: unknown) => this.#report(err));
      };
      signal.addEventListener('abort', listener, { once: true });
      this.#abort = { signal, listener };
    }
    if (Number.isFinite(intervalMs)) this.#timer = setInterval(() => this.#trigger(), Math.min(intervalMs, MAX_TIMER_MS));
    if (this.#watchWanted) this.#startWatcher();
    this.#trigger();
  }

  /** Stops timers and the watcher, then waits for the cycle in flight (if any). No cycle starts after. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#pending = false;
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#timer = null;
    this.#debounce = null;
    const sourceWatch = this.#sourceWatch;
    this.#sourceWatch = null;
    if (this.#abort !== null) {
      this.#abort.signal.removeEventListener('abort', this.#abort.listener);
      this.#abort = null;
    }
    if (sourceWatch !== null) {
      try {
        await sourceWatch.close();
      } catch (err) {
        this.#report(err);
      }
    }
    await this.#loop;
  }

  /** Asks for a cycle: one starts now, or, if one is running, exactly one more runs after it. */
  #trigger(): void {
    if (!this.#running) return;
    if (this.#loop !== null) {
      this.#pending = true;
      return;
    }
    this.#loop = this.#runLoop();
  }

  async #runLoop(): Promise<void> {
    try {
      do {
        this.#pending = false;
        try {
          await this.#cycle();
        } catch (err) {
          this.#report(err);
        }
        if (this.#running && this.#watchWanted && this.#sourceWatch === null) this.#startWatcher();
      } while (this.#pending && this.#running);
    } finally {
      this.#loop = null;
    }
  }

  /** Starts the source's watch; one that throws is retried after the next cycle. */
  #startWatcher(): void {
    try {
      this.#sourceWatch = this.#target(
        () => this.#changed(),
        (err) => {
          if (this.#running) this.#report(err);
        },
      );
    } catch (err) {
      this.#report(err);
    }
  }

  /** Debounce: a cycle debounceMs after the last change, but no later than MAX_WATCH_DELAY_MS after the first. */
  #changed(): void {
    if (!this.#running) return;
    const now = Date.now();
    if (this.#debounce === null) this.#firstChange = now;
    else clearTimeout(this.#debounce);
    const due = Math.min(now + this.#debounceMs, this.#firstChange + Math.max(this.#debounceMs, MAX_WATCH_DELAY_MS));
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.#trigger();
    }, Math.max(0, due - now));
  }
}
