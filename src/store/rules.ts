/**
 * The settings in force for one store (io/rulebook.ts: the rulebook applied strictly for opens,
 * leniently for everything else), with the four the open checks read.
 */
import type { RiskConfig } from '../domain/risk.js';
import type { Settings, SettingsInput } from '../domain/settings.js';
import { Rulebook } from '../io/rulebook.js';
import { riskOf, settingOptions } from './operations.js';

export type { RulebookRead } from '../io/rulebook.js';

export class RulesInForce extends Rulebook {
  #risk: { of: Readonly<Settings>; risk: Readonly<RiskConfig> } | null = null;

  /** Resolves the options alone at once: a bad option is refused before any rulebook is read. */
  constructor(options: SettingsInput, where: string) {
    super(settingOptions(options), where);
  }

  /** The four settings the open checks read. */
  get risk(): Readonly<RiskConfig> {
    const settings = this.settings;
    if (this.#risk?.of !== settings) this.#risk = { of: settings, risk: riskOf(settings) };
    return this.#risk.risk;
  }
}
