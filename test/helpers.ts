import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { linkTree, reachableByOthers } from '../src/demo/postgres/embedded.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/**
 * A fresh temp directory per test, removed by the caller's afterEach. Its real path: a store
 * resolves symlinks in its log's path (macOS's temp folder is under one, /var -> /private/var),
 * and tests compare the paths it writes to with the ones they built.
 */
export function tempDir(prefix = 'tse-'): string {
  return fs.realpathSync.native(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Every .ts file below `dir` (default src/), as absolute paths. */
export function sourceFiles(dir = path.join(ROOT, 'src')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

let traces = 0;

/**
 * Runs `node args…` with a loader hook (fixtures/load-trace.mjs) that writes down every module the
 * process loads; returns the run and those modules' URLs, in load order, Node's built-ins left out.
 */
export function tracedRun(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> & { modules: string[] } {
  const trace = path.join(os.tmpdir(), `tse-trace-${process.pid}-${++traces}.txt`);
  try {
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(FIXTURES, 'load-trace.mjs')).href, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env, TSE_LOAD_TRACE: trace },
    });
    const text = fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8') : '';
    return Object.assign(r, { modules: text.split('\n').filter((u) => u !== '' && !u.startsWith('node:')) });
  } finally {
    fs.rmSync(trace, { force: true });
  }
}

export interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line equal to `line`. */
  waitFor(line: string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  return wrap(proc);
}

export function wrap(proc: ChildProcess): Child {
  const lines: string[] = [];
  let err = '';
  const listeners = new Set<() => void>();
  let buf = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const l of listeners) l();
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      for (const l of listeners) l();
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(line, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (lines.includes(line)) {
            listeners.delete(check);
            clearTimeout(t);
            resolve();
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            listeners.delete(check);
            clearTimeout(t);
            reject(new Error(`child exited before printing ${line}; stdout=${lines.join('|')} stderr=${err}`));
          }
        };
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${line}; stdout=${lines.join('|')} stderr=${err}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` (a state, never a duration) every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await sleep(20);
  }
}

/** Runs a node script to completion and returns its output. */
export async function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const c = spawnNode(script, args, env);
  c.proc.stdin?.end();
  const r = await c.exited;
  return { ...r, stdout: c.lines.join('\n'), stderr: c.stderr() };
}

/**
 * A user's project with trade-state-engine installed without some of its optional peers: a copy of
 * the package (package.json, dist/, its addon build) in node_modules and the packages of `link`
 * (default: its dependencies) linked from ours, in a temp folder none of whose parents has a
 * node_modules that resolves one of `absent`. Returns the project folder; the caller removes its parent.
 */
export function userProject(prefix: string, absent: readonly string[], link?: readonly string[]): string {
  const resolvable = (dir: string, name: string): boolean => {
    try {
      createRequire(path.join(dir, 'x.js')).resolve(name);
      return true;
    } catch {
      return false;
    }
  };
  const base = [os.tmpdir(), '/var/tmp', os.homedir()].find((dir) => absent.every((name) => !resolvable(dir, name)));
  if (base === undefined) throw new Error(`no folder without a node_modules holding ${absent.join(', ')} above it`);
  const app = path.join(fs.realpathSync.native(fs.mkdtempSync(path.join(base, prefix))), 'app');
  const pkg = path.join(app, 'node_modules', 'trade-state-engine');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'bot', type: 'module', private: true }));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  // the addon as node-gyp-build finds it: a local build, or the prebuilt one after `npm run build:prebuild`
  for (const dir of ['build', 'prebuilds']) if (fs.existsSync(path.join(ROOT, dir))) fs.symlinkSync(path.join(ROOT, dir), path.join(pkg, dir));
  const deps = link ?? Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const dep of deps) {
    const target = path.join(app, 'node_modules', dep);
    fs.mkdirSync(path.dirname(target), { recursive: true }); // scoped packages (@scope/name)
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), target);
  }
  for (const name of absent) if (resolvable(app, name)) throw new Error(`${name} resolves from ${app}`);
  return app;
}

/**
 * Collects this process's real warnings with `code` (process.emitWarning, no spy) until stop().
 * Warnings are emitted on the next tick: let them land (a setImmediate) before counting.
 */
export function collectWarnings(code: string): { readonly messages: string[]; clear(): void; stop(): void } {
  const messages: string[] = [];
  const listen = (w: Error & { code?: string }): void => {
    if (w.code === code) messages.push(w.message);
  };
  process.on('warning', listen);
  return { messages, clear: () => void messages.splice(0), stop: () => void process.off('warning', listen) };
}

let reachable: string | undefined;

/**
 * This package's root as a user other than the owner reaches it: tests that run a child as
 * `nobody` (as root) import the built library from here. A clone inside a private folder (mode
 * 0700: /root, any `mktemp -d`) is out of that user's reach; then the package's runtime (package.json,
 * dist/, the addon, the runtime dependencies) is hard-linked once into a folder under the temp
 * folder that it can reach, removed when the process exits.
 */
export function rootForOtherUsers(): string {
  if (reachable !== undefined) return reachable;
  if (reachableByOthers(ROOT)) return (reachable = ROOT);
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-code-'));
  fs.chmodSync(copy, 0o755);
  process.once('exit', () => fs.rmSync(copy, { recursive: true, force: true }));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  for (const dir of ['dist', 'build', 'prebuilds']) if (fs.existsSync(path.join(ROOT, dir))) linkTree(path.join(ROOT, dir), path.join(copy, dir));
  // The runtime dependencies and theirs (npm's flat node_modules), not the dev tools.
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const dir = path.join(ROOT, 'node_modules', name);
    if (!fs.existsSync(dir)) return; // an optional one not installed
    seen.add(name);
    linkTree(dir, path.join(copy, 'node_modules', name));
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(own.dependencies ?? {})) visit(dep);
  return (reachable = copy);
}

/** The messages of this process's warnings with `code` given while `fn` ran (and the tick after, when they are emitted). */
export async function warningsDuring(code: string, fn: () => Promise<unknown>): Promise<string[]> {
  const w = collectWarnings(code);
  try {
    await fn();
    await sleep(10);
  } finally {
    w.stop();
  }
  return w.messages;
}
