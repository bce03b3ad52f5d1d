/**
 * The rulebook of one log: every setting that the store enforces, the reconciler and the report
 * judge by, and the CLI shows — with its default and its validation, here and nowhere else.
 * TradeStore, StateReconciler, buildReport and the CLI all resolve their options through
 * resolveSettings(), so one bad value gets one error (ValidationError naming the field and value)
 * whichever door it came in by.
 */
import { ValidationError } from '../errors.js';
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

/** Defaults filled in, every value checked; the result is frozen. */
export function resolveSettings(input: SettingsInput = {}): Readonly<Settings> {
  if (!isPlainObject(input)) throw new ValidationError('options', input, 'must be an object');
  const pick = <K extends keyof Settings>(name: K): unknown => (input[name] === undefined ? DEFAULT_SETTINGS[name] : input[name]);
  return Object.freeze({
    startingCapital: resolveStartingCapital(input.startingCapital),
    maxPositions: integer('maxPositions', pick('maxPositions'), 1, 'must be a positive integer'),
    correlationGroups: groups(pick('correlationGroups')),
    maxCorrGroupRiskPct: positive('maxCorrGroupRiskPct', pick('maxCorrGroupRiskPct')),
    assetConsecutiveLossCap: integer('assetConsecutiveLossCap', pick('assetConsecutiveLossCap'), 0, 'must be a non-negative integer (0 disables)'),
    drawdownLimits: resolveDrawdownLimits(input.drawdownLimits),
    haltOnDrawdown: boolean('haltOnDrawdown', pick('haltOnDrawdown')),
  });
}

/** The starting capital alone (the reconciler and the report need no other money setting). */
export function resolveStartingCapital(value: unknown): number {
  return positive('startingCapital', value === undefined ? DEFAULT_SETTINGS.startingCapital : value);
}

/**
 * Each limit a negative fraction above -1 (-0.02 = -2 %), the missing ones from the defaults.
 * 0 or more would halt on a flat day; -1 or less could never be reached. To stop halting
 * altogether, set haltOnDrawdown: false.
 */
export function resolveDrawdownLimits(partial: unknown): Readonly<DrawdownLimits> {
  if (partial === undefined) return DEFAULT_DRAWDOWN_LIMITS;
  if (!isPlainObject(partial)) throw new ValidationError('drawdownLimits', partial, 'must be an object of daily, weekly, total, warning');
  const limits: DrawdownLimits = { ...DEFAULT_DRAWDOWN_LIMITS };
  for (const key of LIMIT_NAMES) {
    const v = partial[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v >= 0 || v <= -1) {
      throw new ValidationError(`drawdownLimits.${key}`, v, 'must be a negative fraction above -1, e.g. -0.02 for -2 %');
    }
    limits[key] = v;
  }
  return Object.freeze(limits);
}

function positive(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValidationError(field, v, 'must be a finite number > 0');
  return v;
}

function integer(field: string, v: unknown, min: number, problem: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ValidationError(field, v, problem);
  return v;
}

function boolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ValidationError(field, v, 'must be true or false');
  return v;
}

function groups(v: unknown): CorrelationGroups {
  if (!isPlainObject(v)) throw new ValidationError('correlationGroups', v, 'must be an object of name -> symbols');
  for (const [name, symbols] of Object.entries(v)) {
    if (!Array.isArray(symbols) || !symbols.every((s) => typeof s === 'string' && s !== '')) {
      throw new ValidationError(`correlationGroups.${name}`, symbols, 'must be an array of non-empty strings');
    }
  }
  return v as CorrelationGroups;
}
