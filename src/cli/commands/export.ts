import { plain } from '../../format.js';
import { whereJson, whereText } from '../backend.js';
import type { Command, CommandResult } from '../command.js';
import { transferFile } from '../transfer-file.js';

const { plural } = plain;

export const exportCommand: Command = {
  name: 'export',
  noLog: true, // it writes the file
  database: 'transfer',
  summary: "write an account's log (--db, --account) to a JSON log file, and its rulebook beside it",
  usage: 'export --db <url> --account <name> --to <file> [--replace] [--json]',
  help: `Options:
  --to <file>          the log file to write (or --log <file>); trade-state.json
                       beside it gets the account's rulebook, when it has one
  --replace            overwrite a log that already holds trades

Writes the bytes the file store writes for that log (a log imported from a file
written by trade-state-engine comes back byte-identical), durably and under the
file's lock (--lock, default trade.lock beside it), so bots on that file are
never in the middle of it. Refuses (exit 1, ELOGNOTEMPTY) a file holding trades
unless --replace; a missing account is EACCOUNTMISSING. Reads one snapshot of the
account: bots may keep writing to it meanwhile.`,
  options: {
    to: { type: 'string' },
    replace: { type: 'boolean' },
  },
  async run(ctx): Promise<CommandResult> {
    const file = transferFile(ctx, 'to');
    const { exportFile } = await import('../db.js');
    const r = await exportFile(ctx.globals, file, ctx.values.replace === true);
    const rules = r.settingsFile === null ? '; the account has no rulebook' : `; its rulebook to ${r.settingsFile}`;
    return {
      json: { ...whereJson(r.where), log: r.tradeLog, settings_file: r.settingsFile, trades: r.trades, version: r.version, bytes: r.bytes },
      text: `exported ${whereText(r.where)}, ${plural(r.trades, 'trade')} (version ${r.version}), to ${r.tradeLog}${rules}`,
    };
  },
};
