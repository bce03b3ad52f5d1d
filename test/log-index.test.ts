import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { deepFreeze, freezeAfter } from '../src/domain/freeze.js';
import { instrumentKeyOf } from '../src/domain/instrument.js';
import { IntegrityTracker, verifyIntegrity } from '../src/domain/integrity.js';
import { changedTradeIndices, isSealed, knownChanges, openTradesIn, openTradesOn } from '../src/domain/log-index.js';
import { OpenStateTracker, openStateOf } from '../src/domain/open-state.js';
import { applyClose, applyOpen, applyPartial, applyUpdate, applyUpdatesBatch, findTrade, findTradeByClientId } from '../src/domain/trade-ops.js';
import type { Trade, TradeLog } from '../src/domain/types.js';
import { serializeLog } from '../src/io/serialize.js';
import { validateOpenInput } from '../src/domain/validate.js';
import { NOW, tradeRecord } from './trades.js';

// Small pools: duplicate ids and client_ids, ids that are not strings, one instrument in several
// spellings, statuses the domain never writes — the damaged logs where first-match must hold.
const IDS = ['T001', 'T002', 'T003', 'T004', 'T010'] as const;
const idArb = fc.constantFrom<unknown>(...IDS, 7, null, undefined);
const clientArb = fc.constantFrom<unknown>(undefined, undefined, 'a', 'b', 'c', 5);
const symbolArb = fc.constantFrom<unknown>('BTC', 'btc', ' Btc', 'ETH', 'SOL', '', 7);
const rawArb = fc
  .record({ id: idArb, client_id: clientArb, symbol: symbolArb, status: fc.constantFrom<unknown>('OPEN', 'OPEN', 'CLOSED', 'PENDING', undefined) })
  .map(({ id, client_id, symbol, status }) => {
    const t = tradeRecord('T000', { symbol: symbol as string, status: status as string }) as Record<string, unknown>;
    t.id = id;
    if (client_id === undefined) delete t.client_id;
    else t.client_id = client_id;
    return t as unknown as Trade;
  });

/** A clean log (distinct ids, one OPEN trade per instrument), where the integrity tracker's own counts decide. */
const cleanArb = fc.array(fc.constantFrom('CLOSED', 'OPEN'), { maxLength: 8 }).map((statuses) =>
  statuses.map((status, i) =>
    tradeRecord(`T10${i}`, status === 'OPEN' ? { symbol: `OPEN${i}` } : { status, exit_price: 101, pnl_usd: 1, symbol: 'BTC' }),
  ),
);

type Step =
  | { kind: 'open'; symbol: string; client: string | undefined }
  | { kind: 'close' | 'partial' | 'update'; id: string }
  | { kind: 'batch'; ids: string[] };
const queryId = fc.constantFrom(...IDS, 'T005', 'T006', 'T007', 'T100', 'T102', 'nope');
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('open' as const), symbol: fc.constantFrom('BTC', 'ETH', 'XRP', 'ADA'), client: fc.constantFrom(undefined, 'a', 'd', 'e') }),
  fc.record({ kind: fc.constantFrom('close' as const, 'partial' as const, 'update' as const), id: queryId }),
  fc.record({ kind: fc.constant('batch' as const), ids: fc.array(queryId, { maxLength: 3 }) }),
);

function run(log: TradeLog, step: Step, n: number): { log: TradeLog; result: unknown } {
  switch (step.kind) {
    case 'open': {
      const input = validateOpenInput({ symbol: step.symbol, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1, client_id: step.client });
      if (input.client_id !== undefined && findTradeByClientId(log, input.client_id)) return { log, result: 'retry' };
      const r = applyOpen(log, input, NOW);
      return { log: r.log, result: r.trade };
    }
    case 'close': {
      const r = applyClose(log, step.id, { exit_price: 101 + n }, NOW);
      return { log: r.log, result: r.trade };
    }
    case 'partial': {
      const r = applyPartial(log, step.id, { fraction: 0.5, exit_price: 102 }, NOW);
      return { log: r.log, result: r.result };
    }
    case 'update': {
      const r = applyUpdate(log, step.id, { notes: `n${n}` });
      return { log: r.log, result: r.trade };
    }
    case 'batch': {
      const r = applyUpdatesBatch(log, step.ids.map((id, k) => [id, { notes: `b${n}.${k}` }] as const));
      return { log: r.log, result: r.trades };
    }
  }
}

const outcome = (f: () => { log: TradeLog; result: unknown }): { ok: true; log: TradeLog; result: unknown } | { ok: false; error: string } => {
  try {
    return { ok: true, ...f() };
  } catch (err) {
    return { ok: false, error: `${(err as Error).name}: ${(err as Error).message}` };
  }
};

/** A plain, unfrozen copy: the old code's view (no index, every lookup a scan). */
const plain = (log: TradeLog): TradeLog => structuredClone(log);

describe('log index', () => {
  it('indexed lookups and steps answer what the scans answer, version after version, damaged logs included (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(rawArb, { maxLength: 8 }), cleanArb), fc.array(stepArb, { minLength: 1, maxLength: 20 }), fc.constantFrom(0, 1, 3, 100), (initial, steps, cap) => {
        let log = deepFreeze({ trades: initial, next_id: 3 }) as TradeLog;
        let copy = plain(log);
        const integrity = new IntegrityTracker();
        const openState = new OpenStateTracker();
        let written = serializeLog(log);
        steps.forEach((step, n) => {
          expect(isSealed(log.trades)).toBe(true);
          for (const id of [...IDS, 'T005', 'T006', 'nope', 7]) expect(findTrade(log, id as string)).toEqual(copy.trades.find((t) => t.id === id));
          for (const c of ['a', 'b', 'c', 'd', 'e', 5]) expect(findTradeByClientId(log, c as string)).toEqual(copy.trades.find((t) => t.client_id === c));
          expect(openTradesIn(log.trades)).toEqual(copy.trades.filter((t) => t.status === 'OPEN'));
          for (const s of ['BTC', 'eth', 7, '']) {
            expect(openTradesOn(log.trades, s)).toEqual(copy.trades.filter((t) => t.status === 'OPEN' && instrumentKeyOf(t.symbol) === instrumentKeyOf(s)));
          }
          expect(integrity.check(log, { maxPositions: cap })).toEqual(verifyIntegrity(copy, { maxPositions: cap }));
          expect(openState.stateOf(log)?.maxIdNumber).toEqual(openStateOf(copy.trades)?.maxIdNumber);

          const indexed = outcome(() => run(log, step, n));
          const scanned = outcome(() => run(copy, step, n));
          expect(indexed.ok).toBe(scanned.ok);
          if (!indexed.ok || !scanned.ok) {
            expect(indexed).toEqual(scanned);
            return;
          }
          expect(indexed.result).toEqual(scanned.result);
          expect(indexed.log).toEqual(scanned.log);
          const next = freezeAfter(indexed.log, log);
          const loop: number[] = [];
          for (let i = 0; i < next.trades.length; i++) if (next.trades[i] !== log.trades[i]) loop.push(i);
          expect(changedTradeIndices(log.trades, next.trades)).toEqual(loop);
          // The serializer copies the runs the step left alone from the last version's bytes.
          written = serializeLog(next, written.layout);
          expect(written.buf.toString('utf8')).toBe(`${JSON.stringify(next, null, 2)}\n`);
          log = next;
          copy = scanned.log;
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a step on a sealed log records what it wrote, so a write finds its changes without comparing the history', () => {
    const trades = Array.from({ length: 50 }, (_, i) => tradeRecord(`T${String(i + 1).padStart(3, '0')}`, { symbol: `S${i}`, status: i < 48 ? 'CLOSED' : 'OPEN' }));
    const log0 = deepFreeze({ trades, next_id: 51 }) as TradeLog;
    const open = applyOpen(log0, validateOpenInput({ symbol: 'NEW', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 }), NOW);
    const log1 = freezeAfter(open.log, log0);
    const close = applyClose(log1, 'T049', { exit_price: 101 }, NOW);
    const log2 = freezeAfter(close.log, log1);
    expect(Object.isFrozen(log2.trades[48])).toBe(true);
    expect(knownChanges(log1.trades, log2.trades)).toEqual([48]);
    // Over the group: the union of what each step wrote.
    expect(knownChanges(log0.trades, log2.trades)).toEqual([48, 50]);
    expect(changedTradeIndices(log0.trades, log2.trades)).toEqual([48, 50]);
    // A log nobody derived from this one is not known to be related: the caller compares.
    expect(knownChanges(log2.trades, log0.trades)).toBeNull();
    // An unfrozen log is copied as before and remembers nothing.
    const loose = applyOpen({ trades: trades.slice(), next_id: 51 }, validateOpenInput({ symbol: 'NEW', direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 }), NOW);
    expect(Object.isFrozen(loose.log.trades)).toBe(false);
    expect(isSealed(loose.log.trades)).toBe(false);
  });
});
