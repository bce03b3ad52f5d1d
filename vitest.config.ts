import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real PostgreSQL server for the run (or TSE_TEST_DATABASE_URL); see test/pg.ts.
    globalSetup: ['test/pg-global-setup.ts'],
    // Lock and store tests spawn real processes and hold real locks: run files
    // one after another so timing-sensitive children do not fight for 2 cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
