/**
 * The cluster's record: a ConfigMap `NAME-kpg` kept in the cluster itself, so
 * every kpg command (from any machine) and every pod at start knows which pod
 * is primary, the timeline, the applied spec, the history of role changes and
 * any operation left unfinished. Pure parsing and serialising; no I/O.
 */
import { UnsafeStateError } from '../errors.js';

export interface HistoryEntry {
  /** RFC 3339 time the change completed. */
  time: string;
  reason: 'switchover' | 'failover' | string;
  oldPrimary: string;
  newPrimary: string;
  timeline: number;
  /** The new primary's LSN at promotion, e.g. "0/3000148". */
  lsn?: string;
  /** An agent's change: why it took over (its decision's reason). */
  cause?: string;
  /** An agent's change: ms from the old holder's last lease change it saw to the new timeline. */
  durationMs?: number;
}

/** An operation in progress: its plan and the steps already completed. */
export interface PendingOperation {
  id: string;
  kind: 'switchover' | 'failover';
  startedAt: string;
  holder: string;
  oldPrimary: string;
  newPrimary: string;
  completedSteps: string[];
  [extra: string]: unknown;
}

export interface ClusterRecord {
  primary: string;
  timeline: number;
  /** The applied manifest as YAML. */
  spec: string;
  generation: number;
  history: HistoryEntry[];
  operation?: PendingOperation;
  /**
   * The system identifier of the database the cluster was bootstrapped with
   * (written by the first primary's agent): from then on no pod initdb's an
   * empty data directory.
   */
  bootstrapped?: string;
  /**
   * Maintenance mode (kpg pause; KubeDB's `halted`, Patroni's `pause`): when
   * it began, RFC 3339. While set the agents neither fail over nor fence.
   */
  paused?: string;
}

/** The record is missing or malformed: kpg will not act on it (exit 9). */
export class RecordFormatError extends UnsafeStateError {}

/**
 * A member name as the record may hold it: a pod of the cluster, `NAME-N`.
 * Anything else (`..`, a path, another cluster's pod) is refused: these names
 * become API paths of deletes and patches, so whoever can edit the ConfigMap
 * must not be able to point an admin's next command at other objects.
 */
export function checkMember(name: unknown, what: string, cluster?: string): string {
  const ok =
    typeof name === 'string' &&
    name.length <= 63 &&
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?-\d+$/.test(name) &&
    (cluster === undefined ||
      (name.startsWith(`${cluster}-`) && /^\d+$/.test(name.slice(cluster.length + 1))));
  if (!ok) {
    throw new RecordFormatError(
      `the record names ${what} ${JSON.stringify(name)}, which is not a pod of ${cluster === undefined ? 'the cluster' : `cluster ${cluster}`} (NAME-N): refusing to act on it`,
      {
        suggestions: [
          'check who changed the ConfigMap NAME-kpg (kubectl get configmap NAME-kpg -o yaml)',
        ],
      },
    );
  }
  return name;
}

export function parseRecord(
  data: Record<string, string> | undefined,
  cluster?: string,
): ClusterRecord {
  if (!data || typeof data.primary !== 'string' || data.primary === '') {
    throw new RecordFormatError('the record has no primary');
  }
  const operation = data.operation
    ? parseJson<PendingOperation>(data.operation, undefined as never)
    : undefined;
  if (operation) {
    checkMember(operation.oldPrimary, 'as the old primary of its operation', cluster);
    checkMember(operation.newPrimary, 'as the new primary of its operation', cluster);
  }
  return {
    primary: checkMember(data.primary, 'as primary', cluster),
    timeline: toInt(data.timeline, 1),
    spec: data.spec ?? '',
    generation: toInt(data.generation, 1),
    history: parseJson<HistoryEntry[]>(data.history, []),
    ...(operation ? { operation } : {}),
    ...(data.bootstrapped ? { bootstrapped: data.bootstrapped } : {}),
    ...(data.paused ? { paused: data.paused } : {}),
  };
}

/** The ConfigMap `data` for a record; `operation` is removed when absent. */
export function serializeRecord(r: ClusterRecord): Record<string, string> {
  const data: Record<string, string> = {
    primary: r.primary,
    timeline: String(r.timeline),
    spec: r.spec,
    generation: String(r.generation),
    history: JSON.stringify(r.history),
  };
  if (r.operation) data.operation = JSON.stringify(r.operation);
  if (r.bootstrapped) data.bootstrapped = r.bootstrapped;
  if (r.paused) data.paused = r.paused;
  return data;
}

function toInt(v: string | undefined, fallback: number): number {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) ? n : fallback;
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new RecordFormatError(`the record holds malformed JSON: ${(err as Error).message}`);
  }
}
