/**
 * The instrument key: what "the same symbol" means everywhere (the duplicate check, the
 * correlation groups, the loss streak, the integrity check, the database's one-open-per-symbol
 * index). A record keeps its symbol as written; only comparisons go through the key.
 *
 * The key is the symbol trimmed (String.prototype.trim: Unicode white space and line terminators)
 * and lower-cased (String.prototype.toLowerCase: Unicode's default, locale-independent mapping).
 * Nothing more: no Unicode normalization, so "ＢＴＣ" (full-width) and "BTC", or a composed and a
 * decomposed "é", are different instruments, and "ß" is not "SS". Venues name instruments in ASCII,
 * where the key is exactly "the same letters, any case, no surrounding blanks".
 *
 * PostgreSQL's lower() follows the database's collation (under the C locale it lowers ASCII only),
 * so the database never computes the key: the store writes it (trades.symbol_key) from this function.
 */

/** The key of a symbol (see above). "" for a blank symbol, which validation refuses at open. */
export function instrumentKey(symbol: string): string {
  return symbol.trim().toLowerCase();
}

/**
 * instrumentKey for a value read from a log that may be damaged: a string's key, any other value
 * as it is (so it equals only itself, as an exact comparison did).
 */
export function instrumentKeyOf(symbol: unknown): unknown {
  return typeof symbol === 'string' ? instrumentKey(symbol) : symbol;
}

/** Whether two symbols name the same instrument. */
export function sameInstrument(a: unknown, b: unknown): boolean {
  return instrumentKeyOf(a) === instrumentKeyOf(b);
}
