/**
 * One rulebook: resolveSettings (domain/settings.ts) is the only place a risk setting gets its
 * default and its validation. Every door — TradeStore, StateReconciler, buildReport, deriveState —
 * refuses the same bad value with the same ValidationError (field and message), and every door
 * fills the same defaults.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { deriveState } from '../src/domain/derive/index.js';
import { DEFAULT_SETTINGS, resolveSettings, SETTING_NAMES, type SettingsInput } from '../src/domain/settings.js';
import { ValidationError } from '../src/errors.js';
import { StateReconciler } from '../src/reconcile/state-reconciler.js';
import { buildReport } from '../src/report/index.js';
import { TradeStore } from '../src/store/trade-store.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function logPath(): string {
  const d = tempDir('tse-settings-');
  dirs.push(d);
  return path.join(d, 'trade_log.json');
}

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('no ValidationError');
}

describe('resolveSettings', () => {
  it('fills every default, and only from DEFAULT_SETTINGS', () => {
    expect(resolveSettings()).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toEqual({
      startingCapital: 5000,
      maxPositions: 7,
      correlationGroups: {
        crypto_major: ['BTC', 'ETH'],
        crypto_alt: ['SOL', 'XRP'],
        tech_megacap: ['AAPL', 'MSFT', 'AMZN', 'META', 'NFLX'],
        tech_semi: ['NVDA', 'AMD'],
      },
      maxCorrGroupRiskPct: 4,
      assetConsecutiveLossCap: 3,
      drawdownLimits: { daily: -0.02, weekly: -0.1, total: -0.2, warning: -0.05 },
      haltOnDrawdown: true,
    });
    expect(SETTING_NAMES).toEqual(Object.keys(DEFAULT_SETTINGS));
    expect(Object.isFrozen(resolveSettings())).toBe(true);
  });

  it('keeps given values, merges drawdown limits one by one, ignores other keys', () => {
    const s = resolveSettings({ maxPositions: 2, assetConsecutiveLossCap: 0, drawdownLimits: { daily: -0.05 }, tradeLog: 'x' } as SettingsInput);
    expect(s.maxPositions).toBe(2);
    expect(s.assetConsecutiveLossCap).toBe(0);
    expect(s.drawdownLimits).toEqual({ daily: -0.05, weekly: -0.1, total: -0.2, warning: -0.05 });
    expect(s).not.toHaveProperty('tradeLog');
  });

  const bad: [string, SettingsInput][] = [
    ['startingCapital', { startingCapital: 0 }],
    ['startingCapital', { startingCapital: Number.NaN }],
    ['startingCapital', { startingCapital: Infinity }],
    ['startingCapital', { startingCapital: '5000' as never }],
    ['maxPositions', { maxPositions: 0 }],
    ['maxPositions', { maxPositions: 1.5 }],
    ['maxPositions', { maxPositions: '7' as never }],
    ['maxCorrGroupRiskPct', { maxCorrGroupRiskPct: 0 }],
    ['maxCorrGroupRiskPct', { maxCorrGroupRiskPct: Infinity }],
    ['assetConsecutiveLossCap', { assetConsecutiveLossCap: -1 }],
    ['assetConsecutiveLossCap', { assetConsecutiveLossCap: 2.5 }],
    ['correlationGroups', { correlationGroups: null as never }],
    ['correlationGroups', { correlationGroups: ['BTC'] as never }],
    ['correlationGroups.memes', { correlationGroups: { memes: ['DOGE', ''] } }],
    ['drawdownLimits', { drawdownLimits: -0.02 as never }],
    ['drawdownLimits.daily', { drawdownLimits: { daily: 0.02 } }],
    ['drawdownLimits.daily', { drawdownLimits: { daily: 0 } }],
    ['drawdownLimits.weekly', { drawdownLimits: { weekly: -1 } }],
    ['drawdownLimits.total', { drawdownLimits: { total: -Infinity } }],
    ['drawdownLimits.warning', { drawdownLimits: { warning: Number.NaN } }],
    ['haltOnDrawdown', { haltOnDrawdown: 'no' as never }],
  ];
  for (const [field, input] of bad) {
    it(`refuses ${JSON.stringify(input)}, naming ${field}`, () => {
      expect(refusal(() => resolveSettings(input)).field).toBe(field);
    });
  }
});

describe('every door applies the same rule', () => {
  // the settings each door reads: the reconciler, the report and derive take the money settings only
  const shared: [string, SettingsInput][] = [
    ['startingCapital', { startingCapital: -5 }],
    ['drawdownLimits.daily', { drawdownLimits: { daily: 0.02 } }],
    ['drawdownLimits.total', { drawdownLimits: { total: -Infinity } }],
  ];
  for (const [field, input] of shared) {
    it(`${field}: the same ValidationError from the store, the reconciler, the report and derive`, async () => {
      const expected = refusal(() => resolveSettings(input));
      const file = logPath();
      const doors = [
        refusal(() => new TradeStore({ tradeLog: file, ...input })),
        refusal(() => new StateReconciler({ tradeLog: file, outputDir: path.dirname(file), ...input })),
        refusal(() => deriveState({ trades: [], next_id: 1 }, { startingCapital: 5000, now: new Date(), ...input } as never)),
        await buildReport({ tradeLog: file, ...input }).then(
          () => {
            throw new Error('buildReport accepted it');
          },
          (err: unknown) => err as ValidationError,
        ),
      ];
      for (const err of doors) {
        expect(err).toBeInstanceOf(ValidationError);
        expect([err.field, err.message]).toEqual([expected.field, expected.message]);
      }
    });
  }

  it('the store exposes the settings in force, defaults filled', () => {
    const store = new TradeStore({ tradeLog: logPath(), maxPositions: 3, drawdownLimits: { weekly: -0.08 } });
    expect(store.settings).toEqual({ ...DEFAULT_SETTINGS, maxPositions: 3, drawdownLimits: { ...DEFAULT_SETTINGS.drawdownLimits, weekly: -0.08 } });
    expect(store.startingCapital).toBe(5000);
    expect(store.risk.maxPositions).toBe(3);
    store.close();
  });
});
