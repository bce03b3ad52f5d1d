// The PostgreSQL test infrastructure itself: the run's server, fresh databases, a private server.
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, ownServer, serverUrl, withClient } from './pg.js';

describe('the run server', () => {
  it('answers, with fsync on', async () => {
    const row = await withClient(serverUrl(), async (c) =>
      (await c.query<{ version: string; fsync: string }>("select version(), current_setting('fsync') as fsync")).rows[0]);
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
    expect(row?.fsync).toBe('on');
  });

  it('is visible to child processes through TSE_TEST_DATABASE_URL', () => {
    expect(process.env.TSE_TEST_DATABASE_URL).toBe(serverUrl());
  });

  it('gives each freshDatabase its own database', async () => {
    const a = await freshDatabase();
    const b = await freshDatabase();
    try {
      expect(a.name).not.toBe(b.name);
      expect(a.name).toMatch(/^tse_test_\d+_\d+_[0-9a-f]+$/);
      await withClient(a.url, (c) => c.query('create table only_in_a (x int)'));
      const inA = await withClient(a.url, async (c) => (await c.query("select to_regclass('only_in_a') as t")).rows[0]?.t);
      const inB = await withClient(b.url, async (c) => (await c.query("select to_regclass('only_in_a') as t")).rows[0]?.t);
      expect(inA).toBe('only_in_a');
      expect(inB).toBeNull();
    } finally {
      await a.drop();
      await b.drop();
    }
  });

  it('drops a database even with a client still connected', async () => {
    const db = await freshDatabase();
    await withClient(db.url, async (c) => {
      await c.query('select 1');
      await db.drop();
    });
    const exists = await withClient(serverUrl(), async (c) =>
      (await c.query('select 1 from pg_database where datname = $1', [db.name])).rowCount);
    expect(exists).toBe(0);
  });
});

describe('ownServer', () => {
  let server: Awaited<ReturnType<typeof ownServer>> | undefined;
  afterAll(async () => {
    await server?.destroy();
  });

  it('stops (connections refused) and restarts on the same port with its data', async () => {
    server = await ownServer();
    const s = server;
    await withClient(s.url, async (c) => {
      await c.query('create table kept (x int)');
      await c.query('insert into kept values (42)');
    });

    await s.stop();
    const err = await withClient(s.url, (c) => c.query('select 1')).then(() => null, (e: unknown) => e);
    expect((err as NodeJS.ErrnoException | null)?.code).toBe('ECONNREFUSED');

    await s.start();
    expect(new URL(s.url).port).toBe(String(s.port));
    const rows = await withClient(s.url, async (c) => (await c.query<{ x: number }>('select x from kept')).rows);
    expect(rows).toEqual([{ x: 42 }]);
  });
});
