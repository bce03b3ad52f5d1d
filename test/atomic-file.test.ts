/**
 * The derived files' write path (io/atomic-file.ts): write-file-atomic with fsync on, every
 * byte written first by a checked loop in its tmpfileCreated hook, and the directory fsynced
 * after the rename. Short writes are reproduced for real, as for the log (store.test.ts):
 * `trap '' XFSZ; ulimit -f 16` in the shell that runs a child, so its first write(2) past
 * 16 KiB runs short and the next one fails with EFBIG.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { writeAtomicFile } from '../src/io/atomic-file.js';
import { DERIVED_FILES, StateReconciler } from '../src/index.js';
import { ROOT, rootForOtherUsers, tempDir } from './helpers.js';
import { logOf, tradeRecord } from './trades.js';

const DIST = path.join(ROOT, 'dist');
const AS_ROOT = process.getuid?.() === 0;
const STRACE = spawnSync('strace', ['-qq', '-e', 'trace=none', 'true']).status === 0;

let dir: string;
beforeEach(() => {
  dir = tempDir('tse-atomic-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs an ES module body in a child node under a 16 KiB file-size limit with SIGXFSZ ignored; returns its JSON line. */
function underFileLimit(body: string, ...args: string[]): Promise<{ code: number | null; out: Record<string, unknown> }> {
  const quoted = [body, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `trap '' XFSZ; ulimit -f 16; "${process.execPath}" --input-type=module -e ${quoted}`;
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      try {
        resolve({ code, out: JSON.parse(out) as Record<string, unknown> });
      } catch {
        reject(new Error(`child printed ${JSON.stringify(out)}; stderr ${err}`));
      }
    });
  });
}

/** Prints {ok} or the error's code, errno and syscall as one JSON line; exit 1 on error. */
const report = (call: string) => `
  try { await ${call}; console.log(JSON.stringify({ ok: true })); }
  catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })); process.exitCode = 1; }`;

/** Every name in `d` but the given ones: write-file-atomic's temp files are `<file>.<number>`. */
const others = (d: string, ...names: string[]) => fs.readdirSync(d).filter((n) => !names.includes(n));

describe('writeAtomicFile', () => {
  it('replaces the file whole and keeps its mode', async () => {
    const file = path.join(dir, 'portfolio.json');
    fs.writeFileSync(file, 'old');
    fs.chmodSync(file, 0o640);
    await writeAtomicFile(file, '{"new": true}\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"new": true}\n');
    expect((fs.statSync(file).mode & 0o7777).toString(8)).toBe('640');
    expect(others(dir, 'portfolio.json')).toEqual([]);
  });

  it.runIf(AS_ROOT)('rewrites a read-only file of a writer that is not root, keeping it read-only', async () => {
    // The temp file is created with the target's mode (0444): the pre-write must still get in.
    fs.chmodSync(dir, 0o755);
    const sub = path.join(dir, 'ro');
    fs.mkdirSync(sub);
    const file = path.join(sub, 'risk_state.json');
    fs.writeFileSync(file, 'old');
    fs.chmodSync(file, 0o444);
    fs.chownSync(sub, 65534, 65534);
    fs.chownSync(file, 65534, 65534);
    // The child runs as nobody: it imports the library where nobody can reach it.
    const body = `const { writeAtomicFile } = await import(${JSON.stringify(path.join(rootForOtherUsers(), 'dist', 'io', 'atomic-file.js'))});
      ${report(`writeAtomicFile(process.argv[1], '{"new": true}\\n')`)}`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', body, file], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toEqual({ ok: true });
    expect(fs.readFileSync(file, 'utf8')).toBe('{"new": true}\n');
    const st = fs.statSync(file);
    expect([(st.mode & 0o7777).toString(8), st.uid]).toEqual(['444', 65534]);
  });

  it('serializes writes of one file inside one process: the last call wins, whole', async () => {
    const file = path.join(dir, 'equity.json');
    const contents = Array.from({ length: 20 }, (_, i) => `${'x'.repeat(1000 * ((i * 7) % 13))}${i}\n`);
    await Promise.all(contents.map((c) => writeAtomicFile(file, c)));
    expect(fs.readFileSync(file, 'utf8')).toBe(contents.at(-1));
    expect(others(dir, 'equity.json')).toEqual([]);
  });

  it('a short write under a file-size limit fails with the system error and leaves the file whole', async () => {
    const file = path.join(dir, 'setup_performance.json');
    const old = `${JSON.stringify({ kept: 'x'.repeat(1000) })}\n`;
    fs.writeFileSync(file, old);
    // The child runs as nobody: it imports the library where nobody can reach it.
    const body = `const { writeAtomicFile } = await import(${JSON.stringify(path.join(rootForOtherUsers(), 'dist', 'io', 'atomic-file.js'))});
      ${report(`writeAtomicFile(process.argv[1], Buffer.alloc(40_000, 'y'))`)}`;
    const r = await underFileLimit(body, file);
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 'EFBIG', syscall: 'write', errno: expect.any(Number) });
    expect(fs.readFileSync(file, 'utf8')).toBe(old);
    expect(others(dir, 'setup_performance.json')).toEqual([]); // its temp file was removed
  });

  it('leaves Node ignoring SIGXFSZ: after a derived write, a log write past the limit still fails with EFBIG, not a kill', async () => {
    // write-file-atomic's signal-exit would leave SIGXFSZ at its default (kill) after its first call.
    const logFile = path.join(dir, 'trade_log.json');
    fs.writeFileSync(logFile, `${JSON.stringify({ trades: [], next_id: 1, padding: 'p'.repeat(15_000) })}\n`);
    const before = fs.readFileSync(logFile);
    const body = `const { StateReconciler, TradeStore } = await import(${JSON.stringify(path.join(DIST, 'index.js'))});
      const r = await new StateReconciler({ tradeLog: process.argv[1], outputDir: process.argv[2] }).reconcile();
      if (!r.ok) throw new Error(r.message);
      const store = new TradeStore({ tradeLog: process.argv[1] });
      ${report(`store.openTrade({ symbol: 'X', direction: 'LONG', entry_price: 10, stop_price: 9, target_price: 12, size: 1, notes: 'n'.repeat(4000) })`)}`;
    const r = await underFileLimit(body, logFile, path.join(dir, 'state'));
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 'EFBIG', syscall: 'write' });
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
  });

  it.runIf(STRACE)('fsyncs the temp file, renames, then fsyncs the directory (strace of a real run)', async () => {
    const file = path.join(dir, 'risk_state.json');
    const trace = path.join(dir, 'trace.txt');
    // The child runs as nobody: it imports the library where nobody can reach it.
    const body = `const { writeAtomicFile } = await import(${JSON.stringify(path.join(rootForOtherUsers(), 'dist', 'io', 'atomic-file.js'))});
      await writeAtomicFile(process.argv[1], '{"a": 1}\\n');`;
    const r = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=openat,rename,renameat,renameat2,fsync', process.execPath, '--input-type=module', '-e', body, file]);
    expect(r.status).toBe(0);
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const q = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const tmpOpen = at(new RegExp(`openat\\(AT_FDCWD, "${q(file)}\\.\\d+", O_WRONLY\\|O_CLOEXEC\\)`)); // our pre-write's open
    const rename = at(new RegExp(`rename(at2?)?\\(.*"${q(file)}\\.\\d+".*"${q(file)}"`));
    const dirOpen = lines.findIndex((l, i) => i > rename && new RegExp(`openat\\(AT_FDCWD, "${q(dir)}", O_RDONLY`).test(l));
    const dirFd = /= (\d+)$/.exec(lines[dirOpen] ?? '')?.[1];
    const dirSync = lines.findIndex((l, i) => i > dirOpen && l.includes(`fsync(${dirFd})`));
    expect(tmpOpen).toBeGreaterThan(-1);
    expect(lines.slice(tmpOpen, rename).some((l) => /fsync\(\d+\)\s+= 0/.test(l))).toBe(true);
    expect(rename).toBeGreaterThan(tmpOpen);
    expect(dirOpen).toBeGreaterThan(rename);
    expect(dirSync).toBeGreaterThan(dirOpen);
  });
});

describe('the reconciler and the report write through it', () => {
  const log = () => path.join(dir, 'trade_log.json');
  const out = () => path.join(dir, 'state');
  /** Closed trades of 80 distinct setups: setup_performance.json outgrows 16 KiB, the other files do not. */
  const writeLog = () => {
    const trades = Array.from({ length: 80 }, (_, i) =>
      tradeRecord(`T${String(i + 1).padStart(3, '0')}`, {
        symbol: `S${i}`, status: 'CLOSED', exit_price: 110, pnl_usd: 10, pnl_pct: 10, r_multiple: 2,
        exit_time: '2026-03-02T10:00:00.000000+00:00', exit_reason: 'target', setup_type: `setup-number-${i}`,
      }),
    );
    fs.writeFileSync(log(), `${JSON.stringify(logOf(...trades), null, 2)}\n`);
  };

  it('a reconcile cycle under a file-size limit rejects with EFBIG and leaves the derived file whole', async () => {
    writeLog();
    const rec = new StateReconciler({ tradeLog: log(), outputDir: out() });
    expect((await rec.reconcile()).ok).toBe(true);
    const perf = path.join(out(), 'setup_performance.json');
    const before = fs.readFileSync(perf);
    expect(before.length).toBeGreaterThan(16 * 1024);
    fs.rmSync(perf); // a smaller old version, so that the limit bites on the rewrite
    fs.writeFileSync(perf, '{"old": true}\n');
    const body = `const { StateReconciler } = await import(${JSON.stringify(path.join(DIST, 'index.js'))});
      ${report(`new StateReconciler({ tradeLog: process.argv[1], outputDir: process.argv[2] }).reconcile()`)}`;
    const r = await underFileLimit(body, log(), out());
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 'EFBIG', syscall: 'write' });
    expect(fs.readFileSync(perf, 'utf8')).toBe('{"old": true}\n');
    expect(others(out(), ...DERIVED_FILES, '.reconciler-history.json')).toEqual([]);
  });

  it('the report page under a file-size limit: EFBIG, the old page whole', async () => {
    writeLog();
    const page = path.join(dir, 'report.html');
    fs.writeFileSync(page, '<p>old</p>\n');
    const body = `const { buildReport } = await import(${JSON.stringify(path.join(DIST, 'report', 'index.js'))});
      ${report(`buildReport({ tradeLog: process.argv[1], out: process.argv[2] })`)}`;
    const r = await underFileLimit(body, log(), page);
    expect(r.out).toMatchObject({ code: 'EFBIG', syscall: 'write' });
    expect(fs.readFileSync(page, 'utf8')).toBe('<p>old</p>\n');
    expect(others(dir, 'trade_log.json', 'report.html')).toEqual([]);
  });

  it.runIf(AS_ROOT)('keeps the mode, owner and group of each derived file and of the page', async () => {
    writeLog();
    const rec = new StateReconciler({ tradeLog: log(), outputDir: out() });
    await rec.reconcile();
    for (const [i, name] of DERIVED_FILES.entries()) {
      fs.chownSync(path.join(out(), name), 65534, 50 + i);
      fs.chmodSync(path.join(out(), name), 0o640);
    }
    const page = path.join(dir, 'report.html');
    fs.writeFileSync(page, 'old');
    fs.chownSync(page, 65534, 65534);
    fs.chmodSync(page, 0o664);
    fs.writeFileSync(log(), fs.readFileSync(log(), 'utf8').replace('"next_id": 81', '"next_id": 82')); // a new version to derive from
    expect((await rec.reconcile()).ok).toBe(true);
    for (const [i, name] of DERIVED_FILES.entries()) {
      const st = fs.statSync(path.join(out(), name));
      expect([name, (st.mode & 0o7777).toString(8), st.uid, st.gid]).toEqual([name, '640', 65534, 50 + i]);
    }
    const { buildReport } = await import('../src/report/index.js');
    await buildReport({ tradeLog: log(), out: page });
    const st = fs.statSync(page);
    expect([(st.mode & 0o7777).toString(8), st.uid, st.gid]).toEqual(['664', 65534, 65534]);
    expect(fs.readFileSync(page, 'utf8')).toMatch(/^<!DOCTYPE html>/i);
  });
});
