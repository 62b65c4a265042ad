// Shared by the lifecycle e2e tests: run the built CLI against the local
// cluster, manifests with the namespace overridden, a psql client pod.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  kubeconfigPath,
  kubectl,
  kubectlOk,
  repoRoot,
  run,
  waitFor,
  type RunResult,
} from '../../cluster/kube.js';
import { PG_IMAGE, pgSecurityContext, withLocalAgentImage } from '../../cluster/manifests.js';

export const bin = join(repoRoot, 'bin', 'run.js');

/** `kpg ARGS` (the built CLI) with KUBECONFIG set to the local cluster. */
export function kpg(
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(process.execPath, [bin, ...args], {
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 600_000,
    env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1' },
  });
}

/** An example manifest with its namespace replaced, its agent on the machine's Node.js. */
export function example(file: string, ns: string, edit: (s: string) => string = (s) => s): string {
  return edit(
    withLocalAgentImage(
      readFileSync(join(repoRoot, 'examples', file), 'utf8').replace(
        /namespace: demo/,
        `namespace: ${ns}`,
      ),
    ),
  );
}

/** A client pod with psql, its PGPASSWORD from the cluster's Secret (never printed). */
export async function startClient(ns: string, secret: string): Promise<string> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: {
      terminationGracePeriodSeconds: 1,
      // Pod Security `restricted`, which create.test's namespace enforces.
      securityContext: {
        ...pgSecurityContext,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'client',
          image: PG_IMAGE,
          command: ['bash', '-c', 'exec sleep infinity'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          env: [
            {
              name: 'PGPASSWORD',
              valueFrom: { secretKeyRef: { name: secret, key: 'POSTGRES_PASSWORD' } },
            },
          ],
        },
      ],
    },
  };
  await kubectlOk(['-n', ns, 'apply', '-f', '-'], { input: JSON.stringify(pod) });
  await kubectlOk(['-n', ns, 'wait', '--for=condition=Ready', 'pod/client', '--timeout=120s'], {
    timeoutMs: 130_000,
  });
  return 'client';
}

/** psql from the client pod to HOST (a Service or pod DNS name). */
export function clientSql(ns: string, host: string, sql: string): Promise<RunResult> {
  return kubectl(
    [
      '-n',
      ns,
      'exec',
      'client',
      '--',
      'psql',
      '-X',
      '-A',
      '-t',
      '-h',
      host,
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      sql,
    ],
    {
      timeoutMs: 30_000,
    },
  );
}

/** psql inside a database pod, on its local socket. */
export function podSql(ns: string, pod: string, sql: string): Promise<RunResult> {
  return kubectl(
    [
      '-n',
      ns,
      'exec',
      pod,
      '-c',
      'postgres',
      '--',
      'psql',
      '-X',
      '-A',
      '-t',
      '-h',
      '/var/run/postgresql',
      '-U',
      'postgres',
      '-c',
      sql,
    ],
    {
      timeoutMs: 30_000,
    },
  );
}

export async function podLabels(ns: string, name: string): Promise<Record<string, string>> {
  const out = await kubectlOk([
    '-n',
    ns,
    'get',
    'pods',
    '-l',
    `kubedb.com/name=${name}`,
    '-o',
    'json',
  ]);
  const list = JSON.parse(out) as {
    items: { metadata: { name: string; labels: Record<string, string> } }[];
  };
  return Object.fromEntries(
    list.items.map((p) => [p.metadata.name, p.metadata.labels['kubedb.com/role'] ?? '']),
  );
}

export async function endpointsOf(ns: string, svc: string): Promise<string[]> {
  const out = await kubectlOk([
    '-n',
    ns,
    'get',
    'endpointslices',
    '-l',
    `kubernetes.io/service-name=${svc}`,
    '-o',
    'json',
  ]);
  const list = JSON.parse(out) as {
    items: { endpoints?: { targetRef?: { name?: string }; conditions?: { ready?: boolean } }[] }[];
  };
  return list.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .map((e) => e.targetRef?.name ?? '?')
    .sort();
}

/** Standbys streaming according to pg_stat_replication on POD. */
export async function streaming(ns: string, pod: string): Promise<string[]> {
  const r = await podSql(
    ns,
    pod,
    "select application_name from pg_stat_replication where state = 'streaming' order by 1",
  );
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export async function recordPrimary(ns: string, name: string): Promise<string> {
  return (
    await kubectlOk(['-n', ns, 'get', 'configmap', `${name}-kpg`, '-o', 'jsonpath={.data.primary}'])
  ).trim();
}

export { kubectl, kubectlOk, waitFor };

/** A small Ephemeral cluster (PostgreSQL 15, the agent on the machine's Node.js), created and waited for. */
export async function createEphemeral(ns: string, name: string, replicas: number): Promise<void> {
  const created = await kpg(['create', '-f', '-', '--timeout', '5m'], {
    input: withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  version: "15"
  replicas: ${replicas}
  storageType: Ephemeral
`),
  });
  if (created.code !== 0)
    throw new Error(`kpg create ${ns}/${name} failed:\n${created.stdout}\n${created.stderr}`);
}
