// Issue 16, item 14: `npm pack` makes a tarball that installs on a clean
// prefix (`npm install -g`) and runs there as `kpg` and as `kubectl kpg`,
// with nothing of the repository beside it: the built CLI, its client-node
// bundle, the schemas and examples, and no sources or tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath, kubectlPath, repoRoot, run } from '../../cluster/kube.js';

const work = mkdtempSync(join(tmpdir(), 'kpg-pack-'));
const prefix = join(work, 'prefix');
let tarball = '';
let listing: string[] = [];

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** npm with the test's own cache-friendly settings; throws with its output on failure. */
async function npm(args: string[], cwd: string): Promise<string> {
  const r = await run('npm', args, {
    cwd,
    timeoutMs: 400_000,
    env: { ...process.env, NPM_CONFIG_FUND: 'false', NPM_CONFIG_AUDIT: 'false' },
  });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await npm(['pack', '--pack-destination', work], repoRoot);
  const [file] = readdirSync(work).filter((f) => /^kpg-.*\.tgz$/.test(f));
  if (!file) throw new Error(`npm pack wrote no kpg-*.tgz into ${work}`);
  tarball = join(work, file);
  listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  // The dependencies come from npm's cache, filled by the npm ci before the tests.
  await npm(['install', '-g', '--prefix', prefix, '--prefer-offline', tarball], work);
}, 480_000);

describe('the packed tarball', () => {
  it('holds the built CLI and what it reads, and none of the sources or tests', () => {
    for (const f of [
      'package/bin/run.js',
      'package/oclif.manifest.json',
      'package/dist/commands/create.js',
      'package/dist/vendor/client-node.js',
      'package/dist/agent/kpg-agent.cjs',
      'package/schemas/postgres.kubedb.com_v1alpha1.validate.generated.js',
      'package/examples/ha-postgres.yaml',
      'package/README.md',
      'package/package.json',
    ])
      expect(listing).toContain(f);
    expect(listing.filter((f) => /^package\/(src|test|bench|\.ci)\//.test(f))).toEqual([]);
    expect(listing.filter((f) => /\.test\.js$/.test(f))).toEqual([]);
  });

  it('installed on a clean prefix, runs as kpg', async () => {
    const kpg = join(prefix, 'bin', 'kpg');
    const v = await run(kpg, ['version', '--client'], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/kpg 0\.\d+\.\d+/);
    const ok = await run(
      kpg,
      ['validate', '-f', join(prefix, 'lib/node_modules/kpg/examples/ha-postgres.yaml')],
      { cwd: work },
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('postgres "ha-postgres" is valid');
    const get = await run(kpg, ['get', '-n', 'kube-system'], {
      cwd: work,
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
    });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout + get.stderr).toMatch(/No resources found in kube-system namespace/);
  });

  it('and as kubectl kpg, found on PATH', async () => {
    const env = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
      KUBECONFIG: kubeconfigPath,
    };
    const r = await run(kubectlPath, ['kpg', 'version', '--client'], { cwd: work, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kpg 0\.\d+\.\d+/);
  });
});
