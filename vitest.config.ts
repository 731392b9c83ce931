import { defineConfig } from 'vitest/config';
import { versionDefine } from './build/version.ts';

export default defineConfig({
  // The version the build puts into src/core/version.ts, for the tests that import the core from source.
  define: versionDefine(),
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
