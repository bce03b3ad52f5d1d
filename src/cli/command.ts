import type { GlobalOptions, OptionSpec, Values } from './args.js';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Context {
  command: string;
  values: Values;
  /** Positionals after the command name. */
  args: string[];
  globals: GlobalOptions;
  io: Io;
}

/** What a command produced; run.ts prints `text` or, under --json, `json`. */
export interface CommandResult {
  /** The JSON document without `ok` and `command`, which run.ts adds. */
  json: Record<string, unknown>;
  /** null: already printed by the command. */
  text: string | null;
  /** 0 unless the command itself failed without throwing (verify with violations). */
  exitCode?: 0 | 1;
}

export interface Command {
  name: string;
  summary: string;
  /** The usage line after "trade-state ". */
  usage: string;
  /** Help text after the usage line: options and notes. */
  help: string;
  options: OptionSpec;
  required?: readonly string[];
  /** Names of required positionals, in order. */
  positionals?: readonly string[];
  /**
   * true: the command does not use an existing log (init creates one, demo makes its own).
   * Every other command needs the log named by --log to exist, unless --allow-missing is given:
   * a mistyped path must not read as an empty account, nor grow a second log beside the real one.
   */
  noLog?: true;
  /**
   * What --db (or TSE_DATABASE_URL) means to the command (run.ts checks the combination of options):
   * - 'account' (the default for commands that use a log): the account named by --account instead
   *   of the file log; --log or --lock with it is a usage error;
   * - 'server': the database itself, no account, no log (migrate);
   * - 'transfer': both the account and a file (export, import).
   * Commands with noLog and no value here (demo) are left to check their own options.
   */
  database?: 'account' | 'server' | 'transfer';
  /** null: the command streamed its own output (long-running commands). */
  run(ctx: Context): Promise<CommandResult | null>;
}
