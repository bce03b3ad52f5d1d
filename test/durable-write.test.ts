/**
 * The log's durable write (io/durable-write.ts): the bytes written on the calling thread, then
 * fsync of the new file, rename over the log and fsync of the directory as one job of the addon
 * (commitReplace). What each failure means is in store.test.ts and durability.test.ts (injected
 * through commit-faults.ts); here, the job itself, on real syscalls.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { writeFileDurable, writeFileDurablePinned } from '../src/io/durable-write.js';
import { addon } from '../src/native/addon.js';
import { ROOT, tempDir } from './helpers.js';

const STRACE = process.platform === 'linux' && spawnSync('strace', ['-qq', '-e', 'trace=none', 'true']).status === 0;
const FD_DIR = '/proc/self/fd';

let dir: string;
beforeEach(() => {
  dir = tempDir('tse-durable-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const temps = () => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
const openFds = () => fs.readdirSync(FD_DIR).length;

describe('the commit job', () => {
  it.runIf(STRACE)('fsyncs the new file, renames it over the log, then opens and fsyncs the directory, all on one thread (strace of a real write)', () => {
    const log = path.join(dir, 'trade_log.json');
    const trace = path.join(dir, 'trace.txt');
    const body = `const { TradeStore } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const store = new TradeStore({ tradeLog: process.argv[1] });
      await store.openTrade({ symbol: 'BTC', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 });
      store.close();`;
    const r = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=openat,rename,renameat,renameat2,fsync', process.execPath, '--input-type=module', '-e', body, log]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const q = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const tid = (l: string | undefined) => /^(\d+)\s/.exec(l ?? '')?.[1];
    // Our temp file's open (O_EXCL), its descriptor, and what followed.
    const tmpOpen = lines.findIndex((l) => new RegExp(`openat\\(AT_FDCWD, "${q(log)}\\.tse-\\d+-\\d+\\.tmp", [^)]*O_EXCL`).test(l));
    const tmpFd = /= (\d+)$/.exec(lines[tmpOpen] ?? '')?.[1];
    const fsync = lines.findIndex((l, i) => i > tmpOpen && new RegExp(`fsync\\(${tmpFd}\\)\\s+= 0`).test(l));
    const rename = lines.findIndex((l, i) => i > fsync && new RegExp(`rename(at2?)?\\(.*"${q(log)}\\.tse-\\d+-\\d+\\.tmp".*"${q(log)}"`).test(l));
    const dirOpen = lines.findIndex((l, i) => i > rename && new RegExp(`openat\\(AT_FDCWD, "${q(dir)}", O_RDONLY[^)]*O_DIRECTORY`).test(l));
    const dirFd = /= (\d+)$/.exec(lines[dirOpen] ?? '')?.[1];
    const dirSync = lines.findIndex((l, i) => i > dirOpen && new RegExp(`fsync\\(${dirFd}\\)\\s+= 0`).test(l));
    expect([tmpOpen, fsync, rename, dirOpen, dirSync].every((i) => i >= 0), lines.join('\n')).toBe(true);
    // One job: the three steps ran on one thread, and not the one that opened the temp file.
    expect(new Set([fsync, rename, dirOpen, dirSync].map((i) => tid(lines[i])))).toEqual(new Set([tid(lines[fsync])]));
    expect(tid(lines[fsync])).not.toBe(tid(lines[tmpOpen]));
  });

  it('a real rename failure (the target is a directory) rejects with its system error, removes the temp file and changes nothing', async () => {
    const target = path.join(dir, 'trade_log.json');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'kept');
    const err = await writeFileDurable(target, '{}\n').then(
      () => expect.unreachable('resolved'),
      (e: NodeJS.ErrnoException & { dest?: string }) => e,
    );
    expect(err).toMatchObject({ code: 'EISDIR', syscall: 'rename', dest: target });
    expect(err.message).toMatch(/^EISDIR: .*, rename$/);
    expect(temps()).toEqual([]);
    expect(fs.readFileSync(path.join(target, 'inside'), 'utf8')).toBe('kept');
  });

  it.runIf(fs.existsSync(FD_DIR))('leaves no descriptor open, unless asked to pin the new version (then exactly one, of the new file)', async () => {
    const target = path.join(dir, 'trade_log.json');
    await writeFileDurable(target, 'warm-up\n'); // the addon and its first job
    const before = openFds();
    await writeFileDurable(target, 'one\n');
    expect(openFds()).toBe(before);
    const fd = await writeFileDurablePinned(target, [Buffer.from('two'), Buffer.from('\n')]);
    try {
      expect(openFds()).toBe(before + 1);
      expect(fs.fstatSync(fd).ino).toBe(fs.statSync(target).ino);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('two\n');
  });

  it('refuses bad arguments with a TypeError rather than queueing a job', () => {
    const call = addon.commitReplace as unknown as (...args: unknown[]) => void;
    expect(() => call(1, 'a', 'b', 'c', null)).toThrow(TypeError);
    expect(() => call(1, 'a', 'b', 'c', new Int32Array(2), () => {})).toThrow(/Int32Array\(3\)/);
    expect(() => call(1, 'a', 'b', 'c', [0, 0, -5], () => {})).toThrow(/Int32Array\(3\)/);
  });
});
