import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Live tests start real processes and a real nginx on loopback; two cores, so keep files in one fork each.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
