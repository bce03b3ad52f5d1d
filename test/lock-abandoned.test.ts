// A lock() wait abandoned (timeout, abort) while parked in the kernel keeps
// its descriptor until the kernel returns, and a grant it receives is released
// by a callback on the event loop. A lockSync() of the same thread in that
// window used to block in flock(2) forever: the event loop never ran, so the
// abandoned grant was never released. These tests run the scenario in a child
// process under a deadline, so that a regression shows as a failure, not as a
// hung test run.
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileLock } from '../src/index.js';
import { FIXTURES, type Child, sleep, spawnNode, tempDir } from './helpers.js';

const CHILD = path.join(FIXTURES, 'lock-child.mjs');
const ABANDON = path.join(FIXTURES, 'lock-abandon-child.mjs');

let dir: string;
let file: string;
let go: string;
const children: Child[] = [];
const open: FileLock[] = [];

beforeEach(() => {
  dir = tempDir('tse-lock-abandoned-');
  file = path.join(dir, 'trades.lock');
  go = path.join(dir, 'go');
});
afterEach(() => {
  for (const l of open.splice(0)) l.close();
  for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the child's exit, or with 'hung' after `ms` (and kills it). */
async function exitWithin(child: Child, ms: number): Promise<'hung' | { code: number | null }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  const r = await Promise.race([child.exited, deadline]);
  clearTimeout(timer);
  if (r === 'hung') child.proc.kill('SIGKILL');
  return r === 'hung' ? r : { code: r.code };
}

/**
 * Another process holds the file; the child's lock({ timeoutMs: 50 }) times
 * out parked in the kernel; the holder releases while the child's event loop
 * is busy, so the kernel grants the abandoned wait; then the child calls
 * lockSync() on a second FileLock for the same file.
 */
async function abandonThenLockSync(mode: 'exclusive' | 'shared'): Promise<{ outcome: 'hung' | { code: number | null }; lines: string[]; stderr: string }> {
  const holder = spawnNode(CHILD, ['hold', file]);
  children.push(holder);
  await holder.waitFor('locked');
  const victim = spawnNode(ABANDON, [file, go, ...(mode === 'shared' ? ['shared'] : [])]);
  children.push(victim);
  await victim.waitFor('a ELOCKTIMEOUT');
  holder.proc.stdin?.end();
  await holder.waitFor('released');
  // The waiter thread wakes at once; leave it time to be granted the lock.
  await sleep(100);
  fs.writeFileSync(go, '');
  const outcome = await exitWithin(victim, 5000);
  return { outcome, lines: victim.lines, stderr: victim.stderr() };
}

describe('lockSync after an abandoned parked lock() wait', () => {
  it('never hangs: it fails with ESELFDEADLOCK, and succeeds once the event loop has run', async () => {
    const r = await abandonThenLockSync('exclusive');
    expect(r.outcome, `stdout=${r.lines.join('|')} stderr=${r.stderr}`).toEqual({ code: 0 });
    expect(r.lines).toEqual(['a ELOCKTIMEOUT', 'b ESELFDEADLOCK', 'b locked after retry', 'done']);
  });

  it('a shared lockSync beside an abandoned shared wait does not conflict, so it just locks', async () => {
    const r = await abandonThenLockSync('shared');
    expect(r.outcome, `stdout=${r.lines.join('|')} stderr=${r.stderr}`).toEqual({ code: 0 });
    expect(r.lines).toEqual(['a ELOCKTIMEOUT', 'b locked', 'done']);
  });

  it('lockSync beside a lock() of this thread still parked in the kernel throws ESELFDEADLOCK too', async () => {
    // The same trap without a timeout: if the parked wait were granted first,
    // its grant would be taken up only on the event loop that lockSync blocks.
    // The holder lets go on its own after 1 s, not when told through our event
    // loop, so that a regression here cannot wait for the blocked thread.
    const holder = spawnNode(CHILD, ['hold', file, '1000']);
    children.push(holder);
    await holder.waitFor('locked');
    const a = new FileLock(file);
    const b = new FileLock(file);
    open.push(a, b);
    const p = a.lock({ timeoutMs: 10_000 });
    await sleep(100); // parked in the kernel
    expect(() => b.lockSync()).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK', name: 'SelfDeadlockError' }));
    expect(() => b.lockSync({ shared: true })).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK' }));
    expect(b.tryLock()).toBe(false); // tryLock never waits, so it stays allowed
    expect(b.held).toBe(false);
    await p;
    expect(a.held).toBe(true);
    // Nothing is parked any more: the guard is back to the holder check.
    expect(() => b.lockSync()).toThrow(expect.objectContaining({ code: 'ESELFDEADLOCK' }));
    a.unlock();
    b.lockSync();
    expect(b.held).toBe(true);
  });
});
