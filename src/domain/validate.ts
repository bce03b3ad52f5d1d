/**
 * Validation of every input the domain accepts. Each refusal is a
 * ValidationError naming the field and the value (or an ImmutableFieldError
 * for updateTrade fields that only open/close/partial may change), thrown
 * before anything is computed, so nothing invalid ever reaches the log.
 */
import { ImmutableFieldError, ValidationError } from '../errors.js';
import type { Direction } from './types.js';

export interface OpenInput {
  symbol: string;
  direction: Direction;
  entry_price: number;
  stop_price: number;
  target_price: number;
  size: number;
  setup_type?: string | null;
  grade?: string | null;
  notes?: string | null;
  /** Idempotency key: a retried openTrade with the same client_id is the same trade. */
  client_id?: string;
}

export interface CloseInput {
  exit_price: number;
  exit_reason?: string | null;
  lessons?: string | null;
}

export interface PartialInput {
  fraction: number;
  exit_price: number;
  reason?: string | null;
}

/** Fields updateTrade() may change besides extension fields. */
export const MUTABLE_FIELDS: readonly string[] = Object.freeze([
  'stop_price', 'target_price', 'notes', 'grade', 'setup_type', 'lessons',
]);

/** Fields the library owns: they change only through open, partial close and close. */
export const IMMUTABLE_FIELDS: readonly string[] = Object.freeze([
  'id', 'symbol', 'direction', 'status', 'entry_price', 'entry_time', 'original_stop', 'size', 'original_size',
  'partial_exits', 'exit_price', 'exit_time', 'exit_reason', 'pnl_usd', 'pnl_pct', 'r_multiple', 'client_id',
]);

const OPEN_KEYS = new Set([
  'symbol', 'direction', 'entry_price', 'stop_price', 'target_price', 'size', 'setup_type', 'grade', 'notes', 'client_id',
]);
const CLOSE_KEYS = new Set(['exit_price', 'exit_reason', 'lessons']);
const PARTIAL_KEYS = new Set(['fraction', 'exit_price', 'reason']);

// ---------------------------------------------------------------- primitives

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function requireObject(name: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) throw new ValidationError(name, v, 'must be a plain object');
  return v;
}

/**
 * Unknown keys are refused rather than ignored: a typo such as `stop_prise`
 * would otherwise open a trade with no stop the caller believes is set.
 */
function refuseUnknownKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) {
      throw new ValidationError(key, obj[key], `is not a known field (expected one of: ${[...allowed].join(', ')})`);
    }
  }
}

/** A finite number > 0 of type number: the string '500' is refused, not coerced. */
export function positiveNumber(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ValidationError(field, v, 'must be a finite number > 0');
  }
  return v;
}

function optionalText(field: string, v: unknown): string | null | undefined {
  if (v === undefined || v === null || typeof v === 'string') return v;
  throw new ValidationError(field, v, 'must be a string or null');
}

// ---------------------------------------------------------------- inputs

export function validateOpenInput(input: unknown): OpenInput {
  const o = requireObject('input', input);
  refuseUnknownKeys(o, OPEN_KEYS);

  const symbol = o.symbol;
  if (typeof symbol !== 'string' || symbol.trim() === '') {
    throw new ValidationError('symbol', symbol, 'must be a non-empty string');
  }
  // Kept as given, but "BTC " would slip past the duplicate-symbol check for "BTC".
  if (symbol.trim() !== symbol) {
    throw new ValidationError('symbol', symbol, 'must not start or end with whitespace');
  }
  const direction = o.direction;
  if (direction !== 'LONG' && direction !== 'SHORT') {
    throw new ValidationError('direction', direction, "must be 'LONG' or 'SHORT'");
  }
  const entry = positiveNumber('entry_price', o.entry_price);
  const stop = positiveNumber('stop_price', o.stop_price);
  const target = positiveNumber('target_price', o.target_price);
  const size = positiveNumber('size', o.size);

  const long = direction === 'LONG';
  if (long ? stop >= entry : stop <= entry) {
    throw new ValidationError('stop_price', stop, `must be ${long ? 'below' : 'above'} entry_price ${entry} for a ${direction} trade`);
  }
  if (long ? target <= entry : target >= entry) {
    throw new ValidationError('target_price', target, `must be ${long ? 'above' : 'below'} entry_price ${entry} for a ${direction} trade`);
  }

  const out: OpenInput = { symbol, direction, entry_price: entry, stop_price: stop, target_price: target, size };
  for (const key of ['setup_type', 'grade', 'notes'] as const) {
    const v = optionalText(key, o[key]);
    if (v !== undefined) out[key] = v;
  }
  if (o.client_id !== undefined) {
    if (typeof o.client_id !== 'string' || o.client_id.trim() === '') {
      throw new ValidationError('client_id', o.client_id, 'must be a non-empty string');
    }
    out.client_id = o.client_id;
  }
  return out;
}

export function validateCloseInput(input: unknown): CloseInput {
  const o = requireObject('input', input);
  refuseUnknownKeys(o, CLOSE_KEYS);
  const out: CloseInput = { exit_price: positiveNumber('exit_price', o.exit_price) };
  const reason = optionalText('exit_reason', o.exit_reason);
  if (reason !== undefined) out.exit_reason = reason;
  const lessons = optionalText('lessons', o.lessons);
  if (lessons !== undefined) out.lessons = lessons;
  return out;
}

export function validatePartialInput(input: unknown): PartialInput {
  const o = requireObject('input', input);
  refuseUnknownKeys(o, PARTIAL_KEYS);
  const f = o.fraction;
  if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0 || f >= 1) {
    throw new ValidationError('fraction', f, 'must be a number strictly between 0 and 1');
  }
  const out: PartialInput = { fraction: f, exit_price: positiveNumber('exit_price', o.exit_price) };
  const reason = optionalText('reason', o.reason);
  if (reason !== undefined) out.reason = reason;
  return out;
}

/**
 * The patch of updateTrade(): mutable fields with their own rules, any field
 * the library does not own as long as it is plain JSON, owned fields refused.
 * Returns a copy, so later changes to the caller's object cannot reach the log.
 */
export function validatePatch(patch: unknown): Record<string, unknown> {
  const o = requireObject('patch', patch);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    // As jsonCopy refuses it inside a value: assigned, it would set the copy's prototype and vanish.
    if (key === '__proto__') throw new ValidationError(key, value, 'is not an allowed key');
    if (IMMUTABLE_FIELDS.includes(key)) throw new ImmutableFieldError(key);
    if (key === 'stop_price' || key === 'target_price') {
      // Sides are checked against the trade once the patch is merged (stopTargetProblem).
      out[key] = positiveNumber(key, value);
    } else if (key === 'notes' || key === 'grade' || key === 'setup_type' || key === 'lessons') {
      if (value !== null && typeof value !== 'string') throw new ValidationError(key, value, 'must be a string or null');
      out[key] = value;
    } else {
      out[key] = jsonCopy(key, value, new Set());
    }
  }
  return out;
}

/**
 * The [id, patch] pairs of updateTradesBatch, each patch checked and copied (validatePatch): taken
 * at the call, so that a caller changing its array or patches afterwards changes nothing.
 */
export function validateUpdates(updates: unknown): Array<readonly [string, Record<string, unknown>]> {
  if (!Array.isArray(updates)) throw new ValidationError('updates', updates, 'must be an array of [id, patch] pairs');
  return updates.map((pair: unknown, n) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw new ValidationError(`updates[${n}]`, pair, 'must be an [id, patch] pair');
    }
    return [pair[0], validatePatch(pair[1])] as const;
  });
}

export type PriceField = 'stop_price' | 'target_price';

/** What a stop/target rule refused: completes "Invalid <field>: <value> <problem>". */
export interface SideProblem {
  field: PriceField;
  value: number;
  problem: string;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The sides an OPEN trade's stop and target keep for its direction, the one
 * rule for updates (trade-ops) and for the integrity check:
 *   LONG:  target > entry, stop < target;
 *   SHORT: target < entry, stop > target.
 * The stop may sit on either side of entry: a trailed stop at or past entry
 * locks in a profit. A stop at or beyond the target cannot (the position
 * would be stopped out above where it takes profit), and a target on the
 * losing side of entry is not a target. openTrade asks more (the stop on the
 * losing side of entry too), so every trade it opens passes here. A null
 * target, which the format allows (Python writers), has no side to keep.
 *
 * `changed` names the fields just moved: only the rules involving one of them
 * apply, so a protective stop update is never refused for a target that was
 * already wrong in the log (the integrity check reports that one), and the
 * stop-versus-target rule names the field that moved (the stop when both did).
 * Without `changed`, every rule applies. null when nothing is wrong.
 */
export function stopTargetProblem(
  t: { id?: unknown; direction?: unknown; entry_price?: unknown; stop_price?: unknown; target_price?: unknown },
  changed?: readonly PriceField[],
): SideProblem | null {
  const { direction, entry_price: entry, stop_price: stop, target_price: target } = t;
  if ((direction !== 'LONG' && direction !== 'SHORT') || !isFiniteNumber(target)) return null;
  if (changed !== undefined && changed.length === 0) return null;
  const long = direction === 'LONG';
  const trade = typeof t.id === 'string' ? `${direction} trade ${t.id}` : `a ${direction} trade`;
  if (changed === undefined || changed.includes('target_price')) {
    if (target <= 0) return { field: 'target_price', value: target, problem: 'must be a finite number > 0' };
    if (isFiniteNumber(entry) && (long ? target <= entry : target >= entry)) {
      const side = long ? 'above' : 'below';
      return { field: 'target_price', value: target, problem: `must be ${side} entry_price ${entry} for ${trade}` };
    }
  }
  if (isFiniteNumber(stop) && (long ? stop >= target : stop <= target)) {
    if (changed === undefined || changed.includes('stop_price')) {
      const side = long ? 'below' : 'above';
      return {
        field: 'stop_price',
        value: stop,
        problem: `must be ${side} target_price ${target} for ${trade} (a stop may pass entry, not the target)`,
      };
    }
    const side = long ? 'above' : 'below';
    return { field: 'target_price', value: target, problem: `must be ${side} stop_price ${stop} for ${trade}` };
  }
  return null;
}

/** Deep copy of a JSON value; refuses what JSON.stringify would drop, change or choke on. */
function jsonCopy(path: string, v: unknown, seen: Set<object>): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValidationError(path, v, 'is not a finite number (JSON cannot hold it)');
    return v;
  }
  if (typeof v !== 'object') throw new ValidationError(path, v, `is a ${typeof v}, not a JSON value`);
  if (seen.has(v)) throw new ValidationError(path, '[circular]', 'refers to itself (JSON cannot hold it)');
  seen.add(v);
  let copy: unknown;
  if (Array.isArray(v)) {
    copy = v.map((item, i) => jsonCopy(`${path}[${i}]`, item, seen));
  } else if (isPlainObject(v)) {
    const obj: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      if (k === '__proto__') throw new ValidationError(`${path}.${k}`, item, 'is not an allowed key');
      obj[k] = jsonCopy(`${path}.${k}`, item, seen);
    }
    copy = obj;
  } else {
    // Date, Map, class instances: JSON.stringify would not round-trip them.
    throw new ValidationError(path, v, 'is not a plain JSON object or array');
  }
  seen.delete(v);
  return copy;
}

// ---------------------------------------------------------------- log shape

const NUMERIC_FIELDS = [
  'entry_price', 'stop_price', 'original_stop', 'target_price', 'size', 'original_size',
  'exit_price', 'pnl_usd', 'pnl_pct', 'r_multiple',
] as const;

/**
 * null when `data` can be used as a trade log, else a short reason. Only what
 * makes the log unusable is a shape error; everything else (duplicate ids,
 * unknown statuses, a CLOSED trade without pnl_usd) is an integrity violation,
 * reported but not blocking. Shape errors:
 *   - not an object; `trades` not an array; `next_id` not a non-negative integer;
 *   - a trade that is not an object, or without a non-empty string `id`,
 *     a string `symbol`, a string `status`;
 *   - a price/size/P&L field that is present and not null but not a finite
 *     number (P&L and risk sums would silently turn into NaN or string concatenation);
 *   - an OPEN trade whose entry_price, stop_price or size is not a number > 0, or whose
 *     direction is not LONG/SHORT: risk checks and closes compute with these;
 *   - `partial_exits` present, not null and not an array, or an entry that is not
 *     an object with a finite numeric pnl_usd (equity sums it).
 * Tolerated as Python writes them: integers for floats, null fields, missing
 * optional fields (original_stop, partial_exits, lessons…), unknown extra fields.
 */
export function validateLogShape(data: unknown): string | null {
  if (!isPlainObject(data)) return 'the top level is not a JSON object';
  if (!Array.isArray(data.trades)) return data.trades === undefined ? 'trades is missing' : 'trades is not an array';
  const nextId = data.next_id;
  if (typeof nextId !== 'number' || !Number.isSafeInteger(nextId) || nextId < 0) {
    return `next_id ${JSON.stringify(nextId) ?? 'undefined'} is not a non-negative integer`;
  }
  for (let i = 0; i < data.trades.length; i++) {
    const reason = tradeShapeError(data.trades[i]);
    if (reason !== null) return `trades[${i}] ${reason}`;
  }
  return null;
}

function tradeShapeError(t: unknown): string | null {
  if (!isPlainObject(t)) return 'is not an object';
  if (typeof t.id !== 'string' || t.id === '') return 'has no string id';
  const who = `(${t.id})`;
  if (typeof t.symbol !== 'string') return `${who} has no string symbol`;
  if (typeof t.status !== 'string') return `${who} has no string status`;
  for (const f of NUMERIC_FIELDS) {
    const v = t[f];
    if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isFinite(v))) {
      return `${who} ${f} is ${JSON.stringify(v) ?? typeof v}, not a number`;
    }
  }
  if (t.status === 'OPEN') {
    for (const f of ['entry_price', 'stop_price', 'size'] as const) {
      const v = t[f];
      if (typeof v !== 'number' || v <= 0) return `${who} is OPEN but its ${f} is ${JSON.stringify(v) ?? 'missing'}`;
    }
    if (t.direction !== 'LONG' && t.direction !== 'SHORT') {
      return `${who} is OPEN but its direction is ${JSON.stringify(t.direction) ?? 'missing'}`;
    }
  }
  const partials = t.partial_exits;
  if (partials !== undefined && partials !== null) {
    if (!Array.isArray(partials)) return `${who} partial_exits is not an array`;
    for (let j = 0; j < partials.length; j++) {
      const p: unknown = partials[j];
      if (!isPlainObject(p) || typeof p.pnl_usd !== 'number' || !Number.isFinite(p.pnl_usd)) {
        return `${who} partial_exits[${j}] has no numeric pnl_usd`;
      }
    }
  }
  return null;
}
