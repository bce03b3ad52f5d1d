import type { Trade, TradeLog } from '../domain/types.js';

/**
 * The log's bytes: what JSON.stringify(log, null, 2) gives (the layout of
 * Python's json.dump(indent=2)) plus a trailing newline.
 *
 * A write changes one or two trades of thousands, and the domain never
 * mutates a trade (the store freezes them): it replaces the ones it changes.
 * So each trade's bytes are cached by object identity, and the bytes of the
 * longest runs of unchanged trades at the start and at the end of the list
 * are copied from the previous result in one piece each. Bytes, not strings:
 * joining ten thousand strings costs V8 several times more than one memcpy.
 */
const cache = new WeakMap<object, Buffer>();
const SEP = Buffer.from(',\n    ');

interface Layout {
  trades: readonly Trade[];
  buf: Buffer;
  start: number[];
  end: number[];
}
let last: Layout | null = null;

function tradeBytes(t: Trade): Buffer {
  let b = cache.get(t);
  if (b === undefined) {
    b = Buffer.from(JSON.stringify(t, null, 2).replace(/\n/g, '\n    '), 'utf8');
    if (Object.isFrozen(t)) cache.set(t, b);
  }
  return b;
}

const reusable = (a: Trade | undefined, b: Trade | undefined) => a === b && a !== undefined && Object.isFrozen(a);

export function serializeLog(log: TradeLog): Buffer {
  const chunks: Buffer[] = [];
  let len = 0;
  const push = (b: Buffer) => {
    chunks.push(b);
    len += b.length;
  };
  const put = (s: string) => push(Buffer.from(s, 'utf8'));
  let layout: Omit<Layout, 'buf'> | null = null;
  let first = true;
  put('{');
  for (const key of Object.keys(log)) {
    const value = log[key];
    if (value === undefined) continue;
    put(`${first ? '' : ','}\n  ${JSON.stringify(key)}: `);
    first = false;
    if (key === 'trades' && Array.isArray(value) && value.length > 0) {
      put('[\n    ');
      layout = pushTrades(value as Trade[], push, () => len);
      put('\n  ]');
    } else {
      put(JSON.stringify(value, null, 2).replace(/\n/g, '\n  '));
    }
  }
  put(first ? '}\n' : '\n}\n');
  const buf = Buffer.concat(chunks, len);
  last = layout ? { ...layout, buf } : null;
  return buf;
}

function pushTrades(trades: readonly Trade[], push: (b: Buffer) => void, offset: () => number): Omit<Layout, 'buf'> {
  const n = trades.length;
  const prev = last;
  const m = prev ? prev.trades.length : 0;
  let p = 0;
  let s = 0;
  if (prev) {
    while (p < n && p < m && reusable(trades[p], prev.trades[p])) p++;
    while (s < n - p && s < m - p && reusable(trades[n - 1 - s], prev.trades[m - 1 - s])) s++;
  }
  const start = new Array<number>(n);
  const end = new Array<number>(n);
  const copyRun = (from: number, to: number, at: number) => {
    // prev's trades [from, to) with their separators, as one slice
    const src = prev as Layout;
    const base = offset();
    const origin = src.start[from] as number;
    push(src.buf.subarray(origin, src.end[to - 1]));
    for (let i = from; i < to; i++) {
      start[at + i - from] = base + (src.start[i] as number) - origin;
      end[at + i - from] = base + (src.end[i] as number) - origin;
    }
  };
  if (p > 0) copyRun(0, p, 0);
  for (let i = p; i < n - s; i++) {
    if (i > 0) push(SEP);
    start[i] = offset();
    push(tradeBytes(trades[i] as Trade));
    end[i] = offset();
  }
  if (s > 0) {
    if (n - s > 0) push(SEP);
    copyRun(m - s, m, n - s);
  }
  return { trades: trades.slice(), start, end };
}
