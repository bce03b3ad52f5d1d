/**
 * Integrity invariants of a trade log (SPEC §4): checked after every write,
 * reported, never blocking. Works on any object typed as a log, so it does
 * not assume validateLogShape ran.
 *
 * | code                   | trade_id        | meaning                                                        |
 * | ---------------------- | --------------- | -------------------------------------------------------------- |
 * | DUPLICATE_ID           | the id          | a second (third…) trade with an id already used                |
 * | OPEN_MISSING_FIELD     | the trade       | OPEN without a finite entry/stop/size > 0, a non-empty symbol  |
 * |                        |                 | or any direction (one violation per field)                     |
 * | OPEN_HAS_EXIT          | the trade       | OPEN but exit_price is set                                     |
 * | CLOSED_MISSING_FIELD   | the trade       | CLOSED without a numeric exit_price or pnl_usd (one per field) |
 * | POSITION_CAP_EXCEEDED  | null            | more OPEN trades than maxPositions                             |
 * | DUPLICATE_OPEN_SYMBOL  | the later trade | two OPEN trades on one instrument: their symbols have the same |
 * |                        |                 | instrument key (instrument.ts), e.g. "BTC" and "btc"           |
 * | PNL_SIGN_MISMATCH      | the trade       | CLOSED pnl_usd has the wrong sign for the price move and       |
 * |                        |                 | direction (a zero move needs pnl_usd 0); partials not counted  |
 * | UNKNOWN_STATUS         | the trade       | status is neither OPEN nor CLOSED                              |
 * | UNKNOWN_DIRECTION      | the trade       | direction present but neither LONG nor SHORT                   |
 * | STOP_TARGET_INCONSISTENT | the trade     | OPEN with a target on the losing side of entry, or a stop at   |
 * |                        |                 | or beyond the target (validate.ts stopTargetProblem, the rule  |
 * |                        |                 | updateTrade enforces); a null target is not checked            |
 */
import { instrumentKeyOf } from './instrument.js';
import { knownChanges } from './log-index.js';
import type { Trade, TradeLog } from './types.js';
import { stopTargetProblem } from './validate.js';

export interface Violation {
  code: string;
  trade_id: string | null;
  message: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown): string => JSON.stringify(v) ?? 'missing';

export function verifyIntegrity(log: TradeLog, options: { maxPositions: number } = { maxPositions: 7 }): Violation[] {
  const out: Violation[] = [];
  const seenIds = new Set<string>();
  const openByKey = new Map<unknown, { name: string; symbol: unknown }>();
  let openCount = 0;

  for (const t of log.trades) {
    const id = typeof t.id === 'string' ? t.id : null;
    const add = (code: string, message: string): void => {
      out.push({ code, trade_id: id, message });
    };
    if (id !== null) {
      if (seenIds.has(id)) add('DUPLICATE_ID', `id ${id} is used by more than one trade`);
      seenIds.add(id);
    }
    const name = id ?? '(trade without id)';
    if (t.direction !== undefined && t.direction !== null && t.direction !== 'LONG' && t.direction !== 'SHORT') {
      add('UNKNOWN_DIRECTION', `${name} has direction ${show(t.direction)}, expected LONG or SHORT`);
    }
    if (t.status === 'OPEN') {
      openCount++;
      checkOpen(t, name, add);
      const key = instrumentKeyOf(t.symbol);
      const other = openByKey.get(key);
      if (other === undefined) openByKey.set(key, { name, symbol: t.symbol });
      else if (other.symbol === t.symbol) add('DUPLICATE_OPEN_SYMBOL', `${name} and ${other.name} are both OPEN on ${show(t.symbol)}`);
      else {
        add('DUPLICATE_OPEN_SYMBOL', `${name} on ${show(t.symbol)} and ${other.name} on ${show(other.symbol)} are both OPEN on one instrument (key ${show(key)})`);
      }
    } else if (t.status === 'CLOSED') {
      checkClosed(t, name, add);
    } else {
      add('UNKNOWN_STATUS', `${name} has status ${show(t.status)}, expected OPEN or CLOSED`);
    }
  }
  if (openCount > options.maxPositions) {
    out.push({
      code: 'POSITION_CAP_EXCEEDED',
      trade_id: null,
      message: `${openCount} trades are OPEN, cap is ${options.maxPositions}`,
    });
  }
  return out;
}

type Add = (code: string, message: string) => void;

function checkOpen(t: Trade, name: string, add: Add): void {
  for (const f of ['entry_price', 'stop_price', 'size'] as const) {
    const v: unknown = t[f];
    if (!isNum(v) || v <= 0) add('OPEN_MISSING_FIELD', `${name} is OPEN but its ${f} is ${show(v)}`);
  }
  if (typeof t.symbol !== 'string' || t.symbol.trim() === '') {
    add('OPEN_MISSING_FIELD', `${name} is OPEN but its symbol is ${show(t.symbol)}`);
  }
  if (t.direction === undefined || t.direction === null) add('OPEN_MISSING_FIELD', `${name} is OPEN but has no direction`);
  if (t.exit_price !== null && t.exit_price !== undefined) {
    add('OPEN_HAS_EXIT', `${name} is OPEN but has exit_price ${show(t.exit_price)}`);
  }
  // Written by hand, by another writer, or before updates enforced the rule.
  const { direction, entry_price, stop_price, target_price } = t; // without the id, which the message names already
  const sides = stopTargetProblem({ direction, entry_price, stop_price, target_price });
  if (sides !== null) add('STOP_TARGET_INCONSISTENT', `${name} is OPEN but its ${sides.field} ${sides.value} ${sides.problem}`);
}

function checkClosed(t: Trade, name: string, add: Add): void {
  const exit: unknown = t.exit_price;
  const pnl: unknown = t.pnl_usd;
  if (!isNum(exit)) add('CLOSED_MISSING_FIELD', `${name} is CLOSED but its exit_price is ${show(exit)}`);
  if (!isNum(pnl)) add('CLOSED_MISSING_FIELD', `${name} is CLOSED but its pnl_usd is ${show(pnl)}`);
  const entry: unknown = t.entry_price;
  if (!isNum(exit) || !isNum(pnl) || !isNum(entry)) return;
  let move: number;
  if (t.direction === 'LONG') move = exit - entry;
  else if (t.direction === 'SHORT') move = entry - exit;
  else return; // reported as UNKNOWN_DIRECTION
  // A tiny move may round to pnl 0, so only a strictly opposite sign (or P&L on no move) is wrong.
  const wrong = move > 0 ? pnl < 0 : move < 0 ? pnl > 0 : pnl !== 0;
  if (wrong) {
    add('PNL_SIGN_MISMATCH', `${name} is ${t.direction} ${entry} -> ${exit} but its pnl_usd is ${pnl}`);
  }
}

/** What one trade adds to the running values of an IntegrityTracker, recorded when it was counted. */
interface Share {
  /** Its id, when a string (verifyIntegrity ignores other ids for DUPLICATE_ID). */
  id: string | null;
  /** Whether it is OPEN, and then its symbol's instrument key (any value: verifyIntegrity keys a Map by it). */
  open: boolean;
  symbol: unknown;
  /** Whether it breaks a rule of its own (every code but the three that look across trades). */
  bad: boolean;
  /** Whether it was frozen when counted: only then may the next check take it as unchanged. */
  frozen: boolean;
}

/** Per frozen trade, whether it breaks a rule of its own: a frozen trade cannot change. */
const badByTrade = new WeakMap<object, boolean>();

function breaksOwnRule(t: Trade): boolean {
  const known = badByTrade.get(t);
  if (known !== undefined) return known;
  // Alone in a log with no cap, a trade can only show the violations of its own fields: the one
  // set of rules, reused rather than restated.
  const bad = verifyIntegrity({ trades: [t] } as unknown as TradeLog, { maxPositions: Number.POSITIVE_INFINITY }).length > 0;
  if (Object.isFrozen(t)) badByTrade.set(t, bad);
  return bad;
}

const countIn = <K>(m: Map<K, number>, k: K, by: 1 | -1): number => {
  const n = (m.get(k) ?? 0) + by;
  if (n === 0) m.delete(k);
  else m.set(k, n);
  return n;
};

/**
 * verifyIntegrity for a sequence of versions of one log, each a few trades away from the one
 * before (what a write changes): the same answer, without a pass over the whole history in the
 * common case of a clean log.
 *
 * It keeps running values of the log last checked — how often each string id occurs, how many
 * OPEN trades each symbol has, the OPEN count, how many trades break a rule of their own — and
 * updates them from the trades that differ from that log, found by identity at both ends as the
 * serializer does. A trade is taken as unchanged only when it is the same object and was frozen
 * already when counted (so it cannot have changed); anything else counts as removed and added again, and a removed trade takes away what
 * it added when it was counted (recorded then), so a trade edited in place cannot skew the counts.
 * When every value says clean, the answer is [], which is then what verifyIntegrity returns; when
 * any says otherwise, the answer is verifyIntegrity itself, so messages and order are its own.
 */
export class IntegrityTracker {
  #trades: readonly Trade[] = [];
  #shares: Share[] = [];
  readonly #ids = new Map<string, number>();
  /** Ids that occur more than once. */
  #duplicateIds = 0;
  readonly #openSymbols = new Map<unknown, number>();
  /** Symbols with more than one OPEN trade. */
  #duplicateOpen = 0;
  #openCount = 0;
  #badCount = 0;
  /** Shares counted from a trade that was not frozen: while any, the next check compares every position. */
  #unfrozen = 0;

  check(log: TradeLog, options: { maxPositions: number } = { maxPositions: 7 }): Violation[] {
    const trades = log.trades;
    if (!Array.isArray(trades)) return verifyIntegrity(log, options);
    try {
      this.#update(trades);
    } catch {
      // A record verifyIntegrity cannot read either (it throws below too): start afresh next time.
      this.#reset();
      return verifyIntegrity(log, options);
    }
    const clean = this.#duplicateIds === 0 && this.#duplicateOpen === 0 && this.#badCount === 0 && !(this.#openCount > options.maxPositions);
    return clean ? [] : verifyIntegrity(log, options);
  }

  #update(trades: readonly Trade[]): void {
    const prev = this.#trades;
    // A log derived from the last one (log-index.ts): only the positions it wrote can differ.
    const known = this.#unfrozen === 0 ? knownChanges(prev, trades) : null;
    if (known !== null) {
      for (const i of known) {
        if (i < prev.length && trades[i] === prev[i]) continue;
        const share = this.#add(trades[i] as Trade);
        if (i < this.#shares.length) {
          this.#remove(this.#shares[i] as Share);
          this.#shares[i] = share;
        } else this.#shares.push(share);
      }
      this.#trades = trades;
      return;
    }
    const n = trades.length;
    const m = prev.length;
    // The same object, frozen already when it was counted: it cannot have changed since.
    const same = (i: number, j: number): boolean => trades[i] === prev[j] && (this.#shares[j] as Share).frozen;
    let p = 0;
    while (p < n && p < m && same(p, p)) p++;
    let s = 0;
    while (s < n - p && s < m - p && same(n - 1 - s, m - 1 - s)) s++;
    const added: Share[] = [];
    for (let i = p; i < n - s; i++) added.push(this.#add(trades[i] as Trade));
    for (let i = p; i < m - s; i++) this.#remove(this.#shares[i] as Share);
    // In place when few changed (a write's usual case), rebuilt when many (no huge argument list).
    if (added.length <= 1000) this.#shares.splice(p, m - s - p, ...added);
    else this.#shares = this.#shares.slice(0, p).concat(added, this.#shares.slice(m - s));
    // A frozen array is the log's own and cannot change; another is copied, to diff against later.
    this.#trades = Object.isFrozen(trades) ? trades : trades.slice();
  }

  #reset(): void {
    this.#trades = [];
    this.#shares = [];
    this.#ids.clear();
    this.#openSymbols.clear();
    this.#duplicateIds = 0;
    this.#duplicateOpen = 0;
    this.#openCount = 0;
    this.#badCount = 0;
    this.#unfrozen = 0;
  }

  #add(t: Trade): Share {
    const open = t.status === 'OPEN';
    const share: Share = {
      frozen: Object.isFrozen(t),
      id: typeof t.id === 'string' ? t.id : null,
      open,
      symbol: open ? instrumentKeyOf(t.symbol) : undefined,
      bad: breaksOwnRule(t),
    };
    if (share.id !== null && countIn(this.#ids, share.id, 1) === 2) this.#duplicateIds++;
    if (share.open) {
      this.#openCount++;
      if (countIn(this.#openSymbols, share.symbol, 1) === 2) this.#duplicateOpen++;
    }
    if (share.bad) this.#badCount++;
    if (!share.frozen) this.#unfrozen++;
    return share;
  }

  #remove(share: Share): void {
    if (share.id !== null && countIn(this.#ids, share.id, -1) === 1) this.#duplicateIds--;
    if (share.open) {
      this.#openCount--;
      if (countIn(this.#openSymbols, share.symbol, -1) === 1) this.#duplicateOpen--;
    }
    if (share.bad) this.#badCount--;
    if (!share.frozen) this.#unfrozen--;
  }
}

/** The most a default integrity warning takes, in UTF-8 bytes, however many violations there are. */
export const VIOLATION_SUMMARY_MAX_BYTES = 2048;

const utf8Bytes = (s: string): number => {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
};

/** `s` cut to `max` code points, "…" marking the cut. */
const clip = (s: string, max: number): string => {
  const points = [...s];
  return points.length <= max ? s : `${points.slice(0, max - 1).join('')}…`;
};

/**
 * The default warning of a store for the violations found after a write: the count, each code
 * with its count, the first few trade ids and the first violation's message — never more than
 * VIOLATION_SUMMARY_MAX_BYTES, since a damaged log of thousands of trades would otherwise print
 * all of them after every write. The onIntegrityViolation option still receives every violation.
 * `where`: the log's path or the account, as the store names it.
 */
export function violationSummary(violations: readonly Violation[], where: string, operation: string): string {
  const n = violations.length;
  const byCode = new Map<string, number>();
  for (const v of violations) byCode.set(v.code, (byCode.get(v.code) ?? 0) + 1);
  const codes = [...byCode].map(([code, k]) => `${clip(code, 40)} ${k}`);
  const shownCodes = codes.slice(0, 12);
  if (codes.length > shownCodes.length) shownCodes.push(`${codes.length - shownCodes.length} more codes`);
  const ids: string[] = []; // the first five distinct ids, and a sixth if there is one
  for (const v of violations) {
    if (ids.length === 6) break;
    if (v.trade_id !== null && !ids.includes(v.trade_id)) ids.push(v.trade_id);
  }
  const parts = [`${n} integrity violation${n === 1 ? '' : 's'} in ${clip(where, 300)} after ${clip(operation, 40)}`];
  if (n > 0) {
    parts.push(`: ${shownCodes.join(', ')}`);
    if (ids.length > 0) parts.push(`; trades ${ids.slice(0, 5).map((id) => clip(id, 40)).join(', ')}${ids.length > 5 ? ', …' : ''}`);
    const first = violations[0] as Violation;
    parts.push(`; first: ${clip(first.message, 300)}`);
    if (n > 1) parts.push('. All of them: store.verifyIntegrity(), or an onIntegrityViolation option');
  }
  let text = parts.join('');
  // The parts above are bounded in code points; this bounds the bytes whatever they hold.
  while (utf8Bytes(text) > VIOLATION_SUMMARY_MAX_BYTES) text = clip(text, Math.floor([...text].length * 0.9));
  return text;
}
