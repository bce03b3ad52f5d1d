import path from 'node:path';

import { fileExists } from '../io/read-log.js';
import type { GlobalOptions } from './args.js';
import { CommandRefusedError } from './cli-errors.js';

/**
 * The library reads a missing log as an empty one (as the original does, and a new bot needs).
 * At a terminal or in cron that turns a mistyped --log into "No open positions" with exit 0, or
 * into a second log opened beside the real one; so every command that uses a log refuses a
 * missing one, naming the path it looked at, unless --allow-missing says empty is meant.
 */
export async function requireLog(g: GlobalOptions): Promise<void> {
  const file = path.resolve(g.log);
  if (await fileExists(file)) return;
  throw new CommandRefusedError(
    'ELOGMISSING',
    'error',
    `no trade log at ${file}: check --log and the working directory; trade-state init creates a log, ` +
      '--allow-missing treats a missing one as empty',
    { path: file },
  );
}
