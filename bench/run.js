// npm run bench: every benchmark, peers and floors side by side in the same run.
// Numbers are printed, never asserted. `--quick` for a fast smoke run (rough numbers).
// One part alone: node bench/lock.js | store.js [--part writes|group|writers] | reconcile.js | cli.js
import os from 'node:os';

import { benchCli } from './cli.js';
import { benchLock } from './lock.js';
import { benchReconcile } from './reconcile.js';
import { benchStore } from './store.js';

const quick = process.argv.includes('--quick');
console.log(`trade-state-engine benchmarks — node ${process.version}, ${os.cpus().length} cpus, ${os.platform()} ${os.release()}${quick ? ' (quick)' : ''}`);
console.log('Peers and floors run in the same run as ours; ratios compare within this run only.');

console.log('\n=== Lock (issue 2) ===');
await benchLock({ quick });
console.log('\n=== Store (issue 3) ===');
await benchStore({ quick });
console.log('\n=== Reconciler (issue 4) ===');
await benchReconcile({ quick });
console.log('\n=== Cold CLI ===');
await benchCli({ quick });
