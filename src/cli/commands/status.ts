import { deriveState } from '../../domain/derive/index.js';
import { riskToStop } from '../../domain/formulas.js';
import { round2 } from '../../domain/round.js';
import type { Trade } from '../../domain/types.js';
import { plain } from '../../format.js';
import type { Command, CommandResult } from '../command.js';
import { openView, problemJson, whereJson } from '../store.js';
import { table } from '../table.js';

const { pct, price, r, signedPct, signedUsd, usd } = plain;

/** What a stop-out at the current stop and size would lose now, r2; null when damaged fields leave it unknown. */
function riskUsd(t: Trade): number | null {
  const { usd } = riskToStop(t);
  return usd === null ? null : round2(usd);
}

export const status: Command = {
  name: 'status',
  summary: 'open positions, equity, realized P&L, drawdown and halt state',
  usage: 'status [--log <path> | --db <url> --account <name>] [--capital <n>] [--max-positions <n>] [--json]',
  help: `Reads the trade log (no lock needed; with --db, the account's log) and shows the open positions with the
USD each would lose at its current stop, then equity, realized P&L, the
drawdown from the equity peak (over the equity after every realized event: an
intraday dip counts), wins and losses by net P&L, net R, and whether new opens
are halted and why (docs/formulas.md, "The book").
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
    const openRisk = round2(positions.reduce((s, p) => s + (p.risk_usd ?? 0), 0));
    const e = d.equity;
    // every figure from the book (equity.json's and risk_state.json's `book`): the peak never falls, an intraday dip counts
    const b = e.book;
    const hb = d.risk_state.book;
    // the book's halt is what the store enforces; whether a breach halts opens is the log's haltOnDrawdown
    const halted = hb.halted && settings.haltOnDrawdown;
    const problem = view.settingsProblem;
    const json = {
      ...whereJson(view.where),
      // first, as in the text: a broken or conflicting rulebook refuses opens, and the figures are not its own
      rulebook_problem: problem === null ? null : problemJson(problem),
      starting_capital: settings.startingCapital,
      equity: e.current_equity,
      realized_pnl: e.total_pnl,
      total_return_pct: e.total_return_pct,
      peak_equity: b.peak_equity,
      drawdown_pct: b.drawdown_pct,
      drawdown_status: b.drawdown_status,
      max_drawdown_pct: b.max_drawdown_pct,
      max_drawdown_usd: b.max_drawdown_usd,
      halted,
      halt_reason: halted ? hb.halt_reason : null,
      // the breach itself, halting or not (haltOnDrawdown false): null when no limit is breached
      drawdown_breach: hb.halt_reason,
      max_positions: settings.maxPositions,
      open_risk_usd: openRisk,
      closed_trades: b.closed_trades,
      wins: b.wins,
      losses: b.losses,
      breakeven: b.breakeven,
      win_rate: b.win_rate,
      profit_factor: b.profit_factor,
      avg_net_r: b.avg_net_r,
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
      `Drawdown   ${signedPct(b.drawdown_pct)} from peak ${usd(b.peak_equity)} (${b.drawdown_status}), max ${signedPct(b.max_drawdown_pct)}`,
      `Positions  ${positions.length} of ${settings.maxPositions} open, ${usd(openRisk)} at risk`,
      // "—", not 0.0 %: with nothing closed there is no rate, and 0 % would read as "every trade lost"
      `Closed     ${b.closed_trades} (${b.wins} won, ${b.losses} lost, ${b.breakeven} breakeven), win rate ${b.win_rate === null ? '—' : pct(b.win_rate, 1)}, avg net R ${b.avg_net_r === null ? '—' : r(b.avg_net_r)}`,
      `Trading    ${
        halted
          ? `HALTED: ${hb.halt_reason ?? 'a drawdown limit is breached'}`
          : hb.halted
            ? `allowed, haltOnDrawdown is off (${hb.halt_reason ?? 'a drawdown limit is breached'})`
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
