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
 * | DUPLICATE_OPEN_SYMBOL  | the later trade | two OPEN trades share a symbol                                 |
 * | PNL_SIGN_MISMATCH      | the trade       | CLOSED pnl_usd has the wrong sign for the price move and       |
 * |                        |                 | direction (a zero move needs pnl_usd 0); partials not counted  |
 * | UNKNOWN_STATUS         | the trade       | status is neither OPEN nor CLOSED                              |
 * | UNKNOWN_DIRECTION      | the trade       | direction present but neither LONG nor SHORT                   |
 * | STOP_TARGET_INCONSISTENT | the trade     | OPEN with a target on the losing side of entry, or a stop at   |
 * |                        |                 | or beyond the target (validate.ts stopTargetProblem, the rule  |
 * |                        |                 | updateTrade enforces); a null target is not checked            |
 */
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
  const openBySymbol = new Map<unknown, string>();
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
      const other = openBySymbol.get(t.symbol);
      if (other !== undefined) add('DUPLICATE_OPEN_SYMBOL', `${name} and ${other} are both OPEN on ${show(t.symbol)}`);
      else openBySymbol.set(t.symbol, name);
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
