import { plain } from '../../format.js';
import { optionalNumber, str } from '../args.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, withIntegrity } from '../store.js';

const { price, signedUsd } = plain;

export const partial: Command = {
  name: 'partial',
  summary: 'close a fraction of an open trade',
  usage: 'partial <id> --fraction <f> --exit <price> [--reason <text>]',
  help: `Options:
  --fraction <f>       the share of the current size to close, 0 < f < 1
  --exit <price>       exit price, > 0
  --reason <text>      recorded with the partial exit

size_closed = round(size x f, 6); refused if nothing would remain open.`,
  options: {
    fraction: { type: 'string' },
    exit: { type: 'string' },
    reason: { type: 'string' },
  },
  required: ['fraction', 'exit'],
  positionals: ['id'],
  async run({ values, args, globals }): Promise<CommandResult> {
    const id = args[0] as string;
    const reason = str(values, 'reason');
    const { store, violations } = await openStore(globals);
    const r = await store.partialClose(id, {
      fraction: optionalNumber(values, 'fraction') as number,
      exit_price: optionalNumber(values, 'exit') as number,
      ...(reason !== undefined && { reason }),
    });
    const text =
      `partial ${r.trade_id} ${r.symbol}: closed ${price(r.size_closed)} @ ${price(r.exit_price)} ` +
      `${signedUsd(r.partial_pnl)}, ${price(r.remaining_size)} still open`;
    return withIntegrity({ result: r }, text, violations);
  },
};
