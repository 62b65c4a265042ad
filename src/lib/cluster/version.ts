/**
 * What `kpg version` reports: this kpg, the API server, and which build of
 * the in-pod agent each cluster's pods run (the bundle's hash on each pod,
 * kpg.io/agent-hash, against the bundle this kpg would deliver). The
 * formatting is pure; `collectVersions` reads the cluster.
 */
import type { Kube } from '../kube/index.js';
import { AGENT_HASH_ANNOTATION } from '../render/agent.js';
import { shortHash } from '../render/statefulset.js';
import type { K8sPod } from './objects.js';

export interface AgentVersion {
  namespace: string;
  name: string;
  /** Pods by the agent bundle hash they run ('' for pods without the agent). */
  pods: Record<string, string[]>;
  /** Every pod with the agent runs the bundle of this kpg. */
  current: boolean;
}

export interface VersionReport {
  client: { version: string; node: string };
  server?: { gitVersion: string; platform?: string };
  /** Why the server's version is missing (unreachable, forbidden). */
  serverError?: string;
  /** The hash of the agent bundle this kpg delivers (kpg.io/agent-hash). */
  agentBundle?: string;
  agents?: AgentVersion[];
}

/** The hash kpg puts on the pod template for a bundle (render/statefulset.ts). */
export function bundleHash(bundle: string): string {
  return shortHash(bundle);
}

/** Groups pods of each cluster by the bundle hash they carry. Pure. */
export function agentVersions(pods: K8sPod[], current: string | undefined): AgentVersion[] {
  const byCluster = new Map<string, AgentVersion>();
  for (const p of pods) {
    const name = p.metadata?.labels?.['kubedb.com/name'];
    if (!name) continue;
    const namespace = p.metadata?.namespace ?? '';
    const key = `${namespace}/${name}`;
    const entry = byCluster.get(key) ?? { namespace, name, pods: {}, current: true };
    const hash = p.metadata?.annotations?.[AGENT_HASH_ANNOTATION] ?? '';
    (entry.pods[hash] ??= []).push(p.metadata?.name ?? '');
    byCluster.set(key, entry);
  }
  const out = [...byCluster.values()];
  for (const a of out) {
    for (const list of Object.values(a.pods)) list.sort();
    const hashes = Object.keys(a.pods).filter((h) => h !== '');
    a.current = current !== undefined && hashes.length > 0 && hashes.every((h) => h === current);
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

function agentLine(a: AgentVersion, current: string | undefined): string {
  const parts = Object.entries(a.pods)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([hash, pods]) => `${hash || 'no agent'} (${pods.join(', ')})`);
  const note = Object.keys(a.pods).every((h) => h === '')
    ? ''
    : a.current
      ? ': this kpg’s agent'
      : current
        ? ': not this kpg’s agent (kpg apply delivers it, restarting the pods)'
        : '';
  return `  ${a.namespace}/${a.name}: ${parts.join('; ')}${note}`;
}

/** kubectl-like text. Pure. */
export function formatVersion(r: VersionReport): string {
  const lines = [`Client Version: kpg ${r.client.version} (Node.js ${r.client.node})`];
  if (r.server) lines.push(`Server Version: ${r.server.gitVersion}`);
  else if (r.serverError) lines.push(`Server Version: unknown (${r.serverError})`);
  if (r.agentBundle) lines.push(`Agent bundle: ${r.agentBundle}`);
  if (r.agents) {
    if (r.agents.length === 0) lines.push('Agents: no cluster here');
    else
      lines.push(
        'Agents (bundle hash, pods):',
        ...r.agents.map((a) => agentLine(a, r.agentBundle)),
      );
  }
  return lines.join('\n');
}

/** The server's version, and the agents of the clusters in scope. Errors end up in the report. */
export async function collectVersions(
  kube: Kube,
  scope: { allNamespaces: boolean; namespace: string },
  base: Pick<VersionReport, 'client' | 'agentBundle'>,
): Promise<VersionReport> {
  const report: VersionReport = { ...base };
  try {
    report.server = await kube.serverVersion();
  } catch (err) {
    report.serverError = (err as Error).message.split('\n')[0];
    return report;
  }
  const pods = await kube.list<K8sPod>('Pod', {
    allNamespaces: scope.allNamespaces,
    namespace: scope.namespace,
    labelSelector: 'kubedb.com/kind=Postgres',
  });
  report.agents = agentVersions(pods.items, base.agentBundle);
  return report;
}
