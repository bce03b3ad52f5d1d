/**
 * Issue 19, metrics on the PostgreSQL store (test/metrics.test.ts: on a file): the scripted run's
 * counts and gauges, `trade-state metrics --db --account`, the account row's lock wait on the channel.
 */
import { describe, expect, it } from 'vitest';

import type { PostgresTradeStore } from '../src/postgres/index.js';
import { DIAGNOSTICS_CHANNELS } from '../src/prometheus/index.js';
import { BTC, listen, scriptedRunTests, stopHandlesAfterEach } from './metrics.js';
import { storeDatabase } from './pg.js';

const db = storeDatabase({ startingCapital: 5000, maxPositions: 2 });
stopHandlesAfterEach();
let accounts = 0;

describe('a scripted run on the PostgreSQL store', () => {
  scriptedRunTests(
    () => db.store(`metrics${++accounts}`),
    (s) => ['--db', db.url, '--account', (s as PostgresTradeStore).account],
    (s) => ({ backend: 'postgres', store: (s as PostgresTradeStore).account }),
  );
});

describe('the diagnostics channels', () => {
  it('publish the account row lock wait of a PostgreSQL store', async () => {
    const store = db.store('channels');
    const lw = listen(DIAGNOSTICS_CHANNELS.lockWait);
    try {
      await store.openTrade(BTC);
    } finally {
      lw.stop();
    }
    expect(lw.seen.map(([e]) => e)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(lw.seen[0]?.[1]).toEqual({ backend: 'postgres', store: 'postgres account "channels"', account: 'channels' });
  });

});
