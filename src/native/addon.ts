import { createRequire } from 'node:module';

/** The typed surface of the C++ addon (native/binding.cc). Syscalls only. */
export interface Addon {
  /** true when granted; false when LOCK_NB met contention; throws other errors. */
  flock(fd: number, operation: number): boolean;
  /** 0 granted and still named by path; 1 contended; 2 granted but path names another file or none. */
  lockChecked(fd: number, operation: number, path: string): 0 | 1 | 2;
  /** "dev:ino" of an open descriptor. */
  identity(fd: number): string;
  /** Blocks in flock(2) on a dedicated thread; returns unref() to let the process exit meanwhile. */
  waitLock(fd: number, operation: number, callback: (err: NodeJS.ErrnoException | null) => void): () => void;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_UN: number;
  readonly LOCK_NB: number;
}

// dist/native/addon.js -> <package>/build/Release/tse_flock.node
const require = createRequire(import.meta.url);
export const addon: Addon = require('../../build/Release/tse_flock.node') as Addon;
