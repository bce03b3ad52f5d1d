#!/usr/bin/env node
import type { main as Main } from './run.js';

// Imported dynamically so that an addon that cannot load (no prebuilt binary for this platform, no
// local build) prints its explanation and the fixes, not a stack trace. Exit code 1, as a refusal.
let main: typeof Main;
try {
  ({ main } = await import('./run.js'));
} catch (err) {
  if ((err as { code?: unknown } | null)?.code !== 'EADDONLOAD') throw err;
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
