import type { Trade, TradeLog } from '../domain/types.js';
import type { Layout } from './incremental.js';

/** A layout with the bytes it describes and the trades parsed from them. */
export interface WrittenLayout extends Layout {
  readonly trades: readonly Trade[];
  readonly buf: Buffer;
}

/**
 * The log's bytes: what JSON.stringify(log, null, 2) gives (the layout of
 * Python's json.dump(indent=2)) plus a trailing newline.
 *
 * A write changes one or two trades of thousands, and the domain never
 * mutates a trade (the store freezes them): it replaces the ones it changes.
 * So each trade's bytes are cached by object identity, and, given the layout
 * of the previous version, the longest runs of unchanged trades at the start
 * and at the end of the list are copied from its bytes in one piece each.
 * Bytes, not strings: joining ten thousand strings costs V8 several times
 * more than one memcpy.
 */
const cache = new WeakMap<object, Buffer>();
const SEP = Buffer.from(',\n    ');

function tradeBytes(t: Trade): Buffer {
  let b = cache.get(t);
  if (b === undefined) {
    b = Buffer.from(JSON.stringify(t, null, 2).replace(/\n/g, '\n    '), 'utf8');
    if (Object.isFrozen(t)) cache.set(t, b);
  }
  return b;
}

const reusable = (a: Trade | undefined, b: Trade | undefined) => a === b && a !== undefined && Object.isFrozen(a);

export function serializeLog(log: TradeLog, previous: WrittenLayout | null = null): { buf: Buffer; layout: WrittenLayout | null } {
  const chunks: Buffer[] = [];
  let len = 0;
  const push = (b: Buffer) => {
    chunks.push(b);
    len += b.length;
  };
  const put = (s: string) => push(Buffer.from(s, 'utf8'));
  let runs: Omit<WrittenLayout, 'buf'> | null = null;
  let first = true;
  put('{');
  for (const key of Object.keys(log)) {
    const value = log[key];
    if (value === undefined) continue;
    put(`${first ? '' : ','}\n  ${JSON.stringify(key)}: `);
    first = false;
    if (key === 'trades' && Array.isArray(value)) {
      const open = len;
      if (value.length === 0) {
        put('[]');
        runs = { trades: [], starts: [], ends: [], open };
      } else {
        put('[\n    ');
        const t = pushTrades(value as Trade[], previous, push, () => len);
        put('\n  ]');
        runs = { ...t, open };
      }
    } else {
      put(JSON.stringify(value, null, 2).replace(/\n/g, '\n  '));
    }
  }
  put(first ? '}\n' : '\n}\n');
  const buf = Buffer.concat(chunks, len);
  return { buf, layout: runs ? { ...runs, buf } : null };
}

function pushTrades(
  trades: readonly Trade[],
  prev: WrittenLayout | null,
  push: (b: Buffer) => void,
  offset: () => number,
): { trades: readonly Trade[]; starts: number[]; ends: number[] } {
  const n = trades.length;
  const m = prev ? prev.trades.length : 0;
  let p = 0;
  let s = 0;
  if (prev) {
    while (p < n && p < m && reusable(trades[p], prev.trades[p])) p++;
    while (s < n - p && s < m - p && reusable(trades[n - 1 - s], prev.trades[m - 1 - s])) s++;
  }
  const start = new Array<number>(n);
  const end = new Array<number>(n);
  const copyRun = (src: WrittenLayout, from: number, to: number, at: number) => {
    // src's trades [from, to) with the separators between them, as one slice
    const base = offset();
    const origin = src.starts[from] as number;
    push(src.buf.subarray(origin, src.ends[to - 1]));
    for (let i = from; i < to; i++) {
      start[at + i - from] = base + (src.starts[i] as number) - origin;
      end[at + i - from] = base + (src.ends[i] as number) - origin;
    }
  };
  if (p > 0) copyRun(prev as WrittenLayout, 0, p, 0);
  for (let i = p; i < n - s; i++) {
    if (i > 0) push(SEP);
    start[i] = offset();
    push(tradeBytes(trades[i] as Trade));
    end[i] = offset();
  }
  if (s > 0) {
    if (n - s > 0) push(SEP);
    copyRun(prev as WrittenLayout, m - s, m, n - s);
  }
  return { trades: trades.slice(), starts: start, ends: end };
}
