/**
 * Our temp files: how durable writes name them, and the one sweep that
 * removes those a killed writer left behind. The log's writers go through
 * writeFileDurable, so one name format and one sweep cover them. The derived
 * files go through write-file-atomic (atomic-file.ts), whose temp names
 * (`<file>.<number>`) carry no pid: the reconciler's sweep still removes the
 * temp files earlier versions wrote there, and leaves those alone, since a
 * name like `equity.json.1` may as well be a user's copy.
 */
import fs from 'node:fs';
import path from 'node:path';

/** "<target>.tse-<pid>-<n>.tmp"; the target is greedy, so a temp of a name that itself looks like one still parses. */
const TEMP_NAME = /^(.+)\.tse-(\d+)-(\d+)\.tmp$/;
/** A temp file this old, of a process that is gone, is litter of a crash and not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

let counter = 0;

/** The temp name for the next write of `file`: unique per process and call, beside the target. */
export function tempNameFor(file: string): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${file}.tse-${process.pid}-${counter}.tmp`;
}

/** The target's base name and the writer's pid of one of our temp names; null for any other name. */
function parseTempName(name: string): { target: string; pid: number } | null {
  const m = TEMP_NAME.exec(name);
  return m === null ? null : { target: m[1] as string, pid: Number(m[2]) };
}

/**
 * What the caller knows about the writers of the targets:
 * - 'locked': it holds the lock every one of them holds while writing, so
 *   every temp file of a target is a dead writer's and goes;
 * - 'unlocked': writers may be at work, so only a temp file whose writer is
 *   provably gone goes (see isStale). Best effort: nothing here fails the caller.
 */
export type SweepMode = 'locked' | 'unlocked';

/**
 * Removes temp files of `targets` (base names in `dir`) left by writers
 * killed mid-write, never any other file. Returns the names removed.
 */
export function sweepTemps(dir: string, targets: readonly string[], mode: SweepMode): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (mode === 'unlocked' || (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (temp === null || !targets.includes(temp.target)) continue;
    const file = path.join(dir, name);
    if (mode === 'locked') fs.rmSync(file, { force: true });
    else if (!removeIfStale(file, temp.pid)) continue;
    removed.push(name);
  }
  return removed;
}

function removeIfStale(file: string, pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid === process.pid || isAlive(pid)) return false;
  try {
    // Age too: a pid in another pid namespace (a container sharing the volume) can look dead.
    if (Date.now() - fs.statSync(file).mtimeMs <= STALE_TEMP_MS) return false;
    fs.rmSync(file, { force: true });
    return true;
  } catch {
    return false; // gone already, or not ours to remove: litter, not a fault
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
