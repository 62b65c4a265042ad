// Runs test files in path order within each project (vitest's default order is
// "failed first, then slowest first"), so e2e files prefixed 00-, 10-, ... run
// in that order and test/e2e/cluster/zz-restart.test.ts, which takes the
// cluster down and up again, runs last. Use it in vitest.config.ts:
//   import { PathOrderSequencer } from './test/cluster/vitest-sequencer.js';
//   test: { sequence: { sequencer: PathOrderSequencer }, projects: [...] }
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export class PathOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => {
      const pa = a.project.name;
      const pb = b.project.name;
      if (pa !== pb) return pa < pb ? -1 : 1;
      return a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0;
    });
  }
}
