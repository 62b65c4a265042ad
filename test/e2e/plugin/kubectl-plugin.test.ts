import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { kubectlPath, kubeconfigPath, repoRoot, run } from '../../cluster/kube.js';

// package.json installs bin/run.js also as `kubectl-kpg`; kubectl finds such
// plugins on PATH, so `kubectl kpg ...` must behave as `kpg ...`.
const dir = mkdtempSync(join(tmpdir(), 'kpg-plugin-'));
symlinkSync(join(repoRoot, 'bin', 'run.js'), join(dir, 'kubectl-kpg'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = {
  ...process.env,
  PATH: `${dir}:${process.env.PATH ?? ''}`,
  KUBECONFIG: kubeconfigPath,
};

test('kubectl lists kpg among its plugins', async () => {
  const r = await run(kubectlPath, ['plugin', 'list'], { env });
  expect(r.stdout).toContain(join(dir, 'kubectl-kpg'));
});

test('kubectl kpg validate runs kpg', async () => {
  const r = await run(kubectlPath, ['kpg', 'validate', '-f', 'examples/ha-postgres.yaml'], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('postgres "ha-postgres" is valid');
});

test('kubectl kpg get talks to the cluster of the kubeconfig', async () => {
  const r = await run(kubectlPath, ['kpg', 'get', '-n', 'kube-system'], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout + r.stderr).toMatch(/No resources found in kube-system namespace/);
});
