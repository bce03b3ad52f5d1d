import path from 'node:path';

import { str, type Values } from './args.js';
import { UsageError } from './cli-errors.js';
import type { Context } from './command.js';

/**
 * The file an export writes or an import reads: --to / --from, or --log (the same file, named as
 * every other command names a log). Both, or neither, is a usage error.
 */
export function transferFile(ctx: Pick<Context, 'command' | 'values' | 'globals'>, flag: 'to' | 'from'): string {
  const own = str(ctx.values as Values, flag);
  const log = ctx.globals.given.has('log') ? ctx.globals.log : undefined;
  if (own !== undefined && log !== undefined) throw new UsageError(`${ctx.command}: give the file once, as --${flag} or as --log`, ctx.command);
  const file = own ?? log;
  if (file === undefined) throw new UsageError(`${ctx.command}: missing required option --${flag} <file>`, ctx.command);
  return path.resolve(file);
}
