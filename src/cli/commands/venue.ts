import path from 'node:path';

import { DRIFT_MEANING, type DriftItem, type VenueAdoption, type VenueDrift, type VenuePosition } from '../../domain/venue.js';
import { plain } from '../../format.js';
import { venuePositionsFrom } from '../../venue/ccxt.js';
import { optionalNumber, str } from '../args.js';
import { UsageError } from '../cli-errors.js';
import { readJsonFlag } from '../json-file.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, whereJson, whereText, withIntegrity } from '../store.js';
import { table } from '../table.js';

const { plural, price } = plain;

/** The items as a table a person reads: one row each, what it means last. */
export function driftTable(items: readonly DriftItem[]): string {
  return table(
    [{ title: 'KIND' }, { title: 'SYMBOL' }, { title: 'TRADE' }, { title: 'LOG', align: 'right' }, { title: 'VENUE', align: 'right' }, { title: 'MEANING' }],
    items.map((i) => [
      i.kind,
      i.symbol,
      i.trade_id ?? '-',
      i.log_side === null ? 'flat' : `${i.log_side} ${price(i.log_size)}`,
      i.venue_side === null ? 'flat' : `${i.venue_side} ${price(i.venue_size)}`,
      DRIFT_MEANING[i.kind],
    ]),
  );
}

export const venue: Command = {
  name: 'venue',
  summary: 'compare the log with what the venue holds (exit 1 on drift); --adopt settles what it can',
  usage: 'venue --positions <venue.json> [--adopt --prices <prices.json>] [--reason <text>] [--tolerance <x>] [--log <path> | --db <url> --account <name>] [--json]',
  help: `Options:
  --positions <file>   what the venue holds now: a JSON list of
                       { "symbol", "side": "LONG"|"SHORT", "size", "entry_price"? }
                       (a symbol absent or with size 0 is flat)
  --tolerance <x>      a relative size difference ignored as rounding and fees
                       (default 0.001, i.e. 0.1 %)
  --adopt              settle what needs no guess, in one locked write: a GHOST
                       (open in the log, flat at the venue) is closed, a SIZE where
                       the venue holds less is partially closed; nothing is opened
  --prices <file>      with --adopt: a JSON object { "BTC": 64000, ... }, the
                       price each settled symbol is closed at
  --reason <text>      with --adopt: the exit reason (default venue_flat)

Exit 0 when the log and the venue agree (with --adopt: when nothing is left
unresolved), 1 when they drift or on invalid input, 2 on usage (a file that
cannot be read or is not JSON included). Kinds: GHOST, ORPHAN, SIZE, SIDE
(docs/venue.md).`,
  options: {
    positions: { type: 'string' },
    adopt: { type: 'boolean' },
    prices: { type: 'string' },
    reason: { type: 'string' },
    tolerance: { type: 'string' },
  },
  required: ['positions'],
  async run({ values, globals }): Promise<CommandResult> {
    const adopt = values.adopt === true;
    const pricesFile = str(values, 'prices');
    const reason = str(values, 'reason');
    if (adopt && pricesFile === undefined) throw new UsageError('venue: --adopt needs --prices <prices.json>', 'venue');
    if (!adopt && (pricesFile !== undefined || reason !== undefined)) throw new UsageError('venue: --prices and --reason go with --adopt', 'venue');
    const positionsFile = path.resolve(str(values, 'positions') as string);
    // Checked by the store at the call, whatever the file holds.
    // A list of VenuePositions, or ccxt's unified positions as fetchPositions() gives them (detected).
    const positions: VenuePosition[] = venuePositionsFrom(readJsonFlag('venue', 'positions', positionsFile));
    const prices = pricesFile === undefined ? undefined : readJsonFlag('venue', 'prices', path.resolve(pricesFile));
    const tolerance = optionalNumber(values, 'tolerance');
    const options = tolerance === undefined ? {} : { tolerance };

    const { store, violations, where } = await openStore(globals);
    const drift: VenueDrift = await store.compareVenue(positions, options);
    let adoption: VenueAdoption | null = null;
    if (adopt) {
      adoption = await store.adoptVenue(positions, { prices: prices as Record<string, number>, ...options, ...(reason !== undefined && { exitReason: reason }) });
    }
    const json = { ...whereJson(where), positions: positionsFile, tolerance: tolerance ?? 0.001, drift, adoption };
    const against = `${whereText(where)} against ${positionsFile}`;
    const lines: string[] = [];
    if (drift.ok) lines.push(`ok: ${against}: in agreement (${plural(drift.matched.length, 'position')} matched)`);
    else {
      lines.push(`DRIFT: ${against}: ${plural(drift.items.length, 'item')}, ${drift.matched.length} matched`);
      lines.push(driftTable(drift.items));
    }
    if (adoption !== null) {
      if (adoption.closed.length > 0) lines.push(`closed: ${adoption.closed.join(', ')}`);
      if (adoption.reduced.length > 0) lines.push(`reduced: ${adoption.reduced.join(', ')}`);
      if (adoption.unresolved.length === 0) lines.push('adopted: nothing left unresolved');
      else lines.push(`UNRESOLVED: ${plural(adoption.unresolved.length, 'item')} for a person:`, driftTable(adoption.unresolved));
    }
    const failed = adoption !== null ? adoption.unresolved.length > 0 : !drift.ok;
    const result = withIntegrity(json, lines.join('\n'), violations);
    return failed ? { ...result, exitCode: 1 } : result;
  },
};
