import { plain } from '../format.js';
import { instrumentKey, type Trade, type Violation } from '../index.js';
import { RACERS } from './config.js';
import type { Ledger } from './ledger.js';

const { plural } = plain;

export interface Check {
  ok: boolean;
  label: string;
  detail: string;
}

export interface VerdictInput {
  trades: readonly Trade[];
  ledger: Ledger;
  integrity: readonly Violation[];
  reconcile: { ok: boolean; detail: string };
  derivedViolations: readonly string[];
  /** Children that did not exit 0 although nobody killed them. */
  badExits: readonly string[];
}

function duplicates<T>(xs: readonly T[]): T[] {
  const seen = new Set<T>();
  const dup = new Set<T>();
  for (const x of xs) (seen.has(x) ? dup : seen).add(x);
  return [...dup];
}

/** Every acknowledged open, partial and close must be in the log as acknowledged. */
function lostAcks(trades: readonly Trade[], ledger: Ledger): string[] {
  const byId = new Map(trades.map((t) => [t.id, t]));
  const lost: string[] = [];
  const partials = new Map<string, number>();
  for (const ack of ledger.acks) {
    const t = byId.get(ack.id);
    if (t === undefined || t.symbol !== ack.symbol) {
      lost.push(`${ack.op} ${ack.id} ${ack.symbol}: not in the log`);
    } else if (ack.op === 'open' && ack.client_id !== undefined && t.client_id !== ack.client_id) {
      lost.push(`open ${ack.id}: client_id ${String(t.client_id)} in the log, ${ack.client_id} acknowledged`);
    } else if (ack.op === 'close' && t.status !== 'CLOSED') {
      lost.push(`close ${ack.id}: status ${t.status} in the log`);
    } else if (ack.op === 'partial') {
      partials.set(ack.id, (partials.get(ack.id) ?? 0) + 1);
    }
  }
  for (const [id, n] of partials) {
    const have = byId.get(id)?.partial_exits?.length ?? 0;
    if (have < n) lost.push(`partial ${id}: ${n} acknowledged, ${have} in the log`);
  }
  return lost;
}

export function verdict(v: VerdictInput): Check[] {
  const ids = duplicates(v.trades.map((t) => t.id));
  const openSymbols = duplicates(v.trades.filter((t) => t.status === 'OPEN').map((t) => instrumentKey(t.symbol)));
  const lost = lostAcks(v.trades, v.ledger);
  const count = (op: string): number => v.ledger.acks.filter((a) => a.op === op).length;
  const race = v.ledger.race();
  const raceOk = race.winners.length === 1 && race.losers.length === RACERS - 1 && race.losers.every((r) => r.code === 'DUPLICATE_SYMBOL');
  const errors = v.ledger.errors.map((e) => `${e.child}: ${e.code ?? 'error'} ${e.message}`);
  const list = (xs: readonly string[]): string => xs.slice(0, 5).join('; ') + (xs.length > 5 ? `; ... (${xs.length} in all)` : '');
  return [
    { ok: ids.length === 0, label: `${ids.length} duplicate ids`, detail: ids.join(', ') },
    { ok: openSymbols.length === 0, label: `${openSymbols.length} duplicate open symbols`, detail: openSymbols.join(', ') },
    {
      ok: lost.length === 0,
      label: `${lost.length} lost acknowledged trades`,
      detail: lost.length > 0 ? list(lost) : `${plural(count('open'), 'open')}, ${plural(count('partial'), 'partial')}, ${plural(count('close'), 'close')} acknowledged, all in the log`,
    },
    {
      ok: v.integrity.length === 0,
      label: 'verifyIntegrity() clean',
      detail: list(v.integrity.map((x) => `${x.code}${x.trade_id ? ` ${x.trade_id}` : ''}: ${x.message}`)),
    },
    { ok: v.derivedViolations.length === 0, label: 'derived invariants clean', detail: list(v.derivedViolations) },
    { ok: v.reconcile.ok, label: 'reconcile ok', detail: v.reconcile.detail },
    {
      ok: raceOk,
      label: `race for one symbol: ${race.winners.length} winner, ${race.losers.filter((r) => r.code === 'DUPLICATE_SYMBOL').length} DUPLICATE_SYMBOL`,
      detail: `${RACERS} scanners released at the same instant`,
    },
    {
      ok: errors.length === 0 && v.badExits.length === 0,
      label: 'writers: no unexpected errors',
      detail: list([...errors, ...v.badExits]),
    },
  ];
}
