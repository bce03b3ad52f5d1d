/**
 * A rewrite keeps the log's permissions: its mode always, its owner and group where the writer
 * may set them (an EPERM on chown is not an error). And a directory the writer may not create
 * the lock file in says EACCES naming the lock file. Real chmod/chown, real processes under
 * other users (these tests run as root here, and root ignores permissions: the children drop to
 * nobody through spawn's uid/gid, or setpriv when supplementary groups are needed).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TradeStore } from '../src/index.js';
import { ROOT, rootForOtherUsers, tempDir } from './helpers.js';

const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534; // nobody / nogroup
const STAFF = 50; // a group nobody is not in, but can be given through setpriv
const HAS_SETPRIV = fs.existsSync('/usr/bin/setpriv');
// As root, children run as nobody: they import the library where nobody can reach it.
const INDEX = path.join(AS_ROOT ? rootForOtherUsers() : ROOT, 'dist', 'index.js');

let dir: string;
let log: string;
beforeEach(() => {
  dir = tempDir('tse-perm-');
  fs.chmodSync(dir, 0o755); // mkdtemp makes it 0700: the children running as nobody must get in
  log = path.join(dir, 'trades', 'trade_log.json');
  fs.mkdirSync(path.dirname(log));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const nvda = { symbol: 'NVDA', direction: 'LONG' as const, entry_price: 120, stop_price: 110, target_price: 150, size: 1 };
const access = (file: string) => {
  const st = fs.statSync(file);
  return { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
};
const writeLog = () => fs.writeFileSync(log, '{"trades": [], "next_id": 1}\n');

/** One openTrade of NVDA on `log` in a child process; prints {ok} or {code, path, message}. */
const OPEN_ONE = `
  const { TradeStore } = await import(${JSON.stringify(INDEX)});
  const store = new TradeStore({ tradeLog: process.argv[1] });
  try {
    const t = await store.openTrade(${JSON.stringify(nvda)});
    console.log(JSON.stringify({ ok: t.id }));
  } catch (err) {
    console.log(JSON.stringify({ code: err.code, path: err.path ?? null, message: err.message }));
  }`;

function runChild(argv: string[], options: { uid?: number; gid?: number } = {}): Promise<{ code: number | null; out: unknown; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const p = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        resolve({ code, out: JSON.parse(out), stderr: err });
      } catch {
        reject(new Error(`child printed ${JSON.stringify(out)}; stderr ${err}`));
      }
    });
  });
}
const openAsNobody = () => runChild([process.execPath, '--input-type=module', '-e', OPEN_ONE, log], { uid: NOBODY, gid: NOBODY });

describe('the log keeps its mode, owner and group across rewrites', () => {
  it('keeps the mode of the file it replaces (0660, 0600), also when it changed between two writes of one store', async () => {
    writeLog();
    fs.chmodSync(log, 0o660);
    const store = new TradeStore({ tradeLog: log });
    await store.openTrade(nvda);
    expect(access(log).mode).toBe('660');
    // chmod behind the store's back: its cached version no longer matches (ctime), so it is seen.
    fs.chmodSync(log, 0o600);
    await store.updateTrade('T001', { notes: 'x' });
    expect(access(log).mode).toBe('600');
    await store.closeTrade('T001', { exit_price: 130 });
    expect(access(log).mode).toBe('600');
  });

  it('a new log gets the usual mode (0644 under umask 022), as before', async () => {
    await new TradeStore({ tradeLog: log }).openTrade(nvda);
    expect(access(log).mode).toBe((0o644 & ~process.umask()).toString(8));
  });

  it.runIf(AS_ROOT)('root keeps another user\'s and another group\'s file theirs (660 nobody:nogroup stays so)', async () => {
    writeLog();
    fs.chownSync(log, NOBODY, NOBODY);
    fs.chmodSync(log, 0o660);
    const store = new TradeStore({ tradeLog: log });
    await store.openTrade(nvda);
    expect(access(log)).toEqual({ mode: '660', uid: NOBODY, gid: NOBODY });
    fs.chownSync(log, 0, STAFF); // chown between writes of one store
    await store.updateTrade('T001', { stop_price: 115 });
    expect(access(log)).toEqual({ mode: '660', uid: 0, gid: STAFF });
  });

  it.runIf(AS_ROOT)('a writer that may not give the file away writes it as its own, keeping mode and group (EPERM is not an error)', async () => {
    // A group-shared log: root:nogroup 0660 in a root:nogroup 0770 directory; nobody is in nogroup.
    writeLog();
    fs.chownSync(log, 0, NOBODY);
    fs.chmodSync(log, 0o660);
    fs.chownSync(path.dirname(log), 0, NOBODY);
    fs.chmodSync(path.dirname(log), 0o770);
    const r = await openAsNobody();
    expect(r.out).toEqual({ ok: 'T001' });
    expect(access(log)).toEqual({ mode: '660', uid: NOBODY, gid: NOBODY });
  });

  it.runIf(AS_ROOT && HAS_SETPRIV)('such a writer keeps the group through a supplementary group it belongs to', async () => {
    // root:staff 0660; the writer is nobody:nogroup with staff as a supplementary group,
    // so its new file starts as nobody:nogroup, root may not be restored, staff may.
    writeLog();
    fs.chownSync(log, 0, STAFF);
    fs.chmodSync(log, 0o660);
    fs.chownSync(path.dirname(log), 0, STAFF);
    fs.chmodSync(path.dirname(log), 0o770);
    const r = await runChild([
      '/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${STAFF}`, '--',
      process.execPath, '--input-type=module', '-e', OPEN_ONE, log,
    ]);
    expect(r.out).toEqual({ ok: 'T001' });
    expect(access(log)).toEqual({ mode: '660', uid: NOBODY, gid: STAFF });
  });
});

describe.runIf(AS_ROOT)('a directory the writer may not create the lock file in', () => {
  it('fails with EACCES naming the lock file, not ENOENT; the log untouched', async () => {
    writeLog(); // root:root 0644 in a root 0755 directory: nobody may read it, not create trade.lock beside it
    const before = fs.readFileSync(log);
    const r = await openAsNobody();
    const lock = path.join(path.dirname(log), 'trade.lock');
    expect(r.out).toMatchObject({ code: 'EACCES', path: lock });
    expect((r.out as { message: string }).message).toContain(lock);
    expect(fs.readFileSync(log).equals(before)).toBe(true);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('with a lock file it may only read, it locks and then fails on the log directory, still EACCES', async () => {
    writeLog();
    fs.writeFileSync(path.join(path.dirname(log), 'trade.lock'), '');
    const r = await openAsNobody();
    expect(r.out).toMatchObject({ code: 'EACCES' });
    expect((r.out as { path: string }).path).toMatch(/trade_log\.json\.tse-\d+-\d+\.tmp$/);
  });
});
