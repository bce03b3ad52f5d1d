import fs from 'node:fs';

import { AbortError, LockTimeoutError } from '../errors.js';
import { addon } from '../native/addon.js';

/** How a kernel wait returns: an error, or 0 (granted, the path still names the file) or 2 (granted a file the path no longer names). */
export type KernelReturn = (err: NodeJS.ErrnoException | null, status: 0 | 2 | null) => void;

/**
 * The FileLock behind a request, as far as the queue drives it. FileLock makes
 * one per wait from closures over its private state, so the queue never
 * touches a FileLock and none of this shows on FileLock's public type.
 */
export interface Contender {
  /** The lock file's path, for the timeout error. */
  readonly path: string;
  /** Whether the wait is for a shared lock, for the self-deadlock guard of lockSync(). */
  readonly shared: boolean;
  /**
   * One try without waiting: true when granted. Throws what ends the wait.
   * When the lock file was replaced it reopens the path, so queue() changes.
   */
  tryNow(): boolean;
  /** The queue of the file the lock's descriptor is open on now. */
  queue(): WaitQueue;
  /** Starts a blocking flock of the lock's descriptor on an addon thread; returns the addon's unref(). */
  park(returned: KernelReturn): () => void;
  /**
   * Takes the kernel's answer to a wait still wanted: true when granted, false
   * when granted a file the path no longer names (let go: the next turn tries
   * what the path names now). Throws what ends the wait.
   */
  accept(err: NodeJS.ErrnoException | null, status: 0 | 2 | null): boolean;
  /** The wait was abandoned while parked: the lock forgets its descriptor and hands it over to the parked wait. */
  disown(): number;
  /** The wait ended, granted when `err` is undefined. Called once. */
  finished(err: unknown): void;
}

/**
 * One pending lock() call: its turn in a WaitQueue, its timer and its abort
 * listener. Only the queue that holds it changes its other fields.
 */
export class LockRequest {
  /** queued: waits for its turn; kernel: its queue's head, parked in the kernel; done: ended for the caller. */
  state: 'queued' | 'kernel' | 'done' = 'queued';
  /**
   * lock() has just tried, or found others of ours ahead, so the first turn
   * parks without a try of its own. Later turns (after the lock file was
   * replaced) try first.
   */
  skipTry = true;
  unref: (() => void) | null = null;
  /** The descriptor an abandoned kernel wait took over; released and closed when the kernel returns. */
  orphanFd = -1;
  readonly #timer: NodeJS.Timeout | null = null;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;

  constructor(
    readonly contender: Contender,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.#signal = signal;
    this.#onAbort = () => this.abandon(new AbortError(undefined, { cause: signal?.reason }));
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.#timer = setTimeout(() => this.abandon(new LockTimeoutError(contender.path, timeoutMs)), timeoutMs);
    }
  }

  settle(err: unknown): void {
    if (this.state === 'done') return;
    this.state = 'done';
    if (this.#timer) clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.contender.finished(err);
  }

  /**
   * Ends the wait for the caller. A kernel wait cannot be cancelled: a parked
   * one keeps the descriptor and releases whatever it is granted. The request
   * stays in its queue until it reaches the head.
   */
  abandon(err: unknown): void {
    if (this.state === 'done') return;
    if (this.state === 'kernel') {
      this.orphanFd = this.contender.disown();
      this.unref?.();
    }
    this.settle(err);
  }
}

/**
 * This thread's async waits for one lock file, in arrival order. Only the head
 * ever waits in the kernel, so a process parks at most one thread per file
 * however many tasks wait, and the others are served in FIFO order.
 */
export class WaitQueue {
  readonly #requests: LockRequest[] = [];
  /** A kernel wait (the head's, or an abandoned one still parked) is outstanding; nobody starts a second one until it returns. */
  #kernelBusy = false;
  /**
   * The mode of that outstanding kernel wait (true: shared), null when none.
   * Until its callback has run on the event loop, a grant it receives is
   * held by this thread and only the event loop can release it (abandoned)
   * or take it up (still wanted); see blocksSync().
   */
  #parkedShared: boolean | null = null;
  /** Called after every round, so that the registry can drop the file's record once nobody uses it. */
  readonly #prune: () => void;

  constructor(prune: () => void) {
    this.#prune = prune;
  }

  /** Nobody of this thread waits for the file, so a try cannot jump the queue. */
  get idle(): boolean {
    return this.#requests.length === 0 && !this.#kernelBusy;
  }

  enqueue(request: LockRequest): void {
    this.#requests.push(request);
    this.#pump();
  }

  /**
   * A blocking flock of this thread for the file, in this mode, could wait for
   * our own outstanding kernel wait: that wait may be granted the moment the
   * current holder lets go, and its grant is released (or handed to its
   * caller) only by a callback on the event loop, which the blocking call
   * keeps from running. So the thread would wait for itself forever. Two
   * shared locks do not conflict, so a shared wait never blocks a shared one.
   */
  blocksSync(shared: boolean): boolean {
    return this.#parkedShared !== null && !(this.#parkedShared && shared);
  }

  /** A lock of this thread on the file was released: the head may get it now. */
  released(): void {
    if (this.#requests.length > 0) this.#pump();
  }

  /**
   * Serves the queue: the head tries without waiting; if that fails it parks
   * in the kernel on a dedicated thread, and everyone behind it waits in
   * JavaScript. Runs again whenever a kernel wait returns or a lock of ours on
   * the file is released.
   */
  #pump(): void {
    while (!this.#kernelBusy && this.#requests.length > 0) {
      const request = this.#requests[0] as LockRequest;
      if (request.state === 'done') {
        this.#requests.shift();
        continue;
      }
      const { contender } = request;
      let granted = false;
      try {
        if (!request.skipTry) granted = contender.tryNow();
        request.skipTry = false;
      } catch (err) {
        this.#end(request, err);
        continue;
      }
      if (granted) {
        this.#end(request, undefined);
        continue;
      }
      const queue = contender.queue();
      if (queue !== this) {
        // The lock file was replaced: this request now queues for the new file.
        this.#requests.shift();
        queue.enqueue(request);
        continue;
      }
      this.#park(request);
    }
    this.#prune();
  }

  #park(request: LockRequest): void {
    this.#kernelBusy = true;
    this.#parkedShared = request.contender.shared;
    request.state = 'kernel';
    request.unref = request.contender.park((err, status) => {
      this.#kernelBusy = false;
      this.#parkedShared = null;
      if (request.state === 'kernel') {
        request.state = 'queued';
        let granted = false;
        try {
          granted = request.contender.accept(err, status);
        } catch (end) {
          this.#end(request, end);
        }
        if (granted) this.#end(request, undefined);
      } else {
        // Abandoned (timeout, abort, close): the caller has gone, so a lock
        // granted now must not outlive this moment.
        const fd = request.orphanFd;
        try {
          if (!err) addon.flock(fd, addon.LOCK_UN);
        } finally {
          fs.closeSync(fd);
        }
      }
      this.#pump();
    });
  }

  /** The head leaves the queue, granted when `err` is undefined. */
  #end(request: LockRequest, err: unknown): void {
    this.#requests.shift();
    request.settle(err);
  }
}
