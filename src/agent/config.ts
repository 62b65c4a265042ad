/**
 * The agent's configuration: environment variables only (the rendered pod
 * sets them; README.md beside this file lists them). Parsing is pure and
 * collects every problem, so a misrendered pod says all that is wrong at once.
 */
import {
  DEFAULT_LEADER_ELECTION,
  timingOf,
  timingProblems,
  type Timing,
} from '../lib/ha/timing.js';
import type { Identity } from '../lib/ha/identity.js';

export interface AgentConfig {
  cluster: string;
  namespace: string;
  self: Identity;
  /** This pod's IP: the peers' endpoint listens on it. */
  podIp: string;
  port: number;
  pg: { socketDir: string; port: number; user: string; database: string; major: number };
  /** The emptyDir shared with the postgres container (fence deadline, start gate, reports). */
  haDir: string;
  /** Below PostgreSQL 12 the standby promotes on this file (recovery.conf trigger_file). */
  triggerFile: string;
  timing: Timing;
  maximumLagBytes: bigint;
  synchronous: boolean;
  handoverTimeoutMs: number;
  /** Below 13 the agent itself gives up a slot further behind than this (max_slot_wal_keep_size's bytes). */
  slotWalKeepBytes: bigint;
  api: { host: string; port: number; serviceAccountDir: string; timeoutMs: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

/** PG_MAJOR "9.6" → 906, "15" → 1500 (as start.sh's pg_num). */
export function pgNum(major: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(major.trim());
  if (!m) return undefined;
  const a = Number(m[1]);
  return m[2] !== undefined ? a * 100 + Number(m[2]) : a * 100;
}

export function parseConfig(env: Env): AgentConfig {
  const problems: string[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') problems.push(`${name} is required`);
    return v ?? '';
  };
  const int = (name: string, fallback: number, min = 0): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${name} must be an integer of at least ${min}, not ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };
  const le = {
    leaseDurationSeconds: int(
      'KPG_LEASE_DURATION_SECONDS',
      DEFAULT_LEADER_ELECTION.leaseDurationSeconds,
      1,
    ),
    renewDeadlineSeconds: int(
      'KPG_RENEW_DEADLINE_SECONDS',
      DEFAULT_LEADER_ELECTION.renewDeadlineSeconds,
      1,
    ),
    retryPeriodSeconds: int(
      'KPG_RETRY_PERIOD_SECONDS',
      DEFAULT_LEADER_ELECTION.retryPeriodSeconds,
      1,
    ),
  };
  for (const p of timingProblems(le)) problems.push(p.message);
  const major = env.KPG_PG_MAJOR ?? '';
  const num = pgNum(major);
  if (num === undefined)
    problems.push(
      `KPG_PG_MAJOR must be a PostgreSQL major such as 15 or 9.6, not ${JSON.stringify(major)}`,
    );
  const mode = env.KPG_STREAMING_MODE ?? 'asynchronous';
  if (mode !== 'asynchronous' && mode !== 'synchronous') {
    problems.push(
      `KPG_STREAMING_MODE must be asynchronous or synchronous, not ${JSON.stringify(mode)}`,
    );
  }
  const lag =
    env.KPG_MAXIMUM_LAG_BEFORE_FAILOVER ?? String(DEFAULT_LEADER_ELECTION.maximumLagBeforeFailover);
  if (!/^\d+$/.test(lag))
    problems.push(
      `KPG_MAXIMUM_LAG_BEFORE_FAILOVER must be a number of bytes, not ${JSON.stringify(lag)}`,
    );
  const haDir = env.KPG_HA_DIR ?? '/run/kpg';
  const timing = timingOf(le);
  const config: AgentConfig = {
    cluster: need('KPG_CLUSTER'),
    namespace: need('POD_NAMESPACE'),
    self: { pod: need('POD_NAME'), uid: need('POD_UID') },
    podIp: need('POD_IP'),
    port: int('KPG_AGENT_PORT', 8008, 1),
    pg: {
      socketDir: env.KPG_PG_SOCKET_DIR ?? '/var/run/postgresql',
      port: int('KPG_PG_PORT', 5432, 1),
      user: env.KPG_PG_USER ?? 'postgres',
      database: env.KPG_PG_DATABASE ?? 'postgres',
      major: num ?? 0,
    },
    haDir,
    triggerFile: env.KPG_TRIGGER_FILE ?? `${haDir}/promote`,
    timing,
    maximumLagBytes: /^\d+$/.test(lag) ? BigInt(lag) : 0n,
    synchronous: mode === 'synchronous',
    handoverTimeoutMs: int('KPG_HANDOVER_TIMEOUT_SECONDS', 10, 1) * 1000,
    slotWalKeepBytes: BigInt(int('KPG_SLOT_WAL_KEEP_MB', 1024, 1)) * 1024n * 1024n,
    api: {
      host: need('KUBERNETES_SERVICE_HOST'),
      port: int('KUBERNETES_SERVICE_PORT', 443, 1),
      serviceAccountDir:
        env.KPG_SERVICEACCOUNT_DIR ?? '/var/run/secrets/kubernetes.io/serviceaccount',
      // Several tries fit in one renew deadline.
      timeoutMs: int(
        'KPG_API_TIMEOUT_MS',
        Math.max(500, Math.floor(timing.renewDeadlineMs / 3)),
        100,
      ),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
