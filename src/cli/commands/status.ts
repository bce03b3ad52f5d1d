import { deriveState } from '../../domain/derive/index.js';
import { round2 } from '../../domain/round.js';
import type { Trade } from '../../domain/types.js';
import { plain } from '../../format.js';
import type { Command, CommandResult } from '../command.js';
import { openView, problemJson, whereJson } from '../store.js';
import { table } from '../table.js';

const { pct, price, signedPct, signedUsd, usd } = plain;

/** What a stop-out would lose now: the current stop and size; 0 once the stop is at or past entry. */
export function riskUsd(t: Trade): number {
  const perUnit = t.direction === 'SHORT' ? t.stop_price - t.entry_price : t.entry_price - t.stop_price;
  return round2(Math.max(0, perUnit) * t.size);
}

export const status: Command = {
  name: 'status',
  summary: 'open positions, equity, realized P&L, drawdown and halt state',
  usage: 'status [--log <path> | --db <url> --account <name>] [--capital <n>] [--max-positions <n>] [--json]',
  help: `Reads the trade log (no lock needed; with --db, the account's log) and shows the open positions with the
USD each would lose at its current stop, then equity, realized P&L, the
drawdown from the equity peak, and whether new opens are halted and why.
--capital is the starting capital equity counts from; --max-positions the cap
shown in "2 of 7 open" (give the bots' values).`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    const view = await openView(globals);
    const { trades, settings } = view;
    const d = deriveState(
      { trades: [...trades], next_id: 0 }, // derive reads only the trades
      { startingCapital: settings.startingCapital, drawdownLimits: settings.drawdownLimits, now: new Date() },
    );
    const open = trades.filter((t) => t.status === 'OPEN');
    const positions = open.map((t) => ({
      id: t.id,
      symbol: t.symbol,
      direction: t.direction,
      size: t.size,
      entry_price: t.entry_price,
      stop_price: t.stop_price,
      target_price: t.target_price,
      risk_usd: riskUsd(t),
      entry_time: t.entry_time,
    }));
    const openRisk = round2(positions.reduce((s, p) => s + p.risk_usd, 0));
    const e = d.equity;
    const rs = d.risk_state;
    // risk_state says whether a limit is breached; whether that halts opens is the log's haltOnDrawdown.
    const halted = rs.halted && settings.haltOnDrawdown;
    const problem = view.settingsProblem;
    const json = {
      ...whereJson(view.where),
      // first, as in the text: a broken or conflicting rulebook refuses opens, and the figures are not its own
      rulebook_problem: problem === null ? null : problemJson(problem),
      starting_capital: settings.startingCapital,
      equity: e.current_equity,
      realized_pnl: e.total_pnl,
      total_return_pct: e.total_return_pct,
      peak_equity: e.peak_equity,
      drawdown_pct: e.drawdown_percent,
      drawdown_status: e.drawdown_status,
      halted,
      halt_reason: halted ? rs.halt_reason : null,
      // the breach itself, halting or not (haltOnDrawdown false): null when no limit is breached
      drawdown_breach: rs.halt_reason,
      max_positions: settings.maxPositions,
      open_risk_usd: openRisk,
      closed_trades: e.total_trades,
      win_rate: e.win_rate,
      positions,
    };
    const rows = positions.map((p) => [p.id, p.symbol, p.direction, price(p.size), price(p.entry_price), price(p.stop_price), price(p.target_price), usd(p.risk_usd)]);
    const right = { align: 'right' as const };
    const lines = [
      ...(problem === null ? [] : rulebookLines(problem)),
      positions.length === 0
        ? 'No open positions.'
        : table(
            [{ title: 'ID' }, { title: 'SYMBOL' }, { title: 'DIR' }, { title: 'SIZE', ...right }, { title: 'ENTRY', ...right },
              { title: 'STOP', ...right }, { title: 'TARGET', ...right }, { title: 'RISK USD', ...right }],
            rows,
          ),
      '',
      `Equity     ${usd(e.current_equity)}  (start ${usd(settings.startingCapital)}, realized ${signedUsd(e.total_pnl)})`,
      `Drawdown   ${signedPct(e.drawdown_percent)} from peak ${usd(e.peak_equity)} (${e.drawdown_status})`,
      `Positions  ${positions.length} of ${settings.maxPositions} open, ${usd(openRisk)} at risk; ${e.total_trades} closed, win rate ${pct(e.win_rate, 1)}`,
      `Trading    ${
        halted
          ? `HALTED: ${rs.halt_reason ?? 'a drawdown limit is breached'}`
          : rs.halted
            ? `allowed, haltOnDrawdown is off (${rs.halt_reason ?? 'a drawdown limit is breached'})`
            : 'allowed (no drawdown limit breached)'
      }`,
    ];
    return { json, text: lines.join('\n') };
  },
};

/** The top of status when the rulebook cannot be applied: what is wrong, what is refused, what the figures below are. */
function rulebookLines(problem: Error): string[] {
  const { code } = problemJson(problem);
  return [
    `RULEBOOK PROBLEM (${code}): ${problem.message}`,
    'Opens are refused until it is fixed; closes, partial closes and updates go on.',
    code === 'ESETTINGSCONFLICT'
      ? "The figures below use the rulebook's own settings; the options that conflict with it are set aside."
      : "The figures below use the defaults and the options given, not the rulebook's settings.",
    '',
  ];
}
