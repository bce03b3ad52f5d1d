import path from 'node:path';

import { plain } from '../../format.js';
import { str } from '../args.js';
import { whereJson } from '../backend.js';
import type { Command, CommandResult } from '../command.js';
import { readJsonFlag } from '../json-file.js';
import { venuePositionsFrom } from '../../venue/ccxt.js';
import { openSource } from '../store.js';

export const report: Command = {
  name: 'report',
  summary: 'write a self-contained HTML performance report (equity, drawdown, R, setups)',
  usage: 'report --out <file.html> [--log <path> | --db <url> --account <name>] [--capital <n>] [--title <text>] [--venue <venue.json>] [--show-connection]',
  help: `Options:
  --out <file>         where to write the report (one HTML file, no network needed to view it)
  --title <text>       the page's title (default "Trading performance report")
  --venue <file>       what the venue holds now (as venue --positions takes it):
                       the page gets a section of the drift between the log and it
  --show-connection    with --db: name the database on the page (host, port, database,
                       the password masked); by default the page names the account only

Built from the trade log alone (with --db, the account's log in PostgreSQL: the
same page as from that log exported to JSON), with the reconciler's formulas
(docs/report.md). The charting library is loaded only by this command.`,
  options: {
    out: { type: 'string' },
    title: { type: 'string' },
    venue: { type: 'string' },
    'show-connection': { type: 'boolean' },
  },
  required: ['out'],
  async run({ values, globals }): Promise<CommandResult> {
    const { buildReport } = await import('../../report/index.js');
    const out = path.resolve(str(values, 'out') as string);
    const title = str(values, 'title');
    const venueFile = str(values, 'venue');
    const positions = venueFile === undefined ? undefined : venuePositionsFrom(readJsonFlag('report', 'venue', path.resolve(venueFile)));
    const db = await openSource(globals);
    try {
      const r = await buildReport({
        ...(db === null ? { tradeLog: globals.log } : { source: db.source }),
        out,
        ...(globals.capital !== undefined && { startingCapital: globals.capital }),
        ...(title !== undefined && { title }),
        ...(positions !== undefined && { venue: { positions } }),
        ...(values['show-connection'] === true && { showConnection: true }),
      });
      return {
        json: { ...whereJson(db === null ? { log: path.resolve(globals.log) } : db.where), path: r.path, bytes: r.bytes, marks: r.marks },
        text: `report written: ${r.path} (${plain.count(Math.round(r.bytes / 1024))} KiB)`,
      };
    } finally {
      await db?.source.close?.();
    }
  },
};
