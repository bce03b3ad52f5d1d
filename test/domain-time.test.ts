import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../src/errors.js';
import { parseTimestamp, pythonIsoformat } from '../src/domain/time.js';

describe('pythonIsoformat', () => {
  // Expected strings printed by CPython 3: datetime(..., tzinfo=timezone.utc).isoformat()
  it('writes microseconds and +00:00 like Python', () => {
    expect(pythonIsoformat(new Date('2026-03-14T11:28:53.123Z'))).toBe('2026-03-14T11:28:53.123000+00:00');
    expect(pythonIsoformat(new Date('2026-01-02T03:04:05.007Z'))).toBe('2026-01-02T03:04:05.007000+00:00');
  });

  it('omits a zero fraction, as Python does', () => {
    expect(pythonIsoformat(new Date('2026-03-14T11:28:53.000Z'))).toBe('2026-03-14T11:28:53+00:00');
  });

  it('keeps string order across a whole second, where the fraction is omitted', () => {
    const at = (iso: string) => pythonIsoformat(new Date(iso));
    const s = [at('2026-03-14T11:28:52.999Z'), at('2026-03-14T11:28:53.000Z'), at('2026-03-14T11:28:53.001Z')];
    expect([...s].sort()).toEqual(s);
  });

  it('pads years below 1000 to four digits', () => {
    const d = new Date(0);
    d.setUTCFullYear(1, 0, 1);
    expect(pythonIsoformat(d)).toBe('0001-01-01T00:00:00+00:00');
  });

  it('refuses an invalid date or one Python cannot hold', () => {
    expect(() => pythonIsoformat(new Date(NaN))).toThrow(ValidationError);
    expect(() => pythonIsoformat(new Date('+010000-01-01T00:00:00Z'))).toThrow(ValidationError);
  });

  it('sorts as strings in time order (property)', () => {
    const date = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, date, (a, b) => {
        const sa = pythonIsoformat(a);
        const sb = pythonIsoformat(b);
        expect(Math.sign(sa < sb ? -1 : sa > sb ? 1 : 0)).toBe(Math.sign(a.getTime() - b.getTime()));
      }),
    );
  });

  it('round-trips through parseTimestamp (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        expect(parseTimestamp(pythonIsoformat(d))).toBe(d.getTime());
      }),
    );
  });
});

describe('parseTimestamp', () => {
  const base = Date.UTC(2026, 2, 14, 11, 28, 53);

  it('reads what the Python writer produces', () => {
    expect(parseTimestamp('2026-03-14T11:28:53.123456+00:00')).toBe(base + 123);
    expect(parseTimestamp('2026-03-14T11:28:53+00:00')).toBe(base);
    expect(parseTimestamp('2026-03-14T11:28:53.5+00:00')).toBe(base + 500);
  });

  it('reads Z, other offsets, naive (as UTC) and a space separator', () => {
    expect(parseTimestamp('2026-03-14T11:28:53.123Z')).toBe(base + 123);
    expect(parseTimestamp('2026-03-14T11:28:53')).toBe(base);
    expect(parseTimestamp('2026-03-14 11:28:53.999999')).toBe(base + 999);
    expect(parseTimestamp('2026-03-14T13:28:53+02:00')).toBe(base);
    expect(parseTimestamp('2026-03-14T06:58:53-04:30')).toBe(base);
    expect(parseTimestamp('2026-03-14T11:28:53+0000')).toBe(base);
    expect(parseTimestamp('2026-03-14')).toBe(Date.UTC(2026, 2, 14));
    expect(parseTimestamp('2026-03-14T11:28')).toBe(Date.UTC(2026, 2, 14, 11, 28));
  });

  it('returns NaN on garbage and impossible dates', () => {
    for (const s of [
      '',
      'yesterday',
      '2026-13-01T00:00:00+00:00',
      '2026-02-30T00:00:00+00:00',
      '2026-03-14T24:00:00+00:00',
      '2026-03-14T11:60:00+00:00',
      '2026-03-14T11:28:61',
      '2026-03-14T11:28:53+25:00',
      '2026-03-14T11:28:53.+00:00',
      '2026-03-14T11:28:53+00:00 trailing',
      '14/03/2026',
    ]) {
      expect(parseTimestamp(s), s).toBeNaN();
    }
    expect(parseTimestamp(12345 as unknown as string)).toBeNaN();
    expect(parseTimestamp(null as unknown as string)).toBeNaN();
  });

  it('handles leap days', () => {
    expect(parseTimestamp('2024-02-29T00:00:00+00:00')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2023-02-29T00:00:00+00:00')).toBeNaN();
  });
});
