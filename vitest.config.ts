import { defineConfig } from 'vitest/config';
import { e2eGroups } from './test/cluster/e2e-groups.js';
import { PARALLEL_E2E_PROJECT, PathOrderSequencer } from './test/cluster/vitest-sequencer.js';

// The e2e files share one local cluster on a 2-core machine. Three groups run
// one after another (sequence.groupOrder): the unit tests, which no e2e file
// may run beside (they would skew the timings some e2e files check); the e2e
// files that keep to their own namespace, several at once since they mostly
// wait for pods and postgres; and the files that disturb the whole cluster or
// check timings, one at a time. test/cluster/e2e-groups.ts decides which file
// goes where; test/cluster/README.md ("Tests") states the rule.
const groups = e2eGroups();
const e2eWorkers = Number(process.env.KPG_E2E_WORKERS) || 3;

const e2e = {
  globalSetup: ['test/e2e/global-setup.ts'],
  setupFiles: ['test/e2e/setup.ts'],
  testTimeout: 300_000,
  hookTimeout: 300_000,
};

export default defineConfig({
  test: {
    // failure-logs before summary: the summary's closing line stays the last line.
    reporters: ['default', './test/e2e/failure-logs.ts', './test/summary-reporter.ts'],
    sequence: { sequencer: PathOrderSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          sequence: { groupOrder: 0 },
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...e2e,
          name: PARALLEL_E2E_PROJECT,
          include: groups.parallel,
          sequence: { groupOrder: 1 },
          maxWorkers: e2eWorkers,
          // Side by side, files run slower (the resume test, since split in
          // two, took 316 s of its 300 s beside two other failover files): the
          // limit is a safety net.
          testTimeout: 600_000,
        },
      },
      {
        test: {
          ...e2e,
          name: 'e2e-serial',
          include: groups.serial,
          sequence: { groupOrder: 2 },
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
