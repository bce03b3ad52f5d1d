/** The demo's line formats, one home (src/demo/output.ts): a price in its symbol's decimals, the parent's elapsed-time prefix. */
import { describe, expect, it } from 'vitest';

import { elapsedSay, priceText } from '../src/demo/output.js';

describe("the demo's lines", () => {
  it("print a price in its symbol's decimals, padded and rounded as toFixed does", () => {
    expect(priceText('BTC', 65000)).toBe('65000.00');
    expect(priceText('SOL', 150.1)).toBe('150.100');
    expect(priceText('NVDA', 119.996)).toBe('120.00');
  });

  it('refuse a symbol the demo does not trade', () => {
    expect(() => priceText('XYZ', 1)).toThrow(/unknown symbol XYZ/);
  });

  it('start each parent line with the seconds since t0, one decimal, right-aligned in five characters', () => {
    const lines: string[] = [];
    elapsedSay((l) => lines.push(l), Date.now() - 1_000_000)('long ago');
    expect(lines[0]).toMatch(/^1\d{3}\.\ds long ago$/);
    const short: string[] = [];
    elapsedSay((l) => short.push(l), Date.now())('now');
    expect(short[0]).toMatch(/^ {2}\d\.\ds now$/);
  });
});
