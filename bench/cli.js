// Cold CLI: what one `trade-state` command costs as cron or a shell runs it — a new process, wall
// time from spawn to exit, on a 10,000-trade log — next to a bare node and a script that does
// nothing but read and JSON.parse the same log (the least any command reading the log can cost).
//   npx tsc -p tsconfig.build.json && node bench/cli.js [--quick]
// Numbers are printed, never asserted.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TradeStore } from '../dist/index.js';
import { fmt, percentile, table, tempDir } from './lib.js';
import { syntheticLog } from './store.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'dist', 'cli', 'main.js');

/** Wall time of one child process in ms; a failing command is an error, not a fast sample. */
function run(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return ms;
}

const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);

export async function benchCli({ quick = false, trades = 10_000 } = {}) {
  const dir = tempDir('tse-bench-cli-');
  try {
    const logFile = path.join(dir, 'trade_log.json');
    // Through the store, so the bytes are its own layout; a few open positions for status to show.
    const store = new TradeStore({ tradeLog: logFile });
    await store.saveRaw(syntheticLog(trades, { open: 3 }));
    store.close();
    const mb = fs.statSync(logFile).size / 1e6;

    // -e runs as CommonJS like `node -e 0`, so the two differ by the read and the parse only.
    const parseScript = "JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'))";
    let k = 0;
    const cases = [
      ['node -e 0', () => ['-e', '0']],
      ['node: read + JSON.parse of the log', () => ['-e', parseScript, logFile]],
      ['trade-state status', () => [CLI, 'status', '--log', logFile]],
      // First run: a new state directory, so no history file (every digest computed and written).
      ['trade-state reconcile, first run', () => [CLI, 'reconcile', '--log', logFile, '--state', path.join(dir, `state${k}`)]],
      // Restart: the directory the first run just filled (every digest computed and compared).
      ['trade-state reconcile, restart', () => [CLI, 'reconcile', '--log', logFile, '--state', path.join(dir, `state${k}`)]],
    ];

    // One untimed run of each: the node binary, dist/ and the log are in the page cache from here on,
    // as they are for a command run every few minutes.
    k = -1;
    for (const [, args] of cases) run(args());

    // Commands take turns in every round, so the machine's drift weighs on each alike.
    const runs = quick ? 3 : 11;
    const ms = cases.map(() => []);
    for (k = 0; k < runs; k++) cases.forEach(([, args], i) => ms[i].push(run(args())));

    const med = ms.map(median);
    const floor = med[1]; // a bare start plus the read and the parse
    const rows = [['command', 'median ms', 'min ms', 'over floor ms', 'x floor']];
    cases.forEach(([name], i) => {
      const cli = i >= 2;
      rows.push([name, fmt(med[i], 1), fmt(Math.min(...ms[i]), 1), cli ? fmt(med[i] - floor, 1) : '', cli ? `${fmt(med[i] / floor, 2)}x` : '']);
    });
    console.log(`\nCold CLI on a ${fmt(trades)}-trade log (${fmt(mb, 1)} MB): one new process per run, spawn to exit, median of ${runs} runs`);
    console.log(table(rows));
    console.log(
      `Floor = node -e 0 (${fmt(med[0], 1)} ms) + reading and parsing the log (${fmt(floor - med[0], 1)} ms), run as one script. Goal: each command close to the floor.`,
    );
    return Object.fromEntries(cases.map(([name], i) => [name, med[i]]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchCli({ quick: process.argv.includes('--quick') });
}
