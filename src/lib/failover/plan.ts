/**
 * Pure planning: judge the primary, rank the standbys, pick the target and
 * decide whether to refuse. No I/O; everything comes from MemberState.
 */
import { FailoverRefusedError } from './errors.js';
import { formatBytes, formatLsn, lsnDistance, maxLsn, type Lsn } from './lsn.js';
import type { Candidate, MemberState, Plan, PlanOptions, PrimaryHealth } from './types.js';

/** Default --max-lag: 1 MiB. */
export const DEFAULT_MAX_LAG = 1024n * 1024n;

/** How the recorded primary is doing, and why we think so. */
export function judgePrimary(
  primary: MemberState | undefined,
  standbys: MemberState[],
): { health: PrimaryHealth; detail: string } {
  if (!primary?.exists) return { health: 'down', detail: 'its pod does not exist' };
  if (!primary.containerRunning) return { health: 'down', detail: 'its container is not running' };
  if (!primary.probed) return judgeUnprobed(primary, standbys);
  if (!primary.postmaster) return { health: 'down', detail: 'postgres is not running' };
  if (!primary.accepts)
    return { health: 'not-primary', detail: 'postgres does not accept connections (starting?)' };
  if (primary.inRecovery) return { health: 'not-primary', detail: 'it runs as a standby' };
  // The standbys' own attempt to connect is what counts: behind a partition the
  // primary's pg_stat_replication still says "streaming" until wal_sender_timeout.
  const probedStandbys = standbys.filter((s) => s.reachesPrimary !== undefined);
  if (probedStandbys.length > 0) {
    return probedStandbys.some((s) => s.reachesPrimary)
      ? { health: 'healthy', detail: 'it serves writes' }
      : { health: 'unreachable', detail: 'no standby can reach it over the pod network' };
  }
  return { health: 'healthy', detail: 'it serves writes (no standby could test the network path)' };
}

/**
 * A primary kpg could not probe. The failed exec (403, a broken or hung
 * API→kubelet tunnel) is kpg's own path into the pod: when a standby still
 * gets an answer from postgres on its port, postgres is alive and may be
 * serving, and killing it on that guess would be the outage. Otherwise a
 * timeout means hung (frozen, overloaded) and a failed exec down.
 */
function judgeUnprobed(
  primary: MemberState,
  standbys: MemberState[],
): { health: PrimaryHealth; detail: string } {
  const why = primary.probeError ?? 'unknown error';
  const reaching = standbys.filter((s) => s.reachesPrimary === true).map((s) => s.pod);
  if (reaching.length > 0) {
    return {
      health: 'unknown',
      detail: `kpg cannot probe it (${why}), but postgres answers ${reaching.join(', ')} on its port: it may be serving`,
    };
  }
  if (primary.probeFailure === 'timeout') {
    return { health: 'hung', detail: 'it did not answer in time (frozen?)' };
  }
  return { health: 'down', detail: `exec failed: ${why}` };
}

/** True for a standby kpg may promote (its own view; lag is judged separately). */
function standbyProblem(m: MemberState): string | undefined {
  if (!m.exists) return 'its pod does not exist';
  if (m.noFailover) return 'its pod is annotated kpg.io/nofailover: "true"';
  if (!m.containerRunning) return 'its container is not running';
  if (!m.probed) return `it does not answer (${m.probeError ?? 'exec failed'})`;
  if (!m.postmaster) return 'postgres is not running';
  if (!m.standbySignal && m.inRecovery !== true) return 'it is not a standby';
  if (m.accepts && m.inRecovery === false) return 'it is not in recovery';
  if (m.startState && m.startState !== 'running') return `it is still starting (${m.startState})`;
  if (m.receiveLsn === undefined) return 'its WAL position is unknown';
  return undefined;
}

/** The WAL position that counts for a candidate: what it has received and flushed. */
function position(m: MemberState): Lsn | undefined {
  return maxLsn(m.receiveLsn, m.replayLsn);
}

export function rankCandidates(standbys: MemberState[], reference: Lsn | undefined): Candidate[] {
  const list = standbys.map((m): Candidate => {
    const reason = standbyProblem(m);
    const pos = position(m);
    return {
      pod: m.pod,
      eligible: reason === undefined,
      ...(reason ? { reason } : {}),
      ...(m.receiveLsn !== undefined ? { receiveLsn: m.receiveLsn } : {}),
      ...(m.replayLsn !== undefined ? { replayLsn: m.replayLsn } : {}),
      ...(reference !== undefined && pos !== undefined
        ? { lagBytes: lsnDistance(reference, pos) }
        : {}),
    };
  });
  return list.sort(compareCandidates);
}

/** Eligible first; then highest received, then highest replayed; then by name. */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1;
  const ra = a.receiveLsn ?? -1n;
  const rb = b.receiveLsn ?? -1n;
  if (ra !== rb) return ra > rb ? -1 : 1;
  const pa = a.replayLsn ?? -1n;
  const pb = b.replayLsn ?? -1n;
  if (pa !== pb) return pa > pb ? -1 : 1;
  return a.pod.localeCompare(b.pod, 'en', { numeric: true });
}

export interface PlanInput {
  recordPrimary: string;
  members: MemberState[];
  options: PlanOptions;
}

/**
 * The plan, or a FailoverRefusedError saying why not. A healthy primary means
 * a switchover (nothing acknowledged can be lost: kpg waits for the target);
 * any other state a failover, where the target's lag is what may be lost.
 */
export function planOperation(input: PlanInput): Plan {
  const { recordPrimary, members, options } = input;
  const primary = members.find((m) => m.pod === recordPrimary);
  const standbys = members.filter((m) => m.pod !== recordPrimary);
  const { health, detail } = judgePrimary(primary, standbys);
  if (health === 'unknown') {
    throw new FailoverRefusedError(
      `the state of the primary ${recordPrimary} is unknown: ${detail}; refusing to fail it over`,
      {
        reason: 'primary-unknown',
        suggestions: [
          'check that you may exec into its pods (kubectl auth can-i create pods/exec) and that kubectl exec works, then run kpg failover again',
        ],
      },
    );
  }
  const kind = health === 'healthy' ? 'switchover' : 'failover';
  const warnings: string[] = [];

  const { reference, referenceSource, primaryLsn } = referenceOf(primary, standbys);
  if (kind === 'failover' && primaryLsn === undefined) {
    warnings.push(
      options.synchronous
        ? `the old primary's last LSN is unknown: lag is measured against the most advanced standby, which holds every acknowledged commit (synchronous)`
        : `the old primary's last LSN is unknown: lag is measured against the most advanced standby; WAL only the old primary had is copied from its volume once it is fenced, and kpg refuses unless --force if that volume cannot be read`,
    );
  }

  const candidates = rankCandidates(standbys, reference);
  if (kind === 'switchover') markNotStreaming(candidates, primary);
  const target = pickTarget(candidates, options, kind);
  const lag = target.lagBytes ?? 0n;
  if (lag > options.maxLagBytes && !options.force) {
    throw lagRefusal(target, {
      lag,
      reference,
      referenceSource,
      kind,
      maxLag: options.maxLagBytes,
    });
  }
  if (options.synchronous && kind === 'failover')
    checkSynchronous(target, candidates, options, warnings);
  const forced = options.force && lag > options.maxLagBytes;
  return {
    kind,
    oldPrimary: recordPrimary,
    oldPrimaryHealth: health,
    healthDetail: detail,
    target: target.pod,
    why: whyTarget(candidates, options, kind),
    ...(reference !== undefined ? { referenceLsn: reference } : {}),
    referenceSource,
    ...(target.receiveLsn !== undefined ? { targetLsn: target.receiveLsn } : {}),
    lagBytes: lag,
    expectedLossBytes: kind === 'switchover' ? 0n : lag,
    forced,
    candidates,
    warnings,
  };
}

/** What lag is measured against: the old primary's LSN when it answers, else the most advanced standby's. */
function referenceOf(
  primary: MemberState | undefined,
  standbys: MemberState[],
): { reference?: Lsn; referenceSource: Plan['referenceSource']; primaryLsn?: Lsn } {
  const primaryLsn =
    primary?.accepts && primary.inRecovery === false ? primary.currentLsn : undefined;
  const bestStandby = maxLsn(...standbys.map(position));
  const reference = maxLsn(primaryLsn, bestStandby);
  let referenceSource: Plan['referenceSource'] = 'unknown';
  if (primaryLsn !== undefined && (bestStandby === undefined || primaryLsn >= bestStandby)) {
    referenceSource = 'old primary';
  } else if (bestStandby !== undefined) {
    referenceSource = 'most advanced standby';
  }
  return {
    referenceSource,
    ...(reference !== undefined ? { reference } : {}),
    ...(primaryLsn !== undefined ? { primaryLsn } : {}),
  };
}

function lagRefusal(
  target: Candidate,
  m: { lag: bigint; reference?: Lsn; referenceSource: string; kind: string; maxLag: bigint },
): FailoverRefusedError {
  return new FailoverRefusedError(
    `${target.pod} is ${formatBytes(m.lag)} (${m.lag} bytes) behind the ${m.referenceSource}` +
      ` (${fmt(target.receiveLsn)} vs ${fmt(m.reference)}), more than --max-lag ${m.maxLag} bytes`,
    {
      reason: 'lag',
      suggestions: [
        m.kind === 'failover'
          ? `--force promotes it anyway: up to ${m.lag} bytes of acknowledged commits may be lost`
          : '--force switches over anyway (kpg waits for it to catch up: nothing is lost, the pause is longer)',
      ],
    },
  );
}

/** In a switchover the target must be streaming: only then does it get the old primary's last WAL. */
function markNotStreaming(candidates: Candidate[], primary: MemberState | undefined): void {
  const peers = primary?.peers ?? [];
  for (const c of candidates) {
    if (!c.eligible) continue;
    const peer = peers.find((p) => p.name === c.pod);
    if (peer?.state !== 'streaming') {
      c.eligible = false;
      c.notStreaming = true;
      c.reason = `it is not streaming from the primary (${peer ? peer.state : 'not connected'})`;
    }
  }
  candidates.sort(compareCandidates);
}

function pickTarget(candidates: Candidate[], options: PlanOptions, kind: string): Candidate {
  if (options.to !== undefined) {
    const c = candidates.find((x) => x.pod === options.to);
    if (!c) {
      throw new FailoverRefusedError(`--to ${options.to}: no such standby in this cluster`, {
        reason: 'target',
        suggestions: [`standbys: ${candidates.map((x) => x.pod).join(', ') || 'none'}`],
      });
    }
    if (!c.eligible) {
      throw new FailoverRefusedError(
        `--to ${c.pod}: not a healthy standby: ${c.reason ?? 'unknown'}`,
        {
          reason: 'target',
          waitingForStreaming: c.notStreaming === true,
          suggestions: suggestOthers(candidates, c.pod),
        },
      );
    }
    return c;
  }
  const best = candidates[0];
  if (!best?.eligible) {
    const why = candidates.map((c) => `${c.pod}: ${c.reason ?? 'unknown'}`).join('; ');
    throw new FailoverRefusedError(
      `no standby can be promoted for a ${kind}${why ? ` (${why})` : ''}`,
      {
        reason: 'no-candidate',
        waitingForStreaming: candidates.some((c) => c.notStreaming === true),
        suggestions: ['wait for a standby to be ready and streaming, then run kpg failover again'],
      },
    );
  }
  return best;
}

function suggestOthers(candidates: Candidate[], except: string): string[] {
  const ok = candidates.filter((c) => c.eligible && c.pod !== except).map((c) => c.pod);
  return ok.length > 0 ? [`healthy standbys: ${ok.join(', ')}`] : [];
}

/**
 * ANY 1 (*): every acknowledged commit is flushed on at least one standby, and
 * each standby's WAL is a prefix of the primary's, so the standby with the
 * highest flushed LSN has every acknowledged commit. Anything else may lose one.
 */
function checkSynchronous(
  target: Candidate,
  candidates: Candidate[],
  options: PlanOptions,
  warnings: string[],
): void {
  // The standby that acknowledged the last commits may be the one kpg cannot see.
  const unknown = candidates.filter((c) => c.pod !== target.pod && c.receiveLsn === undefined);
  if (unknown.length > 0) {
    const list = unknown.map((c) => `${c.pod} (${c.reason ?? 'position unknown'})`).join(', ');
    const msg = `streamingMode synchronous: the WAL position of ${list} is unknown: it may be the standby that holds the last acknowledged commits, which ${target.pod} may lack`;
    if (!options.force) {
      throw new FailoverRefusedError(msg, {
        reason: 'position-unknown',
        suggestions: [
          'bring that standby back (or wait for it to answer) and run kpg failover again',
          '--force promotes without it: acknowledged commits may be lost',
        ],
      });
    }
    warnings.push(msg);
  }
  const best = maxLsn(
    ...candidates.filter((c) => c.receiveLsn !== undefined).map((c) => c.receiveLsn),
  );
  if (best === undefined || target.receiveLsn === undefined || target.receiveLsn >= best) return;
  const behind = lsnDistance(best, target.receiveLsn);
  const msg = `streamingMode synchronous: ${target.pod} has flushed ${fmt(target.receiveLsn)}, ${behind} bytes less than the most advanced standby (${fmt(best)}): acknowledged commits may be missing`;
  if (!options.force)
    throw new FailoverRefusedError(msg, {
      reason: 'sync-behind',
      suggestions: suggestOthers(candidates, target.pod),
    });
  warnings.push(msg);
}

function whyTarget(candidates: Candidate[], options: PlanOptions, kind: string): string {
  if (options.to !== undefined) return `chosen with --to`;
  const n = candidates.filter((c) => c.eligible).length;
  const what = options.synchronous ? 'highest flushed LSN' : 'most advanced (highest received LSN)';
  return `${what} of ${n} healthy standby${n === 1 ? '' : 's'}${kind === 'switchover' ? ' streaming from the primary' : ''}`;
}

function fmt(l: Lsn | undefined): string {
  return l === undefined ? 'unknown' : formatLsn(l);
}
