/**
 * The venue's truth as bots fetch it with ccxt, turned into VenuePositions: pure functions over
 * ccxt's unified structures (a Position, a Balance), no network and no import of ccxt, so the
 * library never depends on it. What the result means (duplicates, sizes, sides) is judged later by
 * the store's validation of VenuePositions; here only shapes that cannot be mapped are refused.
 *
 * Never merged: one ccxt position gives at most one VenuePosition. A hedged account's long and
 * short on one symbol come out as two entries, which validation refuses as a duplicate symbol:
 * netting them would call 1 BTC long + 1 BTC short "flat" and let adoptVenue close the log's
 * trade while the venue still holds both legs.
 */
import { ValidationError } from '../errors.js';
import type { VenuePosition } from '../domain/venue.js';

/**
 * How a ccxt unified symbol ('BTC/USDT:USDT', 'BTC/USDT') becomes the log's symbol. A function, or a
 * record by unified symbol (a symbol the record does not name falls back to the default: the base
 * currency, so an unexpected position still shows up as an orphan instead of vanishing). `null`
 * (returned or recorded) leaves that symbol out on purpose: an instrument this log does not trade.
 */
export type CcxtSymbolMap = ((unifiedSymbol: string) => string | null) | Readonly<Record<string, string | null>>;

/** The fields of ccxt's unified Position this adapter reads (ccxt's own `Position` fits it). */
export interface CcxtPositionLike {
  readonly symbol?: unknown;
  readonly side?: unknown;
  readonly contracts?: unknown;
  readonly contractSize?: unknown;
  readonly entryPrice?: unknown;
  readonly info?: unknown;
}

export interface CcxtPositionOptions {
  symbol?: CcxtSymbolMap;
}

export interface CcxtBalanceOptions {
  /**
   * What to count: each entry a ccxt market ('BTC/USDT') or a currency code ('BTC', e.g. the log's
   * own symbols). The base currency's free + used amount is the holding, mapped by `symbol`.
   */
  symbols: readonly string[];
  symbol?: CcxtSymbolMap;
}

/** 'BTC/USDT:USDT' → its base, quote and settle parts ('BTC', 'USDT', 'USDT'); a symbol without '/' is its own base. */
function unifiedParts(symbol: string): { base: string; settle: string | null; suffix: string | null } {
  const [market = '', settlePart] = symbol.split(':', 2);
  const base = market.includes('/') ? market.slice(0, market.indexOf('/')) : market;
  if (settlePart === undefined) return { base, settle: null, suffix: null };
  const dash = settlePart.indexOf('-');
  return dash < 0 ? { base, settle: settlePart, suffix: null } : { base, settle: settlePart.slice(0, dash), suffix: settlePart.slice(dash + 1) };
}

function mapSymbol(unified: string, map: CcxtSymbolMap | undefined, field: string): string | null {
  let mapped: unknown;
  if (typeof map === 'function') mapped = map(unified);
  else if (map !== undefined && Object.hasOwn(map, unified)) mapped = map[unified];
  else return unifiedParts(unified).base;
  if (mapped === null) return null;
  if (typeof mapped !== 'string' || mapped.trim() === '') {
    throw new ValidationError(field, mapped, `is not a symbol: the symbol map must give a non-empty string (or null to leave ${JSON.stringify(unified)} out)`);
  }
  return mapped;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A finite number ≥ 0, or the error naming `field`. ccxt gives numbers; JSON files may give numeric strings, which are refused too. */
function amount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(field, value, 'is not a finite number >= 0');
  }
  return value;
}

/**
 * ccxt's unified derivative positions (`exchange.fetchPositions()`) as VenuePositions: size =
 * `contracts` × `contractSize` (1 when missing), in base units; side 'long' → LONG, 'short' →
 * SHORT; `entryPrice` kept when it is a positive number. Positions of 0 contracts are flat and
 * skipped. Inverse contracts ('BTC/USD:BTC', counted in the quote currency) and options are refused
 * unless the symbol map leaves them out (null): their contracts are not an amount of the base.
 */
export function fromCcxtPositions(positions: readonly CcxtPositionLike[], options: CcxtPositionOptions = {}): VenuePosition[] {
  if (!Array.isArray(positions)) throw new ValidationError('positions', positions, 'is not an array of ccxt positions');
  const out: VenuePosition[] = [];
  positions.forEach((position: unknown, i) => {
    const at = `positions[${i}]`;
    if (!isRecord(position)) throw new ValidationError(at, position, 'is not a ccxt position (an object)');
    const contracts = amount(position.contracts, `${at}.contracts`);
    if (contracts === 0) return;
    const { symbol, side, contractSize, entryPrice } = position;
    if (typeof symbol !== 'string' || symbol.trim() === '') throw new ValidationError(`${at}.symbol`, symbol, 'is not a ccxt unified symbol');
    const mapped = mapSymbol(symbol, options.symbol, `${at}.symbol`);
    if (mapped === null) return;
    const { base, settle, suffix } = unifiedParts(symbol);
    if (suffix !== null && /-[CP]$/.test(suffix)) {
      throw new ValidationError(`${at}.symbol`, symbol, 'is an option: its contracts are not a holding of the base (map it to null in `symbol` to leave it out)');
    }
    if (settle !== null && settle === base) {
      throw new ValidationError(`${at}.symbol`, symbol, 'is an inverse contract: its contracts count the quote currency, not the base (map it to null in `symbol` to leave it out)');
    }
    if (side !== 'long' && side !== 'short') throw new ValidationError(`${at}.side`, side, "is not 'long' or 'short'");
    const perContract = contractSize === undefined || contractSize === null ? 1 : amount(contractSize, `${at}.contractSize`);
    if (perContract === 0) throw new ValidationError(`${at}.contractSize`, contractSize, 'is 0: a contract must hold some of the base');
    // 15 significant digits: 3 contracts of 0.1 are 0.3, not the product's 0.30000000000000004.
    const size = Number((contracts * perContract).toPrecision(15));
    const venue: VenuePosition = { symbol: mapped, side: side === 'long' ? 'LONG' : 'SHORT', size };
    if (typeof entryPrice === 'number' && Number.isFinite(entryPrice) && entryPrice > 0) venue.entry_price = entryPrice;
    out.push(venue);
  });
  return out;
}

/** free + used of one currency, from `balance[CUR]` or else `balance.free[CUR]` / `balance.used[CUR]`; `total` when neither is given. */
function holding(balance: Record<string, unknown>, currency: string): number {
  const own = balance[currency];
  const at = `balance.${currency}`;
  let free: unknown;
  let used: unknown;
  let total: unknown;
  if (isRecord(own)) ({ free, used, total } = own);
  else {
    free = isRecord(balance.free) ? balance.free[currency] : undefined;
    used = isRecord(balance.used) ? balance.used[currency] : undefined;
    total = isRecord(balance.total) ? balance.total[currency] : undefined;
  }
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  if (given(free) || given(used)) {
    return (given(free) ? amount(free, `${at}.free`) : 0) + (given(used) ? amount(used, `${at}.used`) : 0);
  }
  return given(total) ? amount(total, `${at}.total`) : 0;
}

/**
 * ccxt's unified spot balance (`exchange.fetchBalance()`) as LONG VenuePositions: for each entry of
 * `symbols`, the free + used amount of its base currency; a currency with nothing is flat and
 * skipped. Two entries counting the same currency are refused (a balance holds it once).
 */
export function fromCcxtBalance(balance: Readonly<Record<string, unknown>>, options: CcxtBalanceOptions): VenuePosition[] {
  if (!isRecord(balance)) throw new ValidationError('balance', balance, 'is not a ccxt balance (an object)');
  const symbols: unknown = options?.symbols;
  if (!Array.isArray(symbols)) throw new ValidationError('symbols', symbols, 'is not an array of symbols to count');
  const counted = new Map<string, number>();
  const out: VenuePosition[] = [];
  symbols.forEach((symbol: unknown, i) => {
    const at = `symbols[${i}]`;
    if (typeof symbol !== 'string' || symbol.trim() === '') throw new ValidationError(at, symbol, 'is not a ccxt symbol or currency code');
    const { base } = unifiedParts(symbol.trim());
    const earlier = counted.get(base);
    if (earlier !== undefined) throw new ValidationError(at, symbol, `counts the currency ${base}, as symbols[${earlier}] does`);
    counted.set(base, i);
    const mapped = mapSymbol(symbol.trim(), options.symbol, at);
    if (mapped === null) return;
    const size = holding(balance, base);
    if (size > 0) out.push({ symbol: mapped, side: 'LONG', size });
  });
  return out;
}

/** Fields only a ccxt position has; a VenuePosition's side is upper-case. */
function looksCcxt(value: unknown): boolean {
  return isRecord(value) && ('contracts' in value || 'info' in value || value.side === 'long' || value.side === 'short');
}

/**
 * The venue's positions as read from JSON (the CLI's `--positions` file): a list of VenuePositions,
 * returned as they are (the store's validation judges them), or a list of raw ccxt positions
 * (recognized by `contracts`, `info` or a lower-case side), mapped by fromCcxtPositions.
 */
export function venuePositionsFrom(json: unknown, options: CcxtPositionOptions = {}): VenuePosition[] {
  if (!Array.isArray(json)) throw new ValidationError('positions', json, 'is not a list of venue positions or ccxt positions');
  const items: unknown[] = json;
  if (items.length === 0) return [];
  const ccxt = items.map(looksCcxt);
  const mixed = ccxt.findIndex((c) => c !== ccxt[0]);
  if (mixed >= 0) {
    throw new ValidationError(`positions[${mixed}]`, items[mixed], `is ${ccxt[0] ? 'not ' : ''}a ccxt position, unlike positions[0]: the list must be all VenuePositions or all ccxt positions`);
  }
  return ccxt[0] ? fromCcxtPositions(items as CcxtPositionLike[], options) : (items as VenuePosition[]);
}
