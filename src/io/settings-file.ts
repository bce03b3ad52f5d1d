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
 * The settings file as last read, re-read only when its stat changed, so that a writer can look
 * at it under the lock of every write for the price of one stat(2). Size, mtime and ctime (with
 * the inode) change with any edit, in place or by rename; a failed read is not cached, so a
 * broken file is reported again on every look until it is fixed.
 */
export class SettingsFileCache {
  readonly file: string;
  #cached: { version: FileVersion; value: SettingsFile } | null = null;

  /** `file` is used as given: resolve it first if the working directory may change. */
  constructor(file: string) {
    this.file = file;
  }

  /** The file's checked contents now; null when there is none. The same object while the file is unchanged. */
  read(): SettingsFile | null {
    const c = this.#cached;
    if (c !== null && sameVersion(c.version, statVersionSync(this.file))) return c.value;
    this.#cached = null;
    // Version and bytes from one descriptor: a rename between a stat and a read cannot mix two files.
    const got = readLogBytes(this.file);
    if (got === null) return null;
    const value = parseSettingsFile(this.file, got.bytes);
    this.#cached = { version: got.version, value };
    return value;
  }
}

/** The text init writes: every setting, two-space indented, one key per line for a person to edit. */
export function serializeSettings(settings: Readonly<Settings>): string {
  return `${JSON.stringify(settings, null, 2)}\n`;
}
