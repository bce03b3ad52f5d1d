/**
 * The house style for numbers a person reads: the CLI, the demo and the HTML
 * report all format through here, so one value reads the same everywhere.
 * (JSON output never comes here: it carries the numbers themselves.)
 *
 *   USD          $1,234.50        −$1,234.50
 *   signed USD   +$1,234.50       −$1,234.50      $0.00
 *   percent      12.5%            (rates: win rate, heat)
 *   signed %     +1.25%           −1.25%          0.00%
 *   R multiple   +0.80R           −1.00R          0.00R
 *   count        1,234            plural: 1,234 trades, 1 trade
 *   price, size  65000  0.0215    as the log holds them: every digit, never rounded, not grouped
 *
 * The unit hugs the number (`%`, `R`, `$`), as in the library's own messages
 * ("Daily drawdown -7.5% exceeds -2.0% limit"); a sign is shown whenever a
 * value is a change rather than a level. Prices are printed so they can be
 * typed back into a flag (`--stop 65500`): the CLI's strict parser refuses
 * `65,000`, and a rounded price would be a different price.
 *
 * Two media, one style: they differ only in the glyphs for "minus" and
 * "no value". HTML gets the true minus (U+2212), which is typographically
 * right and which screen readers say as "minus". Terminal text keeps the
 * ASCII hyphen-minus: it is what a shell, a spreadsheet or `grep -- -25`
 * understands when a number is copied out of the output, every terminal font
 * has it, and U+2212 is East-Asian-ambiguous width, so in a CJK locale it
 * takes two columns and would break the right-aligned columns of a table.
 */

export interface NumberStyle {
  /** The minus sign of this medium. */
  readonly minus: string;
  /** What a missing number reads as. */
  readonly none: string;
  /** 1234.5 -> "$1,234.50"; a loss keeps its minus: "−$25.00". */
  usd(x: number | null | undefined): string;
  /** A change of money: "+$12.30", "−$4.00", "$0.00". */
  signedUsd(x: number | null | undefined): string;
  /** A level in percent (win rate, heat): 12.5 -> "12.50%". */
  pct(x: number | null | undefined, digits?: number): string;
  /** A change in percent (return, drawdown, limits): "+1.25%", "−2.0%", "0.00%". */
  signedPct(x: number | null | undefined, digits?: number): string;
  /** An R multiple (profit ÷ initial risk), always signed: "+0.80R", "−1.00R". */
  r(x: number | null | undefined): string;
  /** A plain decimal with this medium's minus (profit factor): 1.234 -> "1.23". */
  decimal(x: number | null | undefined, digits?: number): string;
  /** A count, grouped: 1234 -> "1,234". */
  count(n: number): string;
  /** A counted noun: "1 trade", "1,234 trades". */
  plural(n: number, one: string, many?: string): string;
  /** A price or size as the log holds it; a value that is not a number is shown as it is. */
  price(x: unknown): string;
}

// Currency and decimal formats differ only in the "$": both round half away from zero to 2 decimals.
// Made on first use: building an Intl.NumberFormat loads ICU's locale data (~10 ms in a fresh
// process), which a command that prints no money should not pay just for importing this module.
let usdFormat: Intl.NumberFormat | undefined;
let countFormat: Intl.NumberFormat | undefined;
const USD = { format: (x: number): string => (usdFormat ??= new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })).format(x) };
const COUNT = { format: (x: number): string => (countFormat ??= new Intl.NumberFormat('en-US')).format(x) };

function numberStyle(minus: string, none: string): NumberStyle {
  // The sign is decided on the value, the digits on its magnitude: Intl and toFixed would
  // otherwise write their own ASCII "-" (and "-0.00" for minus zero, which is no loss).
  const neg = (x: number): string => (x < 0 ? minus : '');
  const sign = (x: number): string => (x > 0 ? '+' : neg(x));
  // Every formatter takes a missing value, because log fields are optional (r_multiple, pnl_pct…).
  const orNone =
    <A extends unknown[]>(f: (x: number, ...rest: A) => string) =>
    (x: number | null | undefined, ...rest: A): string =>
      x === null || x === undefined ? none : f(x, ...rest);
  const count = (n: number): string => neg(n) + COUNT.format(Math.abs(n));
  return {
    minus,
    none,
    usd: orNone((x) => neg(x) + USD.format(Math.abs(x))),
    signedUsd: orNone((x) => sign(x) + USD.format(Math.abs(x))),
    pct: orNone((x, digits = 2) => `${neg(x)}${Math.abs(x).toFixed(digits)}%`),
    signedPct: orNone((x, digits = 2) => `${sign(x)}${Math.abs(x).toFixed(digits)}%`),
    r: orNone((x) => `${sign(x)}${Math.abs(x).toFixed(2)}R`),
    decimal: orNone((x, digits = 2) => neg(x) + Math.abs(x).toFixed(digits)),
    count,
    plural: (n, one, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`,
    price: (x) => (typeof x === 'number' ? neg(x) + String(Math.abs(x)) : x === null || x === undefined ? none : String(x)),
  };
}

/** Terminal and log text: the CLI and the demo. */
export const plain: NumberStyle = numberStyle('-', '-');

/** The HTML report: true minus, and an em dash for a value that does not exist. */
export const typeset: NumberStyle = numberStyle('\u2212', '\u2014');
