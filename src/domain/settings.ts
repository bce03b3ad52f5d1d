/**
 * The rulebook of one log: every setting that the store enforces, the reconciler and the report
 * judge by, and the CLI shows — with its default and its validation, here and nowhere else.
 * TradeStore, StateReconciler, buildReport and the CLI all resolve their options through
 * resolveSettings(), so one bad value gets one error (ValidationError naming the field and value)
 * whichever door it came in by.
 *
 * A log may carry its rulebook beside it (trade-state.json, read by io/settings-file.ts): then
 * resolveRules() decides, for every process on that log, which value is in force. The rule is
 * pure and lives here, next to the settings it judges.
 */
import { SettingsConflictError, SettingsFileError, ValidationError } from '../errors.js';
import { instrumentKey } from './instrument.js';
import type { CorrelationGroups, DrawdownLimits } from './types.js';
import { isPlainObject } from './validate.js';

export interface Settings {
  /** Equity = starting capital + realized P&L; sizes the correlation limit and the drawdown halt. */
  startingCapital: number;
  /** Most OPEN trades at once. */
  maxPositions: number;
  /** Symbols whose initial risk is summed against maxCorrGroupRiskPct. */
  correlationGroups: CorrelationGroups;
  /** A correlation group's summed initial risk may not exceed this % of equity. */
  maxCorrGroupRiskPct: number;
  /** Refuse a symbol whose last N closed trades all had net P&L <= 0; 0 disables. */
  assetConsecutiveLossCap: number;
  /** Negative fractions of equity: the daily, weekly and total limits halt opens; warning only labels equity.json. */
  drawdownLimits: DrawdownLimits;
  /** Refuse opens with HALTED while a drawdown limit is breached. */
  haltOnDrawdown: boolean;
}

/** What a caller may pass: any subset, drawdown limits one by one. Other keys are ignored. */
export type SettingsInput = Partial<Omit<Settings, 'drawdownLimits'>> & { drawdownLimits?: Partial<DrawdownLimits> | undefined };

export const DEFAULT_CORRELATION_GROUPS: CorrelationGroups = Object.freeze({
  crypto_major: Object.freeze(['BTC', 'ETH']),
  crypto_alt: Object.freeze(['SOL', 'XRP']),
  tech_megacap: Object.freeze(['AAPL', 'MSFT', 'AMZN', 'META', 'NFLX']),
  tech_semi: Object.freeze(['NVDA', 'AMD']),
});

export const DEFAULT_DRAWDOWN_LIMITS: Readonly<DrawdownLimits> = Object.freeze({
  daily: -0.02,
  weekly: -0.1,
  total: -0.2,
  warning: -0.05,
});

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  startingCapital: 5000,
  maxPositions: 7,
  correlationGroups: DEFAULT_CORRELATION_GROUPS,
  maxCorrGroupRiskPct: 4.0,
  assetConsecutiveLossCap: 3,
  drawdownLimits: DEFAULT_DRAWDOWN_LIMITS,
  haltOnDrawdown: true,
});

export const SETTING_NAMES = Object.freeze(Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]);
const LIMIT_NAMES = ['daily', 'weekly', 'total', 'warning'] as const;

/** Where a value being checked was read from: a settings file is named in the error. */
type Source = { file: string } | undefined;

/**
 * Defaults filled in, every value checked; the result is frozen. `source` names the settings file
 * the input was read from, so that a bad value's ValidationError points at the file.
 */
export function resolveSettings(input: SettingsInput = {}, source?: { file: string }): Readonly<Settings> {
  if (!isPlainObject(input)) throw new ValidationError('options', input, 'must be an object', source);
  const pick = <K extends keyof Settings>(name: K): unknown => (input[name] === undefined ? DEFAULT_SETTINGS[name] : input[name]);
  return Object.freeze({
    startingCapital: resolveStartingCapital(input.startingCapital, source),
    maxPositions: integer('maxPositions', pick('maxPositions'), 1, 'must be a positive integer', source),
    correlationGroups: groups(pick('correlationGroups'), source),
    maxCorrGroupRiskPct: positive('maxCorrGroupRiskPct', pick('maxCorrGroupRiskPct'), source),
    assetConsecutiveLossCap: integer('assetConsecutiveLossCap', pick('assetConsecutiveLossCap'), 0, 'must be a non-negative integer (0 disables)', source),
    drawdownLimits: resolveDrawdownLimits(input.drawdownLimits, source),
    haltOnDrawdown: boolean('haltOnDrawdown', pick('haltOnDrawdown'), source),
  });
}

/** The starting capital alone (the reconciler and the report need no other money setting). */
export function resolveStartingCapital(value: unknown, source?: { file: string }): number {
  return positive('startingCapital', value === undefined ? DEFAULT_SETTINGS.startingCapital : value, source);
}

/**
 * Each limit a negative fraction above -1 (-0.02 = -2 %), the missing ones from the defaults.
 * 0 or more would halt on a flat day; -1 or less could never be reached. To stop halting
 * altogether, set haltOnDrawdown: false.
 */
export function resolveDrawdownLimits(partial: unknown, source?: { file: string }): Readonly<DrawdownLimits> {
  if (partial === undefined) return DEFAULT_DRAWDOWN_LIMITS;
  if (!isPlainObject(partial)) throw new ValidationError('drawdownLimits', partial, 'must be an object of daily, weekly, total, warning', source);
  const limits: DrawdownLimits = { ...DEFAULT_DRAWDOWN_LIMITS };
  for (const key of LIMIT_NAMES) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v >= 0 || v <= -1) {
      throw new ValidationError(`drawdownLimits.${key}`, v, 'must be a negative fraction above -1, e.g. -0.02 for -2 %', source);
    }
    limits[key] = v;
  }
  return Object.freeze(limits);
}

function positive(field: string, v: unknown, source: Source): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValidationError(field, v, 'must be a finite number > 0', source);
  return v;
}

function integer(field: string, v: unknown, min: number, problem: string, source: Source): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ValidationError(field, v, problem, source);
  return v;
}

function boolean(field: string, v: unknown, source: Source): boolean {
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'must be true or false', source);
  return v;
}

function groups(v: unknown, source: Source): CorrelationGroups {
  if (!isPlainObject(v)) throw new ValidationError('correlationGroups', v, 'must be an object of name -> symbols', source);
  for (const [name, symbols] of Object.entries(v)) {
    // A blank symbol has the instrument key "", which no trade can open on: a typo, not a member.
    if (!Array.isArray(symbols) || !symbols.every((s) => typeof s === 'string' && instrumentKey(s) !== '')) {
      throw new ValidationError(`correlationGroups.${name}`, symbols, 'must be an array of non-blank strings (symbols, any case)', source);
    }
  }
  return v as CorrelationGroups;
}

// ------------------------------------------------------------------ the log's settings file

/** A setting, or one drawdown limit: the grain at which resolveRules tells where a value came from. */
export type SettingPath = Exclude<keyof Settings, 'drawdownLimits'> | `drawdownLimits.${keyof DrawdownLimits}`;

export const SETTING_PATHS: readonly SettingPath[] = Object.freeze(
  SETTING_NAMES.flatMap((name): SettingPath[] => (name === 'drawdownLimits' ? LIMIT_NAMES.map((k) => `drawdownLimits.${k}` as const) : [name])),
);

/** Where the value in force came from: the process's own option, the log's settings file, or the default. */
export type SettingSource = { from: 'option' } | { from: 'file'; file: string } | { from: 'default' };

/** The contents of a log's settings file, checked. */
export interface SettingsFile {
  /** Absolute path of trade-state.json. */
  readonly file: string;
  /** The settings the file names, as it names them (drawdown limits one by one). */
  readonly given: Readonly<SettingsInput>;
  /** The same with the defaults filled in: the log's rulebook. */
  readonly settings: Readonly<Settings>;
}

/** The settings in force for one process on one log, and where each value came from. */
export interface Rules {
  readonly settings: Readonly<Settings>;
  readonly sources: Readonly<Record<SettingPath, SettingSource>>;
}

/**
 * Checks the parsed contents of a settings file. Unlike options, a file may hold only settings:
 * a key that is not one (maxPosition for maxPositions, dialy for daily) is refused, because
 * ignoring it would leave the default in force, possibly looser than what its author meant.
 */
export function checkSettingsFile(data: unknown, file: string): SettingsFile {
  if (!isPlainObject(data)) {
    const what = data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`;
    throw new SettingsFileError(file, `it must hold a JSON object of settings, such as {"maxPositions": 5}, not ${what}`);
  }
  for (const key of Object.keys(data)) {
    if (!(SETTING_NAMES as readonly string[]).includes(key)) {
      throw new SettingsFileError(file, `${JSON.stringify(key)} is not a setting${unknownKeyFix(key, SETTING_NAMES)}; the settings are ${SETTING_NAMES.join(', ')}`, { key });
    }
  }
  const limits = data.drawdownLimits;
  if (isPlainObject(limits)) {
    for (const key of Object.keys(limits)) {
      if (!(LIMIT_NAMES as readonly string[]).includes(key)) {
        const fix = unknownKeyFix(key, LIMIT_NAMES);
        throw new SettingsFileError(file, `"drawdownLimits.${key}" is not a drawdown limit${fix}; they are ${LIMIT_NAMES.join(', ')}`, { key: `drawdownLimits.${key}` });
      }
    }
  }
  const settings = resolveSettings(data as SettingsInput, { file });
  // The groups are the file's objects: frozen, so that no holder of the settings can change the rulebook.
  for (const symbols of Object.values(settings.correlationGroups)) Object.freeze(symbols);
  Object.freeze(settings.correlationGroups);
  return Object.freeze({ file, given: Object.freeze(data as SettingsInput), settings });
}

/** The fix of an unknown key: the name it most likely misspells (at most two edits away, or a case slip), else remove it. */
function unknownKeyFix(key: string, names: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== null && bestDistance <= 2 ? ` — did you mean ${JSON.stringify(best)}? Rename it` : ' — remove it';
}

/** Levenshtein distance (a few short names: the plain table is enough). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The precedence rule. Without a settings file: the options, else the defaults (as before there
 * was such a file, and as the original Python design, which has none). With one, the file is the
 * log's rulebook — a setting it leaves out is the default, under the same rule — and an option may
 * make this process stricter or equal, never looser:
 *
 * - maxPositions, maxCorrGroupRiskPct: not higher than the file's;
 * - assetConsecutiveLossCap: not higher, and not 0 (disabled) when the file's is above 0;
 * - drawdownLimits.daily/weekly/total: not more negative (warning only labels equity.json: free);
 * - haltOnDrawdown: not false when the file's is true;
 * - correlationGroups: the same groups of the same symbols (a group left out or a symbol moved
 *   can loosen as well as tighten, so only equal is safe);
 * - startingCapital: equal — it is a fact of the account, not a budget to tighten.
 *
 * A looser option throws SettingsConflictError naming the setting, both values and the file.
 * In force: the option when given, else the file's value, else the default.
 */
export function resolveRules(options: SettingsInput, file: SettingsFile | null): Readonly<Rules> {
  const own = resolveSettings(options);
  const given = (name: keyof Settings): boolean => options[name] !== undefined;
  const limitGiven = (key: keyof DrawdownLimits): boolean => options.drawdownLimits?.[key] !== undefined;
  if (file !== null) checkNotLooser(own, file, given, limitGiven);
  const rule = file?.settings ?? DEFAULT_SETTINGS;
  const take = <K extends keyof Settings>(name: K): Settings[K] => (given(name) ? own[name] : rule[name]);
  const limit = (key: keyof DrawdownLimits): number => (limitGiven(key) ? own.drawdownLimits[key] : rule.drawdownLimits[key]);
  const settings: Readonly<Settings> = Object.freeze({
    startingCapital: take('startingCapital'),
    maxPositions: take('maxPositions'),
    correlationGroups: take('correlationGroups'),
    maxCorrGroupRiskPct: take('maxCorrGroupRiskPct'),
    assetConsecutiveLossCap: take('assetConsecutiveLossCap'),
    drawdownLimits: Object.freeze({ daily: limit('daily'), weekly: limit('weekly'), total: limit('total'), warning: limit('warning') }),
    haltOnDrawdown: take('haltOnDrawdown'),
  });
  const fromFile: SettingSource | null = file === null ? null : Object.freeze({ from: 'file', file: file.file });
  const inFile = (p: SettingPath): boolean => {
    if (file === null) return false;
    if (!p.startsWith('drawdownLimits.')) return file.given[p as keyof Settings] !== undefined;
    return file.given.drawdownLimits?.[p.slice('drawdownLimits.'.length) as keyof DrawdownLimits] !== undefined;
  };
  const sources = {} as Record<SettingPath, SettingSource>;
  for (const p of SETTING_PATHS) {
    const byOption = p.startsWith('drawdownLimits.') ? limitGiven(p.slice('drawdownLimits.'.length) as keyof DrawdownLimits) : given(p as keyof Settings);
    sources[p] = byOption ? OPTION : inFile(p) && fromFile !== null ? fromFile : DEFAULT;
  }
  return Object.freeze({ settings, sources: Object.freeze(sources) });
}

const OPTION: SettingSource = Object.freeze({ from: 'option' });
const DEFAULT: SettingSource = Object.freeze({ from: 'default' });

function checkNotLooser(
  own: Readonly<Settings>,
  file: SettingsFile,
  given: (name: keyof Settings) => boolean,
  limitGiven: (key: keyof DrawdownLimits) => boolean,
): void {
  const rule = file.settings;
  const conflict = (field: string, value: unknown, fileValue: unknown, why: string): never => {
    throw new SettingsConflictError(field, value, fileValue, file.file, why);
  };
  if (given('startingCapital') && own.startingCapital !== rule.startingCapital) {
    conflict('startingCapital', own.startingCapital, rule.startingCapital, 'the starting capital is a fact of the account, not a budget, so it must be equal');
  }
  if (given('maxPositions') && own.maxPositions > rule.maxPositions) {
    conflict('maxPositions', own.maxPositions, rule.maxPositions, 'more open positions is looser');
  }
  if (given('correlationGroups') && !sameGroups(own.correlationGroups, rule.correlationGroups)) {
    conflict('correlationGroups', own.correlationGroups, rule.correlationGroups, 'the correlation groups must be the same as the file\'s');
  }
  if (given('maxCorrGroupRiskPct') && own.maxCorrGroupRiskPct > rule.maxCorrGroupRiskPct) {
    conflict('maxCorrGroupRiskPct', own.maxCorrGroupRiskPct, rule.maxCorrGroupRiskPct, 'a larger share of equity per correlation group is looser');
  }
  const cap = own.assetConsecutiveLossCap;
  if (given('assetConsecutiveLossCap') && rule.assetConsecutiveLossCap > 0 && (cap === 0 || cap > rule.assetConsecutiveLossCap)) {
    conflict('assetConsecutiveLossCap', cap, rule.assetConsecutiveLossCap, cap === 0 ? '0 disables the cap, which is looser' : 'a longer losing streak is looser');
  }
  for (const key of ['daily', 'weekly', 'total'] as const) {
    if (limitGiven(key) && own.drawdownLimits[key] < rule.drawdownLimits[key]) {
      conflict(`drawdownLimits.${key}`, own.drawdownLimits[key], rule.drawdownLimits[key], 'a deeper drawdown before halting is looser');
    }
  }
  if (given('haltOnDrawdown') && rule.haltOnDrawdown && !own.haltOnDrawdown) {
    conflict('haltOnDrawdown', false, true, 'not halting on a breached drawdown limit is looser');
  }
}

/** Deep equality of two groupings: the same names (in any order), each with the same symbols in the same order. */
function sameGroups(a: CorrelationGroups, b: CorrelationGroups): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => {
    const x = a[name];
    const y = Object.hasOwn(b, name) ? b[name] : undefined;
    return x !== undefined && y !== undefined && x.length === y.length && x.every((s, i) => s === y[i]);
  });
}
