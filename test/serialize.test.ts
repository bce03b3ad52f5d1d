import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { deepFreeze } from '../src/domain/freeze.js';
import { deriveTrades } from '../src/domain/log-index.js';
import { layoutOf, spliceParse } from '../src/io/incremental.js';
import { canonicalLayout, serializeLog, type WrittenLayout } from '../src/io/serialize.js';
import { tradeRecord } from './trades.js';

const text = (log: unknown, prev: WrittenLayout | null = null) => serializeLog(log as never, prev).buf.toString('utf8');

describe('serializeLog', () => {
  it('is exactly JSON.stringify(log, null, 2) plus a newline, for any JSON log, cached or not', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const trade = fc.dictionary(fc.string(), json, { maxKeys: 6 }).map((o) => ({ id: 'T1', ...o }));
    const extraKey = fc.string().filter((k) => k !== 'trades' && k !== 'next_id');
    fc.assert(
      fc.property(fc.array(trade, { maxLength: 5 }), fc.integer({ min: 0 }), fc.dictionary(extraKey, json, { maxKeys: 2 }), (trades, next, extra) => {
        const log = { trades, next_id: next, ...extra };
        const expected = `${JSON.stringify(log, null, 2)}\n`;
        expect(text(log)).toBe(expected);
        trades.forEach((t) => Object.freeze(t));
        expect(text(log)).toBe(expected); // from the per-trade cache
      }),
      { numRuns: 300 },
    );
  });

  it('stays exact across edits that reuse runs of the previous layout', () => {
    const mk = (i: number) => Object.freeze({ id: `T${i}`, symbol: `S${i}`, n: i, note: 'é\n"' });
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('append', 'replace', 'remove', 'insert'), { maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 25, maxLength: 25 }),
        (ops, picks) => {
          let trades: object[] = [mk(0), mk(1), mk(2)];
          let k = 3;
          let prev: WrittenLayout | null = null;
          ops.forEach((op, j) => {
            const at = trades.length ? (picks[j] as number) % trades.length : 0;
            if (op === 'append') trades = [...trades, mk(k++)];
            if (op === 'replace' && trades.length) trades = trades.map((t, i) => (i === at ? mk(k++) : t));
            if (op === 'remove') trades = trades.filter((_, i) => i !== at);
            if (op === 'insert') trades = [...trades.slice(0, at), mk(k++), ...trades.slice(at)];
            const log = { trades, next_id: k };
            const out = serializeLog(log as never, prev);
            expect(out.buf.toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
            prev = out.layout;
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles the empty log', () => {
    expect(text({ trades: [], next_id: 1 })).toBe('{\n  "trades": [],\n  "next_id": 1\n}\n');
  });
});

describe('the serializer\'s layout feeds spliceParse (the store\'s incremental read)', () => {
  const trade = (i: number, extra: Record<string, unknown> = {}) =>
    Object.freeze({ id: `T${String(i).padStart(3, '0')}`, symbol: `S${i}`, status: 'CLOSED', entry_price: 100 + i, note: i % 3 ? 'plain' : 'q"\\é', ...extra });
  // Other writers' formats: ours, Python's json.dump(indent=2) (floats as 60.0, ASCII escapes), compact.
  const formats: Record<string, (log: unknown) => string> = {
    ours: (log) => text(log),
    python: (log) =>
      `${JSON.stringify(log, null, 2)
        .replace(/("entry_price": )(\d+)(,?)$/gm, '$1$2.0$3')
        .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`,
    compact: (log) => JSON.stringify(log),
  };

  it('equals JSON.parse of the new bytes whenever it answers, for edits by any writer', () => {
    let answered = 0;
    let asked = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.tuple(fc.constantFrom('append', 'replace', 'remove', 'insert', 'next'), fc.nat()), { maxLength: 6 }),
        fc.constantFrom(...Object.keys(formats)),
        (n, edits, fmt) => {
          let trades = Array.from({ length: n }, (_, i) => trade(i));
          let next = n + 1;
          const beforeLog = { trades, next_id: next };
          const before = serializeLog(beforeLog as never);
          if (!before.layout) throw new Error('no layout');
          // The serializer's layout is the one a full scan of its bytes finds.
          expect({ open: before.layout.open, starts: before.layout.starts, ends: before.layout.ends }).toEqual(layoutOf(before.buf, trades.length));
          for (const [op, pick] of edits) {
            const at = trades.length ? pick % trades.length : 0;
            if (op === 'append') trades = [...trades, trade(next++)];
            if (op === 'replace' && trades.length) trades = trades.map((t, i) => (i === at ? trade(next++, { exit_price: 1 }) : t));
            if (op === 'remove') trades = trades.filter((_, i) => i !== at);
            if (op === 'insert') trades = [...trades.slice(0, at), trade(next++), ...trades.slice(at)];
            if (op === 'next') next += 1;
          }
          const after = { trades, next_id: next, ...(pick(edits) ? { extra: { k: 1 } } : {}) };
          const bytes = Buffer.from((formats[fmt] as (l: unknown) => string)(after));
          const r = spliceParse(before.buf, beforeLog as never, before.layout, bytes);
          if (fmt === 'ours') asked++;
          if (r === null) return;
          if (fmt === 'ours') answered++;
          expect(r.log).toEqual(JSON.parse(bytes.toString('utf8')));
          r.log.trades.forEach((t, i) => {
            expect(JSON.parse(bytes.toString('utf8', r.layout.starts[i], r.layout.ends[i]))).toEqual(t);
          });
          expect(bytes[r.layout.open]).toBe(0x5b);
        },
      ),
      { numRuns: 1500 },
    );
    // Not a vacuous pass: between versions written by us, a good share of the
    // cases take the incremental path (other formats mostly differ throughout).
    expect(answered / asked).toBeGreaterThan(0.3);
    function pick(edits: unknown[]) {
      return edits.length % 2 === 1;
    }
  });

  it('reuses the parsed objects of unchanged trades (the point of it)', () => {
    const trades = Array.from({ length: 50 }, (_, i) => trade(i));
    const beforeLog = { trades, next_id: 51 };
    const before = serializeLog(beforeLog as never);
    // Another writer closes trade 20 (a change in the middle)...
    const changed = trades.map((t, i) => (i === 20 ? trade(20, { exit_price: 1 }) : t));
    const mid = serializeLog({ trades: changed, next_id: 51 } as never).buf;
    const r = spliceParse(before.buf, beforeLog as never, before.layout as WrittenLayout, mid);
    expect(r).not.toBeNull();
    expect(r?.log.trades[0]).toBe(trades[0]);
    expect(r?.log.trades[49]).toBe(trades[49]);
    expect(r?.log.trades[20]).not.toBe(trades[20]);
    expect(r?.log.trades[20]).toEqual(changed[20]);
    // ...then opens one (an append and a new next_id).
    const tail = serializeLog({ trades: [...changed, trade(51)], next_id: 52 } as never).buf;
    const r2 = spliceParse(mid, r?.log as never, r?.layout as WrittenLayout, tail);
    expect(r2?.log.trades[20]).toBe(r?.log.trades[20]);
    expect(r2?.log.trades[50]).toEqual(trade(51));
    expect(r2?.log.next_id).toBe(52);
  });

  it('gives up (null) on damage instead of guessing', () => {
    const trades = Array.from({ length: 20 }, (_, i) => trade(i));
    const beforeLog = { trades, next_id: 21 };
    const before = serializeLog(beforeLog as never);
    const splice = (b: Buffer) => spliceParse(before.buf, beforeLog as never, before.layout as WrittenLayout, b);
    const good = before.buf.toString('utf8');
    expect(splice(Buffer.from(good.slice(0, good.length - 40)))).toBeNull();
    expect(splice(Buffer.from(good.replace('"S15"', '"S15')))).toBeNull();
    expect(splice(Buffer.from(good.replace('{\n  "trades"', '{\n  "x": 1,\n  "trades"')))).toBeNull();
  });
});

describe('canonicalLayout (the first write after a full read copies the trades it keeps)', () => {
  const big = () => {
    // Large, so that the written pieces show where their bytes come from.
    const trades = Array.from({ length: 1500 }, (_, i) => tradeRecord(`T${i + 1}`, { symbol: i % 7 ? 'BTC' : 'é"\\x', notes: `n${i}` }));
    return deepFreeze({ trades, next_id: 1501 });
  };

  it('describes JSON.stringify(log, null, 2) with the trades where layoutOf finds them', () => {
    const log = big();
    const base = canonicalLayout(log);
    expect(base).not.toBeNull();
    expect(base?.buf.toString('utf8')).toBe(`${JSON.stringify(log, null, 2)}\n`);
    const scanned = layoutOf(base?.buf as Buffer, log.trades.length);
    expect({ open: base?.open, starts: base?.starts, ends: base?.ends }).toEqual(scanned);
  });

  it('lets a write copy the unchanged trades from it, byte-exact', () => {
    const log = big();
    const base = canonicalLayout(log) as WrittenLayout;
    const trades = deriveTrades(log.trades, [[1450, tradeRecord('T1451', { status: 'CLOSED', pnl_usd: 1.5 })], [1500, tradeRecord('T1501')]]);
    const next = { trades, next_id: 1502 };
    const out = serializeLog(next, base);
    expect(out.buf.toString('utf8')).toBe(`${JSON.stringify(next, null, 2)}\n`);
    const from = base.buf.byteOffset;
    const copied = out.pieces.list
      .filter((b) => b.buffer === base.buf.buffer && b.byteOffset >= from && b.byteOffset + b.length <= from + base.buf.length)
      .reduce((n, b) => n + b.length, 0);
    expect(copied).toBeGreaterThan(out.pieces.length * 0.9);
  });

  it('declines what it cannot describe: no trades, or trades that are not all frozen', () => {
    expect(canonicalLayout(deepFreeze({ trades: [], next_id: 1 }))).toBeNull();
    expect(canonicalLayout({ trades: [tradeRecord('T1')], next_id: 2 })).toBeNull();
  });
});
