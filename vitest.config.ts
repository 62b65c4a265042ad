import { defineConfig } from 'vitest/config';
import { PathOrderSequencer } from './test/cluster/vitest-sequencer.js';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // One file at a time across both projects: the e2e files share one local
    // cluster on a 2-core machine, and unit files running beside them would
    // skew every timing the e2e tests check. Files run in path order, e2e
    // project first (test/e2e/cluster/zz-restart.test.ts restarts the cluster).
    maxWorkers: 1,
    sequence: { sequencer: PathOrderSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
