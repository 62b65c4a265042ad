// setupFiles of the e2e projects: tells test/e2e/failure-logs.ts (a reporter,
// in the main process) which namespaces each test had made, so a failure's
// log extract can be cut to them. Task meta travels with the test's result.
import { afterAll, afterEach } from 'vitest';
import { createdNamespaces } from '../cluster/kube.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Namespaces made by createNamespace in this file up to the end of the test. */
    kpgNamespaces?: string[];
  }
}

afterEach(({ task }) => {
  task.meta.kpgNamespaces = [...createdNamespaces];
});

// A failing beforeAll skips the tests: the module carries the namespaces then.
// Vitest wants the (unused) fixtures argument destructured.
// eslint-disable-next-line no-empty-pattern
afterAll(({}, suite) => {
  suite.meta.kpgNamespaces = [...createdNamespaces];
});
