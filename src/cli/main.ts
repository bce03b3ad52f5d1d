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
// The library's own warnings (TSE_SETTINGS, TSE_INTEGRITY) are messages for the person at the
// terminal: one line in the command's own form, without Node's pid prefix and --trace-warnings hint.
// Every other warning keeps Node's form (its default printer is a listener this replaces).
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: unknown }) => {
  const code = typeof w.code === 'string' ? w.code : '';
  process.stderr.write(code.startsWith('TSE_') ? `trade-state: warning (${code}): ${w.message}\n` : `(node:${process.pid}) ${code === '' ? '' : `[${code}] `}${w.name}: ${w.message}\n`);
});
process.exitCode = await main(process.argv.slice(2));
