// What blocked.test.ts and admission.test.ts share: a cluster manifest with
// the options those cases vary, `kpg create` timed from its "created" line,
// and the "Problems" section of `kpg describe`.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, kubeconfigPath, run } from '../../cluster/kube.js';
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { bin, kpg } from './helpers.js';

export const NAME = 'blk';
/** The namespaces namespace() made: the test file deletes them afterwards. */
export const made: string[] = [];

export async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  made.push(ns);
  return ns;
}

export function manifest(
  ns: string,
  o: {
    replicas?: number;
    version?: string;
    storageClass?: string;
    spec?: string;
    team?: string;
    configMap?: string;
    ephemeral?: boolean;
    /** The agent's image instead of the machine's Node.js. */
    agentImage?: string;
  } = {},
): string {
  const file = join(tmpdir(), `kpg-blocked-${ns}-${Date.now()}.yaml`);
  const podSpec = o.spec || o.team;
  writeFileSync(
    file,
    agentImage(
      o.agentImage,
      withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${NAME}
  namespace: ${ns}
spec:
  version: "${o.version ?? '15'}"
  replicas: ${o.replicas ?? 1}
${o.configMap ? `  configSource:\n    configMap:\n      name: ${o.configMap}\n` : ''}${o.ephemeral ? '  storageType: Ephemeral\n' : storage(o.storageClass)}${podSpec ? '  podTemplate:\n' : ''}${o.team ? `    metadata:\n      labels:\n        team: ${o.team}\n` : ''}${o.spec ? `    spec:\n${o.spec}` : ''}`),
    ),
  );
  return file;
}

function agentImage(image: string | undefined, yaml: string): string {
  return image ? yaml.replace(/(kpg\.io\/agent-image: ).*/, `$1${image}`) : yaml;
}

/** storageClass '' leaves the class to the cluster's default. */
function storage(storageClass = 'standard'): string {
  return `  storage:
${storageClass ? `    storageClassName: ${storageClass}\n` : ''}    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
`;
}

interface JsonError {
  error: {
    exitCode: number;
    message: string;
    reasons?: { object: string; reason: string; message: string; fatal: boolean }[];
  };
}

/** `kpg create` of the manifest with -o json; the error object and how long it took. */
export async function createJson(file: string, extra: string[] = []) {
  const r = await kpg(['create', '-f', file, '-o', 'json', ...extra]);
  const parsed = JSON.parse(r.stdout) as JsonError;
  return { r, error: parsed.error };
}

/**
 * `kpg create` in text mode, and how long it waited: from its "created" line
 * (every object sent) to its exit, and to its first `waiting:` line.
 */
export async function timedCreate(file: string, extra: string[] = []) {
  let createdAt = 0;
  let waitingAt = 0;
  const r = await run(process.execPath, [bin, 'create', '-f', file, ...extra], {
    timeoutMs: 300_000,
    env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1' },
    onStdout: (d) => {
      if (!createdAt && d.includes(' created')) createdAt = Date.now();
    },
    onStderr: (d) => {
      if (!waitingAt && /^waiting: /m.test(d)) waitingAt = Date.now();
    },
  });
  const ended = Date.now();
  const since = (t: number) => (createdAt && t ? t - createdAt : Number.NaN);
  return { ...r, waitMs: since(ended), firstWaitingMs: since(waitingAt) };
}

export async function describeProblems(ns: string): Promise<string> {
  const d = await kpg(['describe', 'pg', NAME, '-n', ns]);
  const m = /\nProblems:\n([\s\S]*?)(\n\n|$)/.exec(d.stdout);
  return m?.[1] ?? '';
}
