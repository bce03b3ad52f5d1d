export * from './errors.js';
export { FileLock, withLock, type LockOptions, type AsyncLockOptions } from './lock/file-lock.js';
