import path from 'node:path';

import { plain } from '../../format.js';
import { str } from '../args.js';
import type { Command, CommandResult } from '../command.js';

export const report: Command = {
  name: 'report',
  summary: 'write a self-contained HTML performance report (equity, drawdown, R, setups)',
  usage: 'report --out <file.html> [--log <path>] [--capital <n>] [--title <text>]',
  help: `Options:
  --out <file>         where to write the report (one HTML file, no network needed to view it)
  --title <text>       the page's title (default "Trading performance report")

Built from the trade log alone, with the reconciler's formulas (docs/report.md).
The charting library is loaded only by this command.`,
  options: {
    out: { type: 'string' },
    title: { type: 'string' },
  },
  required: ['out'],
  async run({ values, globals }): Promise<CommandResult> {
    const { buildReport } = await import('../../report/index.js');
    const out = path.resolve(str(values, 'out') as string);
    const title = str(values, 'title');
    const r = await buildReport({
      tradeLog: globals.log,
      out,
      ...(globals.capital !== undefined && { startingCapital: globals.capital }),
      ...(title !== undefined && { title }),
    });
    return {
      json: { log: path.resolve(globals.log), path: r.path, bytes: r.bytes, marks: r.marks },
      text: `report written: ${r.path} (${plain.count(Math.round(r.bytes / 1024))} KiB)`,
    };
  },
};
