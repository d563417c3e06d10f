import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the suite waits on sockets and timers (fault cases, servers, child processes):
    // two files at a time on a 2-core machine (vitest's default there is one).
    maxWorkers: 2,
  },
});
