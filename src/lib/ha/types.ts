/** What decide() sees and what it answers. Pure data. */
import type { Lsn } from '../failover/lsn.js';
import type { FailsafeHeard } from './failsafe.js';
import type { Identity } from './identity.js';
import type { LeaseSnapshot } from './lease-record.js';
import type { Timing } from './timing.js';

export interface Policy {
  timing: Timing;
  /** spec.leaderElection.maximumLagBeforeFailover, bytes. */
  maximumLagBytes: bigint;
  /** spec.streamingMode synchronous: only a listed synchronous standby may take over. */
  synchronous: boolean;
  /** How long after its walreceiver stopped a standby still counts as streaming (ms). */
  recentStreamingMs: number;
  /** How long the holder's postgres may be down (not answering, not starting) before it gives the lease up (ms). */
  primaryDownMs: number;
  /** How long a holder's postgres may stay in crash recovery (started, not answering yet) before it gives the lease up (ms). */
  primaryRecoveryMs: number;
}

/** The local postgres, as the agent's socket connection saw it. */
export interface LocalState {
  /**
   * primary / standby: answered over the socket (a warm standby: its
   * warm-standby.sh's file); starting: not answering yet
   * while the start script reports progress (initdb, base backup, rewind,
   * crash recovery); down: neither.
   */
  role: 'primary' | 'standby' | 'starting' | 'down';
  timeline?: number;
  /** A primary's flushed LSN; a standby's received-and-flushed LSN. */
  flushLsn?: Lsn;
  replayLsn?: Lsn;
  /** A warm standby (no SQL, so no replay LSN): the end of the WAL on its disk, all a promotion replays. */
  walEnd?: Lsn;
  /** The walreceiver streams now. */
  streaming: boolean;
  /** Monotonic ms when it was last seen streaming. */
  lastStreamingMs?: number;
  /** pg_is_wal_replay_paused(). */
  replayPaused: boolean;
  /** Monotonic ms when postgres last answered as primary (the holder's liveness). */
  lastPrimaryMs?: number;
  /** Monotonic ms since the role has been what it is now. */
  roleSinceMs: number;
  /** starting only: the postmaster runs (crash recovery), rather than the start script preparing. */
  recovering?: boolean;
  /** pg_control_system()'s system_identifier, once postgres answered. */
  systemIdentifier?: string;
  /** What PGDATA holds, as the start script reported it (undefined: unknown). */
  data?: 'primary' | 'standby' | 'empty';
}

/** What a peer's agent answered over its pod IP (or that it did not). */
export interface PeerState {
  pod: string;
  reachable: boolean;
  role?: LocalState['role'];
  timeline?: number;
  flushLsn?: Lsn;
  /** The peer judged itself a candidate (its own rules, on its own view). */
  eligible?: boolean;
  /** The peer holds the lease. */
  holder?: boolean;
  /** The holder's word: these members' slots lost the WAL they need (they must re-clone). */
  reclone?: string[];
}

/** The record ConfigMap NAME-kpg, the parts the agent reads. */
export interface RecordView {
  primary: string;
  timeline: number;
  /** The system identifier the cluster was bootstrapped with; absent: not yet. */
  bootstrapped?: string;
  /** kpg pause: since when (RFC 3339); absent: not paused. */
  paused?: string;
}

/** The lease as observed, or that it could not be read. */
export type LeaseObservation =
  | { readable: false; error: string }
  | {
      readable: true;
      /** Absent: no Lease object exists. */
      snapshot?: LeaseSnapshot;
      /** How long this version has been unchanged on this agent's clock (ms). */
      unchangedForMs: number;
      /** The last time this agent could not read the lease, ended (monotonic ms). */
      outage?: { fromMs: number; toMs: number };
    };

export interface Observed {
  self: Identity;
  policy: Policy;
  lease: LeaseObservation;
  /**
   * The elector's own state: holding, with the renew deadline and since when
   * (monotonic ms). The deadline counts from the newest renewal that landed,
   * or failsafe round every member confirmed (failsafeSentMs), whichever is later.
   */
  holding?: { renewDeadlineMs: number; sinceMs?: number; failsafeSentMs?: number };
  /** The newest failsafe confirmation this member gave (it does not race that holder). */
  failsafe?: FailsafeHeard;
  record?: RecordView;
  local: LocalState;
  peers: PeerState[];
  /** The pod's kubedb.com/role label as last written by this agent. */
  labelled?: 'primary' | 'replica';
  /** This pod is annotated kpg.io/nofailover: "true" (as last listed). */
  noFailover?: boolean;
}

/** Once the lease is ours: the next step of becoming (or staying) primary. */
export type LeadStep =
  /** Record NAME-kpg names another pod: write it (CAS). */
  | 'write-record'
  /** postgres is a standby: pg_promote() (trigger file below 12). */
  | 'promote'
  /** postgres is not running: let the start script start it as primary. */
  | 'start-primary'
  /** Label this pod primary (and the old one replica). */
  | 'label'
  /** The record's timeline lags the promotion's: write it with the history entry. */
  | 'record-timeline'
  /** The record does not say the cluster was bootstrapped yet: write this database's system identifier. */
  | 'record-bootstrap'
  | 'none';

export type Action =
  /** Renew the lease (publishing LSN, timeline, synchronous standbys), then take `step`. */
  | { kind: 'lead'; step: LeadStep; reason: string }
  /** Take the lease (CAS over the version observed). */
  | { kind: 'acquire'; as: 'bootstrap' | 'reclaim' | 'takeover' | 'handover'; reason: string }
  /** Stop renewing and fence postgres now (deadline file in the past). */
  | { kind: 'step-down'; reason: string }
  /** Give the lease up: its postgres is fenced and down. */
  | { kind: 'release'; reason: string }
  /** This postgres runs as primary without the lease: fence it now. */
  | { kind: 'fence'; reason: string }
  /** Another pod holds the lease: stay a standby. */
  | { kind: 'follow'; reason: string }
  /** The lease is free, but another pod goes first (peer ahead, tie, paused). */
  | { kind: 'wait'; reason: string }
  /** The lease is free and this pod may not take it: emit FailoverRefused. */
  | { kind: 'refuse'; reason: string }
  /** The lease cannot be read: change nothing (a holder fences at its renew deadline). */
  | { kind: 'unknown'; reason: string };
