/**
 * The one clock module: how timestamps are written, the one parser that reads
 * them back, and UTC day arithmetic. Nothing here reads the clock; the time is
 * always passed in.
 *
 * Two output formats, both Python's `datetime.now(timezone.utc).isoformat()`:
 *   - tradeTimestamp: what goes into the trade log (entry_time, exit_time, a
 *     partial exit's timestamp), exactly as the Python writer puts it, zero
 *     fraction dropped, so a Node and a Python writer produce the same file.
 *   - stateTimestamp: the derived files' `last_updated`, always with six
 *     fractional digits, as docs/formulas.md promises their readers.
 * One parser, parseInstantMicros, for every shape either writer produces.
 */
import { ValidationError } from '../errors.js';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * A trade-log timestamp: "2026-03-14T11:28:53.123000+00:00", or
 * "2026-03-14T11:28:53+00:00" when the fraction is zero, as Python omits it.
 * Both forms still sort correctly as strings because '+' sorts before '.'.
 * Refuses dates Python's datetime cannot hold, since no Python reader could
 * parse them back.
 */
export function tradeTimestamp(date: Date): string {
  const ms = date.getTime();
  const year = date.getUTCFullYear();
  if (!Number.isFinite(ms) || year < 1 || year > 9999) {
    throw new ValidationError('date', date, 'is not a date between years 1 and 9999');
  }
  const base =
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  const millis = date.getUTCMilliseconds();
  return millis === 0 ? `${base}+00:00` : `${base}.${pad(millis * 1000, 6)}+00:00`;
}

/**
 * A derived file's `last_updated`: "2026-03-14T11:28:53.123000+00:00", always
 * six fractional digits (JavaScript clocks have milliseconds, so the last three
 * are 0). The derivation has checked `now` is a valid Date.
 */
export function stateTimestamp(now: Date): string {
  return `${now.toISOString().slice(0, 23)}000+00:00`;
}

// ------------------------------------------------------------- day arithmetic
// UTC day numbers (days since 1970-01-01) and "YYYY-MM-DD", without Date objects:
// the reconciler maps tens of thousands of timestamps to days per cycle.

export const MICROS_PER_DAY = 86_400_000_000;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** "YYYY-MM-DD" of a UTC day number. */
export function dayToDate(day: number): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** The calendar date `days` after a "YYYY-MM-DD" date (negative: before). */
export function addDays(date: string, days: number): string {
  return dayToDate(daysFromCivil(Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))) + days);
}

/** UTC day number of an instant. */
export function dateToDay(now: Date): number {
  return Math.floor(now.getTime() / MS_PER_DAY);
}

/** Day number of the Monday of the ISO week holding `day` (1970-01-01 was a Thursday). */
export function isoMonday(day: number): number {
  return day - ((((day + 3) % 7) + 7) % 7);
}

/** UTC day number of an epoch-microsecond instant. */
export function microsToDay(micros: number): number {
  return Math.floor(micros / MICROS_PER_DAY);
}

// ------------------------------------------------------------------- parsing
// Epoch microseconds, not Date objects: Date has only milliseconds, and the
// reconciler parses one timestamp per trade on every cycle.

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Value of n ASCII digits at s[i..i+n), or -1 if any is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (!(c >= 0 && c <= 9)) return -1; // also catches NaN past the end
    v = v * 10 + c;
  }
  return v;
}

/**
 * Epoch microseconds of an ISO-8601 timestamp, or NaN when it is not one.
 * Accepts what Python's isoformat()/fromisoformat() and JS toISOString() use:
 * `YYYY-MM-DD[(T| )HH:MM[:SS[(.|,)fraction]]][Z | ±HH[[:]MM[:SS[.ffffff]]]]`;
 * a timestamp without an offset is UTC. Fractions beyond 6 digits are truncated.
 * Impossible dates and times (Feb 30, 24:00, an offset of 25 h) are NaN.
 * Exact while the result fits a double's 53 bits (years 1685 to 2255); beyond
 * that it is the same instant to within a few microseconds.
 */
export function parseInstantMicros(s: unknown): number {
  if (typeof s !== 'string') return NaN;
  // A pure function of the string, memoized: every open re-derives the halt
  // state from the whole log, whose timestamps are almost all seen before.
  let v = memo.get(s);
  if (v === undefined) {
    v = UTC_SHAPE.test(s) ? parseUtcShape(s) : parseGeneral(s);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(s, v);
  }
  return v;
}

const MEMO_LIMIT = 250_000;
const memo = new Map<string, number>();

/**
 * The shape both writers use for UTC. A regex runs as native code even before
 * the JIT warms up, which matters to a CLI that reconciles once and exits.
 */
const UTC_SHAPE = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:[Zz]|\+00:?00)?$/;

/** Day numbers of validated dates keyed by y·10⁴ + m·100 + d (NaN when invalid). */
const dayCache = new Map<number, number>();

// charCodeAt arithmetic written out instead of a helper: before the JIT warms
// up every call costs, and a cold reconcile parses one timestamp per trade.
function parseUtcShape(s: string): number {
  const ymd =
    s.charCodeAt(0) * 10_000_000 + s.charCodeAt(1) * 1_000_000 + s.charCodeAt(2) * 100_000 +
    s.charCodeAt(3) * 10_000 + s.charCodeAt(5) * 1000 + s.charCodeAt(6) * 100 +
    s.charCodeAt(8) * 10 + s.charCodeAt(9) - 533_333_328; // Σ 48·weights
  let day = dayCache.get(ymd);
  if (day === undefined) {
    const y = Math.floor(ymd / 10_000);
    const mo = Math.floor(ymd / 100) % 100;
    const d = ymd % 100;
    const ok = y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && isLeap(y) ? 29 : (MONTH_DAYS[mo - 1] as number));
    day = ok ? daysFromCivil(y, mo, d) : NaN;
    if (dayCache.size < 100_000) dayCache.set(ymd, day);
  }
  const hh = s.charCodeAt(11) * 10 + s.charCodeAt(12) - 528;
  const mi = s.charCodeAt(14) * 10 + s.charCodeAt(15) - 528;
  if (hh > 23 || mi > 59) return NaN;
  let sec = 0;
  let frac = 0;
  if (s.charCodeAt(16) === 58) {
    sec = s.charCodeAt(17) * 10 + s.charCodeAt(18) - 528;
    if (sec > 59) return NaN;
    const c = s.charCodeAt(19);
    if (c === 46 || c === 44) {
      let scale = 100000;
      for (let i = 20; scale >= 1; i++, scale /= 10) {
        const v = s.charCodeAt(i) - 48;
        if (!(v >= 0 && v <= 9)) break;
        frac += v * scale;
      }
    }
  }
  return day * MICROS_PER_DAY + ((hh * 60 + mi) * 60 + sec) * 1_000_000 + frac;
}

function parseGeneral(s: string): number {
  const len = s.length;
  if (len < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return NaN;
  const dim = mo === 2 && isLeap(y) ? 29 : (MONTH_DAYS[mo - 1] as number);
  if (d > dim) return NaN;
  let micros = daysFromCivil(y, mo, d) * MICROS_PER_DAY;
  if (len === 10) return micros;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return NaN; // 'T', 't', ' '
  if (len < 16 || s.charCodeAt(13) !== 58) return NaN;
  const hh = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return NaN;
  let sec = 0;
  let frac = 0;
  let i = 16;
  if (i < len && s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0 || sec > 59) return NaN;
    i += 3;
    const dot = s.charCodeAt(i);
    if (dot === 46 || dot === 44) {
      i++;
      const startF = i;
      let scale = 100000;
      while (i < len) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        if (scale >= 1) frac += c * scale;
        scale /= 10;
        i++;
      }
      if (i === startF) return NaN;
    }
  }
  micros += ((hh * 60 + mi) * 60 + sec) * 1_000_000 + frac;
  if (i === len) return micros;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) return i + 1 === len ? micros : NaN; // 'Z', 'z'
  if (z !== 43 && z !== 45) return NaN; // '+', '-'
  const sign = z === 43 ? 1 : -1;
  // ±HH, ±HHMM, ±HH:MM, ±HH:MM:SS[.ffffff] (Python writes seconds for odd zones)
  let j = i + 1;
  const oh = digits(s, j, 2);
  if (oh < 0 || oh > 23) return NaN;
  j += 2;
  let om = 0;
  let os = 0;
  let of = 0;
  if (j < len) {
    const colon = s.charCodeAt(j) === 58;
    if (colon) j++;
    om = digits(s, j, 2);
    if (om < 0 || om > 59) return NaN;
    j += 2;
    if (j < len) {
      if (!colon || s.charCodeAt(j) !== 58) return NaN;
      os = digits(s, j + 1, 2);
      if (os < 0 || os > 59) return NaN;
      j += 3;
      if (j < len) {
        if (s.charCodeAt(j) !== 46) return NaN;
        const nf = len - j - 1;
        const f = nf >= 1 && nf <= 6 ? digits(s, j + 1, nf) : -1;
        if (f < 0) return NaN;
        of = f * 10 ** (6 - nf);
      }
    }
  }
  // local = UTC + offset, so UTC = local - offset
  return micros - sign * (((oh * 60 + om) * 60 + os) * 1_000_000 + of);
}
