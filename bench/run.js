// npm run bench: every benchmark, peers side by side in the same run.
// Numbers are printed, never asserted. `--quick` for a fast smoke run.
import os from 'node:os';

import { benchLock } from './lock.js';
import { benchStore } from './store.js';

const quick = process.argv.includes('--quick');
console.log(`trade-state-engine benchmarks — node ${process.version}, ${os.cpus().length} cpus, ${os.platform()} ${os.release()}${quick ? ' (quick)' : ''}`);
console.log('Peers run in the same process run as ours; ratios compare within this run only.');

console.log('\n=== Lock (issue 2) ===');
await benchLock({ quick });
console.log('\n=== Store (issue 3) ===');
await benchStore({ quick });
try {
  const { benchReconcile } = await import('./reconcile.js');
  console.log('\n=== Reconciler (issue 4) ===');
  await benchReconcile({ quick });
} catch (err) {
  if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
}
