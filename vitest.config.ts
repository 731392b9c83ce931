import { defineConfig } from 'vitest/config';
import { versionDefine } from './build/version.ts';

export default defineConfig({
  // The version the build puts into src/core/version.ts, for the tests that import the core from source.
  define: versionDefine(),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Hang guards, not budgets: a test's own waits are measured from its work (test/support/budget.ts); these only
    // end a test that hangs, and must not end one that a busy machine (two cores shared) merely slows three-fold.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // Live tests start real processes and a real nginx on loopback; two cores, so keep files in one fork each.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
