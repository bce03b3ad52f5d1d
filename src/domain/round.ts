/**
 * Python's round(x, n) for floats, so both writers put the same numbers in
 * the file: the exact binary value of x is rounded to n decimals, ties to
 * even (round(0.125, 2) == 0.12 because 0.125 is exact; round(2.675, 2) ==
 * 2.67 because 2.675 is really 2.67499999…). Math.round and toFixed differ
 * from this on ties and near-ties.
 */
// Constants computed once: a cold pass (a new store's first write rounds the equity after every
// event of the history) runs this before V8 compiles it, and there each `**` is a runtime call.
const TWO_52 = 2 ** 52;
const TWO_MINUS_50 = 2 ** -50;
const SCALES = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

export function pyRound(x: number, n: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const scale = SCALES[n] ?? 10 ** n;
  const ax = Math.abs(x);
  if (ax >= TWO_52) return x; // an integer already
  const y = ax * scale;
  if (y >= TWO_52) {
    // ax·10^n is no longer exact here: round exactly, then parse the decimal (correctly rounded).
    const r = Number(`${exactRound(ax, n)}e-${n}`);
    return x < 0 ? -r : r;
  }
  const floor = Math.floor(y);
  const frac = y - floor;
  // y carries at most half an ulp of error; away from the tie the direction is certain.
  const margin = y * TWO_MINUS_50 + Number.MIN_VALUE;
  let q: number;
  if (frac < 0.5 - margin) q = floor;
  else if (frac > 0.5 + margin) q = floor + 1;
  else q = Number(exactRound(ax, n));
  // q and 10^n are exact integers, so one IEEE division is the correctly
  // rounded value of the decimal q·10^-n, as Python's parse of it is.
  const r = q / scale;
  return x < 0 ? -r : r;
}

/** Rounds |x|·10^n to an integer, ties to even, in exact arithmetic on x's binary value. */
function exactRound(ax: number, n: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, ax);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  // ax = mant · 2^exp, with exp < 0 here (larger values returned earlier).
  const num = mant * 10n ** BigInt(n);
  const den = 1n << BigInt(-exp);
  let q = num / den;
  const twice = 2n * (num % den);
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  return q;
}

export const round2 = (x: number): number => pyRound(x, 2);
export const round1 = (x: number): number => pyRound(x, 1);
export const round6 = (x: number): number => pyRound(x, 6);

/**
 * round2 / round1 for numbers written to derived files and reports: `+ 0`
 * turns a −0 (round2(−0.001)) into 0, so JSON output and deep equality agree.
 */
export const r2 = (x: number): number => round2(x) + 0;
export const r1 = (x: number): number => round1(x) + 0;
