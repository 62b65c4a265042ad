// Vitest globalSetup for the e2e project: brings the local cluster up once
// (idempotent: an already running cluster is reused) and leaves it running
// afterwards, unless KPG_E2E_DOWN=1.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const clusterSh = join(repoRoot, 'test', 'cluster', 'cluster.sh');

function cluster(cmd: 'up' | 'down'): void {
  const started = Date.now();
  const r = spawnSync('bash', [clusterSh, cmd], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    throw new Error(
      `bash test/cluster/cluster.sh ${cmd} failed (exit ${r.status ?? r.signal}) after ${Date.now() - started} ms`,
    );
  }
}

// Both e2e projects (e2e, e2e-serial) name this file; the first one brings the
// cluster up, the other finds it marked up in this process.
const UP = 'KPG_E2E_CLUSTER_UP';

export default function setup(): (() => void) | undefined {
  if (process.env[UP] === '1') return undefined;
  cluster('up');
  process.env[UP] = '1';
  return () => {
    if (process.env.KPG_E2E_DOWN === '1') cluster('down');
  };
}
