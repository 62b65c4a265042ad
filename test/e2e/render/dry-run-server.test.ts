import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNamespace, deleteNamespace, kubectl, repoRoot, run } from '../../cluster/kube.js';

// The rendered objects must be what a real API server accepts, unmodified:
// `kpg create --dry-run=client -o yaml | kubectl apply --dry-run=server -f -`.
const examples = readdirSync(join(repoRoot, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

let ns = '';
beforeAll(async () => {
  ns = await createNamespace('kpg-render');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

async function render(file: string): Promise<string> {
  const r = await run(process.execPath, [
    'bin/run.js',
    'create',
    '--dry-run=client',
    '-o',
    'yaml',
    '-n',
    ns,
    '-f',
    join('examples', file),
  ]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('rendered objects against the real API server', () => {
  test.each(examples)('%s is accepted by kubectl apply --dry-run=server', async (file) => {
    // Examples name namespace `demo`; point the stream at the test's own one.
    const yaml = (await render(file)).replace(/^(\s*namespace:) demo$/gm, `$1 ${ns}`);
    const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { input: yaml });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/statefulset\.apps\/\S+ created \(server dry run\)/);
    expect(r.stdout).toMatch(/service\/\S+-replicas created \(server dry run\)/);
  });

  test('nothing was persisted by the server dry run', async () => {
    const r = await kubectl(['get', 'statefulsets,services,configmaps', '-n', ns, '-o', 'name']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/statefulset|service\//);
  });
});
