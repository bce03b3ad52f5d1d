import { plain } from '../../format.js';
import { fileExists } from '../../io/read-log.js';
import { CommandRefusedError } from '../cli-errors.js';
import { whereJson, whereText } from '../backend.js';
import type { Command, CommandResult } from '../command.js';
import { transferFile } from '../transfer-file.js';

const { plural } = plain;

export const importCommand: Command = {
  name: 'import',
  noLog: true, // it checks its own file
  database: 'transfer',
  summary: 'copy a JSON log file (and its trade-state.json) into an account (--db, --account)',
  usage: 'import --db <url> --account <name> --from <file> [--replace] [--json]',
  help: `Options:
  --from <file>        the log file to read (or --log <file>); trade-state.json
                       beside it, when there is one, becomes the account's rulebook
  --replace            replace the trades of an account that already has some

Copies every trade as the file holds it (unknown fields, partial exits, key
order, timestamps) in one transaction under the account's lock, creating the
account when missing. Refuses (exit 1, EACCOUNTNOTEMPTY) an account that already
has trades unless --replace, which replaces them all at once and records one
"import" event (the account's event history is kept). A log that is not valid,
or that the database cannot hold (two OPEN trades on one symbol, a reused
client_id...), is refused with the database unchanged.`,
  options: {
    from: { type: 'string' },
    replace: { type: 'boolean' },
  },
  async run(ctx): Promise<CommandResult> {
    const file = transferFile(ctx, 'from');
    // A mistyped --from must not read as an empty log (which would import nothing, or replace an
    // account's trades with none): refused as every command refuses a missing log.
    if (!(await fileExists(file))) {
      throw new CommandRefusedError('ELOGMISSING', 'error', `no trade log at ${file}: check --from and the working directory`, { path: file });
    }
    const { importFile } = await import('../db.js');
    const r = await importFile(ctx.globals, file, ctx.values.replace === true);
    const replaced = r.replaced > 0 ? `, replacing ${plural(r.replaced, 'trade')}` : '';
    const rules = r.settingsFile === null ? '' : `; its rulebook from ${r.settingsFile}`;
    return {
      json: { ...whereJson(r.where), log: r.source, settings_file: r.settingsFile, trades: r.trades, replaced: r.replaced, version: r.version },
      text: `imported ${plural(r.trades, 'trade')} from ${r.source ?? file} into ${whereText(r.where)} (version ${r.version}${replaced})${rules}`,
    };
  },
};
