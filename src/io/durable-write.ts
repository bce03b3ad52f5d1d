import fs from 'node:fs';
import path from 'node:path';

import writeFileAtomic from 'write-file-atomic';

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the
 * old or the new content, and resolves only once the new content is durable:
 * temp file in the same directory, fsync, rename (write-file-atomic), then an
 * fsync of the directory so the rename itself survives a power cut.
 *
 * write-file-atomic issues a single write(2) and never checks its byte count:
 * on a full disk or under a file-size limit it would rename a torn file over
 * the target. Its tmpfileCreated hook runs before that write, so we write the
 * whole content there ourselves, looping until every byte landed or the
 * kernel's error (ENOSPC, EFBIG, EIO) surfaces and aborts before the rename.
 * Its own write then rewrites the same bytes over blocks that already exist,
 * which can neither run short nor change the content.
 */
export async function writeFileDurable(file: string, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  await writeFileAtomic(file, bytes, {
    fsync: true,
    tmpfileCreated: async (tmp: string) => {
      const fh = await fs.promises.open(tmp, 'r+');
      try {
        await fh.writeFile(bytes); // loops on short writes; rejects with the system error
        const { size } = await fh.stat();
        if (size !== bytes.length) {
          throw Object.assign(new Error(`EIO: short write, ${size} of ${bytes.length} bytes landed in ${tmp}`), {
            code: 'EIO',
            syscall: 'write',
            path: tmp,
          });
        }
      } finally {
        await fh.close();
      }
    },
  });
  await fsyncDirectory(path.dirname(file));
}

/** Makes a rename in `dir` durable. POSIX asks for this; ext4 mostly does it anyway, others do not. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** write-file-atomic's temp names: "<file>.<uint32 decimal>". */
export function isTempOf(file: string, candidate: string): boolean {
  const base = path.basename(file);
  return candidate.length > base.length + 1 && candidate.startsWith(`${base}.`) && /^\d{1,10}$/.test(candidate.slice(base.length + 1));
}

/**
 * Removes temp files of `file` left by a writer killed mid-write. Only safe
 * while holding the lock that every writer of `file` holds while writing.
 * Returns the names removed.
 */
export async function sweepTemps(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempOf(file, name)) continue;
    try {
      await fs.promises.unlink(path.join(dir, name));
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
