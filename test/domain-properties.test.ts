import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { TradeStateError } from '../src/errors.js';
import { verifyIntegrity } from '../src/domain/integrity.js';
import { equityOf } from '../src/domain/formulas.js';
import { checkOpenRisk, type RiskConfig } from '../src/domain/risk.js';
import { resolveSettings } from '../src/domain/settings.js';
import { pyRound, round6 } from '../src/domain/round.js';
import {
  applyClose,
  applyOpen,
  applyPartial,
  applyUpdate,
  applyUpdatesBatch,
  closePnl,
  tradeIdNumber,
} from '../src/domain/trade-ops.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { validateOpenInput } from '../src/domain/validate.js';
import { deepFreeze, emptyLog, NOW } from './trades.js';

// ---------------------------------------------------------------- (2) rounding

/**
 * Python's round(x, n), written independently of round.ts: toFixed(100) gives
 * the exact decimal expansion of any double >= 2^-47 (which has at most 100
 * fractional digits; smaller ones cannot be near a tie at n <= 10), then
 * string arithmetic rounds half to even and parseFloat returns the nearest
 * double, as CPython's dtoa-based float_round does.
 */
function referenceRound(x: number, n: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const ax = Math.abs(x);
  if (ax >= 1e21) return x; // integers at this size; toFixed would switch to exponent form
  const [intPart, frac = ''] = ax.toFixed(100).split('.') as [string, string?];
  const keep = frac.slice(0, n);
  const rest = frac.slice(n);
  let digits = BigInt(intPart + keep);
  const first = rest[0] ?? '0';
  const tie = first === '5' && /^0*$/.test(rest.slice(1));
  if (first > '5' || (first === '5' && !tie) || (tie && digits % 2n === 1n)) digits += 1n;
  const s = digits.toString().padStart(n + 1, '0');
  const text = n === 0 ? s : `${s.slice(0, s.length - n)}.${s.slice(s.length - n)}`;
  const r = Number.parseFloat(text);
  return x < 0 ? -r : r;
}

describe('pyRound matches an exact-decimal reference (property)', () => {
  const places = fc.constantFrom(0, 1, 2, 3, 6, 8);
  // round.ts is exact while |x|·10^n < 2^52 (every price, size and P&L a trade log holds); see the known bug below.
  const inRange = places.chain((n) => {
    const bound = (2 ** 52 - 1) / 10 ** n;
    const d = (max: number) => fc.double({ noNaN: true, noDefaultInfinity: true, min: -max, max });
    return fc.tuple(fc.oneof(d(bound), d(Math.min(bound, 1000)), d(Number.MAX_VALUE)), fc.constant(n));
  });

  it('the reference itself knows the classic cases', () => {
    expect(referenceRound(0.125, 2)).toBe(0.12);
    expect(referenceRound(2.675, 2)).toBe(2.67);
    expect(referenceRound(0.375, 2)).toBe(0.38);
    expect(referenceRound(-2.5, 0)).toBe(-2);
    expect(referenceRound(1234.565, 2)).toBe(1234.57);
  });

  it('on random doubles', () => {
    fc.assert(
      fc.property(inRange, ([x, n]) => {
        expect(pyRound(x, n)).toBe(referenceRound(x, n));
      }),
      { numRuns: 5000 },
    );
  });

  // Regression: round.ts once returned x unchanged when |x|·10^n reached 2^52, but Python still
  // rounds there (the product is not exact). Reachable by round6 on sizes of ~4.5e9 units.
  it('large values, where |x|·10^n >= 2^52', () => {
    expect(pyRound(5618526021.6156225, 6)).toBe(5618526021.615623); // CPython: round(5618526021.6156225, 6)
    expect(pyRound(-478607807209223.94, 1)).toBe(-478607807209223.9); // CPython: round(-478607807209223.94, 1)
  });

  it('on exact binary ties (odd multiples of 2^-(n+1))', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), places, (i, n) => {
        const x = (2 * i + 1) / 2 ** (n + 1);
        expect(pyRound(x, n)).toBe(referenceRound(x, n));
      }),
      { numRuns: 3000 },
    );
  });

  it('on decimal near-ties such as 2.675', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), places, (k, n) => {
        // The double nearest to the decimal k·10^-n followed by a 5, e.g. 2.675 for k = 267, n = 2.
        const fixed = (k / 10 ** n).toFixed(n);
        const x = Number.parseFloat(n === 0 ? `${fixed}.5` : `${fixed}5`);
        expect(pyRound(x, n)).toBe(referenceRound(x, n));
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------- (1) P&L sign

const price = fc.integer({ min: 1, max: 10_000_000 }).map((c) => c / 100); // 0.01 … 100000
const validOpen = fc
  .record({
    direction: fc.constantFrom('LONG' as const, 'SHORT' as const),
    entry_price: price,
    stopDistance: fc.double({ min: 0.001, max: 0.9, noNaN: true }),
    targetDistance: fc.double({ min: 0.001, max: 5, noNaN: true }),
    size: fc.integer({ min: 1, max: 10_000_000 }).map((u) => u / 10_000), // 0.0001 … 1000
  })
  .map(({ direction, entry_price, stopDistance, targetDistance, size }) => {
    const sign = direction === 'LONG' ? 1 : -1;
    return {
      direction,
      entry_price,
      stop_price: entry_price * (1 - sign * stopDistance),
      target_price: entry_price * (1 + sign * Math.min(targetDistance, direction === 'SHORT' ? 0.9 : 5)),
      size,
    };
  });

describe('P&L sign agrees with direction and price move (property)', () => {
  it('for any valid trade and exit price', () => {
    fc.assert(
      fc.property(validOpen, price, (raw, exit) => {
        const input = validateOpenInput({ symbol: 'X', ...raw });
        const { log, trade } = applyOpen(emptyLog(), input, NOW);
        const pnl = closePnl(trade, exit);
        const move = trade.direction === 'LONG' ? exit - trade.entry_price : trade.entry_price - exit;
        for (const v of [pnl.pnl_usd, pnl.pnl_pct, pnl.r_multiple]) {
          if (move > 0) expect(v).toBeGreaterThanOrEqual(0);
          else if (move < 0) expect(v).toBeLessThanOrEqual(0);
          else expect(v).toBe(0);
        }
        // Magnitude too: round2 moves a value by at most half a cent.
        expect(Math.abs(pnl.pnl_usd - move * trade.size)).toBeLessThanOrEqual(0.005 + Math.abs(move * trade.size) * 1e-12);
        const closed = applyClose(log, trade.id, { exit_price: exit }, NOW).log;
        expect(verifyIntegrity(closed, { maxPositions: 7 })).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------- (3) random operation sequences

const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'AAPL', 'DOGE'];
const STARTING_CAPITAL = 5000;

// Moderate trades (1 to 500 USD at risk) so that every risk rule both passes and refuses.
const seqOpen = fc
  .record({
    direction: fc.constantFrom('LONG' as const, 'SHORT' as const),
    entry_price: fc.integer({ min: 1000, max: 100_000 }).map((c) => c / 100),
    stopDistance: fc.double({ min: 0.01, max: 0.1, noNaN: true }),
    notional: fc.integer({ min: 100, max: 5000 }),
  })
  .map(({ direction, entry_price, stopDistance, notional }) => {
    const sign = direction === 'LONG' ? 1 : -1;
    return {
      direction,
      entry_price,
      stop_price: entry_price * (1 - sign * stopDistance),
      target_price: entry_price * (1 + sign * 2 * stopDistance),
      size: round6(notional / entry_price),
    };
  });

type SeqOpen = typeof seqOpen extends fc.Arbitrary<infer T> ? T : never;
type Op =
  | { kind: 'open'; symbol: string; raw: SeqOpen }
  | { kind: 'close'; pick: number; factor: number }
  | { kind: 'partial'; pick: number; factor: number; fraction: number }
  | { kind: 'update'; pick: number; patch: Record<string, unknown> };

const factor = fc.double({ min: 0.5, max: 1.5, noNaN: true });
const pick = fc.nat({ max: 1000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('open' as const), symbol: fc.constantFrom(...SYMBOLS), raw: seqOpen }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('close' as const), pick, factor }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('partial' as const),
      pick,
      factor,
      fraction: fc.oneof(fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.double({ min: 1e-9, max: 1e-3, noNaN: true }), fc.constantFrom(0.999999, 0.9999999)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      pick,
      patch: fc.oneof(
        fc.record({ stop_price: price }),
        fc.record({ target_price: price, notes: fc.string() }),
        // __proto__ keys are refused on purpose (validate.ts jsonCopy): the model below does not
        // predict that refusal, so they are kept out of the generated values (it flaked ~1 run in 7).
        fc.record({ lessons: fc.option(fc.string()), custom: fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')) }),
      ),
    }),
  },
);

/** The trade an op targets: an existing one by index, or (one pick in ten) an unknown id. */
function target(log: TradeLog, p: number): Trade | undefined {
  return log.trades.length === 0 || p % 10 === 9 ? undefined : log.trades[p % log.trades.length];
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof TradeStateError) return e.code;
    throw e;
  }
}

/** Outcomes seen, by "kind:result", to prove the generators reach every path. */
const outcomes = new Map<string, number>();
const count = (key: string): void => {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
};

/** Applies one op, asserting it succeeds or fails exactly when the model says so. */
function step(log: TradeLog, op: Op, config: RiskConfig): TradeLog {
  const now = new Date(NOW.getTime() + log.trades.length * 1000);
  if (op.kind === 'open') {
    const input = validateOpenInput({ symbol: op.symbol, ...op.raw });
    const equity = equityOf(log, STARTING_CAPITAL);
    const risk = checkOpenRisk(log, input, config, equity);
    count(`open:${risk.ok ? 'ok' : risk.code}`);
    if (!risk.ok) return log;
    const next = applyOpen(log, input, now).log;
    assertGroupRiskWithinLimit(next, op.symbol, config, equity);
    return next;
  }
  const t = target(log, op.pick);
  const id = t?.id ?? 'T999999';
  const isOpen = t?.status === 'OPEN';
  let next = log;
  let expected: string | null;
  let got: string | null;
  if (op.kind === 'close') {
    expected = !t ? 'ETRADENOTFOUND' : isOpen ? null : 'ETRADESTATE';
    got = codeOf(() => (next = applyClose(log, id, { exit_price: t ? t.entry_price * op.factor : 1 }, now).log));
  } else if (op.kind === 'partial') {
    const closedPart = t ? round6(t.size * op.fraction) : 0;
    const tooSmall = closedPart <= 0 || round6((t?.size ?? 0) - closedPart) <= 0;
    expected = !t ? 'ETRADENOTFOUND' : !isOpen ? 'ETRADESTATE' : tooSmall ? 'EVALIDATION' : null;
    const exit_price = t ? t.entry_price * op.factor : 1;
    got = codeOf(() => (next = applyPartial(log, id, { fraction: op.fraction, exit_price }, now).log));
  } else {
    const touchesPrice = 'stop_price' in op.patch || 'target_price' in op.patch;
    expected = !t ? 'ETRADENOTFOUND' : !isOpen && touchesPrice ? 'ETRADESTATE' : touchesPrice && breaksSides(t, op.patch) ? 'EVALIDATION' : null;
    got = codeOf(() => (next = applyUpdate(log, id, op.patch).log));
  }
  expect(got).toBe(expected);
  count(`${op.kind}:${got ?? 'ok'}`);
  return next;
}

/**
 * The side rule of a stop or target update, restated apart from validate.ts: LONG target above
 * entry and stop below the target, SHORT mirrored; the target's side of entry only when it moves.
 */
function breaksSides(t: Trade, patch: Record<string, unknown>): boolean {
  const stop = (patch.stop_price as number | undefined) ?? t.stop_price;
  const target = (patch.target_price as number | undefined) ?? t.target_price;
  if (target === null) return false;
  const long = t.direction === 'LONG';
  if ('target_price' in patch && (long ? target <= t.entry_price : target >= t.entry_price)) return true;
  return long ? stop >= target : stop <= target;
}

/** Independent of risk.ts: the opened symbol's groups stay within the limit computed before the open. */
function assertGroupRiskWithinLimit(log: TradeLog, symbol: string, config: RiskConfig, equity: number): void {
  for (const members of Object.values(config.correlationGroups)) {
    if (!members.includes(symbol)) continue;
    const risk = log.trades
      .filter((t) => t.status === 'OPEN' && members.includes(t.symbol))
      .reduce((sum, t) => sum + Math.abs(t.entry_price - t.original_stop) * t.original_size, 0);
    expect(risk).toBeLessThanOrEqual((equity * config.maxCorrGroupRiskPct) / 100 + 1e-9);
  }
}

function assertInvariants(log: TradeLog, config: RiskConfig): void {
  expect(verifyIntegrity(log, { maxPositions: config.maxPositions })).toEqual([]);
  const ids = log.trades.map((t) => t.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(log.next_id).toBeGreaterThan(tradeIdNumber(id)!);
  const open = log.trades.filter((t) => t.status === 'OPEN');
  expect(open.length).toBeLessThanOrEqual(config.maxPositions);
  expect(new Set(open.map((t) => t.symbol)).size).toBe(open.length);
  for (const t of open) {
    const partials = t.partial_exits ?? [];
    expect(t.size).toBeGreaterThan(0);
    expect(Math.abs(t.size + partials.reduce((s, p) => s + p.size_closed, 0) - t.original_size)).toBeLessThan(1e-6 * (partials.length + 1));
  }
  // Equity two ways: SPEC's formula vs every pnl_usd ever written (closes + all partials).
  let written = STARTING_CAPITAL;
  for (const t of log.trades) {
    if (t.status === 'CLOSED') written += t.pnl_usd!;
    for (const p of t.partial_exits ?? []) written += p.pnl_usd;
  }
  expect(equityOf(log, STARTING_CAPITAL)).toBeCloseTo(written, 6);
}

const configArb = fc
  .record({
    maxPositions: fc.integer({ min: 1, max: 7 }),
    maxCorrGroupRiskPct: fc.constantFrom(1, 4, 10, 100),
    assetConsecutiveLossCap: fc.constantFrom(0, 1, 1, 2, 3),
  })
  .map((c) => resolveSettings(c));

describe('random operation sequences keep every invariant (property)', () => {
  it('integrity, unique ids, next_id, cap, one OPEN per symbol, group risk', () => {
    outcomes.clear();
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), (config, ops) => {
        let log = emptyLog();
        for (const op of ops) {
          log = step(log, op, config);
          assertInvariants(log, config);
        }
      }),
      { numRuns: 300 },
    );
    // Guard against generators that never reach the paths this test claims to cover.
    for (const key of [
      'open:ok', 'open:DUPLICATE_SYMBOL', 'open:POSITION_CAP', 'open:CORRELATION_LIMIT', 'open:ASSET_LOSS_CAP',
      'close:ok', 'close:ETRADESTATE', 'close:ETRADENOTFOUND', 'partial:ok', 'partial:EVALIDATION',
      'partial:ETRADESTATE', 'update:ok', 'update:ETRADESTATE', 'update:EVALIDATION',
    ]) {
      expect(outcomes.get(key) ?? 0, key).toBeGreaterThan(10);
    }
  });
});

// ---------------------------------------------------------------- (4) no mutation

describe('apply* never mutate their input (property)', () => {
  it('on deep-frozen logs built by random operations', () => {
    const config = resolveSettings({ maxPositions: 7, maxCorrGroupRiskPct: 100 });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30, size: 'max' }), fc.array(opArb, { minLength: 1, maxLength: 10 }), (build, probe) => {
        let log = emptyLog();
        for (const op of build) log = step(log, op, config);
        const snapshot = structuredClone(log);
        deepFreeze(log);
        // A write into a frozen object throws TypeError (ES modules are strict), which step() does not swallow.
        for (const op of probe) step(log, op, config);
        const pairs = log.trades.slice(0, 3).map((t) => [t.id, { notes: 'batch', extra: [1] }] as const);
        applyUpdatesBatch(log, pairs);
        expect(log).toEqual(snapshot);
      }),
      { numRuns: 300 },
    );
  });
});
