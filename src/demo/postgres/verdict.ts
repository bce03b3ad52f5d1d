/**
 * What must hold after the PostgreSQL demo, checked against the database itself (the events table,
 * the account row, the trades) and against the exported log read back by the file path.
 */
import { plain } from '../../format.js';
import { instrumentKey, type Trade, type Violation } from '../../index.js';
import type { Ack, Failed, Reject } from '../protocol.js';
import type { Check } from '../verdict.js';
import { BURST_ACCEPTED, BURST_REFUSED, PG_MAX_POSITIONS, PG_RACE_SYMBOL, SCANNER_HOSTS } from './config.js';

const { plural } = plain;

/** A row of trade_state.events, as the demo reads it. */
export interface EventRow {
  event_seq: number;
  kind: string;
  trade_ids: string[];
  /** payload.result: the trade an open or a close returned. */
  result: { symbol?: unknown } | null;
}

/** What one host reported. */
export interface HostRecord {
  acks: Ack[];
  rejects: Reject[];
  errors: Failed[];
}

/** The numbers of one account as the PostgreSQL store computes them and as the file path does from the export. */
export interface Comparison {
  /** The trades read back from the exported file equal the database's (lossless). */
  sameTrades: boolean;
  pgEquity: number;
  fileEquity: number;
  /** equity.json's current_equity (rounded to cents) from reconciling the exported file; null if unreadable. */
  derivedEquity: number | null;
  expectedDerivedEquity: number;
  pgOpen: number;
  derivedOpen: number | null;
  /** The derived files' invariants against the database's log. */
  derivedViolations: readonly string[];
  reconcile: { ok: boolean; detail: string };
}

export interface PgVerdictInput {
  trades: readonly Trade[];
  account: { next_id: number; version: number };
  events: readonly EventRow[];
  hosts: ReadonlyMap<string, HostRecord>;
  integrity: readonly Violation[];
  comparison: Comparison;
  badExits: readonly string[];
}

const OPS: Readonly<Record<Ack['op'], string>> = { open: 'openTrade', close: 'closeTrade', partial: 'partialClose', update: 'updateTrade' };

const list = (xs: readonly string[]): string => xs.slice(0, 4).join('; ') + (xs.length > 4 ? `; ... (${xs.length} in all)` : '');

/** The account's history replayed event by event: the most positions ever open at once, and any symbol opened while open. */
export function replay(events: readonly EventRow[]): { peak: number; peakAt: number; doubled: string[]; open: Map<string, string> } {
  const open = new Map<string, string>(); // id -> symbol: counted by id, so that a doubled symbol cannot hide a breach of the cap
  let peak = 0;
  let peakAt = 0;
  const doubled: string[] = [];
  for (const e of events) {
    const id = e.trade_ids[0] ?? '?';
    const symbol = String(e.result?.symbol);
    if (e.kind === 'openTrade') {
      const holder = [...open].find(([, s]) => instrumentKey(s) === instrumentKey(symbol))?.[0];
      if (holder !== undefined) doubled.push(`${symbol} opened as ${id} while open as ${holder} (event ${e.event_seq})`);
      open.set(id, symbol);
      if (open.size > peak) [peak, peakAt] = [open.size, e.event_seq];
    } else if (e.kind === 'closeTrade') {
      open.delete(id);
    }
  }
  return { peak, peakAt, doubled, open };
}

/** The difference of two multisets, as "x (n)" items. */
function missing(from: readonly string[], minus: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of minus) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of from) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

export function pgVerdict(v: PgVerdictInput): Check[] {
  const history = replay(v.events);
  const finalOpen = v.trades.filter((t) => t.status === 'OPEN');
  const openSymbols = finalOpen.map((t) => instrumentKey(t.symbol));
  const doubledNow = openSymbols.filter((s, i) => openSymbols.indexOf(s) !== i);

  const ids = v.trades.map((t) => t.id);
  const expectedIds = ids.map((_, i) => `T${String(i + 1).padStart(3, '0')}`);
  const idGaps = ids.flatMap((id, i) => (id === expectedIds[i] ? [] : [`trade ${i + 1} is ${id}, expected ${expectedIds[i]}`]));
  if (v.account.next_id !== ids.length + 1) idGaps.push(`next_id ${v.account.next_id} after ${ids.length} trades`);
  const seqGaps = v.events.flatMap((e, i) => (e.event_seq === i + 1 ? [] : [`event ${i + 1} has event_seq ${e.event_seq}`]));
  if (v.account.version !== v.events.length) seqGaps.push(`account version ${v.account.version} after ${v.events.length} events`);

  const acks = [...v.hosts.values()].flatMap((h) => h.acks);
  const acked = acks.map((a) => `${OPS[a.op]} ${a.id}`);
  const logged = v.events.map((e) => `${e.kind} ${e.trade_ids.join(',')}`);
  const noEvent = missing(acked, logged).map((x) => `acknowledged, no event: ${x}`);
  const noAck = missing(logged, acked).map((x) => `event nobody acknowledged: ${x}`);

  const all = [...v.hosts.values()];
  const raceWins = all.flatMap((h) => h.acks.filter((a) => a.phase === 'race'));
  const raceLost = all.flatMap((h) => h.rejects.filter((r) => r.phase === 'race'));
  const raceOk = raceWins.length === 1 && raceLost.length === SCANNER_HOSTS.length - 1 && raceLost.every((r) => r.code === 'DUPLICATE_SYMBOL');
  const burstWins = all.flatMap((h) => h.acks.filter((a) => a.phase === 'burst'));
  const burstLost = all.flatMap((h) => h.rejects.filter((r) => r.phase === 'burst'));
  const burstOk = burstWins.length === BURST_ACCEPTED && burstLost.length === BURST_REFUSED && burstLost.every((r) => r.code === 'POSITION_CAP');

  const c = v.comparison;
  const numbers: string[] = [];
  if (!c.sameTrades) numbers.push('the exported log reads back different trades');
  if (c.pgEquity !== c.fileEquity) numbers.push(`equity ${c.pgEquity} on PostgreSQL, ${c.fileEquity} from the file`);
  if (c.derivedEquity !== c.expectedDerivedEquity) numbers.push(`equity.json says ${String(c.derivedEquity)}, PostgreSQL ${c.expectedDerivedEquity}`);
  if (c.derivedOpen !== c.pgOpen) numbers.push(`portfolio.json has ${String(c.derivedOpen)} open, PostgreSQL ${c.pgOpen}`);
  if (!c.reconcile.ok) numbers.push(c.reconcile.detail);
  numbers.push(...c.derivedViolations);

  const errors = [...v.hosts].flatMap(([host, h]) => h.errors.map((e) => `${host}: ${e.code ?? 'error'} ${e.message}`));
  return [
    {
      ok: history.peak <= PG_MAX_POSITIONS && finalOpen.length <= PG_MAX_POSITIONS,
      label: `never more than ${PG_MAX_POSITIONS} open`,
      detail: `peak ${history.peak} (event ${history.peakAt}), ${finalOpen.length} open at the end`,
    },
    {
      ok: history.doubled.length === 0 && doubledNow.length === 0,
      label: 'no symbol open twice',
      detail: list([...history.doubled, ...doubledNow.map((s) => `${s} open twice now`)]) || `replayed ${plural(v.events.length, 'event')}`,
    },
    {
      ok: idGaps.length === 0 && seqGaps.length === 0,
      label: 'ids gapless',
      detail: list([...idGaps, ...seqGaps]) || `${ids.length === 0 ? 'no trade' : `T001..${ids[ids.length - 1]}`}, next_id ${v.account.next_id}; events 1..${v.events.length}`,
    },
    {
      ok: noEvent.length === 0 && noAck.length === 0,
      label: 'one event per accepted write',
      detail: list([...noEvent, ...noAck]) || `${plural(acks.length, 'write')} acknowledged by the hosts, ${plural(v.events.length, 'event')} in trade_state.events`,
    },
    {
      ok: raceOk,
      label: `race for ${PG_RACE_SYMBOL}: ${raceWins.length} winner, ${raceLost.filter((r) => r.code === 'DUPLICATE_SYMBOL').length} DUPLICATE_SYMBOL`,
      detail: `${SCANNER_HOSTS.length} hosts ordered at once, once all were connected`,
    },
    {
      ok: burstOk,
      label: `over the cap at once: ${burstWins.length} opened, ${burstLost.filter((r) => r.code === 'POSITION_CAP').length} POSITION_CAP`,
      detail: `${BURST_ACCEPTED + BURST_REFUSED} opens asked at once with ${PG_MAX_POSITIONS - BURST_ACCEPTED} of ${PG_MAX_POSITIONS} open, after the race, before any close`,
    },
    {
      ok: numbers.length === 0,
      label: 'same numbers from the exported log (file path)',
      detail: list(numbers) || `equity ${plain.usd(c.pgEquity)}, ${c.pgOpen} open, same trades; derived files consistent`,
    },
    {
      ok: v.integrity.length === 0,
      label: 'verifyIntegrity() clean',
      detail: list(v.integrity.map((x) => `${x.code}${x.trade_id ? ` ${x.trade_id}` : ''}: ${x.message}`)),
    },
    { ok: errors.length === 0 && v.badExits.length === 0, label: 'hosts: no unexpected errors', detail: list([...errors, ...v.badExits]) },
  ];
}
