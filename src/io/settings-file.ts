/**
 * The log's settings file: trade-state.json in the log's directory, the rulebook every process on
 * that log resolves its settings against (domain/settings.ts: checkSettingsFile, resolveRules).
 * This module only finds, reads and parses it; what its contents mean is the domain's.
 */
import path from 'node:path';

import { checkSettingsFile, type Settings, type SettingsFile } from '../domain/settings.js';
import { SettingsFileError } from '../errors.js';
import { realLogPath } from './log-path.js';
import { readLogBytes, sameVersion, statVersionSync, type FileVersion } from './read-log.js';

/** The settings file's name, in the directory of the log it rules. */
export const SETTINGS_FILE = 'trade-state.json';

/**
 * Absolute path of the settings file of `tradeLog`: in the folder of the log's real path
 * (realLogPath), so that a log opened through a symlink has the rulebook of the folder it is in.
 */
export function settingsFileFor(tradeLog: string): string {
  return path.join(path.dirname(realLogPath(tradeLog)), SETTINGS_FILE);
}

/** Reads and checks a settings file; null when there is none. Throws SettingsFileError or ValidationError. */
export function readSettingsFile(file: string): SettingsFile | null {
  const got = readLogBytes(file);
  return got === null ? null : parseSettingsFile(file, got.bytes);
}

function parseSettingsFile(file: string, bytes: Buffer): SettingsFile {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    // An empty file lands here too: a rulebook cut short must not read as "no rules".
    throw new SettingsFileError(file, `it is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return checkSettingsFile(data, file);
}

/**
 * One look at a rulebook: its checked contents (null: none), or why they cannot be used. `version`
 * names this version of it (the file's identity and stat, or a database row's JSON text), so that
 * a problem is warned about once per version (io/rulebook.ts).
 */
export type RulebookLook =
  | { readonly version: string; readonly file: SettingsFile | null; readonly error: null }
  | { readonly version: string; readonly file: null; readonly error: Error };

const NO_FILE: RulebookLook = Object.freeze({ version: 'none', file: null, error: null });

/**
 * The settings file as last read, re-read only when its stat changed, so that a writer can look
 * at it under the lock of every write for the price of one stat(2). Size, mtime and ctime (with
 * the inode) change with any edit, in place or by rename. A broken version is kept too, as its
 * error: reported on every look until the file changes, without reading it again.
 */
export class SettingsFileCache {
  readonly file: string;
  /** The last look and the stat it was made at (null version: there was no file). */
  #cached: { version: FileVersion | null; look: RulebookLook } | null = null;

  /** `file` is used as given: resolve it first if the working directory may change. */
  constructor(file: string) {
    this.file = file;
  }

  /** The file's checked contents now; null when there is none. The same object while the file is unchanged. Throws its problem. */
  read(): SettingsFile | null {
    const look = this.look();
    if (look.error !== null) throw look.error;
    return look.file;
  }

  /** read() without the throw: the same object while the file is unchanged, whatever it holds. */
  look(): RulebookLook {
    const c = this.#cached;
    let got;
    try {
      if (c !== null && sameVersion(c.version, statVersionSync(this.file))) return c.look;
      this.#cached = null;
      // Version and bytes from one descriptor: a rename between a stat and a read cannot mix two files.
      got = readLogBytes(this.file);
    } catch (err) {
      // Unreadable (EACCES, EIO…) is a broken rulebook too: it must not keep a close from happening.
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      const error = new SettingsFileError(this.file, `it cannot be read (${code}: ${(err as Error).message})`, { cause: err });
      return { version: `unreadable ${code}`, file: null, error };
    }
    if (got === null) {
      // Remembered too: most logs have no settings file, and every write looks for it.
      this.#cached = { version: null, look: NO_FILE };
      return NO_FILE;
    }
    const v = got.version;
    const version = `${v.dev}:${v.ino}:${v.size}:${v.mtimeNs}:${v.ctimeNs}`;
    let look: RulebookLook;
    try {
      look = Object.freeze({ version, file: parseSettingsFile(this.file, got.bytes), error: null });
    } catch (err) {
      look = Object.freeze({ version, file: null, error: err as Error });
    }
    this.#cached = { version: v, look };
    return look;
  }
}

/** The text init writes: every setting, two-space indented, one key per line for a person to edit. */
export function serializeSettings(settings: Readonly<Settings>): string {
  return `${JSON.stringify(settings, null, 2)}\n`;
}
