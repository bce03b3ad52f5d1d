/**
 * Parses a new version of the trade log by reusing the parsed trades of a
 * previous version wherever the bytes are the same. When several processes
 * share one log, each write invalidates the others' caches, and parsing
 * thousands of unchanged trades would dominate the next write or reconcile.
 *
 * The splice is exact, not heuristic. The previous version P was valid JSON
 * whose trades-array element boundaries are known (found by a scan that
 * follows strings and nesting). With L the end of the last element lying in
 * the common prefix of P and the new bytes N (or just after "[") and R the
 * start of the first element lying in the common suffix, N = P[0, L) + M +
 * P[R, end). JSON's grammar is context-free, so N's trades are P's first
 * elements, then the elements of M, then P's last elements, exactly when
 * "[0 " + M + " 0]" parses (the 0s stand for the unchanged neighbours). When
 * the change reaches past the array (next_id moved: every openTrade), the
 * tail is parsed behind the unchanged text before the array instead.
 * Anything unexpected falls back to the full parse, which also produces the
 * exact TradeLogCorruptError for a damaged file.
 */
import { deriveTrades } from '../domain/log-index.js';
import { isPlainObject, validateLogShape } from '../domain/validate.js';
import type { Trade, TradeLog } from '../domain/types.js';

/** Element boundaries of the trades array in one version's bytes. */
export interface Layout {
  /** Offset of the trades array's "[". */
  open: number;
  /** trades[i] is the JSON text bytes[starts[i], ends[i]). */
  starts: number[];
  ends: number[];
}

// ------------------------------------------------------------------ scanning

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const TRADES = Buffer.from('trades');
/** Byte class for the scan: 0 nothing to do, 1 quote, 2 opener, 3 closer. */
const CLASS = new Uint8Array(256);
CLASS[QUOTE] = 1;
CLASS[LBRACE] = 2;
CLASS[LBRACKET] = 2;
CLASS[RBRACE] = 3;
CLASS[RBRACKET] = 3;

interface ScanState {
  depth: number;
  inTrades: boolean;
  /** The trades array was already opened before `from`. */
  seenOpen: boolean;
}

interface Scan {
  open: number;
  close: number;
  starts: number[];
  ends: number[];
  depth: number;
}

/** Index of the quote that closes the string opening at `i`, or -1. */
function closingQuote(b: Buffer, i: number, to: number): number {
  // A JS loop: most strings are short keys, where a native indexOf call costs more than it saves.
  for (let j = i + 1; j < to; j++) {
    const c = b[j];
    if (c === QUOTE) return j;
    if (c === BACKSLASH) j++;
  }
  return -1;
}

/** Whether the string token b[s..e] (quotes included) is "trades", escapes decoded. */
function isTradesString(b: Buffer, s: number, e: number): boolean {
  if (e - s - 1 === TRADES.length && b.compare(TRADES, 0, TRADES.length, s + 1, e) === 0) return true;
  const bs = b.indexOf(BACKSLASH, s + 1);
  if (bs < 0 || bs >= e) return false;
  try {
    return JSON.parse(b.toString('utf8', s, e + 1)) === 'trades';
  } catch {
    return false;
  }
}

/**
 * Follows the structure of b[from, to), which must be (part of) valid JSON:
 * records where the elements of the top-level "trades" array start and end.
 * Returns null when a top-level "trades" key follows the array (JSON.parse
 * keeps the last duplicate; splicing would not). Validity is JSON.parse's job.
 */
function scan(b: Buffer, from: number, to: number, state: ScanState): Scan | null {
  let { depth, inTrades, seenOpen } = state;
  let open = -1;
  let close = -1;
  let lastKeyIsTrades = false;
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = from; i < to; i++) {
    const k = CLASS[b[i] as number] as number;
    if (k === 0) continue;
    if (k === 1) {
      const e = closingQuote(b, i, to);
      if (e < 0) return null;
      if (depth === 1) {
        lastKeyIsTrades = isTradesString(b, i, e);
        if (lastKeyIsTrades && seenOpen) return null;
      }
      i = e;
    } else if (k === 2) {
      if (inTrades && depth === 2) starts.push(i);
      else if (depth === 1 && b[i] === LBRACKET && lastKeyIsTrades) {
        open = i;
        inTrades = true;
        seenOpen = true;
      }
      depth++;
    } else {
      depth--;
      if (inTrades && depth === 2) ends.push(i + 1);
      else if (inTrades && depth === 1) {
        close = i;
        inTrades = false;
      }
    }
  }
  return { open, close, starts, ends, depth };
}

/** The layout of a version that parsed in full, or null when it cannot serve as a base. */
export function layoutOf(bytes: Buffer, count: number): Layout | null {
  const s = scan(bytes, 0, bytes.length, { depth: 0, inTrades: false, seenOpen: false });
  if (s === null || s.open < 0 || s.close < 0 || s.starts.length !== count || s.ends.length !== count) return null;
  return { open: s.open, starts: s.starts, ends: s.ends };
}

// ----------------------------------------------------------------- splicing

const CHUNK = 65536;

function commonPrefix(x: Buffer, y: Buffer): number {
  const len = Math.min(x.length, y.length);
  let i = 0;
  // memcmp in blocks first, bytes only inside the block that differs
  while (i + CHUNK <= len && x.compare(y, i, i + CHUNK, i, i + CHUNK) === 0) i += CHUNK;
  while (i < len && x[i] === y[i]) i++;
  return i;
}

function commonSuffix(x: Buffer, y: Buffer): number {
  const len = Math.min(x.length, y.length);
  let k = 0;
  while (k + CHUNK <= len && y.compare(x, x.length - k - CHUNK, x.length - k, y.length - k - CHUNK, y.length - k) === 0) k += CHUNK;
  while (k < len && x[x.length - 1 - k] === y[y.length - 1 - k]) k++;
  return k;
}

/** Whether the bytes that differ are few enough that a splice can beat a full parse (checked before any scan). */
export function worthSplicing(P: Buffer, N: Buffer): boolean {
  const cp = commonPrefix(P, N);
  const cs = Math.min(commonSuffix(P, N), Math.min(P.length, N.length) - cp);
  return N.length - cs - cp <= N.length / 2;
}

/** First index in the ascending `xs` whose value is >= v (xs.length if none). */
function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * N parsed by reusing P's trades, or null when the full parse should decide
 * (including every damaged N: the full parse names the damage).
 */
export function spliceParse(P: Buffer, prevLog: TradeLog, layout: Layout, N: Buffer): { log: TradeLog; layout: Layout; parsed: readonly [number, number] } | null {
  const { open, starts, ends } = layout;
  const n = starts.length;
  const cp = commonPrefix(P, N);
  if (cp < open + 1) return null; // the text before the trades array changed
  const cs = Math.min(commonSuffix(P, N), Math.min(P.length, N.length) - cp);
  const delta = N.length - P.length;

  // i: elements wholly in the common prefix; j: first element wholly in the common suffix
  const i = lowerBound(ends, cp + 1);
  const j = lowerBound(starts, P.length - cs);
  const L = i > 0 ? (ends[i - 1] as number) : open + 1;
  const tailOnly = j >= n; // the change reaches the array's end or beyond it
  const end = tailOnly ? N.length : (starts[j] as number) + delta;
  // Re-scanning most of the file costs as much as parsing all of it.
  if (end - L > N.length / 2) return null;

  let middle: unknown[];
  let top: Record<string, unknown>;
  try {
    if (!tailOnly) {
      const arr: unknown = JSON.parse(`[${i > 0 ? '0 ' : ''}${N.toString('utf8', L, end)} 0]`);
      if (!Array.isArray(arr)) return null;
      middle = arr.slice(i > 0 ? 1 : 0, -1);
      top = { ...prevLog };
    } else {
      const o: unknown = JSON.parse(`${P.toString('utf8', 0, open + 1)}${i > 0 ? '0 ' : ''}${N.toString('utf8', L)}`);
      if (!isPlainObject(o) || !Array.isArray(o.trades) || (i > 0 && o.trades[0] !== 0)) return null;
      middle = o.trades.slice(i > 0 ? 1 : 0);
      top = o;
    }
  } catch {
    return null;
  }
  // P's kept trades were validated with P; check the new ones and the top level.
  if (validateLogShape({ ...top, trades: middle }) !== null) return null;

  const s = scan(N, L, end, { depth: 2, inTrades: true, seenOpen: true });
  if (s === null || s.starts.length !== middle.length || s.ends.length !== middle.length) return null;
  if (tailOnly ? s.close < 0 : s.close >= 0 || s.depth !== 2) return null;

  // Replaced and appended trades only (what another process's write does): derived, so that a
  // sealed base gives a sealed array that remembers the positions written (log-index.ts).
  const replaces = middle.length === j - i || (j === n && middle.length > j - i);
  const trades = replaces
    ? deriveTrades(prevLog.trades, (middle as Trade[]).map((t, k) => [i + k, t] as const))
    : prevLog.trades.slice(0, i).concat(middle as Trade[], prevLog.trades.slice(j));
  top.trades = trades; // assignment keeps the key where the file has it
  const shift = (x: number) => x + delta;
  return {
    log: top as TradeLog,
    /** The positions [from, to) of the trades parsed from N: the others are P's, at P's bytes. */
    parsed: [i, i + middle.length],
    layout: {
      open,
      starts: starts.slice(0, i).concat(s.starts, starts.slice(j).map(shift)),
      ends: ends.slice(0, i).concat(s.ends, ends.slice(j).map(shift)),
    },
  };
}
