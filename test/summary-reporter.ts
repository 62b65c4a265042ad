import type { Reporter, TestModule } from 'vitest/node';

interface Span {
  project: string;
  file: string;
  start: number;
  end?: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * After Vitest's own summary: the wall time of each e2e file (slowest first)
 * and of each project's group, then one plain closing line, "N passed,
 * N failed, N skipped", so CI logs have a summary any tool can read.
 */
export default class SummaryReporter implements Reporter {
  private readonly spans = new Map<string, Span>();

  // Queued is reported by the worker as it starts the file: the span covers
  // the import and every hook, not the time waiting for a free worker.
  onTestModuleQueued(m: TestModule): void {
    this.spans.set(m.moduleId, {
      project: m.project.name,
      file: m.relativeModuleId,
      start: Date.now(),
    });
  }

  onTestModuleEnd(m: TestModule): void {
    const s = this.spans.get(m.moduleId);
    if (s) s.end = Date.now();
  }

  private timings(): string[] {
    const done = [...this.spans.values()].filter((s): s is Required<Span> => s.end !== undefined);
    const e2e = done.filter((s) => s.project.startsWith('e2e'));
    const lines: string[] = [];
    if (e2e.length > 0) {
      lines.push('', 'e2e wall time per file, slowest first:');
      const width = Math.max(...e2e.map((s) => s.project.length));
      for (const s of [...e2e].sort((a, b) => b.end - b.start - (a.end - a.start))) {
        lines.push(`  ${secs(s.end - s.start).padStart(8)}  ${s.project.padEnd(width)}  ${s.file}`);
      }
    }
    const projects = [...new Set(done.map((s) => s.project))];
    if (projects.length > 0) {
      const groups = projects.map((p) => {
        const ss = done.filter((s) => s.project === p);
        const wall = Math.max(...ss.map((s) => s.end)) - Math.min(...ss.map((s) => s.start));
        return `${p} ${secs(wall)} (${ss.length} files)`;
      });
      if (e2e.length > 0) {
        const wall = Math.max(...e2e.map((s) => s.end)) - Math.min(...e2e.map((s) => s.start));
        groups.push(`all e2e ${secs(wall)}`);
      }
      lines.push(`wall time: ${groups.join(', ')}`);
    }
    return lines;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const failures: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') {
          failed++;
          failures.push(`  FAILED ${mod.relativeModuleId} > ${test.fullName}`);
          const why = firstError(test.result().errors);
          if (why) failures.push(`         ${why}`);
        } else skipped++;
      }
    }
    // Repeated here, next to the closing line: a log cut to its tail still
    // names every failed test.
    const out = [
      ...this.timings(),
      ...(failures.length > 0 ? ['', 'failed tests:', ...failures] : []),
      '',
      `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
}

/** The first error's message on one line, cut short: enough to tell one failure from another. */
function firstError(errors: readonly { message?: string }[] | undefined): string {
  const text = (errors?.[0]?.message ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
