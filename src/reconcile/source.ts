/**
 * Where a reconciler (or a report) reads a trade log: every log, a JSON file (FileLogSource,
 * file-source.ts) as a database account (trade-state-engine/postgres's PostgresLogSource), is
 * read through this one interface, so a cycle has one path whatever holds the log. Defined here,
 * not in postgres/, so that reconcile/ never loads a database client: a bot using files only pays
 * for nothing.
 */
import type { SettingsFile } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import type { RulebookLook } from '../io/settings-file.js';

/** What a reader asks of one read. */
export interface SourceReadOptions {
  /** The reader wants SourceSnapshot.fingerprint with this read (a reconciler's first cycle). */
  fingerprint?: boolean;
}

/** One whole version of the log, as a source hands it over. */
export interface SourceSnapshot {
  /** The log, as a file store would hold it (frozen, or at least never mutated after this). */
  readonly log: TradeLog;
  /**
   * The log's version: changes with every write. Two reads of one version must give the same
   * trades; returning the very same `log` object for an unchanged version lets the reconciler
   * skip its history checks.
   */
  readonly version: number;
  /** The log's rulebook (what trade-state.json is beside a file log), checked; null: none, or unusable (see `rulebook`). */
  readonly settings: SettingsFile | null;
  /**
   * Optional: the rulebook as looked at, its problem included (a broken one is then `error`, and
   * `settings` null), the same object while it is unchanged. Without it, `settings` is taken as good.
   */
  readonly rulebook?: RulebookLook;
  /** Whether the log exists (a missing one reads as empty, as a missing file does). */
  readonly exists: boolean;
  /**
   * Optional, only when asked for (SourceReadOptions): the SHA-256 (hex) of the bytes `log` was
   * parsed from, or null when the source cannot be sure they are those bytes. Absent: the source
   * keeps no bytes, and the reader hashes the log as a file store would serialize it. The
   * reconciler's history file records it, so that a cold cycle on an unchanged log skips every digest.
   */
  readonly fingerprint?: string | null;
}

/** Stops a watch; resolves once nothing of it is left running (no timer, no connection). */
export interface SourceWatch {
  close(): Promise<void>;
}

export interface LogSource {
  /**
   * Names the log in messages and in the reconciler's history file (its `trade_log`), as a
   * file's path does. Must carry no password.
   */
  readonly name: string;
  /**
   * The log named without where it lives (no host, port or database), for what others may read: a
   * report names a database account by this unless asked for the connection. Default: `name`.
   */
  readonly label?: string;
  /**
   * The log now. Rejects when it cannot be read: with a TradeLogCorruptError when what holds the
   * log is damaged (the reconciler's cycle is then refused as LOG_CORRUPT), with anything else
   * when it cannot be reached (the cycle is then an error); the derived files are untouched either way.
   */
  read(options?: SourceReadOptions): Promise<SourceSnapshot>;
  /**
   * Watch mode: call `onChange` whenever the log may have changed (extra calls are harmless,
   * they are debounced); `onError` for problems the watch survives (it keeps trying).
   * Without it, a reconciler's watch mode has only its periodic cycles.
   */
  watch?(onChange: () => void, onError: (err: unknown) => void): SourceWatch;
  /** Releases what the source holds (connections). The source cannot be used afterwards. */
  close?(): Promise<void>;
}

/**
 * A snapshot's rulebook as a look (io/rulebook.ts): the source's own when it gives one, else one
 * made of the settings it hands over, the same object while they are the same object, so that
 * an unchanged rulebook is not resolved (or warned about) again.
 */
export class SnapshotRulebook {
  #last: { settings: SourceSnapshot['settings']; look: RulebookLook } | null = null;

  look(snapshot: SourceSnapshot): RulebookLook {
    if (snapshot.rulebook !== undefined) return snapshot.rulebook;
    const last = this.#last;
    if (last !== null && last.settings === snapshot.settings) return last.look;
    const settings = snapshot.settings;
    const look: RulebookLook = { version: settings === null ? 'null' : JSON.stringify(settings.given), file: settings, error: null };
    this.#last = { settings, look };
    return look;
  }
}

/** Checks that `source` has the shape of a LogSource (a name and read()); `field` names the option in the error. */
export function isLogSource(source: unknown): source is LogSource {
  return (
    source !== null &&
    typeof source === 'object' &&
    typeof (source as LogSource).read === 'function' &&
    typeof (source as LogSource).name === 'string'
  );
}
