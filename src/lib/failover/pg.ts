/**
 * Commands in the postgres container through the API's exec: the probe
 * (one script for everything the planner needs, pg_waldump included) and
 * pg_ctl; plain SQL goes through the shared src/lib/postgres module.
 */
import { KubeTimeoutError, type ExecResult } from '../kube/index.js';
import { runSql } from '../postgres/index.js';
import { CONTAINER, type FailoverContext } from './context.js';
import { PROBE_SCRIPT, parseProbe } from './probe.js';
import type { MemberState } from './types.js';

export function shell(
  ctx: FailoverContext,
  pod: string,
  script: string,
  opts: { args?: string[]; timeoutMs?: number; stdin?: Buffer; binary?: boolean } = {},
): Promise<ExecResult> {
  return ctx.kube.exec(
    ctx.namespace,
    pod,
    CONTAINER,
    ['bash', '-c', script, 'kpg', ...(opts.args ?? [])],
    {
      timeoutMs: opts.timeoutMs ?? 30_000,
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
      ...(opts.binary ? { binary: true } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
  );
}

/** Runs one statement on the pod's local socket (the shared psql module); throws PsqlError. */
export async function psql(
  ctx: FailoverContext,
  pod: string,
  sql: string,
  timeoutMs = 30_000,
): Promise<string[][]> {
  return runSql(ctx.kube, { ns: ctx.namespace, pod }, [sql], {
    timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

export interface ProbeOptions {
  waldump?: boolean;
  /** A pod IP to test reaching on 5432 from this pod. */
  reach?: string;
  timeoutMs?: number;
}

export type ProbeResult = Pick<MemberState, 'probed' | 'probeError'> & Partial<MemberState>;

/** Probes one pod; a failed or timed-out exec is reported, not thrown. */
export async function probe(
  ctx: FailoverContext,
  pod: string,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  const args = [
    ...(opts.waldump ? ['--waldump'] : []),
    ...(opts.reach ? ['--reach', opts.reach] : []),
  ];
  try {
    const r = await shell(ctx, pod, PROBE_SCRIPT, { args, timeoutMs: opts.timeoutMs ?? 4_000 });
    if (r.exitCode !== 0)
      return {
        probed: false,
        probeFailure: 'exec',
        probeError: r.stderr.trim() || `exit ${r.exitCode}`,
      };
    return { probed: true, ...parseProbe(r.stdout) };
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    if (err instanceof KubeTimeoutError) {
      return { probed: false, probeFailure: 'timeout', probeError: `timed out: ${err.message}` };
    }
    return { probed: false, probeFailure: 'exec', probeError: (err as Error).message };
  }
}
