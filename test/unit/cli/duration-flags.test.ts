/** Wait flags are bounded: a value no cluster can meet, or one setTimeout cannot hold, is refused up front. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../manifest/helpers.js';

const exec = promisify(execFile);
// An unreachable kubeconfig: a refusal must come before any attempt to connect.
const NOWHERE = ['--kubeconfig', join(ROOT, 'test/fixtures/does-not-exist.kubeconfig')];

const kpg = (args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/dev.js'), ...args, ...NOWHERE], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

describe.concurrent('bounded wait flags (real process)', () => {
  it('create --timeout 1ms: exit 1, the flag and the range, no stack', async () => {
    const r = await kpg(['create', '-f', 'examples/ha-postgres.yaml', '--timeout', '1ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--timeout "1ms" is too short: it must be between 1s and 24h');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it("failover --timeout 600h (past setTimeout's limit): exit 1", async () => {
    const r = await kpg(['failover', 'ha-postgres', '--timeout', '600h', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--timeout "600h" is too long');
  });

  it('failover --salvage-timeout 0: exit 1, named', async () => {
    const r = await kpg(['failover', 'ha-postgres', '--salvage-timeout', '0', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--salvage-timeout "0" is too short');
  });

  it('describe --pod-timeout 0: a usage error (exit 2)', async () => {
    const r = await kpg(['describe', 'ha-postgres', '--pod-timeout', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pod-timeout/);
  });
});
