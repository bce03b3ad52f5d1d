import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { haltState } from '../src/domain/derive/index.js';
import { equityOf } from '../src/domain/formulas.js';
import { instrumentKey } from '../src/domain/instrument.js';
import { equityFrom, haltFrom, nextNumberFrom, OpenStateTracker, openStateOf, type OpenState } from '../src/domain/open-state.js';
import { checkOpenRisk, checkOpenRiskWith, openTradesOf } from '../src/domain/risk.js';
import { resolveSettings, type Settings } from '../src/domain/settings.js';
import { applyClose, applyOpen, applyPartial, applyUpdate, nextTradeNumber } from '../src/domain/trade-ops.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { validateOpenInput, type OpenInput } from '../src/domain/validate.js';
import { deepFreeze } from './trades.js';

// Amounts whose sums depend on the order of addition (0.1 + 0.2, 1e16 + 1 − 1e16 …), so that a
// fast path summing in another order or grouping gives another double and the comparison sees it.
const amountArb = fc.oneof(
  fc.constantFrom<unknown>(0.1, 0.2, 0.3, -0.7, 1e16, -1e16, 1, -1, 1 / 3, 123.45, -0, 0, null, 'x', Number.NaN),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);
// One instrument in several spellings: the checks compare instrument keys, the records keep the text.
const SYMBOLS = ['BTC', 'btc', 'Btc', 'ETH', 'eth', 'SOL', 'AAPL', 'NVDA', 'X'] as const;
const symbolArb = fc.constantFrom(...SYMBOLS);
/** What a hand-edited record may hold besides: surrounding blanks, which opens refuse. */
const rawSymbolArb = fc.constantFrom<string>(...SYMBOLS, ' BTC', 'sol ', '\tEth');
// Days around the clock's start (2026-03-02, a Monday), before 1970, in the future, and unparseable.
const stampArb = fc.oneof(
  fc.integer({ min: -20 * 24, max: 20 * 24 }).map((h) => new Date(Date.UTC(2026, 2, 2) + h * 3_600_000).toISOString().replace('Z', '000+00:00')),
  fc.constantFrom<unknown>('1969-12-31T23:00:00+00:00', '2099-01-01T00:00:00+00:00', 'garbage', null, 17),
);
const exitArb = fc.record({ pnl_usd: amountArb, timestamp: stampArb, size_closed: fc.constant(1) });
/** A record as a hand-edited or foreign file may hold it: any status, odd amounts, stamps and ids. */
const rawArb = fc.record({
  id: fc.oneof(fc.nat({ max: 60 }).map((n) => `T${String(n).padStart(3, '0')}`), fc.constantFrom<unknown>('manual', 7, null)),
  symbol: rawSymbolArb,
  direction: fc.constantFrom('LONG', 'SHORT'),
  status: fc.constantFrom<unknown>('OPEN', 'OPEN', 'CLOSED', 'CLOSED', 'CLOSED', 'PENDING'),
  entry_price: fc.constantFrom(100, 50.5),
  stop_price: fc.constantFrom(95, 52, 100),
  original_stop: fc.constantFrom<unknown>(95, 0, null, undefined),
  size: fc.constantFrom(1, 0.5, 3),
  pnl_usd: amountArb,
  exit_time: stampArb,
  partial_exits: fc.oneof(
    fc.constant<unknown>(undefined),
    fc.constant<unknown>(null),
    fc.array(fc.oneof({ weight: 4, arbitrary: exitArb }, { weight: 1, arbitrary: fc.constant<unknown>(null) }), { maxLength: 3 }),
    fc.array(exitArb, { minLength: 1, maxLength: 3 }),
  ),
}) as fc.Arbitrary<Record<string, unknown>>;

type Step =
  | { kind: 'open'; symbol: string; size: number; stop: number }
  | { kind: 'close' | 'partial'; at: number; price: number }
  | { kind: 'update'; at: number; notes: string }
  | { kind: 'raw'; trade: Record<string, unknown>; at: number; insert: boolean }
  | { kind: 'nonrecord' | 'reread' | 'remove'; at: number }
  | { kind: 'mutate'; at: number; pnl: unknown }
  | { kind: 'push'; trade: Record<string, unknown> };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('open' as const), symbol: symbolArb, size: fc.constantFrom(0.1, 1, 7), stop: fc.constantFrom(95, 99, 80) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('close' as const, 'partial' as const), at: fc.nat(), price: fc.constantFrom(90, 100.1, 104.7, 111.11) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('update' as const), at: fc.nat(), notes: fc.string({ maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('raw' as const), trade: rawArb, at: fc.nat(), insert: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('nonrecord' as const, 'reread' as const, 'remove' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mutate' as const), at: fc.nat(), pnl: amountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('push' as const), trade: rawArb }) },
);

const configArb = fc.record({
  startingCapital: fc.constantFrom(1000, 5000, 123.45),
  maxPositions: fc.integer({ min: 1, max: 12 }),
  maxCorrGroupRiskPct: fc.constantFrom(0.5, 4, 50),
  assetConsecutiveLossCap: fc.integer({ min: 0, max: 3 }),
  drawdownLimits: fc.constantFrom(undefined, { daily: -0.001, weekly: -0.002, total: -0.5 }, { daily: -0.9, weekly: -0.9, total: -0.9 }),
  // The default groups (upper case), or groups written in another case than the trades.
  correlationGroups: fc.constantFrom(undefined, { crypto_major: ['btc', 'ETH', 'Sol'], tech: ['aapl', 'Nvda'] }),
});

/** Runs a step on the log the way the store's pure steps do, or the way a hand edit or a re-read would; a refused step leaves the log. */
function apply(log: TradeLog, step: Step, now: Date): TradeLog {
  const n = log.trades.length;
  const at = n === 0 ? 0 : (('at' in step ? step.at : 0) % n);
  const target = log.trades[at];
  try {
    switch (step.kind) {
      case 'open':
        return applyOpen(log, validateOpenInput({ symbol: step.symbol, direction: 'LONG', entry_price: 100, stop_price: step.stop, target_price: 120, size: step.size }), now).log;
      case 'close':
        return target ? applyClose(log, target.id, { exit_price: step.price }, now).log : log;
      case 'partial':
        return target ? applyPartial(log, target.id, { fraction: 0.5, exit_price: step.price }, now).log : log;
      case 'update':
        return target ? applyUpdate(log, target.id, { notes: step.notes }).log : log;
      case 'raw': {
        const trades = log.trades.slice();
        trades.splice(step.insert ? at : n, 0, structuredClone(step.trade) as unknown as Trade);
        return { ...log, trades };
      }
      case 'nonrecord':
        return { ...log, trades: [...log.trades, null as unknown as Trade] };
      case 'remove':
        return { ...log, trades: log.trades.filter((_, i) => i !== at) };
      case 'reread':
        // A new version read from disk: equal content, all new objects.
        return JSON.parse(JSON.stringify(log)) as TradeLog;
      case 'mutate': {
        // A caller editing an unfrozen trade in place (often the one just appended): a state of the
        // old content must not be reused.
        const victim = step.at % 2 === 0 ? log.trades[n - 1] : target;
        if (victim && !Object.isFrozen(victim)) Object.assign(victim, { status: 'CLOSED', pnl_usd: step.pnl, exit_time: '2026-03-01T00:00:00+00:00' });
        return log;
      }
      case 'push':
        // A caller appending to an unfrozen trades array in place (a frozen trade, so only the array tells).
        if (!Object.isFrozen(log.trades)) (log.trades as Trade[]).push(deepFreeze(structuredClone(step.trade)) as unknown as Trade);
        return log;
    }
  } catch {
    return log;
  }
}

const probeArb = fc.record({ symbol: symbolArb, size: fc.constantFrom(0.5, 1, 40), stop: fc.constantFrom(95, 99) });

/** Every number the open checks use, from the state and from the full functions: the same doubles (Object.is: -0 too). */
function expectSameAsFull(
  log: TradeLog,
  state: OpenState,
  settings: Settings,
  now: Date,
  probe: { symbol: string; size: number; stop: number },
): void {
  const options = { startingCapital: settings.startingCapital, drawdownLimits: settings.drawdownLimits, now };
  const fast = haltFrom(state, options);
  const full = haltState(log, options);
  expect(fast).toStrictEqual(full);
  for (const k of ['daily', 'weekly', 'total'] as const) expect(Object.is(fast[k], full[k])).toBe(true);
  const equity = equityOf(log, settings.startingCapital);
  expect(Object.is(equityFrom(state, settings.startingCapital), equity)).toBe(true);
  const open = openTradesOf(log);
  expect(state.open.length).toBe(open.length);
  expect(state.open.every((t, i) => t === open[i])).toBe(true);
  expect(nextNumberFrom(state, log)).toBe(nextTradeNumber(log));
  const input: OpenInput = validateOpenInput({ symbol: probe.symbol, direction: 'LONG', entry_price: 100, stop_price: probe.stop, target_price: 120, size: probe.size });
  const verdict = checkOpenRisk(log, input, settings, equity);
  expect(checkOpenRiskWith(log, state.open, input, settings, equityFrom(state, settings.startingCapital))).toStrictEqual(verdict);
  // The first check, against its definition: an open trade on the instrument, whatever the spelling.
  const held = open.some((t) => instrumentKey(t.symbol) === instrumentKey(probe.symbol));
  expect(!verdict.ok && verdict.code === 'DUPLICATE_SYMBOL').toBe(held);
}

describe('OpenState: the open checks from a state carried over a group give what the full passes give', () => {
  it('haltState, equityOf, checkOpenRisk and nextTradeNumber, bit for bit, over random histories (property)', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(fc.tuple(stepArb, fc.constantFrom('deep', 'deep', 'deep', 'deep', 'array', 'none'), fc.nat({ max: 30 }), probeArb), { minLength: 1, maxLength: 40 }),
        (config, steps) => {
          const settings = resolveSettings(config);
          const tracker = new OpenStateTracker();
          let log: TradeLog = { trades: [], next_id: 1 };
          let clock = Date.UTC(2026, 2, 2, 5);
          for (const [step, freeze, hours, probe] of steps) {
            // The clock crosses days and weeks: today's and Monday's starts move under the state.
            clock += hours * 3_600_000;
            const now = new Date(clock);
            log = apply(log, step, now);
            // Frozen as the store gives every log; or not, or only the array, as another caller might.
            if (freeze === 'deep') deepFreeze(log);
            else if (freeze === 'array') Object.freeze(log.trades);
            const state = tracker.stateOf(log);
            if (log.trades.some((t) => t === null)) {
              expect(state).toBeNull();
              // Gone again at the next step, so that the rest of the run is still compared.
              log = { ...log, trades: log.trades.filter((t) => t !== null) };
              continue;
            }
            expect(state).not.toBeNull();
            if (state === null) return;
            expectSameAsFull(log, state, settings, now, probe);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('continued over appended trades of every kind (the fast path itself), bit for bit (property)', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(rawArb, { maxLength: 12 }),
        fc.array(fc.tuple(fc.array(rawArb, { minLength: 1, maxLength: 3 }), fc.nat({ max: 30 }), probeArb), { minLength: 1, maxLength: 12 }),
        (config, initial, appends) => {
          const settings = resolveSettings(config);
          const tracker = new OpenStateTracker();
          let log = deepFreeze(structuredClone({ trades: initial, next_id: 1 }) as unknown as TradeLog);
          tracker.stateOf(log);
          let clock = Date.UTC(2026, 2, 2, 5);
          for (const [added, hours, probe] of appends) {
            clock += hours * 3_600_000;
            log = deepFreeze({ ...log, trades: [...log.trades, ...(structuredClone(added) as unknown as Trade[])] });
            const state = tracker.stateOf(log);
            expect(state).not.toBeNull();
            if (state !== null) expectSameAsFull(log, state, settings, new Date(clock), probe);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a group of opens on a long history reuses the state instead of walking the history again', () => {
    let log = closedHistory(3000);
    const tracker = new OpenStateTracker();
    const first = tracker.stateOf(log);
    const now = new Date(Date.UTC(2026, 5, 1));
    for (let k = 0; k < 16; k++) {
      const before = tracker.stateOf(log);
      log = deepFreeze(applyOpen(log, validateOpenInput({ symbol: `G${k}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 }), now).log);
      const after = tracker.stateOf(log);
      // An open realizes nothing: the ledger is shared, not rebuilt.
      expect(after?.ledger).toBe(first?.ledger);
      expect(before).not.toBe(after);
      expect(withoutPrefix(after)).toStrictEqual(withoutPrefix(openStateOf(log.trades)));
    }
  });

  it('the open after a close continues from the trades before the first OPEN one, bit for bit', () => {
    let log = closedHistory(2000);
    const tracker = new OpenStateTracker();
    const first = tracker.stateOf(log);
    const now = new Date(Date.UTC(2026, 5, 1));
    for (let k = 0; k < 12; k++) {
      // A bot's loop: open, then close (a position in the middle of the open ones when k is odd).
      const opened = applyOpen(log, validateOpenInput({ symbol: `G${k}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 }), now);
      log = deepFreeze(opened.log);
      tracker.stateOf(log);
      const closing = k % 2 === 1 ? (log.trades[log.trades.length - 2] as Trade) : opened.trade;
      if (closing.status === 'OPEN') log = deepFreeze(applyClose(log, closing.id, { exit_price: 100.1 + k / 10 }, new Date(now.getTime() + k * 60_000)).log);
      const after = tracker.stateOf(log);
      expect(withoutPrefix(after)).toStrictEqual(withoutPrefix(openStateOf(log.trades)));
      // Not rebuilt: a full pass parses every event anew; a continuation keeps the first ones.
      expect(after?.ledger.events[0]).toBe(first?.ledger.events[0]);
    }
  });
});

describe('the halt\'s daily and weekly windows over a growing day', () => {
  it('a close carries the windows over from the events it added: the day\'s earlier events are not walked again', () => {
    // Today: a loss of 40 at 01:00 (the day's low), then small gains every few minutes.
    const day = Date.UTC(2026, 5, 3); // a Wednesday
    const now = new Date(day + 20 * 3_600_000);
    const options = { startingCapital: 1000, drawdownLimits: { daily: -0.5, weekly: -0.5, total: -0.9 }, now };
    const closeAt = (log: TradeLog, symbol: string, exit: number, at: number): TradeLog => {
      const opened = applyOpen(log, validateOpenInput({ symbol, direction: 'LONG', entry_price: 100, stop_price: 50, target_price: 200, size: 1 }), new Date(at - 1000));
      return deepFreeze(applyClose(opened.log, opened.trade.id, { exit_price: exit }, new Date(at)).log);
    };
    let log: TradeLog = deepFreeze({ trades: [], next_id: 1 });
    log = closeAt(log, 'L', 60, day + 3_600_000);
    for (let k = 1; k <= 30; k++) log = closeAt(log, `G${k}`, 101, day + 2 * 3_600_000 + k * 60_000);
    const tracker = new OpenStateTracker();
    const before = tracker.stateOf(log);
    if (before === null) throw new Error('no state');
    expect(haltFrom(before, options)).toStrictEqual(haltState(log, options)); // the windows, walked once

    log = closeAt(log, 'G31', 101, day + 5 * 3_600_000);
    const after = tracker.stateOf(log);
    if (after === null) throw new Error('no state');
    const expected = haltState(log, options);
    // Moved to yesterday behind the state's back, the day's second event would end a walk back from
    // the end before it reached the loss: only a carried window still sees the day's low of 960.
    const second = after.ledger.events[1] as { micros: number };
    second.micros = day - 3_600_000;
    expect(haltFrom(after, options)).toStrictEqual(expected);
    expect(expected.daily).toBeCloseTo(-0.04, 10);
  });
});

/** A frozen log of `n` closed trades, one an hour from 2026-01-01, with P&L whose sums depend on their order. */
function closedHistory(n: number): TradeLog {
  const trades: Trade[] = [];
  for (let i = 1; i <= n; i++) {
    trades.push({
      ...(applyOpen({ trades: [], next_id: i }, validateOpenInput({ symbol: `S${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 }), new Date(Date.UTC(2026, 0, 1) + i * 3_600_000)).trade),
      status: 'CLOSED',
      exit_time: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000 + 1000).toISOString(),
      pnl_usd: (i % 7) / 10 - 0.3,
    });
  }
  return deepFreeze({ trades, next_id: n + 1 } as TradeLog);
}

/** A state without its settled prefix (the full pass does not compute one), for comparing values. */
function withoutPrefix(s: OpenState | null): unknown {
  return s === null ? null : { ...s, settled: null };
}
