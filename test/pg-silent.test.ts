// Issue 20, point 1: a server that goes silent (no RST, no bytes, both ways: a partition, a hung
// load balancer) never holds a call past its bound. A real server behind a real TCP proxy that stops
// forwarding and closes nothing. A call either settles (with its answer, or a specific error) or
// `settled()` reports it hung: its guard is far past the bound docs/postgres.md states, and the test
// never measures how long a call took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DatabaseError, OutcomeUnknownError, PostgresLogSource } from '../src/postgres/index.js';
import { until } from './helpers.js';
import { storeDatabase, withClient } from './pg.js';
import { PgProxy, proxyInFrontOf } from './pg-proxy.js';

const db = storeDatabase({ maxPositions: 100 });

/**
 * The store's bounds here (docs/postgres.md): a write gives up on a silent server by
 * max(lockTimeoutMs, connect timeout) + statementTimeoutMs + 1 s, plus 2 × statementTimeoutMs to
 * learn a lost COMMIT's fate; a read by the connect timeout + statementTimeoutMs + 1 s.
 */
const BOUNDS = { statementTimeoutMs: 3000, lockTimeoutMs: 2000, pool: { connectionTimeoutMillis: 2000 } } as const;
/** Far past every bound above (12 s at most): reached only by a call that hangs. */
const HUNG_AFTER_MS = 30_000;

const input = (symbol: string, extra: Record<string, unknown> = {}) => ({
  symbol, direction: 'LONG' as const, entry_price: 100, stop_price: 95, target_price: 110, size: 1, ...extra,
});

/** What `call` settled with, or 'hung' when it had not settled by HUNG_AFTER_MS. */
async function settled<T>(call: Promise<T>): Promise<{ resolved: T } | { rejected: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), HUNG_AFTER_MS)));
  try {
    return await Promise.race([call.then((resolved) => ({ resolved }), (rejected: unknown) => ({ rejected })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

async function rowsWith(account: string, clientId: string): Promise<Array<{ id: string }>> {
  return withClient(db.url, async (c) =>
    (await c.query<{ id: string }>('SELECT id FROM trade_state.trades WHERE account = $1 AND client_id = $2', [account, clientId])).rows);
}

describe('a silent server (issue 20: every wait bounded)', () => {
  const proxy = proxyInFrontOf(() => db.url);

  it('silent before a write begins, and for a read: each settles EDBUNAVAILABLE; resumed, a retry with the same client_id opens the trade once', async () => {
    const account = 'silent-begin';
    const s = db.store(account, BOUNDS, proxy().via(db.url));
    await s.openTrade(input('FIRST')); // the pool now holds a connection, which the silence catches idle
    proxy().silence();
    try {
      const write = await settled(s.openTrade(input('BTC', { client_id: 'begin-1' })));
      expect(write).toMatchObject({ rejected: expect.any(DatabaseError) });
      expect(write).toMatchObject({ rejected: { code: 'EDBUNAVAILABLE', account, message: expect.stringMatching(/no answer from the server within \d+ ms.*Nothing was written/) } });
      const read = await settled(s.getAllTrades());
      expect(read).toMatchObject({ rejected: { code: 'EDBUNAVAILABLE', account } });
    } finally {
      proxy().resume();
    }
    expect(await rowsWith(account, 'begin-1')).toEqual([]);
    const retried = await s.openTrade(input('BTC', { client_id: 'begin-1' }));
    expect(retried).toMatchObject({ id: 'T002', client_id: 'begin-1' });
    expect(await rowsWith(account, 'begin-1')).toEqual([{ id: 'T002' }]);
  }, 90_000);

  it('the reconciler\'s source: a read on a silent server settles EDBUNAVAILABLE', async () => {
    const account = 'silent-source';
    await db.store(account).openTrade(input('FIRST'));
    const source = new PostgresLogSource({ connectionString: proxy().via(db.url), account, ...BOUNDS });
    try {
      expect((await source.read()).log.trades).toHaveLength(1);
      proxy().silence();
      try {
        expect(await settled(source.read())).toMatchObject({ rejected: { code: 'EDBUNAVAILABLE', account } });
        expect(await settled(source.version())).toMatchObject({ rejected: { code: 'EDBUNAVAILABLE', account } });
      } finally {
        proxy().resume();
      }
      expect(await source.version()).toBe(1);
    } finally {
      await source.close();
    }
  }, 90_000);

  describe.each([
    ['silence-before', 'the COMMIT never reached the server', 0],
    ['silence-after', 'the COMMIT landed, its reply swallowed', 1],
  ] as const)('silent from the COMMIT on (%s: %s)', (mode, _what, landedRows) => {
    it('silent throughout: EOUTCOMEUNKNOWN naming the op_id; resumed, a retry with the same client_id gives exactly one trade', async () => {
      const account = `persist-${mode}`;
      const clientId = `${mode}-1`;
      const s = db.store(account, BOUNDS, proxy().via(db.url));
      await s.openTrade(input('FIRST'));
      const intercepted = proxy().onNextCommit(mode);
      let outcome;
      try {
        outcome = await settled(s.openTrade(input('BTC', { client_id: clientId })));
        await intercepted;
      } finally {
        proxy().resume();
      }
      expect(outcome).toMatchObject({ rejected: expect.any(OutcomeUnknownError) });
      expect(outcome).toMatchObject({ rejected: { code: 'EOUTCOMEUNKNOWN', account, opIds: [expect.any(String)] } });
      // The truth, once the server can be asked (the server ends a transaction left open when the connection is cut).
      await until('the server settles the abandoned transaction', async () => (await rowsWith(account, clientId)).length === landedRows);
      const retried = await s.openTrade(input('BTC', { client_id: clientId }));
      expect(retried).toMatchObject({ id: 'T002', symbol: 'BTC', client_id: clientId });
      expect(await rowsWith(account, clientId)).toEqual([{ id: 'T002' }]);
      expect(await s.openTrade(input('BTC', { client_id: clientId }))).toEqual(retried);
    }, 90_000);

    it('silence ending while the store looks for the outcome: the call gets the definite answer, and a retry still gives one trade', async () => {
      const account = `resumed-${mode}`;
      const clientId = `${mode}-2`;
      const s = db.store(account, BOUNDS, proxy().via(db.url));
      await s.openTrade(input('FIRST'));
      const intercepted = proxy().onNextCommit(mode);
      const closes = proxy().clientCloses;
      const pending = settled(s.openTrade(input('BTC', { client_id: clientId })));
      try {
        await intercepted;
        // The store abandoned the silent connection: the partition ends while it finds out what happened.
        await until('the store abandons its connection', () => proxy().clientCloses > closes);
      } finally {
        proxy().resume();
      }
      const outcome = await pending;
      if (landedRows === 1) {
        expect(outcome).toMatchObject({ resolved: { id: 'T002', symbol: 'BTC', client_id: clientId } });
      } else {
        expect(outcome).toMatchObject({ rejected: { code: 'EDBUNAVAILABLE', account, message: expect.stringMatching(/Nothing was written/) } });
      }
      expect(await rowsWith(account, clientId)).toHaveLength(landedRows);
      const retried = await s.openTrade(input('BTC', { client_id: clientId }));
      expect(retried).toMatchObject({ id: 'T002', client_id: clientId });
      expect(await rowsWith(account, clientId)).toEqual([{ id: 'T002' }]);
    }, 90_000);
  });
});
