/** The Date-free timestamp parser and day arithmetic of the derived-state code. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { dayToDate, daysFromCivil, isoMonday, parseInstantMicros, pyIsoformat } from '../src/domain/derive-time.js';

const us = (iso: string, micros = 0): number => Date.parse(iso) * 1000 + micros;

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

  it('pyIsoformat pads milliseconds to microseconds', () => {
    expect(pyIsoformat(new Date('2026-03-14T11:28:53.123Z'))).toBe('2026-03-14T11:28:53.123000+00:00');
  });
});
