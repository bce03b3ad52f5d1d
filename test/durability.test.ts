import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TradeStateError, type TradeLog } from '../src/index.js';
import { EIO, failCommits } from './commit-faults.js';
import { FIXTURES, sleep, spawnNode, tempDir } from './helpers.js';
import { fileStores } from './stores.js';

const CHILD = path.join(FIXTURES, 'durability-child.mjs');

let dir: string;
let logFile: string;
let lockFile: string;
const { store: mkStore } = fileStores(() => ({ tradeLog: logFile, lockFile, startingCapital: 100_000 }));
const readLog = (): TradeLog => JSON.parse(fs.readFileSync(logFile, 'utf8')) as TradeLog;
const btc = (extra: Record<string, unknown> = {}) => ({
  symbol: 'BTC', direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1, ...extra,
});
const eio = () => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5, syscall: 'fsync' });

type FsyncCb = (e: NodeJS.ErrnoException | null) => void;

/**
 * Replaces fs.fsync, which durable-write.ts's syncVersion looks up at each call (a write's own
 * fsyncs run in the addon's commit job: commit-faults.ts): records each fsync as 'file' or 'dir',
 * and fails the directory ones while `failDir()` says so.
 */
function watchFsync(failDir: () => boolean = () => false): { events: string[]; restore: () => void } {
  const real = fs.fsync;
  const events: string[] = [];
  (fs as { fsync: unknown }).fsync = (fd: number, cb: FsyncCb) => {
    const isDir = fs.fstatSync(fd).isDirectory();
    events.push(isDir ? 'dir' : 'file');
    if (isDir && failDir()) return process.nextTick(cb, eio());
    return real(fd, cb);
  };
  return { events, restore: () => ((fs as { fsync: unknown }).fsync = real) };
}

beforeEach(() => {
  dir = tempDir('tse-durability-');
  logFile = path.join(dir, 'trades', 'trade_log.json');
  lockFile = path.join(dir, 'trades', 'trade.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a call acknowledged without a write', () => {
  it('a client_id retry after its writer died between rename and directory fsync syncs the log and its directory first', async () => {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const child = spawnNode(CHILD, [logFile, lockFile, 'order-42']);
    try {
      // The rename happened once the log holds the open; the child's directory fsync never returns.
      while (!(fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('order-42'))) {
        if (child.proc.exitCode !== null) throw new Error(`child exited: ${child.stderr()}`);
        await sleep(2);
      }
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    expect(child.lines).toEqual([]); // never acknowledged
    const before = fs.readFileSync(logFile);
    const store = mkStore();
    const fsyncs = watchFsync();
    const t = await store
      .openTrade(btc({ client_id: 'order-42' }))
      .then((x) => (fsyncs.events.push('ack'), x))
      .finally(fsyncs.restore);
    expect(t.id).toBe('T001');
    // The version found is made durable before the acknowledgement; nothing is written.
    expect(fsyncs.events).toEqual(['file', 'dir', 'ack']);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    store.close();
  });

  it('a client_id retry rejects with the error of that sync; the refused calls of its group keep their own error', async () => {
    const store = mkStore();
    const first = await store.openTrade(btc({ client_id: 'order-1' }));
    const before = fs.readFileSync(logFile);
    const fsyncs = watchFsync(() => true);
    let r;
    try {
      r = await Promise.all(
        [store.openTrade(btc({ client_id: 'order-1' })), store.closeTrade('T009', { exit_price: 1 })].map((p) =>
          p.then(() => 'ok', (e: { code?: string; syscall?: string }) => `${e.code}${e.syscall ? `/${e.syscall}` : ''}`),
        ),
      );
    } finally {
      fsyncs.restore();
    }
    expect(r).toEqual(['EIO/fsync', 'ETRADENOTFOUND']);
    expect(fs.readFileSync(logFile).equals(before)).toBe(true);
    // Once the disk answers again, the retry is acknowledged with the same trade.
    expect((await store.openTrade(btc({ client_id: 'order-1' }))).id).toBe(first.id);
    store.close();
  });
});

describe('a directory fsync failure after the rename', () => {
  it('rejects with EDURABILITY; the change is in the log exactly once and a re-read sees it', async () => {
    const store = mkStore();
    await store.openTrade(btc());
    const commits = failCommits(logFile, { dir: EIO });
    let err: unknown;
    try {
      await store.partialClose('T001', { fraction: 0.5, exit_price: 105 }).then(
        () => expect.unreachable('resolved'),
        (e: unknown) => (err = e),
      );
    } finally {
      commits.restore();
    }
    expect(err).toBeInstanceOf(TradeStateError);
    expect(err).toMatchObject({ code: 'EDURABILITY', name: 'DurabilityUnknownError', file: logFile, cause: { code: 'EIO', syscall: 'fsync' } });
    expect((err as Error).message).toMatch(/IS in .*power cut.*[Rr]e-read/s);
    expect(commits.calls()).toBe(1); // not retried: a second fsync could succeed with the data lost
    expect(fs.readdirSync(path.dirname(logFile)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const onDisk = readLog().trades[0];
    expect(onDisk?.partial_exits).toHaveLength(1);
    expect(onDisk?.size).toBe(0.5);
    // This store's reads see the renamed file, and so does a fresh one: the caller re-reads, sees
    // the partial close, and does not apply it a second time.
    const seen = await store.getTrade('T001');
    expect(seen.partial_exits).toHaveLength(1);
    expect(seen.size).toBe(0.5);
    const fresh = mkStore();
    expect((await fresh.getTrade('T001')).partial_exits).toHaveLength(1);
    // The next write builds on the new version.
    await store.partialClose('T001', { fraction: 0.5, exit_price: 106 });
    expect(readLog().trades[0]?.partial_exits).toHaveLength(2);
    store.close();
    fresh.close();
  });

  it('one failure is final, not retried (Linux reports a failed writeback once): EDURABILITY, change in the log', async () => {
    const store = mkStore();
    await store.openTrade(btc());
    // Only the first directory fsync fails: a retry inside the call would succeed, and must not happen.
    const commits = failCommits(logFile, { dir: EIO }, 1);
    try {
      await expect(store.updateTrade('T001', { notes: 'trailed' })).rejects.toMatchObject({ code: 'EDURABILITY' });
    } finally {
      commits.restore();
    }
    expect(commits.calls()).toBe(1);
    expect(readLog().trades[0]?.notes).toBe('trailed');
    store.close();
  });
});
