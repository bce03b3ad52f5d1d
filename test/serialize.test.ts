import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { serializeLog } from '../src/io/serialize.js';

describe('serializeLog', () => {
  it('is exactly JSON.stringify(log, null, 2) plus a newline, for any JSON log, cached or not', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const trade = fc.dictionary(fc.string(), json, { maxKeys: 6 }).map((o) => ({ id: 'T1', ...o }));
    fc.assert(
      fc.property(fc.array(trade, { maxLength: 5 }), fc.integer({ min: 0 }), fc.dictionary(fc.string().filter((k) => k !== 'trades' && k !== 'next_id'), json, { maxKeys: 2 }), (trades, next, extra) => {
        const log = { trades, next_id: next, ...extra };
        const expected = `${JSON.stringify(log, null, 2)}\n`;
        expect(serializeLog(log as never).toString('utf8')).toBe(expected);
        trades.forEach((t) => Object.freeze(t));
        expect(serializeLog(log as never).toString('utf8')).toBe(expected); // from the cache
      }),
      { numRuns: 300 },
    );
  });

  it('stays exact across a sequence of edits that reuse runs of the previous result', () => {
    const mk = (i: number) => Object.freeze({ id: `T${i}`, symbol: `S${i}`, n: i, note: 'é\n"' });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('append'), fc.constant('replace'), fc.constant('remove'), fc.constant('insert')), { maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 25, maxLength: 25 }),
        (ops, picks) => {
          let trades: object[] = [mk(0), mk(1), mk(2)];
          let k = 3;
          ops.forEach((op, j) => {
            const at = trades.length ? (picks[j] as number) % trades.length : 0;
            if (op === 'append') trades = [...trades, mk(k++)];
            if (op === 'replace' && trades.length) trades = trades.map((t, i) => (i === at ? mk(k++) : t));
            if (op === 'remove') trades = trades.filter((_, i) => i !== at);
            if (op === 'insert') trades = [...trades.slice(0, at), mk(k++), ...trades.slice(at)];
            const log = { trades, next_id: k };
            expect(serializeLog(log as never).toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles the empty log', () => {
    expect(serializeLog({ trades: [], next_id: 1 }).toString()).toBe('{\n  "trades": [],\n  "next_id": 1\n}\n');
  });
});
