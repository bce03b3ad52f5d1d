import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { IntegrityTracker, verifyIntegrity } from '../src/domain/integrity.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { deepFreeze } from './trades.js';

// Small pools, so that duplicate ids, shared OPEN symbols, the cap and every own-field rule all
// occur often (one instrument in several spellings); bad values of every kind the full check looks at.
const num = fc.constantFrom<unknown>(null, undefined, -1, 0, 1, 2, 5, 10, 12, Number.NaN, '5');
const tradeArb = fc.record({
  id: fc.constantFrom<unknown>('T001', 'T002', 'T003', 'T004', 7, null),
  status: fc.constantFrom<unknown>('OPEN', 'OPEN', 'CLOSED', 'CLOSED', 'PENDING', undefined),
  direction: fc.constantFrom<unknown>('LONG', 'SHORT', 'UP', null, undefined),
  symbol: fc.constantFrom<unknown>('BTC', 'btc', ' Btc', 'ETH', 'SOL', '', '  ', undefined, 7),
  entry_price: num,
  stop_price: num,
  target_price: num,
  size: num,
  exit_price: num,
  pnl_usd: num,
}) as fc.Arbitrary<Record<string, unknown>>;

type Step =
  | { kind: 'append' | 'insert'; at: number; trade: Record<string, unknown> }
  | { kind: 'replace'; at: number; patch: Record<string, unknown> }
  | { kind: 'remove'; at: number }
  | { kind: 'copy'; at: number }
  | { kind: 'mutate'; at: number; patch: Record<string, unknown> };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), at: fc.nat(), trade: tradeArb }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), trade: tradeArb }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), patch: tradeArb.chain((t) => fc.subarray(Object.keys(t)).map((ks) => Object.fromEntries(ks.map((k) => [k, t[k]])))) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('copy' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('mutate' as const), at: fc.nat(), patch: tradeArb }),
);

describe('IntegrityTracker', () => {
  it('answers exactly what verifyIntegrity answers, version after version (property)', () => {
    fc.assert(
      fc.property(
        fc.array(tradeArb, { maxLength: 8 }),
        fc.array(fc.tuple(stepArb, fc.nat({ max: 5 }), fc.boolean()), { minLength: 1, maxLength: 25 }),
        (initial, steps) => {
          const tracker = new IntegrityTracker();
          let trades = initial.map((t) => ({ ...t })) as unknown as Trade[];
          for (const [step, maxPositions, freeze] of steps) {
            const next = trades.slice();
            const at = next.length === 0 ? 0 : step.at % next.length;
            if (step.kind === 'append') next.push({ ...step.trade } as unknown as Trade);
            else if (step.kind === 'insert') next.splice(at, 0, { ...step.trade } as unknown as Trade);
            else if (next.length > 0) {
              if (step.kind === 'replace') next[at] = { ...next[at], ...step.patch } as Trade;
              else if (step.kind === 'remove') next.splice(at, 1);
              else if (step.kind === 'copy') next.push(next[at] as Trade); // the same object twice
              else if (!Object.isFrozen(next[at])) Object.assign(next[at] as Trade, step.patch); // edited in place
            }
            trades = next;
            // As the store gives it (all frozen), or as any caller might (nothing frozen, or some).
            const log = { trades, next_id: 1 } as TradeLog;
            if (freeze) deepFreeze(log);
            expect(tracker.check(log, { maxPositions })).toEqual(verifyIntegrity(log, { maxPositions }));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a clean log of thousands stays clean at the cost of the trades that changed', () => {
    const tracker = new IntegrityTracker();
    const mk = (i: number): Trade =>
      ({ id: `T${i}`, status: 'CLOSED', direction: 'LONG', symbol: `S${i}`, entry_price: 10, stop_price: 9, size: 1, exit_price: 11, pnl_usd: 1 }) as unknown as Trade;
    let log = deepFreeze({ trades: Array.from({ length: 5000 }, (_, i) => mk(i)), next_id: 5001 } as TradeLog);
    expect(tracker.check(log)).toEqual([]);
    const dup = { ...mk(4999), status: 'OPEN', exit_price: null, pnl_usd: null } as unknown as Trade;
    log = deepFreeze({ trades: [...log.trades, dup], next_id: 5002 } as TradeLog);
    expect(tracker.check(log)).toEqual(verifyIntegrity(log));
    expect(tracker.check(log).map((v) => v.code)).toEqual(['DUPLICATE_ID']);
    log = deepFreeze({ trades: log.trades.slice(0, -1), next_id: 5002 } as TradeLog);
    expect(tracker.check(log)).toEqual([]);
  });
});
