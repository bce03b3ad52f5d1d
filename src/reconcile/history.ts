/**
 * The history guard's memory: what the last good reconcile saw. For each
 * CLOSED trade id a digest of the fields that define its closed result, and
 * the log's next_id. A closed trade never legitimately disappears or changes
 * those fields, and next_id never goes back, so any of that means the log was
 * rewritten (a bad restore, another program, a different log), and rebuilding
 * from it would overwrite good derived state with wrong numbers.
 */
import crypto from 'node:crypto';

import { isPlainObject } from '../domain/validate.js';
import type { Trade, TradeLog } from '../domain/types.js';

export const HISTORY_FILE = '.reconciler-history.json';
const FORMAT = 'trade-state-engine/reconciler-history@1';

/**
 * Exactly the fields SPEC §3 lets change only through open, partial close and
 * close (updateTrade refuses them). They define the closed result: P&L and its
 * partial exits (net, equity), their times (the curve), prices, sizes and stop
 * (R), status, symbol and direction. Left out on purpose, because updateTrade
 * may edit them after the close: stop_price, target_price, notes, grade,
 * setup_type, lessons and extension fields.
 *
 * Changing this list changes every digest: bump FORMAT, so that old history
 * files read as "no baseline" instead of reporting every trade as changed.
 */
export const DIGEST_FIELDS: readonly string[] = Object.freeze([
  'id', 'symbol', 'direction', 'status', 'entry_price', 'entry_time', 'original_stop', 'size', 'original_size',
  'partial_exits', 'exit_price', 'exit_time', 'exit_reason', 'pnl_usd', 'pnl_pct', 'r_multiple', 'client_id',
]);

export type HistoryViolationKind = 'CLOSED_TRADE_MISSING' | 'CLOSED_TRADE_CHANGED' | 'NEXT_ID_WENT_BACK';

export interface HistoryViolation {
  kind: HistoryViolationKind;
  tradeIds: string[];
  message: string;
  previousNextId?: number;
  nextId?: number;
}

export interface Baseline {
  tradeLog: string;
  nextId: number;
  /**
   * SHA-256 (hex) of the log's bytes that `closed` and `nextId` were computed from; null when
   * unknown (a file of an older version of this library, or a cycle that did not read them).
   * A log with exactly these bytes matches this baseline without a single trade digest.
   */
  logSha256: string | null;
  /** Closed trade id -> digest, in log order. */
  closed: Map<string, string>;
}

/**
 * A history file as read: its header at once, its closed map only when a cycle
 * needs it. Checking 10,000 entries and filling a Map costs a fresh process a
 * few milliseconds, which a cycle whose log still has the recorded bytes never needs.
 */
export interface HistoryFile {
  readonly tradeLog: string;
  readonly nextId: number;
  readonly logSha256: string | null;
  /** The whole baseline; null when an entry is damaged, which counts as no baseline, like any damaged file. */
  baseline(): Baseline | null;
}

const sha256 = (s: string): string =>
  typeof crypto.hash === 'function' ? crypto.hash('sha256', s, 'hex') : crypto.createHash('sha256').update(s).digest('hex');
const sha256Bytes = (b: Buffer): string =>
  typeof crypto.hash === 'function' ? crypto.hash('sha256', b, 'hex') : crypto.createHash('sha256').update(b).digest('hex');

/** Objects with sorted keys, so the digest does not depend on a writer's key order. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (!isPlainObject(v)) return v;
  const out = Object.create(null) as Record<string, unknown>; // no prototype: a "__proto__" key stays a key
  for (const k of Object.keys(v).sort()) out[k] = sorted(v[k]);
  return out;
}

/**
 * The canonical text of a trade's digest fields: values as JSON re-encodes
 * them (so the Python writer's 100.0 and our 100 agree), missing = null, no
 * partial exits = [] whether the key is absent, null or empty.
 * One JSON.stringify of an array of the values, on purpose: in a fresh process
 * (a cron cycle, where this runs for every closed trade) that native call is
 * about twice as fast as building the same text field by field in JavaScript.
 */
export function canonicalOf(t: Trade): string {
  const values = new Array<unknown>(DIGEST_FIELDS.length);
  for (let k = 0; k < DIGEST_FIELDS.length; k++) {
    const f = DIGEST_FIELDS[k] as string;
    const v = t[f];
    if (f === 'partial_exits') values[k] = Array.isArray(v) ? sorted(v) : [];
    // primitives as they are: this runs for every closed trade of a cold cycle
    else values[k] = v === undefined ? null : typeof v === 'object' && v !== null ? sorted(v) : v;
  }
  return JSON.stringify(values);
}

export function digestOf(t: Trade): string {
  return sha256(canonicalOf(t)).slice(0, 16);
}

/** Whether a and b encode alike in canonicalOf (objects compared with their keys sorted). */
function sameCanonical(a: unknown, b: unknown): boolean {
  if (a === b || (a === undefined && b === null) || (a === null && b === undefined)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameCanonical(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ob = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(ob, k) && sameCanonical((a as Record<string, unknown>)[k], ob[k]));
}

function sameDigestFields(a: Trade, b: Trade): boolean {
  for (const f of DIGEST_FIELDS) {
    const x = a[f];
    const y = b[f];
    if (x === y) continue;
    if (f === 'partial_exits') {
      if (!sameCanonical(Array.isArray(x) ? x : [], Array.isArray(y) ? y : [])) return false;
    } else if (!sameCanonical(x, y)) return false;
  }
  return true;
}

/**
 * Digests already computed. By trade object: the log reader hands back the
 * same objects for unchanged trades. By id: after a full re-parse the objects
 * are new, and comparing 17 fields with the previous object of that id costs
 * a fraction of a SHA-256 (10,000 hashes are ~20 ms).
 */
export class DigestCache {
  #byObject = new WeakMap<object, string>();
  #byId = new Map<string, { t: Trade; d: string }>();

  /** id -> digest of every CLOSED trade, in log order. A duplicated id gets one digest over its closed trades in log order. */
  closedDigests(log: TradeLog): Map<string, string> {
    const out = new Map<string, string>();
    const byId = new Map<string, { t: Trade; d: string }>();
    for (const t of log.trades) {
      if (t.status !== 'CLOSED') continue;
      let d = this.#byObject.get(t);
      if (d === undefined) {
        const prev = this.#byId.get(t.id);
        d = prev !== undefined && sameDigestFields(prev.t, t) ? prev.d : digestOf(t);
        this.#byObject.set(t, d);
      }
      byId.set(t.id, { t, d });
      const seen = out.get(t.id);
      out.set(t.id, seen === undefined ? d : sha256(seen + d).slice(0, 16));
    }
    this.#byId = byId; // only this log's trades: ids that left the log are dropped
    return out;
  }
}

/** The SHA-256 of the log's bytes, as a history file records it. */
export const logSha256 = (bytes: Buffer): string => sha256Bytes(bytes);

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The history file's header, or null when it is damaged or of another format
 * (= no baseline). Its closed map is checked when first asked for.
 * `log_sha256` is optional: files written before it existed have none, and
 * read as they always did (no fingerprint: the next cycle digests every closed
 * trade, compares as before and, the log being unchanged, adds one). Older
 * readers ignore the key, so the format name stays the same both ways.
 */
export function parseHistory(bytes: Buffer): HistoryFile | null {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!isPlainObject(data) || data.format !== FORMAT) return null;
  const { fields, next_id: nextId, closed, trade_log: tradeLog, log_sha256: sha } = data;
  if (!Array.isArray(fields) || fields.join('\n') !== DIGEST_FIELDS.join('\n')) return null;
  if (typeof nextId !== 'number' || !Number.isSafeInteger(nextId) || nextId < 0) return null;
  if (typeof tradeLog !== 'string' || !isPlainObject(closed)) return null;
  if (sha !== undefined && (typeof sha !== 'string' || !HEX64.test(sha))) return null;
  const logSha = typeof sha === 'string' ? sha : null;
  let baseline: Baseline | null | undefined;
  return {
    tradeLog,
    nextId,
    logSha256: logSha,
    baseline(): Baseline | null {
      if (baseline !== undefined) return baseline;
      const map = new Map<string, string>();
      // Object.keys and an index, not Object.entries: in a fresh process the 10,000 [id, digest]
      // arrays that entries() makes cost twice what the checks and the Map do.
      const ids = Object.keys(closed);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string;
        const d = closed[id];
        if (typeof d !== 'string' || !HEX16.test(d)) return (baseline = null);
        map.set(id, d);
      }
      return (baseline = { tradeLog, nextId, logSha256: logSha, closed: map });
    },
  };
}

/** Written by hand rather than JSON.stringify of an object, so any id (even "__proto__") is a key. */
export function serializeHistory(b: Baseline): string {
  const lines: string[] = [];
  for (const [id, d] of b.closed) lines.push(`    ${JSON.stringify(id)}: ${JSON.stringify(d)}`);
  return (
    '{\n' +
    `  "format": ${JSON.stringify(FORMAT)},\n` +
    `  "fields": ${JSON.stringify(DIGEST_FIELDS)},\n` +
    `  "trade_log": ${JSON.stringify(b.tradeLog)},\n` +
    `  "next_id": ${b.nextId},\n` +
    (b.logSha256 === null ? '' : `  "log_sha256": ${JSON.stringify(b.logSha256)},\n`) +
    `  "closed": {${lines.length > 0 ? `\n${lines.join(',\n')}\n  ` : ''}}\n` +
    '}\n'
  );
}

function listIds(ids: string[]): string {
  const shown = ids.slice(0, 10).join(', ');
  return ids.length > 10 ? `${shown} and ${ids.length - 10} more` : shown;
}

/** What the log now breaks of the baseline; [] when it only grew. */
export function compareHistory(baseline: Baseline, log: TradeLog, current: Map<string, string>, historyFile: string): HistoryViolation[] {
  const missing: string[] = [];
  const changed: string[] = [];
  let allIds: Set<string> | null = null;
  for (const [id, d] of baseline.closed) {
    const now = current.get(id);
    if (now === d) continue;
    if (now === undefined) {
      // still in the log but no longer CLOSED is a change, not a disappearance
      allIds ??= new Set(log.trades.map((t) => t.id));
      (allIds.has(id) ? changed : missing).push(id);
    } else {
      changed.push(id);
    }
  }
  const hint = `if the rewrite is deliberate, delete ${historyFile} to accept the log as it is now`;
  const out: HistoryViolation[] = [];
  if (missing.length > 0) {
    out.push({
      kind: 'CLOSED_TRADE_MISSING',
      tradeIds: missing,
      message: `${missing.length} closed trade(s) seen by the last good reconcile are missing from the log: ${listIds(missing)}; ${hint}`,
    });
  }
  if (changed.length > 0) {
    out.push({
      kind: 'CLOSED_TRADE_CHANGED',
      tradeIds: changed,
      message:
        `${changed.length} closed trade(s) changed fields that only open, partial close and close may set ` +
        `(${DIGEST_FIELDS.join(', ')}) since the last good reconcile: ${listIds(changed)}; ${hint}`,
    });
  }
  if (log.next_id < baseline.nextId) {
    out.push({
      kind: 'NEXT_ID_WENT_BACK',
      tradeIds: [],
      message: `next_id went back from ${baseline.nextId} to ${log.next_id} since the last good reconcile; ${hint}`,
      previousNextId: baseline.nextId,
      nextId: log.next_id,
    });
  }
  return out;
}
