/** The agent bundle: one file, well under a ConfigMap's 1 MiB, that node loads (--help, --dry-run). */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-agent-bundle-'));
  bundle = join(dir, 'kpg-agent.cjs');
  await run(process.execPath, [join(ROOT, 'scripts/build-agent.mjs'), '--outfile', bundle]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kpg-agent bundle', () => {
  it('is one file well under 1 MiB', () => {
    expect(statSync(bundle).size).toBeLessThan(512 * 1024);
  });

  it('runs on this machine’s node: --help', async () => {
    const r = await run(process.execPath, [bundle, '--help'], { cwd: dir });
    expect(r.stdout).toContain('Usage: node kpg-agent.cjs');
    expect(r.stdout).toContain('KPG_LEASE_DURATION_SECONDS');
  });

  it('--dry-run checks and prints the configuration, touching nothing', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      KPG_CLUSTER: 'pg',
      POD_NAMESPACE: 'demo',
      POD_NAME: 'pg-0',
      POD_UID: 'uid-0',
      POD_IP: '127.0.0.1',
      KPG_PG_MAJOR: '9.6',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KPG_LEASE_DURATION_SECONDS: '15',
    };
    const r = await run(process.execPath, [bundle, '--dry-run'], { cwd: dir, env });
    const out = JSON.parse(r.stdout) as { dryRun: boolean; config: Record<string, unknown> };
    expect(out.dryRun).toBe(true);
    expect(out.config).toMatchObject({
      cluster: 'pg',
      timing: { leaseDurationMs: 15_000 },
      maximumLagBytes: '1048576',
    });
  });

  it('exits 1 naming every missing setting', async () => {
    const err = await run(process.execPath, [bundle, '--dry-run'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1, stderr: expect.stringContaining('POD_UID is required') });
  });
});
