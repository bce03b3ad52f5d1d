import { createRequire } from 'node:module';

import { DEFAULT_SETTINGS } from '../domain/settings.js';
import type { Command } from './command.js';

/** From dist/cli/ or src/cli/ alike, the package root is two levels up. */
export function version(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  return pkg.version;
}

const GLOBAL_HELP = `Global options (before or after the command):
  --log <path>          trade log (default ./trades/trade_log.json)
  --db <url>            PostgreSQL instead of the file: postgres://user:pass@host/db
                        (default: TSE_DATABASE_URL); not with --log (but export, import)
  --account <name>      the account in that database (default: TSE_ACCOUNT)
  --lock <path>         lock file (default trade.lock beside the log)
  --state <dir>         derived state directory (default ./state)
  --capital <n>         starting capital in USD (default: the log's trade-state.json,
                        else ${DEFAULT_SETTINGS.startingCapital}); must equal the file's
  --max-positions <n>   most open positions (default: trade-state.json's, else
                        ${DEFAULT_SETTINGS.maxPositions}); may be lower than the file's, never higher
  --allow-missing       treat a missing log (or account) as empty instead of exit 1
  --json                one JSON document on stdout, errors included
  --debug               print stack traces of errors
  -h, --help            this help; trade-state <command> --help for a command
  --version             print the version`;

export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `trade-state ${version()}: the trade log of a trading bot, from a terminal or cron

Usage: trade-state <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}

Exit codes: 0 ok; 1 rejected by a risk check, invalid input, damaged log, integrity
violations, refused reconcile or a system error; 2 usage error.
More: docs/cli.md`;
}

export function commandHelp(c: Command): string {
  return `Usage: trade-state ${c.usage}

${c.summary[0]?.toUpperCase()}${c.summary.slice(1)}.

${c.help}

${GLOBAL_HELP}`;
}
