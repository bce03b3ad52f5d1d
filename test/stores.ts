/**
 * The tests' file-store builder, the file store's counterpart of test/pg.ts storeDatabase():
 * `store(extra)` a TradeStore with the options `base()` gives when it is made (the test's log, its
 * lock, the file's defaults) and `extra` over them, closed after the test that made it.
 */
import { afterEach } from 'vitest';

import { TradeStore, type TradeStoreOptions } from '../src/index.js';

export function fileStores(base: () => TradeStoreOptions): { store(extra?: Partial<TradeStoreOptions> | Record<string, unknown>): TradeStore } {
  const made: TradeStore[] = [];
  // Registered where the file calls fileStores: after-hooks run last-registered first, so call it
  // after the hook that removes the test's folder and the stores close before it goes.
  afterEach(() => {
    for (const s of made.splice(0)) s.close();
  });
  return {
    store(extra = {}) {
      const s = new TradeStore({ ...base(), ...extra });
      made.push(s);
      return s;
    },
  };
}
