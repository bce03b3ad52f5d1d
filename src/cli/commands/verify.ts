import { plain } from '../../format.js';
import type { Command, CommandResult } from '../command.js';
import { openStore } from '../store.js';

const { plural } = plain;

export const verify: Command = {
  name: 'verify',
  summary: 'check the trade log against its integrity invariants (exit 1 on violations)',
  usage: 'verify [--log <path>] [--max-positions <n>] [--json]',
  help: `Checks: unique ids; OPEN trades complete and without an exit price; CLOSED
trades with exit price and pnl_usd; no more OPEN trades than --max-positions
(default: the log's trade-state.json, else 7); no two OPEN trades on one symbol; P&L sign agreeing with the price
move; known status and direction. Exit 0 when clean, 1 with one line per
violation otherwise. A damaged (unparseable) log is exit 1 ETRADELOGCORRUPT.`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    const { store } = openStore(globals);
    const trades = await store.getAllTrades();
    const violations = await store.verifyIntegrity();
    const open = trades.filter((t) => t.status === 'OPEN').length;
    const base = { log: store.tradeLog, trades: trades.length, open, violations };
    if (violations.length === 0) {
      return { json: base, text: `ok: ${store.tradeLog}: ${plural(trades.length, 'trade')} (${open} open), no integrity violations` };
    }
    const message = `${plural(violations.length, 'integrity violation')} in ${store.tradeLog}`;
    const lines = violations.map((v) => `  ${v.code}${v.trade_id ? ` ${v.trade_id}` : ''}: ${v.message}`);
    return {
      json: { ...base, error: { code: 'EINTEGRITY', message } },
      text: [`FAILED: ${message}:`, ...lines].join('\n'),
      exitCode: 1,
    };
  },
};
