import { createRequire } from 'node:module';

/** The typed surface of the C++ addon (native/binding.cc). Syscalls only. */
export interface Addon {
  /** true when granted; false when LOCK_NB met contention; throws other errors. */
  flock(fd: number, operation: number): boolean;
  /**
   * flock, then whether the path still names the file the descriptor was opened on. `identity`
   * is a Buffer: 16 bytes of dev and ino written by identity(), then the path, NUL-terminated.
   * 0 granted and named; 1 contended (LOCK_NB); 2 granted but the path names another file or none.
   */
  lockChecked(fd: number, operation: number, identity: Buffer): 0 | 1 | 2;
  /** fstat of an open descriptor: writes dev and ino into `identity` and returns "dev:ino". */
  identity(fd: number, identity: Buffer): string;
  /**
   * Blocks in flock(2) on a waiter thread (never the libuv threadpool), then checks the path as
   * lockChecked does. Returns unref(), to let the process exit while an abandoned wait is parked.
   */
  waitLock(
    fd: number,
    operation: number,
    identity: Buffer,
    callback: (err: NodeJS.ErrnoException | null, status: 0 | 2 | null) => void,
  ): () => void;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_UN: number;
  readonly LOCK_NB: number;
}

// dist/native/addon.js -> <package>/build/Release/tse_flock.node
const require = createRequire(import.meta.url);
/** Bytes before the path in an identity Buffer. */
export const IDENTITY_HEADER = 16;

export const addon: Addon = require('../../build/Release/tse_flock.node') as Addon;
