// The order files start in. Vitest runs projects by sequence.groupOrder (unit,
// then e2e, then e2e-serial; see vitest.config.ts) and, inside a group, hands
// files to free workers in the order sort() returns:
// - e2e (parallel): the longest first, by the last run's duration in vitest's
//   cache, else MEASURED_SECONDS in e2e-groups.ts, so the group does not end
//   with one long file running alone;
// - every other project: path order, with zz-* files (zz-restart.test.ts,
//   which takes the cluster down and up again) after all others.
// Use it in vitest.config.ts:
//   import { PathOrderSequencer } from './test/cluster/vitest-sequencer.js';
//   test: { sequence: { sequencer: PathOrderSequencer }, projects: [...] }
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { DEFAULT_SECONDS, MEASURED_SECONDS } from './e2e-groups.js';

export const PARALLEL_E2E_PROJECT = 'e2e';

const isLast = (s: TestSpecification) => /(^|\/)zz-[^/]*$/.test(s.moduleId);

export class PathOrderSequencer extends BaseSequencer {
  private expectedMs(s: TestSpecification): number {
    const rel = relative(this.ctx.config.root, s.moduleId);
    const cached = this.ctx.cache.getFileTestResults(`${s.project.name}:${rel}`)?.duration;
    return cached ?? (MEASURED_SECONDS[rel] ?? DEFAULT_SECONDS) * 1000;
  }

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => {
      const ga = a.project.config.sequence.groupOrder;
      const gb = b.project.config.sequence.groupOrder;
      if (ga !== gb) return ga - gb;
      const pa = a.project.name;
      const pb = b.project.name;
      if (pa !== pb) return pa < pb ? -1 : 1;
      if (isLast(a) !== isLast(b)) return isLast(a) ? 1 : -1;
      if (pa === PARALLEL_E2E_PROJECT) {
        const d = this.expectedMs(b) - this.expectedMs(a);
        if (d !== 0) return d;
      }
      return a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0;
    });
  }
}
