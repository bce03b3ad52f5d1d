import type { Trade, TradeLog } from '../domain/types.js';
import type { Layout } from './layout.js';

/**
 * Parses a new version of the log by reusing the parsed trades of a previous
 * version wherever the bytes are the same.
 *
 * When several processes share one log, every write of one invalidates the
 * others' caches; parsing and re-encoding thousands of unchanged trades then
 * dominates a write. But a write changes a few trades and leaves the rest of
 * the bytes as they were. So: find the common prefix and suffix of the old
 * and new bytes; trades whose text lies wholly inside them are the same JSON
 * values in the same context, so their parsed objects are reused; only the
 * region between is scanned (a small JSON tokenizer finds element bounds) and
 * parsed. Anything unexpected returns null and the caller parses in full.
 */
export function parseIncremental(prev: Layout, bytes: Buffer): { log: TradeLog; layout: Layout } | null {
  const old = prev.buf;
  const n = prev.trades.length;
  const P = commonPrefix(old, bytes);
  const S = Math.min(commonSuffix(old, bytes), Math.min(old.length, bytes.length) - P);
  const delta = bytes.length - old.length;
  if (P <= prev.open) return null; // the text before the trades array changed

  // Leading trades whose text ends inside the common prefix are unchanged.
  let a = 0;
  while (a < n && (prev.end[a] as number) <= P) a++;
  // Trailing trades whose text starts inside the common suffix are unchanged.
  let b = n;
  while (b > a && (prev.start[b - 1] as number) >= old.length - S) b--;

  const from = a > 0 ? (prev.end[a - 1] as number) : prev.open + 1;
  const suffixAt = b < n ? (prev.start[b] as number) + delta : -1;
  // Re-scanning most of the file costs more than JSON.parse of all of it.
  const scanEnd = suffixAt >= 0 ? suffixAt : bytes.length;
  if (scanEnd - from > bytes.length / 2) return null;

  const spans: Array<[number, number]> = [];
  let i = from;
  let close = -1;
  if (a > 0) {
    i = skipWs(bytes, i);
    if (bytes[i] === 0x5d /* ] */) close = i;
    else if (bytes[i] === 0x2c /* , */) i++;
    else return null;
  }
  while (close < 0) {
    i = skipWs(bytes, i);
    if (i === suffixAt) break;
    if (bytes[i] === 0x5d) {
      if (spans.length > 0 || a > 0) return null; // "]" right after a comma
      close = i;
      break;
    }
    const s0 = i;
    i = skipValue(bytes, i);
    if (i < 0) return null;
    spans.push([s0, i]);
    i = skipWs(bytes, i);
    if (bytes[i] === 0x2c) i++;
    else if (bytes[i] === 0x5d) close = i;
    else return null;
  }
  if (close >= 0 && b < n) return null; // the array ended before the unchanged tail
  if (close < 0) {
    if (i !== suffixAt) return null;
    close = prev.close + delta;
    if (prev.close < old.length - S) return null; // the tail moved but its "]" changed
  }

  let middle: Trade[];
  let top: Record<string, unknown>;
  try {
    middle = spans.map(([s, e]) => JSON.parse(bytes.toString('utf8', s, e)) as Trade);
    top = JSON.parse(bytes.toString('utf8', 0, prev.open + 1) + bytes.toString('utf8', close)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (top === null || typeof top !== 'object' || !Array.isArray(top.trades) || top.trades.length !== 0) return null;

  const trades = [...prev.trades.slice(0, a), ...middle, ...prev.trades.slice(b)];
  top.trades = trades; // same key position as in the file
  const start = [...prev.start.slice(0, a), ...spans.map((x) => x[0]), ...prev.start.slice(b).map((x) => x + delta)];
  const end = [...prev.end.slice(0, a), ...spans.map((x) => x[1]), ...prev.end.slice(b).map((x) => x + delta)];
  return { log: top as TradeLog, layout: { trades, buf: bytes, start, end, open: prev.open, close } };
}

const CHUNK = 4096;

function commonPrefix(x: Buffer, y: Buffer): number {
  const len = Math.min(x.length, y.length);
  let i = 0;
  // Native compares in blocks first, bytes only in the block that differs.
  while (i + CHUNK <= len && x.compare(y, i, i + CHUNK, i, i + CHUNK) === 0) i += CHUNK;
  while (i < len && x[i] === y[i]) i++;
  return i;
}

function commonSuffix(x: Buffer, y: Buffer): number {
  const len = Math.min(x.length, y.length);
  let k = 0;
  while (k + CHUNK <= len && x.compare(y, y.length - k - CHUNK, y.length - k, x.length - k - CHUNK, x.length - k) === 0) k += CHUNK;
  while (k < len && x[x.length - 1 - k] === y[y.length - 1 - k]) k++;
  return k;
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function skipString(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22 /* " */) return i + 1;
  }
  return -1;
}

/** End offset of the JSON value starting at i, or -1 (validity is left to JSON.parse). */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i];
      if (d === 0x22) {
        i = skipString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A scalar runs to the next delimiter.
  const s = i;
  while (i < b.length) {
    const d = b[i];
    if (d === 0x2c || d === 0x5d || d === 0x7d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    i++;
  }
  return i > s ? i : -1;
}
