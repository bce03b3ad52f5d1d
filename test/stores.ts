/**
 * The tests' file-store builder, the file store's counterpart of test/pg.ts storeDatabase():
 * `store(options)` a TradeStore on the log `log()` names (read when the store is made), with
 * `options` over it, closed after the test that made it.
 */
import { afterEach } from 'vitest';

import { TradeStore, type TradeStoreOptions } from '../src/index.js';

export function fileStores(log: () => string): { store(options?: Partial<TradeStoreOptions> | Record<string, unknown>): TradeStore } {
  const made: TradeStore[] = [];
  // Registered where the file calls fileStores: after-hooks run last-registered first, so call it
  // after the hook that removes the test's folder and the stores close before it goes.
  afterEach(() => {
    for (const s of made.splice(0)) s.close();
  });
  return {
    store(options = {}) {
      const s = new TradeStore({ tradeLog: log(), ...options });
      made.push(s);
      return s;
    },
  };
}
