/**
 * The settings in force for one store, kept up to date with its rulebook (the settings file
 * beside a file log, the settings column of a database account), in one place for both stores.
 *
 * A rulebook that changed is resolved again against the store's options (domain/settings.ts
 * resolveRules: the rulebook rules, options may only be stricter). A broken or conflicting one
 * refuses opens, but never a close, a partial close or a stop move — a rulebook edit must not
 * stop a position from being closed — so those go on with the last good settings and a warning,
 * once per distinct problem.
 */
import type { RiskConfig } from '../domain/risk.js';
import { resolveRules, type Settings, type SettingsFile, type SettingsInput } from '../domain/settings.js';
import { riskOf, settingOptions } from './operations.js';

const UNSET = Symbol('unset');

/** Reads a store's rulebook: its version (compared with ===) and how to load it, checked (null: none). */
export type RulebookRead = () => { version: unknown; load: () => SettingsFile | null };

export class RulesInForce {
  readonly #options: SettingsInput;
  /** Names the log in warnings: a path, or a database account. */
  readonly #where: string;
  /** The version of the rulebook the settings were resolved from (an object or a JSON text). */
  #from: unknown = UNSET;
  #settings: Readonly<Settings>;
  #risk: Readonly<RiskConfig>;
  #problem: string | null = null;

  /** Resolves the options alone at once: a bad option is refused before any rulebook is read. */
  constructor(options: SettingsInput, where: string) {
    this.#options = settingOptions(options);
    this.#where = where;
    this.#settings = resolveRules(this.#options, null).settings;
    this.#risk = riskOf(this.#settings);
  }

  get settings(): Readonly<Settings> {
    return this.#settings;
  }

  /** The four settings the open checks read. */
  get risk(): Readonly<RiskConfig> {
    return this.#risk;
  }

  /**
   * The settings in force again when the rulebook is another version than last time. `read`
   * gives its version (the same value: nothing to do) and how to load it, checked. Throws when it
   * cannot be read, is unusable, or an option is looser; the settings in force stay the last good ones.
   */
  apply(read: RulebookRead): void {
    const { version, load } = read();
    if (version === this.#from) return;
    const { settings } = resolveRules(this.#options, load());
    this.#settings = settings;
    this.#risk = riskOf(settings);
    this.#from = version;
  }

  /** apply() for the calls a rulebook problem must not stop (reads, closes, updates): a problem is a warning. */
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
      this.#problem = null;
      return null;
    } catch (error) {
      if (warn) this.warn(error);
      return { error };
    }
  }

  /** One process warning per distinct problem. */
  warn(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.#problem) return;
    this.#problem = message;
    process.emitWarning(`${message}; ${this.#where}: closes and updates go on with the last good settings, opens are refused`, {
      code: 'TSE_SETTINGS',
    });
  }
}
