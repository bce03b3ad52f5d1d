/**
 * Timestamps as the Python writer puts them in the file. Time is always passed
 * in (a Date); nothing here reads the clock.
 */
import { ValidationError } from '../errors.js';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * Python's `datetime.now(timezone.utc).isoformat()` for this instant:
 * "2026-03-14T11:28:53.123000+00:00". Like Python, the fraction is omitted
 * when it is zero ("2026-03-14T11:28:53+00:00"); both forms still sort
 * correctly as strings because '+' sorts before '.'.
 */
export function pythonIsoformat(date: Date): string {
  const ms = date.getTime();
  const year = date.getUTCFullYear();
  if (!Number.isFinite(ms) || year < 1 || year > 9999) {
    // Python's datetime cannot hold these, so no Python reader could parse them back.
    throw new ValidationError('date', date, 'is not a date between years 1 and 9999');
  }
  const base =
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  const millis = date.getUTCMilliseconds();
  return millis === 0 ? `${base}+00:00` : `${base}.${pad(millis * 1000, 6)}+00:00`;
}

// Date, then optional time with optional fraction and optional offset (Z, ±HH:MM, ±HHMM, ±HH:MM:SS[.f]).
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z|z)|([+-])(\d{2}):?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?)?$/;

/**
 * Milliseconds since the epoch for a timestamp either writer produced:
 * "+00:00" or "Z" or any offset, microseconds, no fraction, a space instead
 * of "T", or no offset at all (naive; taken as UTC, which is what the Python
 * design writes). Sub-millisecond digits are truncated. NaN for anything else,
 * including impossible dates such as Feb 30.
 */
export function parseTimestamp(s: string): number {
  if (typeof s !== 'string') return NaN;
  const m = ISO.exec(s.trim());
  if (!m) return NaN;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', , sign, oh = '0', om = '0', os = '0', ofrac = ''] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(sec);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // avoids Date.UTC's 0–99 → 1900s mapping
  if (date.getUTCDate() !== day) return NaN; // Feb 30 rolled over
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  let t = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  if (sign !== undefined) {
    if (Number(oh) > 23 || Number(om) > 59 || Number(os) > 59) return NaN;
    const offsetMs = ((Number(oh) * 60 + Number(om)) * 60 + Number(os)) * 1000 + Number(ofrac.padEnd(3, '0').slice(0, 3));
    t += sign === '+' ? -offsetMs : offsetMs;
  }
  return t;
}
