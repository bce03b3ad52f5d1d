import { plain } from '../../format.js';
import type { Command, CommandResult } from '../command.js';
import { openView, violationsOf, whereJson, whereText } from '../store.js';

const { plural } = plain;

export const verify: Command = {
  name: 'verify',
  summary: 'check the trade log against its integrity invariants (exit 1 on violations)',
  usage: 'verify [--log <path> | --db <url> --account <name>] [--max-positions <n>] [--json]',
  help: `Checks: unique ids; OPEN trades complete and without an exit price; CLOSED
trades with exit price and pnl_usd; no more OPEN trades than --max-positions
(default: the log's trade-state.json, else 7); no two OPEN trades on one symbol; P&L sign agreeing with the price
move; known status and direction. Exit 0 when clean, 1 with one line per
violation otherwise. A damaged (unparseable) log is exit 1 ETRADELOGCORRUPT. With
--db, the account's log, with its rulebook's cap (the database's own checks keep
most of these from ever happening there).`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    const view = await openView(globals);
    const { trades } = view;
    const violations = violationsOf(view);
    const open = trades.filter((t) => t.status === 'OPEN').length;
    const base = { ...whereJson(view.where), trades: trades.length, open, violations };
    const where = whereText(view.where);
    if (violations.length === 0) {
      return { json: base, text: `ok: ${where}: ${plural(trades.length, 'trade')} (${open} open), no integrity violations` };
    }
    const message = `${plural(violations.length, 'integrity violation')} in ${where}`;
    const lines = violations.map((v) => `  ${v.code}${v.trade_id ? ` ${v.trade_id}` : ''}: ${v.message}`);
    return {
      json: { ...base, error: { code: 'EINTEGRITY', message } },
      text: [`FAILED: ${message}:`, ...lines].join('\n'),
      exitCode: 1,
    };
  },
};
