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
  if (!primary.probed) {
    const hung = /timed out/i.test(primary.probeError ?? '');
    return {
      health: hung ? 'hung' : 'down',
      detail: hung
        ? 'it did not answer in time (frozen?)'
        : `exec failed: ${primary.probeError ?? 'unknown error'}`,
    };
  }
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

/** True for a standby kpg may promote (its own view; lag is judged separately). */
function standbyProblem(m: MemberState): string | undefined {
  if (!m.exists) return 'its pod does not exist';
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
        suggestions: [`standbys: ${candidates.map((x) => x.pod).join(', ') || 'none'}`],
      });
    }
    if (!c.eligible) {
      throw new FailoverRefusedError(
        `--to ${c.pod}: not a healthy standby: ${c.reason ?? 'unknown'}`,
        {
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
  const best = maxLsn(
    ...candidates.filter((c) => c.receiveLsn !== undefined).map((c) => c.receiveLsn),
  );
  if (best === undefined || target.receiveLsn === undefined || target.receiveLsn >= best) return;
  const behind = lsnDistance(best, target.receiveLsn);
  const msg = `streamingMode synchronous: ${target.pod} has flushed ${fmt(target.receiveLsn)}, ${behind} bytes less than the most advanced standby (${fmt(best)}): acknowledged commits may be missing`;
  if (!options.force)
    throw new FailoverRefusedError(msg, { suggestions: suggestOthers(candidates, target.pod) });
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
