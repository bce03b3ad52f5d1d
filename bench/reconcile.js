// Reconciler benchmarks: what one cycle costs, cold and warm, next to the floors measured in the
// same run (JSON.parse of the log, deriveState, the durable writes of the same files).
//   npx tsc -p tsconfig.build.json && node bench/reconcile.js [--quick]
// "cold" is a fresh process running one cycle (a cron `trade-state reconcile`): nothing is
// optimized yet and nothing is cached. "warm" is a long-running reconciler (start/watch).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { StateReconciler, TradeStore } from '../dist/index.js';
import { deriveState } from '../dist/domain/derive/index.js';
import { writeFileDurable } from '../dist/io/durable-write.js';
import { fmt, percentile, runJson, table, tempDir } from './lib.js';
import { syntheticLog } from './store.js';

const self = fileURLToPath(import.meta.url);
const NOW = () => new Date(Date.UTC(2025, 5, 1, 12));

/** Child mode: one cycle in a fresh process; prints its duration and the process's time to that point. */
async function child([logFile, outDir]) {
  const rec = new StateReconciler({ tradeLog: logFile, outputDir: outDir, startingCapital: 1e9, now: NOW, onInvariantViolation: () => {} });
  const r = await rec.reconcile();
  if (!r.ok) throw new Error(r.message);
  console.log(JSON.stringify({ ms: r.durationMs, processMs: performance.now() }));
}

const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);
const p90 = (xs) => percentile([...xs].sort((a, b) => a - b), 90);
const cell = (xs) => `${fmt(median(xs), 1)} (${fmt(p90(xs), 1)})`;

async function timeCycles(rec, reps, before = async () => {}) {
  const ms = [];
  for (let i = 0; i < reps; i++) {
    await before(i);
    const r = await rec.reconcile();
    if (!r.ok) throw new Error(r.message);
    ms.push(r.durationMs);
  }
  return ms;
}

function timeSync(reps, fn) {
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn(i);
    ms.push(performance.now() - t0);
  }
  return ms;
}

export async function benchReconcile({ quick = false } = {}) {
  const dir = tempDir('tse-bench-rec-');
  const out = {};
  try {
    const sizes = quick ? [10_000] : [1_000, 10_000];
    const reps = quick ? 6 : 25;
    const coldReps = quick ? 2 : 5;
    const cycleRows = [['trades', 'log MB', 'cold, first run', 'cold, restart', 'warm, log unchanged', 'warm, after 1 store write', 'warm, after a full rewrite']];
    const floorRows = [['trades', 'JSON.parse of the log', 'deriveState', '4 durable writes of the outputs']];
    for (const n of sizes) {
      const sub = path.join(dir, `n${n}`);
      fs.mkdirSync(sub);
      const logFile = path.join(sub, 'trade_log.json');
      const log = syntheticLog(n, { open: 3 });
      fs.writeFileSync(logFile, `${JSON.stringify(log, null, 2)}\n`);
      const mb = fs.statSync(logFile).size / 1e6;

      // Cold: a new process per sample. "first run" has no history file (every digest is computed and
      // written); "restart" finds the one the previous run wrote (every digest is computed and compared).
      const coldFirst = [];
      const coldRestart = [];
      for (let k = 0; k < coldReps; k++) {
        const o = path.join(sub, `cold${k}`);
        coldFirst.push((await runJson(self, ['--child', logFile, o])).ms);
        coldRestart.push((await runJson(self, ['--child', logFile, o])).ms);
      }

      // Warm: one long-lived reconciler in this process.
      const outDir = path.join(sub, 'state');
      const rec = new StateReconciler({ tradeLog: logFile, outputDir: outDir, startingCapital: 1e9, now: NOW, onInvariantViolation: () => {} });
      await timeCycles(rec, 3); // warm-up
      const unchanged = await timeCycles(rec, reps);

      // One store write before each cycle, alternating an open (appends a trade, next_id moves) and its close.
      const store = new TradeStore({ tradeLog: logFile, maxPositions: 1e6, startingCapital: 1e9, assetConsecutiveLossCap: 0, haltOnDrawdown: false });
      let openId = null;
      const afterWrite = await timeCycles(rec, reps, async (i) => {
        if (openId === null) {
          openId = (await store.openTrade({ symbol: `B${i}`, direction: 'LONG', entry_price: 100, stop_price: 95, target_price: 110, size: 1 })).id;
        } else {
          await store.closeTrade(openId, { exit_price: 101 });
          openId = null;
        }
      });

      // Another writer rewrote the whole file (a Python writer's first write, a hand edit near the top):
      // nothing can be reused, so this is a full parse in a warm process.
      const rewritten = await timeCycles(rec, reps, async (i) => {
        const l = JSON.parse(fs.readFileSync(logFile, 'utf8'));
        l.trades[0].notes = `rewrite ${i}`;
        fs.writeFileSync(`${logFile}.tmp`, `${JSON.stringify(l, null, i % 2 === 0 ? 2 : 1)}\n`);
        fs.renameSync(`${logFile}.tmp`, logFile);
      });

      cycleRows.push([n, fmt(mb, 1), cell(coldFirst), cell(coldRestart), cell(unchanged), cell(afterWrite), cell(rewritten)]);

      // Floors, warm, same process.
      const text = fs.readFileSync(logFile, 'utf8');
      const parsed = JSON.parse(text);
      const parse = timeSync(reps, () => JSON.parse(text));
      const derive = timeSync(reps, () => deriveState(parsed, { startingCapital: 1e9, now: NOW() }));
      const files = ['portfolio.json', 'equity.json', 'risk_state.json', 'setup_performance.json'].map((f) => [
        path.join(sub, `floor-${f}`),
        fs.readFileSync(path.join(outDir, f)),
      ]);
      const writes = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        for (const [f, b] of files) await writeFileDurable(f, b);
        writes.push(performance.now() - t0);
      }
      floorRows.push([n, cell(parse), cell(derive), cell(writes)]);
      out[n] = {
        coldFirst: median(coldFirst),
        coldRestart: median(coldRestart),
        unchanged: median(unchanged),
        afterWrite: median(afterWrite),
        rewritten: median(rewritten),
        parse: median(parse),
        derive: median(derive),
        writes: median(writes),
      };
    }
    console.log('\nReconcile cycle, ms: median (p90). Cold = a fresh process per cycle; warm = a long-running reconciler');
    console.log(table(cycleRows));
    console.log('\nFloors measured in the same run (warm), ms: median (p90)');
    console.log(table(floorRows));
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  if (process.argv[2] === '--child') await child(process.argv.slice(3));
  else await benchReconcile({ quick: process.argv.includes('--quick') });
}
