/**
 * The settings in force for one process on one log, kept up to date with the log's rulebook (the
 * settings file beside a file log, the settings column of a database account): one home for the
 * stores, the reconciler and the report.
 *
 * A rulebook that changed is resolved again against the process's options (domain/settings.ts
 * resolveRules: the rulebook rules, options may only be stricter). A broken or conflicting one
 * refuses what must obey it (an open) but nothing else: a rulebook typo must never keep a
 * position from being closed. The rest goes on, and one process warning per version of the
 * rulebook says with what:
 *
 * - an option looser than the rulebook (SettingsConflictError): the rulebook's own settings, the
 *   process's options set aside. The rulebook is sound; the capital and limits that status, the
 *   derived files and the report show must be the log's, not a looser process's.
 * - a broken rulebook (unreadable, not JSON, an unknown key, a bad value): the last good settings,
 *   or in a process that never had any, the defaults and its options. There is no rulebook to
 *   follow then; guessing at what a broken one meant would be worse than saying so.
 */
import { resolveRules, type Settings, type SettingsFile, type SettingsInput } from '../domain/settings.js';
import { SettingsConflictError } from '../errors.js';
import type { RulebookLook } from './settings-file.js';

/** How to look at a rulebook now: a look the same object (===) while the rulebook is unchanged. */
export type RulebookRead = () => RulebookLook;

const UNSET = Symbol('unset');

/** The rulebook each warning was about, and what was said of its version: one warning per version and problem, per process. */
const warned = new Map<string, { version: string; said: Set<string> }>();

/** What a process goes on with while its rulebook cannot be applied (see the module comment). */
export type Fallback = 'rulebook' | 'last-good' | 'options';

const USING: Readonly<Record<Fallback, string>> = {
  rulebook: "the rulebook's own settings, this process's options set aside",
  'last-good': 'the settings in force before this version',
  options: "the defaults and this process's options, not the rulebook's settings",
};

/**
 * The process warning (code TSE_SETTINGS) for a rulebook problem, unless this process already gave
 * it for this version of the rulebook.
 */
export function warnRulebookProblem(error: unknown, version: string, fallback: Fallback, fallbackWhere: string): void {
  const message = error instanceof Error ? error.message : String(error);
  const where = (error as { file?: unknown } | null)?.file;
  const rulebook = typeof where === 'string' ? where : fallbackWhere;
  let seen = warned.get(rulebook);
  if (seen === undefined || seen.version !== version) {
    seen = { version, said: new Set() };
    warned.set(rulebook, seen);
  }
  if (seen.said.has(message)) return;
  seen.said.add(message);
  process.emitWarning(
    `${message}. Opens are refused until it is fixed; closes, partial closes, updates and reads go on with ${USING[fallback]}`,
    { code: 'TSE_SETTINGS' },
  );
}

export class Rulebook {
  readonly #options: SettingsInput;
  /** Names the log's rulebook in a warning whose error names none. */
  readonly #where: string;
  /** The look the settings were last resolved from, good or not. */
  #from: RulebookLook | typeof UNSET = UNSET;
  #settings: Readonly<Settings>;
  /** The last settings resolved without a problem (at first, the options alone) and whether a rulebook look gave them. */
  #good: Readonly<Settings>;
  #lastGood = false;
  #problem: { error: unknown; version: string; fallback: Fallback } | null = null;

  /** Resolves the options alone at once: a bad option is refused before any rulebook is read. */
  constructor(options: SettingsInput, where: string) {
    this.#options = options;
    this.#where = where;
    this.#settings = resolveRules(options, null).settings;
    this.#good = this.#settings;
  }

  get settings(): Readonly<Settings> {
    return this.#settings;
  }

  /** What the settings are while there is a problem (null: none). */
  get fallback(): Fallback | null {
    return this.#problem?.fallback ?? null;
  }

  /** Why the rulebook as last looked at cannot be applied (SettingsFileError, ValidationError, SettingsConflictError); null when it can. */
  get problem(): Error | null {
    return (this.#problem?.error as Error | undefined) ?? null;
  }

  /**
   * The settings in force again when the rulebook is another version than last time. Throws the
   * rulebook's problem (the same error while it is unchanged); the settings in force then stay
   * the last good ones.
   */
  apply(read: RulebookRead): void {
    const look = read();
    if (look !== this.#from) {
      this.#from = look;
      try {
        if (look.error !== null) throw look.error;
        this.#settings = resolveRules(this.#options, look.file).settings;
        this.#good = this.#settings;
        this.#lastGood = true;
        this.#problem = null;
      } catch (error) {
        if (error instanceof SettingsConflictError && look.file !== null) {
          this.#settings = look.file.settings;
          this.#problem = { error, version: look.version, fallback: 'rulebook' };
        } else {
          this.#settings = this.#good;
          this.#problem = { error, version: look.version, fallback: this.#lastGood ? 'last-good' : 'options' };
        }
      }
    }
    if (this.#problem !== null) throw this.#problem.error;
  }

  /** apply() for what a rulebook problem must not stop (reads, closes, updates, the reconciler, the report): a problem is a warning. */
  applyLeniently(read: RulebookRead): void {
    this.applyForGroup(read, true);
  }

  /**
   * apply() for a group of writes: returns the rulebook's problem, if any, which refuses every
   * strict call (an open); `warn` when lenient calls in the group go on regardless.
   */
  applyForGroup(read: RulebookRead, warn: boolean): { error: unknown } | null {
    try {
      this.apply(read);
      return null;
    } catch (error) {
      if (warn) this.warn(error);
      return { error };
    }
  }

  /** One process warning per version of the rulebook and problem. */
  warn(error: unknown): void {
    const p = this.#problem !== null && this.#problem.error === error ? this.#problem : null;
    warnRulebookProblem(error, p?.version ?? 'unknown', p?.fallback ?? (this.#lastGood ? 'last-good' : 'options'), this.#where);
  }
}

/** A rulebook kept as a value (a database row's JSON, a source's snapshot): one look per distinct text. */
export class RulebookValue {
  #last: RulebookLook | null = null;
  readonly #check: (raw: unknown) => SettingsFile;

  /** `check`: the raw value checked as a settings file is (domain/settings.ts checkSettingsFile). */
  constructor(check: (raw: unknown) => SettingsFile) {
    this.#check = check;
  }

  /** The look at `raw` (null or undefined: no rulebook); the same object while its JSON text is unchanged. */
  look(raw: unknown): RulebookLook {
    const version = raw === null || raw === undefined ? 'null' : JSON.stringify(raw);
    if (this.#last !== null && this.#last.version === version) return this.#last;
    let look: RulebookLook;
    if (version === 'null') look = Object.freeze({ version, file: null, error: null });
    else {
      try {
        look = Object.freeze({ version, file: this.#check(raw), error: null });
      } catch (err) {
        look = Object.freeze({ version, file: null, error: err as Error });
      }
    }
    this.#last = look;
    return look;
  }
}
