import fs from 'node:fs';

import { UsageError } from './cli-errors.js';

/**
 * A JSON file a flag names (venue's --positions and --prices, report's --venue): one that cannot be
 * read or is not JSON is a usage error (exit 2), since the command could not even start its check;
 * what the JSON holds is the library's to validate (exit 1).
 */
export function readJsonFlag(command: string, flag: string, file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${command}: cannot read --${flag} ${file}: ${(err as Error).message}`, command);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${command}: --${flag} ${file} is not JSON: ${(err as Error).message}`, command);
  }
}
