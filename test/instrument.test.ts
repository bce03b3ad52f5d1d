import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { instrumentKey, sameInstrument } from '../src/domain/instrument.js';
import { IntegrityTracker, verifyIntegrity } from '../src/domain/integrity.js';
import { checkOpenRisk, type RiskResult } from '../src/domain/risk.js';
import { resolveSettings } from '../src/domain/settings.js';
import type { TradeLog } from '../src/domain/types.js';
import { deepFreeze, emptyLog, logOf, openAndClose, openInput, openTrade, tradeRecord } from './trades.js';

const config = resolveSettings();

function refusal(r: RiskResult): Extract<RiskResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r;
}

/** Printable ASCII, what venues name instruments with. */
const asciiArb = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 });
const blankArb = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u2003', '\ufeff'), maxLength: 3 });

describe('instrumentKey', () => {
  it('is idempotent and has no surrounding blanks, for any Unicode text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        const k = instrumentKey(s);
        expect(instrumentKey(k)).toBe(k);
        expect(k.trim()).toBe(k);
        expect(k.toLowerCase()).toBe(k);
      }),
      { numRuns: 2000 },
    );
  });

  it('in ASCII: the same key for any case and surrounding blanks, and a different one for other letters (property)', () => {
    fc.assert(
      fc.property(asciiArb, fc.array(fc.boolean(), { maxLength: 12 }), blankArb, blankArb, asciiArb, (s, flips, before, after, other) => {
        const spelled = [...s].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join('');
        expect(instrumentKey(`${before}${spelled}${after}`)).toBe(instrumentKey(s));
        expect(sameInstrument(`${before}${spelled}${after}`, s)).toBe(true);
        // Printable ASCII: only the letters have case, so any other difference is another instrument.
        expect(sameInstrument(other, s)).toBe(other.toLowerCase() === s.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('is what docs/formulas.md says: trimmed, lower-cased, no normalization', () => {
    expect(instrumentKey('  BTC/USDT ')).toBe('btc/usdt');
    expect(instrumentKey('\tEth\n')).toBe('eth');
    expect(instrumentKey('Ω')).toBe('ω');
    expect(sameInstrument('ÉTÉ', 'été')).toBe(true);
    // No Unicode normalization: full-width letters, a decomposed é, ß and SS are other instruments.
    expect(sameInstrument('ＢＴＣ', 'BTC')).toBe(false);
    expect(sameInstrument('e\u0301', '\u00e9')).toBe(false);
    expect(sameInstrument('ß', 'SS')).toBe(false);
    expect(instrumentKey('   ')).toBe('');
    // A damaged record's symbol that is not a string equals only itself.
    expect(sameInstrument(7, '7')).toBe(false);
    expect(sameInstrument(null, null)).toBe(true);
  });
});

describe('the open checks compare instrument keys', () => {
  it('DUPLICATE_SYMBOL: any case, and an open record written with blanks by hand', () => {
    const log = openTrade(emptyLog(), { symbol: 'BTC' }).log;
    for (const s of ['btc', 'Btc', 'bTC']) expect(refusal(checkOpenRisk(log, openInput({ symbol: s }), config, 5000)).code).toBe('DUPLICATE_SYMBOL');
    const handEdited = logOf(tradeRecord('T001', { symbol: ' eth ' }));
    const r = refusal(checkOpenRisk(handEdited, openInput({ symbol: 'ETH' }), config, 5000));
    expect(r.message).toBe('ETH is already open as T001  eth ');
  });

  it('CORRELATION_LIMIT: a group written in any case holds the symbol in any case, and sums its members in any case', () => {
    // BTC open with 150 USD at risk; the group is written in lower case, the new trade in mixed case.
    const settings = resolveSettings({ correlationGroups: { majors: ['btc', 'eth'] } });
    const log = openTrade(emptyLog(), { symbol: 'BTC', entry_price: 65000, stop_price: 63500, target_price: 70000, size: 0.1 }).log;
    const eth = openInput({ symbol: 'Eth', entry_price: 3000, stop_price: 2937.5, target_price: 3300, size: 1 });
    const r = refusal(checkOpenRisk(log, eth, settings, 5000));
    expect(r.code).toBe('CORRELATION_LIMIT');
    expect(r.details).toMatchObject({ group: 'majors', openRiskUsd: 150, newRiskUsd: 62.5, openTradeIds: ['T001'] });
    // The default crypto_major group (upper case) holds "btc" too.
    const lower = openTrade(emptyLog(), { symbol: 'btc', entry_price: 65000, stop_price: 63500, target_price: 70000, size: 0.1 }).log;
    const ETH = openInput({ symbol: 'ETH', entry_price: 3000, stop_price: 2937.5, target_price: 3300, size: 1 });
    expect(refusal(checkOpenRisk(lower, ETH, config, 5000)).details).toMatchObject({ group: 'crypto_major', openTradeIds: ['T001'] });
  });

  it('ASSET_LOSS_CAP: losses on "sol", "SOL" and "Sol" are one streak', () => {
    let log = emptyLog();
    for (const s of ['sol', 'SOL', 'Sol']) log = openAndClose(log, s, 90);
    const r = refusal(checkOpenRisk(log, openInput({ symbol: 'SOL' }), config, 5000));
    expect(r.code).toBe('ASSET_LOSS_CAP');
    expect(r.details).toMatchObject({ cap: 3, tradeIds: ['T001', 'T002', 'T003'] });
    // A win in between, in any spelling, breaks it: the last three are looked at in log order.
    const broken = openAndClose(openAndClose(openAndClose(openAndClose(emptyLog(), 'sol', 90), 'SOL', 90), 'sOl', 110), 'Sol', 90);
    expect(checkOpenRisk(broken, openInput({ symbol: 'sol' }), config, 5000)).toEqual({ ok: true });
  });

  it('a correlation group with a blank symbol is refused (its key could never match)', () => {
    expect(() => resolveSettings({ correlationGroups: { majors: ['BTC', '  '] } })).toThrow(/correlationGroups\.majors.*non-blank/);
    expect(resolveSettings({ correlationGroups: { majors: ['btc', 'Eth'] } }).correlationGroups).toEqual({ majors: ['btc', 'Eth'] });
  });
});

describe('verifyIntegrity: DUPLICATE_OPEN_SYMBOL by instrument key', () => {
  const twoSpellings = (): TradeLog => logOf(tradeRecord('T001', { symbol: 'BTC' }), tradeRecord('T002', { symbol: 'btc' }));

  it('reports two open trades whose symbols differ only in case, naming both spellings', () => {
    expect(verifyIntegrity(twoSpellings())).toEqual([
      { code: 'DUPLICATE_OPEN_SYMBOL', trade_id: 'T002', message: 'T002 on "btc" and T001 on "BTC" are both OPEN on one instrument (key "btc")' },
    ]);
    // The exact duplicate keeps its message.
    const same = logOf(tradeRecord('T001', { symbol: 'BTC' }), tradeRecord('T002', { symbol: 'BTC' }));
    expect(verifyIntegrity(same).map((v) => v.message)).toEqual(['T002 and T001 are both OPEN on "BTC"']);
  });

  it('the incremental tracker sees it too, when the second spelling is appended to a clean log', () => {
    const tracker = new IntegrityTracker();
    const first = deepFreeze(logOf(tradeRecord('T001', { symbol: 'BTC' })));
    expect(tracker.check(first)).toEqual([]);
    const next = deepFreeze({ ...first, trades: [...first.trades, tradeRecord('T002', { symbol: ' Btc' })] });
    expect(tracker.check(next).map((v) => v.code)).toEqual(['DUPLICATE_OPEN_SYMBOL']);
    expect(tracker.check(next)).toEqual(verifyIntegrity(next));
  });
});
