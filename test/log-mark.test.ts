/**
 * The note in the lock file (src/io/log-mark.ts): which version of the log a store last wrote, so
 * that a cold store's first write copies the file's own bytes instead of serializing the whole log
 * again — and only when the note names the very version read and its bytes look like ours.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { logMarkBytes, readLockNote, writeLogMark } from '../src/io/log-mark.js';
import { sameVersion, statVersionSync } from '../src/io/read-log.js';
import { FIXTURES, runNode, tempDir } from './helpers.js';
import { fileStores } from './stores.js';

type Log = { trades: Record<string, unknown>[]; next_id: number };

const OPEN = (symbol: string) => ({ symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1 });

let dir: string;
let file: string;
let lock: string;

beforeEach(() => {
  dir = tempDir('tse-mark-');
  file = path.join(dir, 'trade_log.json');
  lock = path.join(dir, 'trade.lock');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const stores = fileStores(() => ({ tradeLog: file, lockFile: lock, maxPositions: 100, startingCapital: 100_000 }));
const store = () => stores.store();

/** The version the note in the lock file names, or null. */
function note(): ReturnType<typeof readLockNote>['version'] {
  const fd = fs.openSync(lock, 'r');
  try {
    return readLockNote(fd).version;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a note naming the log file as it is now, as a store would after writing it. */
function vouchForFile(): void {
  const v = statVersionSync(file);
  if (v === null) throw new Error('no log');
  fs.writeFileSync(lock, logMarkBytes(v));
}

/** A log of three trades written by a store (so in its spelling), then the size of trade `at` set to 2 and spelled `2.0`. */
async function respelled(at: number): Promise<string> {
  const s = store();
  for (const sym of ['BTC', 'ETH', 'SOL']) await s.openTrade(OPEN(sym));
  s.close();
  const log = JSON.parse(fs.readFileSync(file, 'utf8')) as Log;
  (log.trades[at] as Record<string, unknown>).size = 2;
  const text = `${JSON.stringify(log, null, 2)}\n`;
  // Python's json.dump spells the float 2.0; the trade parses the same either way.
  const python = text.replace(/"size": 2,/, '"size": 2.0,');
  expect(python).toContain('"size": 2.0,');
  fs.writeFileSync(`${file}.tmp`, python);
  fs.renameSync(`${file}.tmp`, file);
  return python;
}

describe('the lock file\'s note of the version a store wrote', () => {
  it('names the version each write leaves, and only that', async () => {
    const s = store();
    await s.openTrade(OPEN('BTC'));
    const v = statVersionSync(file);
    expect(note()).toEqual({ dev: v?.dev, ino: v?.ino, size: v?.size, mtimeNs: v?.mtimeNs, ctimeNs: v?.ctimeNs });
    await s.openTrade(OPEN('ETH'));
    const w = statVersionSync(file);
    expect(sameVersion(v, w)).toBe(false);
    expect(sameVersion(note(), w)).toBe(true);
    expect(fs.readFileSync(lock, 'latin1')).toMatch(/^# trade-state-engine: .*\n\d+ \d+ \d+ \d+ \d+ *\n$/);
  });

  it('a cold store copies the bytes the note vouches for (the mechanism: a vouched spelling survives)', async () => {
    // A middle trade spelled another way, and a note naming that very file: the store takes the
    // file's bytes as its own and copies them. Without the note it would respell them (next test).
    await respelled(1);
    vouchForFile();
    await store().openTrade(OPEN('XRP'));
    const out = fs.readFileSync(file, 'utf8');
    expect(out).toContain('"size": 2.0,');
    expect((JSON.parse(out) as Log).trades.map((t) => t.symbol)).toEqual(['BTC', 'ETH', 'SOL', 'XRP']);
  });

  it('a note naming another version is ignored: the file was replaced since, or rewritten in place', async () => {
    for (const change of ['replaced', 'in place'] as const) {
      const python = await respelled(1);
      vouchForFile();
      if (change === 'replaced') {
        fs.writeFileSync(`${file}.tmp`, python); // the same bytes, a new inode
        fs.renameSync(`${file}.tmp`, file);
      } else {
        fs.writeFileSync(file, python); // the same bytes and inode, new mtime and ctime
      }
      await store().openTrade(OPEN('XRP'));
      const out = fs.readFileSync(file, 'utf8');
      expect(out, change).toBe(`${JSON.stringify(JSON.parse(out), null, 2)}\n`);
      expect(out, change).not.toContain('"size": 2.0');
      fs.rmSync(file);
      fs.rmSync(lock);
    }
  });

  it('a vouched file whose first or last trade is not spelled as ours is not taken as ours', async () => {
    for (const at of [0, 2]) {
      await respelled(at);
      vouchForFile();
      await store().openTrade(OPEN('XRP'));
      const out = fs.readFileSync(file, 'utf8');
      expect(out, `T00${at + 1}`).toBe(`${JSON.stringify(JSON.parse(out), null, 2)}\n`);
      fs.rmSync(file);
      fs.rmSync(lock);
    }
  });

  it('a missing, cut short or garbled note changes nothing but the cost; the next write leaves a whole one', async () => {
    const contents = ['', '# trade-state-engine: the log version it last wrote', logMarkBytes({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n }).toString('latin1').replace(/ 5 /, ' x ')];
    for (const c of contents) {
      await respelled(1);
      fs.writeFileSync(lock, c);
      await store().openTrade(OPEN('XRP'));
      const out = fs.readFileSync(file, 'utf8');
      expect(out).toBe(`${JSON.stringify(JSON.parse(out), null, 2)}\n`);
      expect(note()?.ino).toBe(statVersionSync(file)?.ino);
      fs.rmSync(file);
      fs.rmSync(lock);
    }
  });

  it('a note that cannot be written (the lock file open read-only) is not an error', () => {
    fs.writeFileSync(lock, '');
    const fd = fs.openSync(lock, 'r');
    try {
      expect(writeLogMark(fd, { dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n })).toBe(false);
      expect(readLockNote(fd)).toEqual({ version: null, writable: true });
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a lock file with anything else in it (a pid file, a note with more after it) is never written', async () => {
    const whole = logMarkBytes({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n });
    for (const content of [Buffer.from('4242\n'), Buffer.from('{"maxPositions": 3}\n'), Buffer.concat([whole, Buffer.from('x')])]) {
      fs.writeFileSync(lock, content);
      const s = store();
      await s.openTrade(OPEN('BTC'));
      await s.openTrade(OPEN('ETH'));
      s.close();
      expect(fs.readFileSync(lock)).toEqual(content);
      expect((JSON.parse(fs.readFileSync(file, 'utf8')) as Log).trades).toHaveLength(2);
      fs.rmSync(file);
    }
  });

  it('a note of ours cut short is written whole again', async () => {
    fs.writeFileSync(lock, logMarkBytes({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n }).subarray(0, 40));
    await store().openTrade(OPEN('BTC'));
    expect(sameVersion(note(), statVersionSync(file))).toBe(true);
  });

  it('across processes: a Node bot, then a Python writer (no note), then a cold Node bot: the last write is serializeLog\'s bytes', async () => {
    const child = path.join(FIXTURES, 'store-child.mjs');
    const first = await runNode(child, ['interop', file, lock, '2']);
    expect(first.code, first.stderr).toBe(0);
    const ours = note();
    expect(sameVersion(ours, statVersionSync(file))).toBe(true);
    const py = spawnSync('python3', [path.join(FIXTURES, 'py_writer.py'), file, lock, '2'], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    // Python replaced the file and left our note as it was. Its file may even have our old inode
    // number (ext4 hands a freed one out again at once): the times tell the versions apart.
    expect(sameVersion(statVersionSync(file), ours)).toBe(false);
    expect(note()).toEqual(ours);
    const second = await runNode(child, ['interop', file, lock, '1']);
    expect(second.code, second.stderr).toBe(0);
    const out = fs.readFileSync(file, 'utf8');
    expect(out).toBe(`${JSON.stringify(JSON.parse(out), null, 2)}\n`);
    expect(sameVersion(note(), statVersionSync(file))).toBe(true);
  });
});
