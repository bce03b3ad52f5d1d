import fs from 'node:fs';
import path from 'node:path';

import { resolveRules } from '../../domain/settings.js';
import { ValidationError } from '../../errors.js';
import { writeFileDurable } from '../../io/durable-write.js';
import { lockFileFor, realLogPath } from '../../io/log-path.js';
import { emptyLog, fileExists } from '../../io/read-log.js';
import { serializeLog } from '../../io/serialize.js';
import { SETTINGS_FILE, serializeSettings, settingsFileFor } from '../../io/settings-file.js';
import { withLock } from '../../lock/file-lock.js';
import { CommandRefusedError } from '../cli-errors.js';
import type { Command, CommandResult } from '../command.js';
import type { GlobalOptions } from '../args.js';
import { settingOptions, whereJson, whereText } from '../backend.js';

export const init: Command = {
  name: 'init',
  noLog: true, // it creates the log
  database: 'account', // or the account
  summary: 'create a new log and its settings file (trade-state.json), the rules every process on it follows',
  usage: 'init [--log <path> | --db <url> --account <name>] [--capital <n>] [--max-positions <n>] [--json]',
  help: `Creates the log's folder, an empty log and, beside it, trade-state.json holding
every risk setting in force (--capital and --max-positions, the defaults for the
rest). Edit that file to change the rules of every process on the log, at their
next write; trade-state config shows them. Refuses (exit 1) when the log or the
settings file already exists: an existing log is never touched.

With --db, creates the account with its rulebook (the same settings, kept in
the database: trade-state config shows them), and refuses (exit 1) an account
that already exists. The schema must be there: trade-state migrate first.`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    if (globals.db !== undefined) return initAccount(globals);
    // The real path, as the store's: created through a symlinked folder (or a dangling link), the
    // log, its rulebook and its lock file land where every later store on the log looks for them.
    const log = realLogPath(globals.log);
    const settingsFile = settingsFileFor(log);
    if (log === settingsFile) throw new ValidationError('--log', globals.log, `cannot be the settings file's name, ${SETTINGS_FILE}`);
    const lockFile = lockFileFor(log, globals.lock);
    const { settings } = resolveRules(settingOptions(globals), null);
    await fs.promises.mkdir(path.dirname(log), { recursive: true });
    await fs.promises.mkdir(path.dirname(lockFile), { recursive: true });
    // Under the writers' lock: a bot's first open creates the log too, and must not land between
    // the check and the write.
    await withLock(
      lockFile,
      async () => {
        for (const f of [settingsFile, log]) {
          if (await fileExists(f)) {
            throw new CommandRefusedError('EEXIST', 'refused', `${f} already exists; init only creates a new log and leaves an existing one alone`, { path: f });
          }
        }
        // The rulebook first: once the log exists, a process on it must find its rules.
        await writeFileDurable(settingsFile, serializeSettings(settings));
        await writeFileDurable(log, serializeLog(emptyLog()).buf);
      },
      { timeoutMs: 30_000 },
    );
    return {
      json: { log, settings_file: settingsFile, lock: lockFile, settings },
      text: `created ${log} (empty) and its settings file ${settingsFile}: capital ${settings.startingCapital}, at most ${settings.maxPositions} positions; trade-state config shows every rule`,
    };
  },
};

/** The account and its rulebook, created at once (one statement): an account that exists is left alone. */
async function initAccount(globals: GlobalOptions): Promise<CommandResult> {
  const { settings } = resolveRules(settingOptions(globals), null);
  const { createAccount } = await import('../db.js');
  const { created, where } = await createAccount(globals, settings);
  if (!created) {
    throw new CommandRefusedError('EACCOUNTEXISTS', 'refused', `${whereText(where)} already exists; init only creates a new account and leaves an existing one alone`, {
      ...whereJson(where),
    });
  }
  return {
    json: { ...whereJson(where), settings },
    text: `created ${whereText(where)} (empty) with its rulebook: capital ${settings.startingCapital}, at most ${settings.maxPositions} positions; trade-state config shows every rule`,
  };
}
