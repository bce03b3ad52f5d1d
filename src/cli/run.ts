import { inspect } from 'node:util';

import { ACCOUNT_ENV, DB_ENV, globalsOf, parseStrict, peek, requireOptions, type GlobalOptions } from './args.js';
import { runCleanups } from './cleanup.js';
import { UsageError } from './cli-errors.js';
import type { Command, Io } from './command.js';
import { COMMAND_NAMES, REGISTRY, type CommandEntry } from './commands/registry.js';
import { classify, failureJson, failureLine } from './failure.js';
import { commandHelp, globalHelp, version } from './help.js';
import { requireLog } from './require-log.js';

/** The process's streams; a reader that went away (`trade-state status | head`) ends the output, not the command. */
function processIo(): Io {
  const gone = new Set<NodeJS.WriteStream>();
  const writer = (stream: NodeJS.WriteStream) => {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      gone.add(stream);
    });
    return (s: string): void => void (gone.has(stream) || stream.write(s));
  };
  return { stdout: writer(process.stdout), stderr: writer(process.stderr) };
}

/** Runs one command line; resolves with the exit code (0 ok, 1 refused or invalid, 2 usage). */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const first = peek(argv);
  let command: Command | undefined;
  try {
    const name = first.command;
    const entry = REGISTRY.find((c) => c.name === name);
    if (name !== undefined && name !== 'help' && entry === undefined) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}; commands are ${COMMAND_NAMES.join(', ')}`);
    }
    if (entry !== undefined) {
      const loaded = await loadCommand(entry, io);
      if (typeof loaded === 'number') return loaded;
      command = loaded;
    }
    const { values, positionals } = parseStrict(argv, command?.options ?? {}, command?.name ?? null);
    const globals = explicitLogWins(command, globalsOf(values));
    if (globals.version) return print(io, globals.json, { command: 'version', version: version() }, version());
    if (name === 'help') return await help(io, positionals[1]);
    if (command === undefined) {
      if (globals.help) return await help(io, undefined);
      if (globals.json) throw new UsageError(`no command given; commands are ${COMMAND_NAMES.join(', ')}`);
      io.stderr(`${globalHelp(await allCommands())}\n`);
      return 2;
    }
    if (globals.help) return await help(io, command.name);
    const args = positionals.slice(1);
    checkArgs(command, values, args);
    checkDatabase(command, globals);
    if (command.noLog !== true && !globals.allowMissing && globals.db === undefined) await requireLog(globals);
    const result = await command.run({ command: command.name, values, args, globals, io });
    if (result === null) return 0;
    const exitCode = result.exitCode ?? 0;
    return print(io, globals.json, { command: command.name, ...result.json }, result.text, exitCode);
  } catch (err) {
    const f = classify(err);
    if (first.json) io.stdout(`${JSON.stringify(failureJson(f, command?.name ?? null))}\n`);
    else io.stderr(`${failureLine(f)}\n`);
    if (first.debug) io.stderr(`${inspect(err, { depth: 4 })}\n`);
    else if (f.code === 'EINTERNAL') io.stderr('trade-state: run again with --debug for the stack trace\n');
    return f.exitCode;
  } finally {
    // The database commands' pools: an idle pool would keep the process alive after the answer.
    await runCleanups();
  }
}

/**
 * An explicit --log (or --lock) on a command that works on one log names the file: a database
 * named only by the environment (TSE_DATABASE_URL, TSE_ACCOUNT, exported for other commands) does
 * not override what the person typed. --db or --account typed beside --log stays a usage error.
 */
function explicitLogWins(c: Command | undefined, g: GlobalOptions): GlobalOptions {
  if (c === undefined || logKind(c) !== 'account') return g;
  if (!g.given.has('log') && !g.given.has('lock')) return g;
  if (g.given.has('db') || g.given.has('account')) return g;
  return { ...g, db: undefined, account: undefined };
}

/**
 * Which log a command works on, as the options say: the file (--log) or an account of the
 * database (--db and --account, or TSE_DATABASE_URL and TSE_ACCOUNT). Naming both is a usage
 * error, not a silent choice, except for export and import, which copy between the two.
 */
function checkDatabase(c: Command, g: GlobalOptions): void {
  const kind = logKind(c);
  if (kind === null) return;
  const dbFrom = g.given.has('db') ? '--db' : DB_ENV;
  const fail = (message: string): never => {
    throw new UsageError(`${c.name}: ${message}`, c.name);
  };
  if (g.db === undefined) {
    if (kind !== 'account') fail(`needs --db <url> (or ${DB_ENV}): the PostgreSQL database`);
    if (g.given.has('account')) fail(`--account names an account of a database: give --db <url> (or ${DB_ENV}) too, or drop it for the file log`);
    return;
  }
  if (kind === 'server') {
    if (g.given.has('log')) fail(`--log does not apply: ${c.name} works on the database (${dbFrom}) only`);
    return;
  }
  if (g.account === undefined) fail(`${dbFrom} needs --account <name> (or ${ACCOUNT_ENV}): the account whose log to use`);
  if (kind === 'account') {
    for (const name of ['log', 'lock']) {
      if (g.given.has(name)) {
        fail(`--${name} and ${dbFrom} both name where the log is: give one (the file with --log, or the account with --db and --account)`);
      }
    }
  }
}

/** What a command's log is: one log (a file or an account), the database as a server, a transfer between the two, or its own. */
function logKind(c: Command): NonNullable<Command['database']> | null {
  return c.database ?? (c.noLog === true ? null : 'account');
}

function checkArgs(c: Command, values: Parameters<typeof requireOptions>[0], args: string[]): void {
  const expected = c.positionals ?? [];
  const missing = expected[args.length];
  if (missing !== undefined) throw new UsageError(`${c.name}: missing <${missing}>`, c.name);
  const extra = args[expected.length];
  if (extra !== undefined) throw new UsageError(`${c.name}: unexpected argument ${JSON.stringify(extra)}`, c.name);
  requireOptions(values, c.required ?? [], c.name);
}

/**
 * A command's module. When it cannot load because no native addon fits this platform (the store's
 * commands need it), the explanation and its fixes are printed as they are, exit 1, as main.ts does
 * for the modules it imports itself: no stack trace, no "internal error".
 */
async function loadCommand(entry: CommandEntry, io: Io): Promise<Command | 1> {
  try {
    return await entry.load();
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== 'EADDONLOAD') throw err;
    io.stderr(`${(err as Error).message}\n`);
    return 1;
  }
}

/** Every command, for the global help: the only time all of them are loaded. */
async function allCommands(): Promise<readonly Command[]> {
  return (await import('./commands/index.js')).COMMANDS;
}

async function help(io: Io, name: string | undefined): Promise<number> {
  if (name === undefined) {
    io.stdout(`${globalHelp(await allCommands())}\n`);
    return 0;
  }
  const entry = REGISTRY.find((x) => x.name === name);
  if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  io.stdout(`${commandHelp(await entry.load())}\n`);
  return 0;
}

function print(io: Io, json: boolean, doc: Record<string, unknown>, text: string | null, exitCode: 0 | 1 = 0): number {
  if (json) io.stdout(`${JSON.stringify({ ok: exitCode === 0, ...doc })}\n`);
  else if (text !== null) io.stdout(`${text}\n`);
  return exitCode;
}
