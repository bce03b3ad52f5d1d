import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { dayToDate, daysFromCivil, isoMonday, parseInstantMicros, stateTimestamp, tradeTimestamp } from '../src/domain/time.js';
import { ValidationError } from '../src/errors.js';

/** Epoch milliseconds of a timestamp (sub-millisecond digits truncated), for expectations written with Date.UTC. */
const ms = (s: unknown): number => Math.floor(parseInstantMicros(s) / 1000);
/** Epoch microseconds of an ISO instant plus extra microseconds. */
const us = (iso: string, micros = 0): number => Date.parse(iso) * 1000 + micros;

describe('tradeTimestamp (the trade log, as Python writes it)', () => {
  // Expected strings printed by CPython 3: datetime(..., tzinfo=timezone.utc).isoformat()
  it('writes microseconds and +00:00 like Python', () => {
    expect(tradeTimestamp(new Date('2026-03-14T11:28:53.123Z'))).toBe('2026-03-14T11:28:53.123000+00:00');
    expect(tradeTimestamp(new Date('2026-01-02T03:04:05.007Z'))).toBe('2026-01-02T03:04:05.007000+00:00');
  });

  it('omits a zero fraction, as Python does', () => {
    expect(tradeTimestamp(new Date('2026-03-14T11:28:53.000Z'))).toBe('2026-03-14T11:28:53+00:00');
  });

  it('keeps string order across a whole second, where the fraction is omitted', () => {
    const at = (iso: string) => tradeTimestamp(new Date(iso));
    const s = [at('2026-03-14T11:28:52.999Z'), at('2026-03-14T11:28:53.000Z'), at('2026-03-14T11:28:53.001Z')];
    expect([...s].sort()).toEqual(s);
  });

  it('pads years below 1000 to four digits', () => {
    const d = new Date(0);
    d.setUTCFullYear(1, 0, 1);
    expect(tradeTimestamp(d)).toBe('0001-01-01T00:00:00+00:00');
  });

  it('refuses an invalid date or one Python cannot hold', () => {
    expect(() => tradeTimestamp(new Date(NaN))).toThrow(ValidationError);
    expect(() => tradeTimestamp(new Date('+010000-01-01T00:00:00Z'))).toThrow(ValidationError);
  });

  it('sorts as strings in time order (property)', () => {
    const date = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, date, (a, b) => {
        const sa = tradeTimestamp(a);
        const sb = tradeTimestamp(b);
        expect(Math.sign(sa < sb ? -1 : sa > sb ? 1 : 0)).toBe(Math.sign(a.getTime() - b.getTime()));
      }),
    );
  });

  it('round-trips through parseInstantMicros (property)', () => {
    // exact to the microsecond while epoch µs fit a double's 53 bits (about 1685 to 2255)
    fc.assert(
      fc.property(fc.date({ min: new Date('1700-01-01T00:00:00Z'), max: new Date('2250-01-01T00:00:00Z'), noInvalidDate: true }), (d) => {
        expect(ms(tradeTimestamp(d))).toBe(d.getTime());
        expect(parseInstantMicros(tradeTimestamp(d))).toBe(d.getTime() * 1000);
      }),
    );
    // beyond that a double holds µs to a few units: still the same instant to the millisecond
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        expect(Math.abs(parseInstantMicros(tradeTimestamp(d)) - d.getTime() * 1000)).toBeLessThan(1000);
      }),
    );
  });
});

describe('parseInstantMicros, in milliseconds', () => {
  const base = Date.UTC(2026, 2, 14, 11, 28, 53);

  it('reads what the Python writer produces', () => {
    expect(ms('2026-03-14T11:28:53.123456+00:00')).toBe(base + 123);
    expect(ms('2026-03-14T11:28:53+00:00')).toBe(base);
    expect(ms('2026-03-14T11:28:53.5+00:00')).toBe(base + 500);
  });

  it('reads Z, other offsets, naive (as UTC) and a space separator', () => {
    expect(ms('2026-03-14T11:28:53.123Z')).toBe(base + 123);
    expect(ms('2026-03-14T11:28:53')).toBe(base);
    expect(ms('2026-03-14 11:28:53.999999')).toBe(base + 999);
    expect(ms('2026-03-14T13:28:53+02:00')).toBe(base);
    expect(ms('2026-03-14T06:58:53-04:30')).toBe(base);
    expect(ms('2026-03-14T11:28:53+0000')).toBe(base);
    expect(ms('2026-03-14')).toBe(Date.UTC(2026, 2, 14));
    expect(ms('2026-03-14T11:28')).toBe(Date.UTC(2026, 2, 14, 11, 28));
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
      expect(ms(s), s).toBeNaN();
    }
    expect(ms(12345 as unknown as string)).toBeNaN();
    expect(ms(null as unknown as string)).toBeNaN();
  });

  it('handles leap days', () => {
    expect(ms('2024-02-29T00:00:00+00:00')).toBe(Date.UTC(2024, 1, 29));
    expect(ms('2023-02-29T00:00:00+00:00')).toBeNaN();
  });
});

// The same parser in microseconds, as the reconciler uses it, and the UTC day arithmetic.
describe('parseInstantMicros', () => {
  it.each([
    ['2026-03-14T11:28:53.123456+00:00', us('2026-03-14T11:28:53.123Z', 456)],
    ['2026-03-14T11:28:53+00:00', us('2026-03-14T11:28:53Z')],
    ['2026-03-14T11:28:53.5Z', us('2026-03-14T11:28:53.500Z')],
    ['2026-03-14T11:28:53,25z', us('2026-03-14T11:28:53.250Z')],
    ['2026-03-14T11:28:53.123456789Z', us('2026-03-14T11:28:53.123Z', 456)], // beyond µs: truncated
    ['2026-03-14T11:28:53', us('2026-03-14T11:28:53Z')], // naive = UTC
    ['2026-03-14 11:28', us('2026-03-14T11:28:00Z')],
    ['2026-03-14', us('2026-03-14T00:00:00Z')],
    ['2026-03-14T11:28:53+0000', us('2026-03-14T11:28:53Z')],
    ['2026-03-15T02:00:00+05:30', us('2026-03-14T20:30:00Z')],
    ['2026-03-14T21:00:00.000001-05:00', us('2026-03-15T02:00:00Z', 1)],
    ['2026-03-14T21:00:00-05', us('2026-03-15T02:00:00Z')],
    ['2026-03-14T00:00:00+00:00:30', us('2026-03-13T23:59:30Z')],
    ['2024-02-29T12:00:00Z', us('2024-02-29T12:00:00Z')],
    ['1969-12-31T23:59:59.999999Z', -1],
  ])('%s', (s, expected) => {
    expect(parseInstantMicros(s)).toBe(expected);
  });

  it.each([
    '', 'garbage', '2026-3-14', '2026-02-29T00:00:00Z', '2026-02-30', '2026-13-01', '2026-00-10', '0000-01-01',
    '2026-03-14T24:00:00Z', '2026-03-14T11:60:00Z', '2026-03-14T11:28:60Z', '2026-03-14T11:28:53.Z',
    '2026-03-14T11:28:53+25:00', '2026-03-14T11:28:53+00:00x', '2026-03-14T11', '2026-03-14X11:28:53',
    '2026-03-14T11:28:53ZZ', '2026-03-14T11:28:53+05:3', '2026-03-14T11:28:53+0530:00',
  ])('rejects %j', (s) => {
    expect(parseInstantMicros(s)).toBeNaN();
  });

  it('rejects non-strings', () => {
    for (const v of [null, undefined, 1_700_000_000, {}, []]) expect(parseInstantMicros(v)).toBeNaN();
  });

  it('agrees with Date.parse on random UTC instants in every accepted UTC spelling', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }), fc.integer({ min: 0, max: 999 }), (ms, extra) => {
        const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
        const expected = ms * 1000 + extra;
        const micro = `${iso.slice(0, 23)}${String(extra).padStart(3, '0')}`;
        expect(parseInstantMicros(`${micro}+00:00`)).toBe(expected);
        expect(parseInstantMicros(`${micro}Z`)).toBe(expected);
        expect(parseInstantMicros(micro.replace('T', ' '))).toBe(expected);
      }),
    );
  });
});

describe('day helpers', () => {
  it('dayToDate inverts daysFromCivil and matches Date', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), (day) => {
        const date = dayToDate(day);
        expect(date).toBe(new Date(day * 86_400_000).toISOString().slice(0, 10));
        expect(daysFromCivil(Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10)))).toBe(day);
      }),
    );
  });

  it('isoMonday: Monday maps to itself, Sunday to six days before', () => {
    const day = (d: string): number => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
    expect(dayToDate(isoMonday(day('2026-03-09')))).toBe('2026-03-09'); // Monday
    expect(dayToDate(isoMonday(day('2026-03-15')))).toBe('2026-03-09'); // Sunday
    expect(dayToDate(isoMonday(day('2026-03-16')))).toBe('2026-03-16');
    expect(dayToDate(isoMonday(day('1970-01-01')))).toBe('1969-12-29'); // a Thursday, before the epoch Monday
  });

  it('stateTimestamp (last_updated) pads milliseconds to microseconds', () => {
    expect(stateTimestamp(new Date('2026-03-14T11:28:53.123Z'))).toBe('2026-03-14T11:28:53.123000+00:00');
  });
});
