/** What every failover module gets: the client, where the cluster is, time, cancellation, progress. */
import type { Clock, Kube } from '../kube/index.js';

export type ProgressEvent =
  | { type: 'step-start'; step: string; title: string }
  | { type: 'step-done'; step: string; title: string; ms: number; detail?: string }
  | { type: 'step-skip'; step: string; title: string }
  | { type: 'info'; message: string }
  | { type: 'warn'; message: string };

export interface FailoverContext {
  kube: Kube;
  namespace: string;
  /** The cluster's name (StatefulSet, Services, record NAME-kpg). */
  cluster: string;
  clock: Clock;
  /** Fires on Ctrl-C or when the lease is lost: steps stop at the next wait. */
  signal?: AbortSignal;
  onEvent?: (e: ProgressEvent) => void;
  /** Who we are in the Lease and the record. */
  holder: string;
  /** Test hook: die (SIGKILL-like) right after this step is recorded. */
  crashAfter?: string;
  crash?: () => void;
}

export const CONTAINER = 'postgres';

export function emit(ctx: FailoverContext, e: ProgressEvent): void {
  ctx.onEvent?.(e);
}

/** Pod names of a StatefulSet: NAME-0 .. NAME-(n-1). */
export function podName(cluster: string, ordinal: number): string {
  return `${cluster}-${ordinal}`;
}
