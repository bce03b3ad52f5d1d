import { isSealed, knownChanges } from '../domain/log-index.js';
import type { Trade, TradeLog } from '../domain/types.js';
import type { Layout } from './incremental.js';

/** A layout with the bytes it describes and the trades parsed from them. */
export interface WrittenLayout extends Layout {
  readonly trades: readonly Trade[];
  readonly buf: Buffer;
  /** The same bytes as pieces, when serializeLog made them (copying runs from pieces needs no join). */
  readonly pieces?: Pieces;
}

/**
 * Bytes held as consecutive pieces: views of earlier versions' bytes and the few new trades'.
 * A large log's write hands them to writev(2) as they are, so the megabytes of unchanged trades
 * are never copied into one new buffer (that copy, and collecting the buffers it leaves, cost as
 * much as the serialization itself at 10,000 trades). Joined only when something needs one
 * buffer (a read that compares or splices against this version), once.
 */
export class Pieces {
  readonly list: readonly Buffer[];
  /** ends[i]: the offset just past list[i]. */
  readonly #ends: number[];
  readonly length: number;
  #joined: Buffer | null;

  constructor(list: readonly Buffer[]) {
    const kept = list.filter((b) => b.length > 0);
    const ends: number[] = [];
    let len = 0;
    for (const b of kept) ends.push((len += b.length));
    this.list = kept;
    this.#ends = ends;
    this.length = len;
    this.#joined = kept.length === 1 ? (kept[0] as Buffer) : null;
  }

  /** All the bytes in one buffer. */
  get buf(): Buffer {
    if (this.#joined === null) this.#joined = Buffer.concat(this.list as Buffer[], this.length);
    return this.#joined;
  }

  /** Pushes the bytes [from, to) as views of the pieces: no copy. */
  copy(from: number, to: number, push: (b: Buffer) => void): void {
    if (this.#joined !== null) {
      push(this.#joined.subarray(from, to));
      return;
    }
    // The first piece ending after `from` (binary search: a version has up to MAX_PIECES pieces).
    let lo = 0;
    let hi = this.#ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#ends[mid] as number) > from) hi = mid;
      else lo = mid + 1;
    }
    for (let i = lo; i < this.list.length && from < to; i++) {
      const end = this.#ends[i] as number;
      const begin = end - (this.list[i] as Buffer).length;
      push((this.list[i] as Buffer).subarray(from - begin, Math.min(to, end) - begin));
      from = Math.min(to, end);
    }
  }
}

/**
 * Above this many pieces a version is joined: each write adds a few, and iovecs are not free.
 * Below it even a small log stays in pieces: the join was a fresh buffer of the whole log on every
 * write (at 300 trades, half of what serializing cost), where writev(2) takes the pieces as they are.
 */
const MAX_PIECES = 256;
/**
 * ...and once its pieces average less than this many bytes: every write copies the views of its
 * unchanged runs, so a small log's many tiny pieces would cost more garbage than one join.
 */
const MIN_PIECE_BYTES = 2048;

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

/** Whether bytes[from, to) is exactly how serializeLog writes `t` (its bytes are cached for the write). */
export function isTradeBytes(t: Trade, bytes: Buffer, from: number, to: number): boolean {
  const b = tradeBytes(t);
  return b.length === to - from && bytes.compare(b, 0, b.length, from, to) === 0;
}

function tradeBytes(t: Trade): Buffer {
  let b = cache.get(t);
  if (b === undefined) {
    b = Buffer.from(JSON.stringify(t, null, 2).replace(/\n/g, '\n    '), 'utf8');
    if (Object.isFrozen(t)) cache.set(t, b);
  }
  return b;
}

const reusable = (a: Trade | undefined, b: Trade | undefined) => a === b && a !== undefined && Object.isFrozen(a);

/**
 * The log's bytes, and their layout to serialize the next version from. `pieces` are the bytes as
 * the durable write takes them; `buf` joins them (on first use, once).
 */
export function serializeLog(log: TradeLog, previous: WrittenLayout | null = null): { readonly buf: Buffer; pieces: Pieces; layout: WrittenLayout | null } {
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
  const join = chunks.length > MAX_PIECES || chunks.length * MIN_PIECE_BYTES > len;
  const pieces = new Pieces(join ? [Buffer.concat(chunks, len)] : chunks);
  const layout: WrittenLayout | null = runs === null ? null : { ...runs, pieces, get buf() { return pieces.buf; } };
  return { pieces, layout, get buf() { return pieces.buf; } };
}

const TRADES_KEY = Buffer.from('\n  "trades": [');
const TRADE_END = Buffer.from('\n    }');
const ARRAY_END = Buffer.from('\n  ]');
/** "[" then the first trade's indent and "{". */
const FIRST = Buffer.from('[\n    {');

/** Whether buf holds ",\n    {" (SEP, then the next trade's "{") at `at`. */
function isNext(buf: Buffer, at: number): boolean {
  return (
    buf[at] === 0x2c && buf[at + 1] === 0x0a && buf[at + 2] === 0x20 && buf[at + 3] === 0x20 &&
    buf[at + 4] === 0x20 && buf[at + 5] === 0x20 && buf[at + 6] === 0x7b
  );
}

/**
 * A layout to serialize the first write after a full read from, so that it copies the unchanged
 * trades' bytes instead of serializing each (with the garbage of 10,000 small strings and buffers,
 * that was most of a cold store's first write). The file's own bytes serve as they are only when
 * they are known to be ours (the lock file's note, io/log-mark.ts): a log Python or a hand wrote
 * parses to the same trades from other bytes (1.0 for 1, \u00e9 for é), and the write must be
 * exactly serializeLog's. Else the base is the log's bytes as serializeLog would give them, from
 * one JSON.stringify of the whole log. Null (serialize in full) when anything does not fit.
 */
export function canonicalLayout(log: TradeLog): WrittenLayout | null {
  if (!Array.isArray(log.trades) || log.trades.length === 0 || !isSealed(log.trades)) return null;
  const text = `${JSON.stringify(log, null, 2)}\n`;
  // Mostly ASCII: then its bytes are its characters (latin1 copies, utf8 encodes, several times slower).
  const buf = Buffer.byteLength(text, 'utf8') === text.length ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
  return layoutOfSerialized(log.trades, buf);
}

/**
 * The layout of `buf`, bytes in serializeLog's spelling of a log whose trades are `trades` (sealed:
 * the layout keeps them): each trade ends at the next "\n    }" before the "\n  ]" that closes the
 * array, since in that text no string holds a raw newline and nesting sets the indent. Null when
 * anything does not fit (not serializeLog's layout after all).
 */
export function layoutOfSerialized(trades: readonly Trade[], buf: Buffer): WrittenLayout | null {
  const n = trades.length;
  if (n === 0 || !isSealed(trades)) return null;
  const key = buf.indexOf(TRADES_KEY);
  if (key < 0) return null;
  const open = key + TRADES_KEY.length - 1;
  if (buf.compare(FIRST, 0, FIRST.length, open, open + FIRST.length) !== 0) return null;
  const close = buf.indexOf(ARRAY_END, open);
  const starts = new Array<number>(n);
  const ends = new Array<number>(n);
  let at = open + FIRST.length - 1; // the first trade's "{"
  for (let i = 0; i < n; i++) {
    const e = buf.indexOf(TRADE_END, at);
    if (e < 0 || e > close) return null;
    starts[i] = at;
    const end = e + TRADE_END.length;
    ends[i] = end;
    // then ",\n    {" (the next trade) or, after the last, the array's end; bytes read one by
    // one: ten thousand Buffer#compare calls cost more than the search itself
    if (i < n - 1 && !isNext(buf, end)) return null;
    at = end + SEP.length;
  }
  if (ends[n - 1] !== close) return null;
  return { open, starts, ends, trades, buf };
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
    // Derived from the version last written (log-index.ts), whose trades are all frozen: only the
    // positions written can differ, so the unchanged runs are known without comparing each trade.
    const known = isSealed(prev.trades) ? knownChanges(prev.trades, trades) : null;
    const differs = known?.filter((i) => !reusable(trades[i], prev.trades[i]));
    if (differs !== undefined) {
      p = Math.min(differs[0] ?? n, n, m);
      if (n === m) s = differs.length === 0 ? 0 : n - 1 - (differs[differs.length - 1] as number);
      else while (s < n - p && s < m - p && reusable(trades[n - 1 - s], prev.trades[m - 1 - s])) s++;
    } else {
      while (p < n && p < m && reusable(trades[p], prev.trades[p])) p++;
      while (s < n - p && s < m - p && reusable(trades[n - 1 - s], prev.trades[m - 1 - s])) s++;
    }
  }
  // The offsets of trades [p, n): the new trades', then the trailing run's.
  const tailStart: number[] = [];
  const tailEnd: number[] = [];
  let lead: WrittenLayout | null = null; // the leading run did not move: its offsets are lead's as they are
  const prefix: { start: number[]; end: number[] } = { start: [], end: [] };
  const copyRun = (src: WrittenLayout, from: number, to: number, into: { start: number[]; end: number[] }) => {
    // src's trades [from, to) with the separators between them, as one slice
    const base = offset();
    const origin = src.starts[from] as number;
    if (src.pieces !== undefined) src.pieces.copy(origin, src.ends[to - 1] as number, push);
    else push(src.buf.subarray(origin, src.ends[to - 1]));
    if (from === 0 && base === origin && into === prefix) {
      lead = src;
      return;
    }
    for (let i = from; i < to; i++) {
      into.start.push(base + (src.starts[i] as number) - origin);
      into.end.push(base + (src.ends[i] as number) - origin);
    }
  };
  if (p > 0) copyRun(prev as WrittenLayout, 0, p, prefix);
  for (let i = p; i < n - s; i++) {
    if (i > 0) push(SEP);
    tailStart.push(offset());
    push(tradeBytes(trades[i] as Trade));
    tailEnd.push(offset());
  }
  if (s > 0) {
    if (n - s > 0) push(SEP);
    copyRun(prev as WrittenLayout, m - s, m, { start: tailStart, end: tailEnd });
  }
  const starts = joinOffsets(lead, 'starts', p, prefix.start, tailStart);
  const ends = joinOffsets(lead, 'ends', p, prefix.end, tailEnd);
  // A frozen list (the store's) cannot change under the layout: no copy of 10,000 references.
  return { trades: Object.isFrozen(trades) ? trades : trades.slice(), starts, ends };
}

/**
 * One version's offsets: the leading run's (`lead`'s first p when it did not move, else `prefix`)
 * then `tail`, in one array allocated once at its size and copied natively where it can be — at
 * 10,000 trades a loop over every offset, or an array grown past its size, cost more than the write
 * changed.
 */
function joinOffsets(lead: WrittenLayout | null, key: 'starts' | 'ends', p: number, prefix: number[], tail: number[]): number[] {
  if (lead === null) return prefix.length === 0 ? tail : prefix.concat(tail);
  const all = lead[key];
  if (p === all.length) return all.concat(tail); // an append: the whole previous list, then the new
  if (p + tail.length === all.length) {
    // as many trades as before (a close, a partial, an update): a copy, then the positions from p on
    const out = all.slice();
    for (let k = 0; k < tail.length; k++) out[p + k] = tail[k] as number;
    return out;
  }
  return all.slice(0, p).concat(tail);
}
