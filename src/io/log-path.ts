import fs from 'node:fs';
import path from 'node:path';

/** Symlinks followed at most, as the kernel's own limit (ELOOP): a cycle is not followed forever. */
const MAX_LINKS = 40;

/**
 * The real path of a trade log: absolute, every symlink resolved, the log's own included. The
 * files that belong to a log (its settings file, its default lock file, the temp files of its
 * durable writes) are found beside this path, not beside the path given: a store opened through
 * a symlink must obey the real folder's rulebook, lock the real folder's lock file, and replace
 * the real log (a rename onto the link would replace the link by a plain file, and the two
 * names would drift apart from the first write).
 *
 * A log that does not exist yet (nor its folder, maybe) is its nearest existing ancestor's real
 * path plus the rest of the path, so a new log created through a linked folder lands where later
 * opens will find it; a dangling symlink is followed to the file it names. When the path cannot
 * be resolved for another reason (EACCES, ELOOP...), the path is used as given (resolved): the
 * read or write that follows reports the problem, naming it.
 */
export function realLogPath(file: string): string {
  let abs = path.resolve(file);
  for (let links = 0; links <= MAX_LINKS; links++) {
    try {
      return fs.realpathSync.native(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return path.resolve(file);
    }
    let target: string | null = null;
    try {
      target = fs.readlinkSync(abs);
    } catch {
      // not a (dangling) symlink: the path names nothing yet
    }
    if (target === null) {
      const dir = path.dirname(abs);
      if (dir === abs) return path.resolve(file);
      return path.join(realLogPath(dir), path.basename(abs));
    }
    // Relative to the link's real folder, as the kernel reads it (a lexical '..' could differ).
    abs = path.resolve(realLogPath(path.dirname(abs)), target);
  }
  return path.resolve(file);
}

/** The default lock file's name: every writer of a log (Python writers too) locks the one beside it. */
export const LOCK_FILE = 'trade.lock';

/**
 * The lock file of the log at `realLog` (realLogPath's result): `given` resolved when one is given
 * (a lock knows its file by identity, not by path), else trade.lock beside the real log.
 */
export function lockFileFor(realLog: string, given?: string): string {
  return path.resolve(given ?? path.join(path.dirname(realLog), LOCK_FILE));
}
