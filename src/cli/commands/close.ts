import { netPnl } from '../../domain/formulas.js';
import { round2 } from '../../domain/round.js';
import type { CloseInput } from '../../domain/validate.js';
import { plain } from '../../format.js';
import { optionalNumber, str } from '../args.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, withIntegrity } from '../store.js';

const { price, r: rMultiple, signedPct, signedUsd } = plain;

export const close: Command = {
  name: 'close',
  summary: 'close an open trade at an exit price',
  usage: 'close <id> --exit <price> [--reason <text>] [--lessons <text>]',
  help: `Options:
  --exit <price>       exit price, > 0
  --reason <text>      exit_reason, e.g. target, stop, manual
  --lessons <text>     lessons learned, kept with the trade

P&L is computed on the size still open; partial exits taken earlier are added
to the net P&L shown.`,
  options: {
    exit: { type: 'string' },
    reason: { type: 'string' },
    lessons: { type: 'string' },
  },
  required: ['exit'],
  positionals: ['id'],
  async run({ values, args, globals }): Promise<CommandResult> {
    const id = args[0] as string;
    const input: CloseInput = { exit_price: optionalNumber(values, 'exit') as number };
    const reason = str(values, 'reason');
    const lessons = str(values, 'lessons');
    if (reason !== undefined) input.exit_reason = reason;
    if (lessons !== undefined) input.lessons = lessons;
    const { store, violations } = await openStore(globals);
    const t = await store.closeTrade(id, input);
    const net = round2(netPnl(t));
    const partials = net !== t.pnl_usd ? ` (net ${signedUsd(net)} with partial exits)` : '';
    const text =
      `closed ${t.id} ${t.symbol} ${t.direction} @ ${price(t.exit_price)}: ${signedUsd(t.pnl_usd ?? 0)}, ` +
      `${signedPct(t.pnl_pct)}, ${rMultiple(t.r_multiple)}${partials}`;
    return withIntegrity({ trade: t, net_pnl_usd: net }, text, violations);
  },
};
