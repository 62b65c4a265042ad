/**
 * What `describe` shows about a cluster's in-pod agents: the Lease
 * NAME-primary (holder, last renewal, a pending or refused switchover) and
 * each pod's last decision with its reason, read from the agent-state file
 * the agent keeps in the directory it shares with the postgres container.
 * Undefined for a cluster without agents (no Lease).
 */
import type { Kube } from '../kube/index.js';
import type { LeaseObject } from '../kube/types.js';
import { podOfHolder } from '../ha/identity.js';
import { leaseName, snapshotOf } from '../ha/lease-record.js';
import { PG_CONTAINER } from '../postgres/index.js';
import { AgentPaths } from '../render/agent.js';

export interface AgentLeaseStatus {
  /** The holder's pod; undefined: released. */
  holder?: string;
  /** The holder's spec.renewTime, as written (display only: nobody judges expiry by it). */
  renewTime?: string;
  leaseDurationSeconds?: number;
  transitions: number;
  handoverTo?: string;
  switchoverTo?: string;
  switchoverRefused?: string;
}

export interface AgentPodStatus {
  pod: string;
  /** follow, lead, refuse, wait, fence... (src/lib/ha/types.ts Action). */
  decision?: string;
  step?: string;
  reason?: string;
  /** The local postgres as the agent saw it. */
  role?: string;
  error?: string;
}

export interface AgentsStatus {
  lease: AgentLeaseStatus;
  pods: AgentPodStatus[];
}

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

export async function collectAgents(
  kube: Kube,
  ns: string,
  name: string,
  running: string[],
  timeoutMs: number,
): Promise<AgentsStatus | undefined> {
  const lease = await kube.find<LeaseObject>(LEASE, ns, leaseName(name));
  if (!lease) return undefined;
  const snap = snapshotOf(lease);
  const pods = await Promise.all(running.map((pod) => agentState(kube, ns, pod, timeoutMs)));
  return {
    lease: {
      ...(snap.holder ? { holder: podOfHolder(snap.holder) } : {}),
      ...(lease.spec?.renewTime ? { renewTime: lease.spec.renewTime } : {}),
      ...(lease.spec?.leaseDurationSeconds !== undefined
        ? { leaseDurationSeconds: lease.spec.leaseDurationSeconds }
        : {}),
      transitions: snap.transitions,
      ...(snap.handoverTo ? { handoverTo: snap.handoverTo } : {}),
      ...(snap.switchover ? { switchoverTo: snap.switchover.to } : {}),
      ...(snap.switchoverRefused ? { switchoverRefused: snap.switchoverRefused } : {}),
    },
    pods,
  };
}

async function agentState(
  kube: Kube,
  ns: string,
  pod: string,
  timeoutMs: number,
): Promise<AgentPodStatus> {
  try {
    const r = await kube.exec(ns, pod, PG_CONTAINER, ['cat', `${AgentPaths.haDir}/agent-state`], {
      timeoutMs,
    });
    if (r.exitCode !== 0) return { pod, error: 'no decision yet (agent-state not written)' };
    return { pod, ...parseAgentState(r.stdout) };
  } catch (err) {
    return { pod, error: (err as Error).message };
  }
}

/** One line of JSON, as src/agent/files.ts writes it; anything else is an error. */
export function parseAgentState(text: string): Omit<AgentPodStatus, 'pod'> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'agent-state is not JSON' };
  }
  if (typeof v !== 'object' || v === null) return { error: 'agent-state is not an object' };
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] as string } : {});
  return { ...str('decision'), ...str('step'), ...str('reason'), ...str('role') };
}
