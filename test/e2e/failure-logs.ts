// A reporter: when an e2e test fails (or a beforeAll of an e2e file does), cut
// the local cluster's logs to the test's time window, write the whole cut to
// test-results/e2e-failures/<run>/, and print a bounded excerpt at the end of
// the run, so a one-off CI failure can be read from the CI log alone. The
// namespaces each test made come from test/e2e/setup.ts, through task meta.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { clusterDir, repoRoot } from '../cluster/kube.js';
import { extract } from '../cluster/log-window.js';

/** Before the test started: what led up to it (a pod restarting, a component's warning). */
const BEFORE_MS = 2_000;
/** After it ended: lines logged as it failed, written a little later. */
const AFTER_MS = 1_000;

interface Failure {
  title: string;
  path: string;
  excerpt: string[];
}

const slug = (s: string) =>
  s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);

export default class FailureLogsReporter implements Reporter {
  private readonly dir = join(
    process.env.KPG_E2E_FAILURE_DIR ?? join(repoRoot, 'test-results', 'e2e-failures'),
    new Date().toISOString().replace(/[:.]/g, '-'),
  );
  private readonly failures: Failure[] = [];
  private readonly moduleStart = new Map<string, number>();

  onTestModuleStart(m: TestModule): void {
    this.moduleStart.set(m.moduleId, Date.now());
  }

  onTestCaseResult(t: TestCase): void {
    if (!t.project.name.startsWith('e2e') || t.result().state !== 'failed') return;
    const d = t.diagnostic();
    const from = d?.startTime ?? this.moduleStart.get(t.module.moduleId) ?? Date.now();
    const to = from + (d?.duration ?? 0);
    this.record(
      `${t.module.relativeModuleId} > ${t.fullName}`,
      t.meta().kpgNamespaces ?? [],
      from,
      to,
    );
  }

  onTestModuleEnd(m: TestModule): void {
    if (!m.project.name.startsWith('e2e')) return;
    // Errors outside a test: a failed beforeAll/afterAll, or a failed import.
    const suites = [...m.children.allSuites()].filter((s) => s.errors().length > 0);
    if (m.errors().length === 0 && suites.length === 0) return;
    const where = suites.map((s) => s.fullName).join(', ') || 'the file';
    this.record(
      `${m.relativeModuleId} (hooks of ${where})`,
      m.meta().kpgNamespaces ?? [],
      this.moduleStart.get(m.moduleId) ?? Date.now(),
      Date.now(),
    );
  }

  private record(title: string, namespaces: string[], fromMs: number, toMs: number): void {
    try {
      const from = fromMs - BEFORE_MS;
      const to = toMs + AFTER_MS;
      const cut = extract({
        logDirs: [join(clusterDir, 'logs.prev'), join(clusterDir, 'logs')],
        namespaces,
        fromMs: from,
        toMs: to,
      });
      mkdirSync(this.dir, { recursive: true });
      const path = join(
        this.dir,
        `${String(this.failures.length + 1).padStart(2, '0')}-${slug(title)}.log`,
      );
      const header = [
        `# ${title}`,
        `# window ${new Date(from).toISOString()} .. ${new Date(to).toISOString()} (UTC), namespaces: ${namespaces.join(', ') || 'none'}`,
      ];
      writeFileSync(path, [...header, ...cut.full, ''].join('\n'));
      this.failures.push({
        title,
        path: relative(repoRoot, path),
        excerpt: [...header, ...cut.excerpt],
      });
      process.stdout.write(`\ncluster logs of the failed ${title}: ${relative(repoRoot, path)}\n`);
    } catch (err) {
      process.stdout.write(`\ncould not cut the cluster logs for ${title}: ${String(err)}\n`);
    }
  }

  onTestRunEnd(): void {
    for (const f of this.failures) {
      process.stdout.write(
        [
          '',
          `==== cluster logs of the failed ${f.title}`,
          `==== everything in the window: ${f.path}`,
          ...f.excerpt,
          `==== end of ${f.title}`,
          '',
        ].join('\n'),
      );
    }
  }
}
