import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AddonLoadError } from '../errors.js';

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
  /**
   * The durable replace's last steps as one threadpool job (io/durable-write.ts): fsync of `fd` (the
   * new file, its bytes written), rename of `tmp` over `target`, open + fsync + close of `dir`.
   * Stops at the first failure: `stage` 0 done, else the step that failed (1 fsync, 2 rename,
   * 3 the directory's sync, after the rename) with its Node-shaped error. Never closes `fd`.
   * `faults` (tests only): per step, 0 to run the syscall, or -errno to report instead of running it.
   */
  commitReplace(
    fd: number,
    tmp: string,
    target: string,
    dir: string,
    faults: Int32Array | null,
    callback: (err: NodeJS.ErrnoException | null, stage: 0 | 1 | 2 | 3) => void,
  ): void;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_UN: number;
  readonly LOCK_NB: number;
}

// dist/native/addon.js -> the package root, two folders up (src/native/ in development)
const require = createRequire(import.meta.url);
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Bytes before the path in an identity Buffer. */
export const IDENTITY_HEADER = 16;

/**
 * Loads the addon through node-gyp-build: a local build/ (a source build, `npm rebuild`, development)
 * wins, then the prebuilt binary for this platform, arch and libc in prebuilds/. Nothing here
 * compiles; a miss becomes an AddonLoadError that says what was looked for and how to fix it.
 * @internal exported with a root argument for the tests
 */
export function loadAddon(root: string = PACKAGE_ROOT): Addon {
  let nodeGypBuild: (dir: string) => unknown;
  try {
    nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  } catch (cause) {
    throw loadError(root, cause);
  }
  try {
    return nodeGypBuild(root) as Addon;
  } catch (cause) {
    throw loadError(root, cause);
  }
}

function loadError(root: string, cause: unknown): AddonLoadError {
  // the same libc rule node-gyp-build applies, so "looked for" names what it really looked for
  const libc = process.platform === 'linux' ? ` (${process.env.LIBC ?? (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc')})` : '';
  return new AddonLoadError({
    wanted: `${process.platform}-${process.arch}${libc}`,
    runtime: `Node ${process.versions.node}, N-API ${process.versions.napi ?? '?'}`,
    found: binariesIn(root),
    reason: describeFailure(cause),
    cause,
  });
}

/** Every addon binary the package holds, relative to its root: what a user can compare against "wanted". */
function binariesIn(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory() && depth > 0) walk(full, depth - 1);
      else if (e.name.endsWith('.node')) found.push(path.relative(root, full));
    }
  };
  walk(path.join(root, 'prebuilds'), 1);
  walk(path.join(root, 'build', 'Release'), 0);
  return found.sort();
}

/** node-gyp-build's own message lists every tag; keep its first line, which is the useful one. */
function describeFailure(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('\n')[0]!.trim();
}

export const addon: Addon = loadAddon();
