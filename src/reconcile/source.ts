/**
 * Where a reconciler (or a report) reads a trade log other than a JSON file: a database account,
 * say (trade-state-engine/postgres implements it as PostgresLogSource). Defined here, not there,
 * so that reconcile/ never loads a database client: a bot using files only pays for nothing.
 */
import type { SettingsFile } from '../domain/settings.js';
import type { TradeLog } from '../domain/types.js';
import type { RulebookLook } from '../io/settings-file.js';

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
  /** The log now. Rejects when it cannot be read (the cycle is then an error, files untouched). */
  read(): Promise<SourceSnapshot>;
  /**
   * Watch mode: call `onChange` whenever the log may have changed (extra calls are harmless,
   * they are debounced); `onError` for problems the watch survives (it keeps trying).
   * Without it, a reconciler's watch mode has only its periodic cycles.
   */
  watch?(onChange: () => void, onError: (err: unknown) => void): SourceWatch;
  /** Releases what the source holds (connections). The source cannot be used afterwards. */
  close?(): Promise<void>;
}
