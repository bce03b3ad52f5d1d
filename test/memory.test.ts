// A long-running store's memory stays flat while it writes: each version of the log used to hold the
// one it was derived from (log-index.ts) and each ledger its base (derive/book.ts), a chain that grew
// by a trades array per write — 0.33 MB a write at 10,000 trades, until the bot ran out of memory.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { FIXTURES, runNode, tempDir } from './helpers.js';

describe('memory of a long-running store', () => {
  it('does not grow with the number of writes (a version never keeps the versions before it alive)', async () => {
    const dir = tempDir('tse-memory-');
    // 2,000 trades and 150 pairs a half: the chain added ~20 MB per half; the heap itself is ~10 MB.
    const run = await runNode(path.join(FIXTURES, 'memory-child.mjs'), [dir, '2000', '150']);
    expect(run.code, run.stderr).toBe(0);
    const { heap } = JSON.parse(run.stdout) as { heap: [number, number] };
    const growth = heap[1] - heap[0];
    expect(growth, `heap after the first half ${heap[0]}, after the second ${heap[1]}`).toBeLessThan(4_000_000);
  }, 120_000);
});
