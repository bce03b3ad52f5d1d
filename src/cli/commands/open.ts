import type { OpenInput } from '../../domain/validate.js';
import { plain } from '../../format.js';
import { optionalNumber, str } from '../args.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, withIntegrity } from '../store.js';

const { price } = plain;

export const open: Command = {
  name: 'open',
  summary: 'open a trade after the risk checks, under the lock',
  usage:
    'open --symbol <S> --direction LONG|SHORT --entry <price> --stop <price> --target <price> --size <units>\n' +
    '       [--setup <name>] [--grade <g>] [--notes <text>] [--client-id <key>]',
  help: `Options:
  --symbol <S>         e.g. BTC (compared exactly: btc is another symbol)
  --direction <d>      LONG or SHORT (any case)
  --entry <price>      entry price, > 0
  --stop <price>       stop: below entry for LONG, above for SHORT
  --target <price>     target: above entry for LONG, below for SHORT
  --size <units>       position size in units (0.02 BTC), > 0
  --setup <name>       setup_type, grouped in setup_performance.json
  --grade <g>          grade, e.g. A
  --notes <text>       free text
  --client-id <key>    idempotency key: repeating the command with the same key
                       returns the trade already opened instead of a second one

Risk checks, in order: drawdown halt, duplicate open symbol, position cap
(--max-positions), correlation group risk, asset consecutive-loss cap. A refusal
exits 1 with its code, e.g. "rejected (DUPLICATE_SYMBOL)".`,
  options: {
    symbol: { type: 'string' },
    direction: { type: 'string' },
    entry: { type: 'string' },
    stop: { type: 'string' },
    target: { type: 'string' },
    size: { type: 'string' },
    setup: { type: 'string' },
    grade: { type: 'string' },
    notes: { type: 'string' },
    'client-id': { type: 'string' },
  },
  required: ['symbol', 'direction', 'entry', 'stop', 'target', 'size'],
  async run({ values, globals }): Promise<CommandResult> {
    const direction = str(values, 'direction') ?? '';
    // Unknown keys and bad values are the library's to refuse; it names the field.
    const input = {
      symbol: str(values, 'symbol'),
      direction: direction.toUpperCase(),
      entry_price: optionalNumber(values, 'entry'),
      stop_price: optionalNumber(values, 'stop'),
      target_price: optionalNumber(values, 'target'),
      size: optionalNumber(values, 'size'),
      ...optional('setup_type', str(values, 'setup')),
      ...optional('grade', str(values, 'grade')),
      ...optional('notes', str(values, 'notes')),
      ...optional('client_id', str(values, 'client-id')),
    } as OpenInput;
    const { store, violations } = await openStore(globals);
    // Only to word the answer: a client_id, once in the log, stays there.
    const existed = input.client_id !== undefined && (await store.getAllTrades()).some((t) => t.client_id === input.client_id);
    const t = await store.openTrade(input);
    const tags = [t.setup_type, t.grade].filter((x) => x !== null && x !== '').join(' ');
    const verb = existed ? `already opened (same --client-id), nothing written:` : 'opened';
    const text = `${verb} ${t.id} ${t.symbol} ${t.direction} ${price(t.size)} @ ${price(t.entry_price)} stop ${price(t.stop_price)} target ${price(t.target_price)}${tags ? ` (${tags})` : ''}`;
    return withIntegrity({ trade: t, existing: existed }, text, violations);
  },
};

function optional<K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}
