import { FileLock } from '../lock/file-lock.js';

/** The idle FileLock, closed when its keeper is garbage-collected: FileLock itself has no finalizer. */
interface Slot {
  lock: FileLock | null;
}
const slots = new FinalizationRegistry<Slot>((slot) => slot.lock?.close());

/**
 * The lock step's FileLock between writes. Keeping one unlocked FileLock
 * (its descriptor open) saves opening the lock file on every write; a write
 * that starts while another write of the same store has it gets a FileLock
 * of its own, closed after use.
 */
export class IdleLock {
  readonly #file: string;
  readonly #slot: Slot = { lock: null };

  constructor(file: string) {
    this.#file = file;
    slots.register(this, this.#slot);
  }

  /** A FileLock for one write: the idle one, or a new one. */
  take(): FileLock {
    const lock = this.#slot.lock ?? new FileLock(this.#file);
    this.#slot.lock = null;
    return lock;
  }

  /** Returns an unlocked FileLock after its write: kept when the slot is free, closed otherwise. */
  give(lock: FileLock): void {
    if (this.#slot.lock === null) this.#slot.lock = lock;
    else lock.close();
  }

  /** Closes the idle FileLock, if any; the next take() opens a new one. */
  close(): void {
    this.#slot.lock?.close();
    this.#slot.lock = null;
  }
}
