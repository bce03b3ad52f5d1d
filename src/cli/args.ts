import { parseArgs, type ParseArgsConfig } from 'node:util';

import { ValidationError } from '../errors.js';
import { UsageError } from './cli-errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts, before or after the command name. */
export const GLOBAL_OPTIONS = {
  log: { type: 'string' },
  db: { type: 'string' },
  account: { type: 'string' },
  lock: { type: 'string' },
  state: { type: 'string' },
  capital: { type: 'string' },
  'max-positions': { type: 'string' },
  'allow-missing': { type: 'boolean' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies OptionSpec;

export const DEFAULT_LOG = './trades/trade_log.json';
export const DEFAULT_STATE = './state';
/** The environment variables --db and --account fall back to (an empty one counts as unset). */
export const DB_ENV = 'TSE_DATABASE_URL';
export const ACCOUNT_ENV = 'TSE_ACCOUNT';

export interface GlobalOptions {
  log: string;
  /**
   * PostgreSQL connection string (--db, else TSE_DATABASE_URL): the account's log in the database
   * instead of the file at --log. undefined: the file log.
   */
  db: string | undefined;
  /** The account in that database (--account, else TSE_ACCOUNT). */
  account: string | undefined;
  /** undefined: trade.lock beside the log (the store's default). */
  lock: string | undefined;
  state: string;
  capital: number | undefined;
  maxPositions: number | undefined;
  /** A missing log is an empty one (the library's rule) instead of an error naming the path. */
  allowMissing: boolean;
  json: boolean;
  debug: boolean;
  help: boolean;
  version: boolean;
  /** Global options given explicitly on the command line. */
  given: ReadonlySet<string>;
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ParsedArgs {
  values: Values;
  positionals: string[];
}

/**
 * First, forgiving pass: which command, and whether to answer in JSON or with
 * stacks, even when the rest of the line is wrong (those flags shape the error).
 */
export function peek(argv: readonly string[]): { command: string | undefined; json: boolean; debug: boolean } {
  const { values, positionals } = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, strict: false, allowPositionals: true });
  return { command: positionals[0], json: values.json === true, debug: values.debug === true };
}

/** Second, strict pass with the command's own options; parseArgs errors become usage errors. */
export function parseStrict(argv: readonly string[], options: OptionSpec, command: string | null): ParsedArgs {
  const all: OptionSpec = { ...GLOBAL_OPTIONS, ...options };
  let parsed: { values: unknown; positionals: string[]; tokens: Token[] };
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, all), options: all, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(tidy((err as Error).message), command);
    throw err;
  }
  rejectRepeats(parsed.tokens, all, command);
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/** A negative number as a token: `-1`, `-0.5`, `-.5`, `-1e3` (no short option of ours is a digit or a dot). */
const NEGATIVE = /^-(?:\d|\.\d)/;

/**
 * parseArgs reads `--size -1` as --size without a value followed by an option -1, so a negative
 * number would be reported as a missing value instead of reaching the check that names the rule it
 * breaks (a size must be > 0). A value-taking option followed by a negative number gets it as its value.
 */
function joinNegativeValues(argv: readonly string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NEGATIVE.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** The part of parseArgs' tokens this check reads. */
interface Token {
  kind: string;
  name?: string;
  value?: string | undefined;
}

/**
 * parseArgs keeps the last value of a repeated option, so `open --stop 95 --stop 99` would
 * silently pick one of two stops. Only options declared `multiple` (update's --set) may repeat;
 * a repeated switch (--json --json) is harmless and allowed.
 */
function rejectRepeats(tokens: readonly Token[], options: OptionSpec, command: string | null): void {
  const given = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === undefined) continue;
    const spec = options[t.name];
    if (spec === undefined || spec.type !== 'string' || spec.multiple === true) continue;
    given.set(t.name, [...(given.get(t.name) ?? []), t.value ?? '']);
  }
  for (const [name, values] of given) {
    if (values.length < 2) continue;
    const shown = values.map((v) => JSON.stringify(v)).join(', ');
    throw new UsageError(`${command === null ? '' : `${command}: `}--${name} is given ${values.length} times (${shown}); give it once`, command);
  }
}

/** parseArgs' messages span lines and end with advice about '--' that does not apply here. */
function tidy(message: string): string {
  const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `option ${ambiguous[1]} has no value (for a value starting with "-", write ${ambiguous[1]}=<value>)`;
  return message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
}

export function globalsOf(values: Values): GlobalOptions {
  // `--db "$DB_URL"` with the variable unset: pg would silently use the libpq defaults (PGHOST...,
  // else localhost:5432), another database than meant. (An empty TSE_DATABASE_URL counts as unset.)
  if (values.db === '') throw new ValidationError('--db', '', 'is empty: give a postgres:// URL, or leave --db out for the file log');
  const given = new Set(Object.keys(GLOBAL_OPTIONS).filter((k) => values[k] !== undefined));
  const capital = str(values, 'capital');
  const maxPositions = str(values, 'max-positions');
  return {
    log: str(values, 'log') ?? DEFAULT_LOG,
    db: str(values, 'db') ?? fromEnv(DB_ENV),
    account: str(values, 'account') ?? fromEnv(ACCOUNT_ENV),
    lock: str(values, 'lock'),
    state: str(values, 'state') ?? DEFAULT_STATE,
    capital: capital === undefined ? undefined : parseNumber('--capital', capital),
    maxPositions: maxPositions === undefined ? undefined : parseNumber('--max-positions', maxPositions),
    allowMissing: values['allow-missing'] === true,
    json: values.json === true,
    debug: values.debug === true,
    help: values.help === true,
    version: values.version === true,
    given,
  };
}

function fromEnv(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** A plain decimal, optionally with an exponent: no hex, no "Infinity", no "1e", no blanks. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Strict number parsing: Number() alone would turn "" into 0 and "0x10" into 16.
 * Range checks (> 0, integer…) stay with the library, which names the field.
 */
export function parseNumber(flag: string, raw: string): number {
  if (!DECIMAL.test(raw)) throw new ValidationError(flag, raw, 'is not a number');
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ValidationError(flag, raw, 'is not a finite number');
  return n;
}

export function optionalNumber(values: Values, name: string): number | undefined {
  const raw = str(values, name);
  return raw === undefined ? undefined : parseNumber(`--${name}`, raw);
}

/** Required options are checked here so that a missing one is a usage error (exit 2), not a validation error. */
export function requireOptions(values: Values, names: readonly string[], command: string): void {
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`${command}: missing required option${missing.length > 1 ? 's' : ''} ${missing.map((n) => `--${n}`).join(', ')}`, command);
  }
}
