/**
 * The agent's loop: every retry period read the world (lease, record, local
 * postgres, peers), decide(), act, and log one line when the decision
 * changes. All I/O goes through the interfaces in AgentDeps, so the loop
 * runs in tests against fakes.
 */
import { formatLsn } from '../lib/failover/lsn.js';
import { candidateProblem, candidateViewOf } from '../lib/ha/candidate.js';
import type { HaClock } from '../lib/ha/clock.js';
import { decide, handedOverTo } from '../lib/ha/decide.js';
import { divergedStandby } from '../lib/ha/diverged.js';
import type { LeaseElector } from '../lib/ha/elector.js';
import { failsafePromise, type FailsafeAnswer, type FailsafeRequest } from '../lib/ha/failsafe.js';
import { fenceDeadlineMs } from '../lib/ha/fence.js';
import { confirmsCheckpoint, heldLsn } from '../lib/ha/handover.js';
import { holderOf, podOfHolder } from '../lib/ha/identity.js';
import { recloneReason } from '../lib/ha/slots.js';
import { leadGate, startGate } from '../lib/ha/start-gate.js';
import type { Published } from '../lib/ha/lease-record.js';
import type {
  Action,
  LeaseObservation,
  LocalState,
  Observed,
  PeerState,
  Policy,
} from '../lib/ha/types.js';
import type { AgentEvent, ClusterApi, ConfigMapObject, PodInfo } from './cluster-api.js';
import type { AgentConfig } from './config.js';
import { Failsafe } from './failsafe.js';
import type { SharedFiles } from './files.js';
import {
  Handover,
  switchoverAskedOf,
  switchoverProblem,
  type HandoverDeps,
} from './handing-over.js';
import { observeLocal, type LocalMemory } from './local.js';
import type { PeerClient, PeerReport } from './peers.js';
import type { Postgres } from './postgres.js';
import { SlotKeeper } from './slot-keeper.js';
import { bootstrappedAs, namingPrimary, recordView, recordWith, withTimeline } from './record.js';

export interface AgentDeps {
  config: AgentConfig;
  clock: HaClock;
  elector: LeaseElector;
  cluster: ClusterApi;
  pg: Postgres;
  peers: PeerClient;
  files: SharedFiles;
  log: (line: string) => void;
  /** Waits between the fence and the release: the watchdog's poll interval, and then some. */
  sleep: (ms: number) => Promise<void>;
}

const PEER_REFRESH_CYCLES = 5;
/** At most this many decisions in one cycle (a takeover takes five). */
const MAX_ROUNDS = 6;

/** A reason without its numbers (seconds, bytes, LSNs): the same decision, said again. */
export function reasonKey(reason: string): string {
  return reason.replace(/[0-9A-Fa-f]+\/[0-9A-Fa-f]+|\d+(\.\d+)?/g, '#');
}
const FENCE_SETTLE_MS = 500;

function historyReason(as: 'takeover' | 'handover' | 'switchover' | undefined): string {
  if (as === 'switchover') return 'switchover';
  return as === 'handover' ? 'automatic switchover' : 'automatic failover';
}

/** A pod that is being deleted takes nothing over. */
function stoppingPod(a: Action): Action {
  return a.kind === 'acquire' && a.as !== 'reclaim'
    ? { kind: 'wait', reason: `${a.reason}, but this pod is stopping` }
    : a;
}

/** A landed renewal younger than this spares the next lead step its own (a takeover's quick steps). */
const RENEWED_RECENTLY_MS = 500;

const STANDBY_REPAIRS = [
  { stop: 'rewind', event: 'Rewinding', onceInMs: 60_000, reason: divergedStandby },
  { stop: 'reclone', event: 'Recloning', onceInMs: 300_000, reason: recloneReason },
] as const;

/** Paused: how far ahead the watchdog's deadline is kept (what a dead agent's postgres still runs). */
export const PAUSED_FENCE_MS = 24 * 3600_000;

export class Agent {
  readonly policy: Policy;
  private memory: LocalMemory = { roleSinceMs: 0 };
  private local: LocalState = {
    role: 'down',
    streaming: false,
    replayPaused: false,
    roleSinceMs: 0,
  };
  private recordObject: ConfigMapObject | undefined;
  private pods: PodInfo[] = [];
  private cycles = 0;
  private labelled: 'primary' | 'replica' | undefined;
  private last: { action: Action; key: string; loggedMs: number } | undefined;
  private eligibility: string | undefined = 'not yet observed';
  private published: Published = {};
  /** `switchover`: a handover kpg failover asked for. */
  private takeover:
    | { from: string; reason: string; as: 'takeover' | 'handover' | 'switchover'; sinceMs: number }
    | undefined;
  private handover: Handover | undefined;
  /** The handover the peer list was last read for, and when. */
  private podsReadFor: Handover | undefined;
  private podsReadMs = Number.NEGATIVE_INFINITY;
  private refused = new Set<string>();
  /** Since when the lease cannot be read; the last such time, once over (candidate.ts). */
  private leaseLostAtMs: number | undefined;
  private leaseOutage: { fromMs: number; toMs: number } | undefined;
  private repairAskedMs: Partial<Record<'rewind' | 'reclone', number>> = {};
  private readonly failsafe: Failsafe;
  /** A claim of a free lease is in flight: no failsafe promise may be given meanwhile. */
  private acquiring = false;
  private readonly slots: SlotKeeper;
  private slotCycles = 0;

  constructor(private readonly d: AgentDeps) {
    this.failsafe = new Failsafe({
      clock: d.clock,
      peers: d.peers,
      self: holderOf(d.config.self),
      log: d.log,
    });
    this.slots = new SlotKeeper({
      pg: d.pg,
      self: d.config.self.pod,
      log: d.log,
      // From 13 postgres bounds a slot itself (max_slot_wal_keep_size).
      ...(d.config.pg.major < 1300 ? { keeperLimitBytes: d.config.slotWalKeepBytes } : {}),
    });
    this.policy = {
      timing: d.config.timing,
      maximumLagBytes: d.config.maximumLagBytes,
      synchronous: d.config.synchronous,
      // A standby stops streaming when its primary stops; it must still count
      // once the lease is free: a lease duration after the crash, or after a
      // handover that found no standby to confirm it (handover timeout + lease).
      recentStreamingMs: d.config.handoverTimeoutMs + 2 * d.config.timing.leaseDurationMs,
      // Long enough for a crash and the kubelet's restart; short enough that a
      // postgres kept down fails over well within lease duration + 3 s.
      primaryDownMs: d.config.timing.renewDeadlineMs,
      // Crash recovery of a large database: minutes are normal; a standby takes over after that.
      primaryRecoveryMs: 60_000,
    };
  }

  /**
   * One cycle; returns what was decided last. A takeover's steps (lease,
   * record, promotion, labels, history) follow one another in the same
   * cycle, each decided afresh on a new observation, rather than one per
   * retry period: the primary Service gets its new pod seconds sooner.
   */
  async cycle(): Promise<Action | undefined> {
    let action: Action | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      action = await this.round();
      if (!action || !this.goesOn(action)) break;
    }
    await this.keepSlots();
    return action;
  }

  /** Every cycle on the holder (a new member's slot before it streams), now and then on a standby. */
  private async keepSlots(): Promise<void> {
    if (this.handingOver() || this.pods.length === 0) return;
    const role = this.local.role;
    const primary = role === 'primary' && this.d.elector.holding;
    if (!primary && (role !== 'standby' || this.slotCycles++ % 10 !== 0)) return;
    await this.slots.keep(
      primary ? 'primary' : 'standby',
      this.pods.map((p) => p.name),
      this.local.flushLsn,
    );
  }

  private goesOn(a: Action): boolean {
    if (a.kind === 'acquire') return this.d.elector.holding;
    return a.kind === 'lead' && a.step !== 'none' && a.step !== 'start-primary';
  }

  private async round(): Promise<Action | undefined> {
    const o = await this.observe();
    const stopping = this.d.files.shuttingDown();
    if (
      stopping &&
      !this.handover?.done &&
      this.handover?.to === undefined &&
      this.d.elector.holding
    )
      this.handover ??= new Handover(this.handoverDeps());
    const to = this.handover || !this.d.elector.holding ? undefined : switchoverAskedOf(o);
    if (to !== undefined) {
      // A target missing from a list read before it existed is looked up again.
      if (!this.pods.some((p) => p.name === to)) await this.relistPeers();
      const problem = switchoverProblem(to, o.self.pod, this.pods);
      if (problem) await this.refuseSwitchover(to, problem);
      else this.handover = new Handover(this.handoverDeps(), to);
    }
    if (this.handover && (stopping || this.handover.to !== undefined)) {
      await this.handOver(o);
      return undefined;
    }
    const action = this.d.files.shuttingDown()
      ? stoppingPod(decide(o, this.d.clock.now()))
      : decide(o, this.d.clock.now());
    // Back to normal: a refusal or fence that comes again later is worth an Event again.
    if (action.kind === 'follow' || action.kind === 'lead') this.refused.clear();
    this.note(action, o);
    await this.act(action, o);
    await this.labelStandby(action, o);
    await this.repairStandby(action, o);
    const gate = startGate(action, o);
    const leading = gate === 'primary' || gate === 'bootstrap';
    if (gate !== undefined && !(leading && !this.d.elector.holding)) this.d.files.writeRole(gate);
    return action;
  }

  /** The handover is decided (released or kept): nothing more to do before exiting. */
  handoverSettled(): boolean {
    return this.handover?.done === true;
  }

  /** A handover is being carried out: its steps come quicker than the retry period. */
  handingOver(): boolean {
    return this.handover !== undefined && !this.handover.done;
  }

  private async refuseSwitchover(to: string, problem: string): Promise<void> {
    const reason = `switchover to ${to} refused: ${problem}`;
    this.d.log(reason);
    await this.d.elector.refuseSwitchover(this.published, reason);
    await this.emit({ reason: 'FailoverRefused', type: 'Warning', message: reason });
  }

  /** What GET /state tells the peers. */
  report(): PeerReport {
    const l = this.local;
    return {
      pod: this.d.config.self.pod,
      uid: this.d.config.self.uid,
      role: l.role,
      ...(l.timeline !== undefined ? { timeline: l.timeline } : {}),
      ...(l.flushLsn !== undefined ? { flushLsn: formatLsn(l.flushLsn) } : {}),
      ...(l.replayLsn !== undefined ? { replayLsn: formatLsn(l.replayLsn) } : {}),
      streaming: l.streaming,
      eligible: this.eligibility === undefined,
      ...(this.eligibility ? { reason: this.eligibility } : {}),
      holder: this.d.elector.holding,
      ...(this.d.elector.holding && this.slots.mustReclone().length > 0
        ? { reclone: this.slots.mustReclone() }
        : {}),
      ...(this.last
        ? { decision: { kind: this.last.action.kind, reason: this.last.action.reason } }
        : {}),
    };
  }

  /** GET /checkpoint: has this standby replayed the handing-over primary's shutdown checkpoint? */
  async confirm(cp: { lsn: bigint; timeline: number }) {
    const snap = await this.d.pg.snapshot();
    const { local } = observeLocal(snap, {}, this.memory, this.d.clock.now());
    return {
      pod: this.d.config.self.pod,
      confirmed: confirmsCheckpoint(local, cp),
      ...(heldLsn(local) !== undefined ? { replayLsn: formatLsn(heldLsn(local) ?? 0n) } : {}),
      ...(this.d.files.shuttingDown() ? { stopping: true } : {}),
    };
  }

  /** POST /failsafe: a primary that cannot reach the API server asks this member to confirm it. */
  failsafeAnswer(req: FailsafeRequest): FailsafeAnswer {
    const lease = this.d.elector.observed?.snapshot;
    return this.failsafe.answer(
      {
        holdingOrTaking: this.d.elector.holding || this.acquiring,
        role: this.local.role,
        ...(lease ? { lastLease: lease } : {}),
        ...(this.local.timeline !== undefined ? { timeline: this.local.timeline } : {}),
      },
      req,
    );
  }

  /**
   * The holder's share of the round: its peer list read again now and then
   * (the members failsafe must hear from), and, once a renewal is overdue,
   * a failsafe round, alongside the lease read rather than after it.
   */
  private async holderChores(): Promise<void> {
    if (!this.d.elector.holding) return;
    const refresh = this.cycles++ % PEER_REFRESH_CYCLES === 0 || this.pods.length === 0;
    const sent = this.d.elector.lastRenewalSentMs ?? 0;
    const overdue = this.d.clock.now() - sent >= 1.5 * this.d.config.timing.retryPeriodMs;
    await Promise.all([
      refresh ? this.relistPeers() : undefined,
      overdue
        ? this.failsafe.round(this.pods, this.d.config.self.pod, {
            ...(this.local.timeline !== undefined ? { timeline: this.local.timeline } : {}),
            ...(this.published.lsn !== undefined ? { lsn: this.published.lsn } : {}),
          })
        : undefined,
    ]);
  }

  /** When the newest renewal that landed (or failsafe round all members confirmed) was sent. */
  private holdingSentMs(): number | undefined {
    return this.failsafe.deadlineFrom(this.d.elector.lastRenewalSentMs);
  }

  private async observe(): Promise<Observed> {
    const [lease, record, snap] = await Promise.all([
      this.readLease(),
      this.d.cluster.getRecord().catch(() => this.recordObject),
      this.d.pg.snapshot(),
      this.holderChores(),
    ]);
    this.recordObject = record;
    const now = this.d.clock.now();
    const seen = observeLocal(
      snap,
      { startState: this.d.files.startState(), data: this.d.files.data() },
      this.memory,
      now,
    );
    this.memory = seen.memory;
    this.local = seen.local;
    // Only a running primary's own position is published; never one from an
    // earlier term. A holder whose primary went down says so: it writes nothing.
    if (snap?.role !== 'primary') {
      const down = seen.local.role === 'down' || seen.local.role === 'starting';
      this.published = down && seen.local.lastPrimaryMs !== undefined ? { down: true } : {};
    } else {
      this.published = {
        ...(snap.flushLsn !== undefined ? { lsn: snap.flushLsn } : {}),
        ...(snap.timeline !== undefined ? { timeline: snap.timeline } : {}),
        ...(this.d.config.synchronous ? { synchronous: snap.synchronous } : {}),
      };
    }
    // The holder's decisions never look at peers, nor does a handover's
    // target taking its lease: a dead peer (the stopping primary) would only cost a timeout.
    const handedToMe = handedOverTo(
      lease.readable ? lease.snapshot : undefined,
      this.d.config.self.pod,
    );
    const peers = this.d.elector.holding || handedToMe ? [] : await this.peerStates();
    const rec = recordView(record);
    const sent = this.holdingSentMs();
    const deadline = sent === undefined ? undefined : sent + this.d.config.timing.renewDeadlineMs;
    const since = this.d.elector.heldSinceMs;
    const failsafeMs = this.failsafe.confirmedSentMs;
    const o: Observed = {
      self: this.d.config.self,
      policy: this.policy,
      lease,
      ...(deadline !== undefined
        ? {
            holding: {
              renewDeadlineMs: deadline,
              ...(since !== undefined ? { sinceMs: since } : {}),
              ...(failsafeMs !== undefined ? { failsafeSentMs: failsafeMs } : {}),
            },
          }
        : {}),
      ...(this.failsafe.heard ? { failsafe: this.failsafe.heard } : {}),
      ...(rec ? { record: rec } : {}),
      local: this.local,
      peers,
      ...(this.labelled ? { labelled: this.labelled } : {}),
      ...(this.pods.some((p) => p.name === this.d.config.self.pod && p.noFailover)
        ? { noFailover: true }
        : {}),
    };
    this.eligibility = this.judgeSelf(o, now);
    return o;
  }

  private async readLease(): Promise<LeaseObservation> {
    try {
      await this.d.elector.read();
      const obs = this.d.elector.observed;
      if (this.leaseLostAtMs !== undefined) {
        this.leaseOutage = { fromMs: this.leaseLostAtMs, toMs: this.d.clock.now() };
        this.leaseLostAtMs = undefined;
      }
      return {
        readable: true,
        ...(obs?.snapshot ? { snapshot: obs.snapshot } : {}),
        unchangedForMs: this.d.elector.unchangedForMs(),
        ...(this.leaseOutage ? { outage: this.leaseOutage } : {}),
      };
    } catch (err) {
      this.leaseLostAtMs ??= this.d.clock.now();
      return { readable: false, error: (err as Error).message };
    }
  }

  /** The cluster's pods as the API lists them now; the last list when it cannot be read. */
  private async relistPeers(): Promise<void> {
    this.pods = await this.d.cluster.listPeers().catch(() => this.pods);
  }

  private async peerStates(): Promise<PeerState[]> {
    if (this.cycles++ % PEER_REFRESH_CYCLES === 0 || this.pods.length === 0) {
      await this.relistPeers();
    }
    const others = this.pods.filter((p) => p.name !== this.d.config.self.pod);
    return Promise.all(others.map((p) => this.d.peers.state(p.name, p.ip)));
  }

  /** This pod's own candidacy, for the peers (undefined: eligible). */
  private judgeSelf(o: Observed, now: number): string | undefined {
    // A peer that waits for this pod must not wait for one that cannot take the lease.
    if (!o.lease.readable) return `it cannot read the lease (${o.lease.error})`;
    return candidateProblem(
      candidateViewOf(o, o.lease.readable ? o.lease.snapshot : undefined),
      now,
    );
  }

  /** One line per decision: when it changes, and every 30 s while it holds. */
  private note(action: Action, o: Observed): void {
    const key = `${action.kind}:${'step' in action ? action.step : ''}:${'as' in action ? action.as : ''}:${reasonKey(action.reason)}`;
    const now = this.d.clock.now();
    if (this.last?.key === key && now - this.last.loggedMs < 30_000) {
      this.last = { ...this.last, action };
      return;
    }
    this.last = { action, key, loggedMs: now };
    const detail = 'step' in action ? ` ${action.step}` : 'as' in action ? ` ${action.as}` : '';
    this.d.log(`${action.kind}${detail}: ${action.reason} [${o.local.role}]`);
    this.d.files.writeAgentState({
      decision: action.kind,
      ...('step' in action ? { step: action.step } : {}),
      reason: action.reason,
      role: o.local.role,
    });
  }

  private async act(a: Action, o: Observed): Promise<void> {
    switch (a.kind) {
      case 'lead':
        return this.lead(a.step, o);
      case 'acquire':
        return this.acquire(a, o);
      case 'step-down':
        this.d.elector.stepDown();
        this.fence();
        return this.emit({
          reason: 'Fenced',
          type: 'Warning',
          message: `stepped down: ${a.reason}`,
        });
      case 'release':
        this.fence();
        await this.d.sleep(FENCE_SETTLE_MS);
        await this.d.elector.release();
        return this.emit({ reason: 'Fenced', type: 'Warning', message: a.reason });
      case 'fence':
        this.fence();
        return this.emitOnce({ reason: 'Fenced', type: 'Warning', message: a.reason });
      case 'refuse':
        return this.emitOnce({ reason: 'FailoverRefused', type: 'Warning', message: a.reason });
      case 'follow':
      case 'wait':
      case 'unknown':
        return;
    }
  }

  private fence(): void {
    this.d.files.fenceNow();
  }

  private async acquire(a: Extract<Action, { kind: 'acquire' }>, o: Observed): Promise<void> {
    const snap = o.lease.readable ? o.lease.snapshot : undefined;
    const before = snap?.holder;
    // A failsafe yes given since this cycle's observation holds too.
    const promised =
      a.as === 'takeover' && snap
        ? failsafePromise(
            this.failsafe.heard,
            snap,
            this.d.clock.now(),
            this.d.config.timing.leaseDurationMs,
          )
        : undefined;
    if (promised !== undefined) {
      this.d.log(
        `acquire ${a.as}: not now (failsafe: confirmed ${before ?? 'its holder'} just now)`,
      );
      return;
    }
    this.acquiring = true;
    // A running primary publishes its own position; anyone else keeps what the lease says.
    const r = await this.d.elector
      .claim(o.local.role === 'primary' ? this.published : {})
      .finally(() => (this.acquiring = false));
    if (!r.ok) {
      this.d.log(`acquire ${a.as}: lost (${r.why}: ${r.error.message})`);
      return;
    }
    if (a.as === 'takeover' || a.as === 'handover') {
      const asked = o.lease.readable && o.lease.snapshot?.handoverReason === 'switchover';
      this.takeover = {
        from: before ? podOfHolder(before) : (o.record?.primary ?? 'unknown'),
        reason: a.reason,
        as: a.as === 'handover' && asked ? 'switchover' : a.as,
        // The old holder's last change of the lease this pod saw: where the outage began.
        sinceMs: this.d.clock.now() - (o.lease.readable ? o.lease.unchangedForMs : 0),
      };
    }
    this.armFence(o);
  }

  private renewedWithin(ms: number): boolean {
    const sent = this.d.elector.lastRenewalSentMs;
    return this.d.elector.holding && sent !== undefined && this.d.clock.now() - sent < ms;
  }

  private armFence(o: Observed): void {
    // The deadline first: the start gate may open only once the fence is armed.
    if (this.extendFence()) this.d.files.writeRole(leadGate(o));
  }

  /** The fence deadline after the newest landed renewal (or confirmed failsafe round); false when nothing is held. */
  private extendFence(): boolean {
    const sent = this.holdingSentMs();
    if (sent === undefined) return false;
    // Paused: postgres keeps its role whatever the lease does; a dead agent's for a day.
    const paused = recordView(this.recordObject)?.paused !== undefined;
    this.d.files.writeDeadline(
      paused ? this.d.clock.now() + PAUSED_FENCE_MS : fenceDeadlineMs(sent, this.d.config.timing),
    );
    return true;
  }

  private async lead(step: string, o: Observed): Promise<void> {
    // A takeover's steps follow one another at once: a renewal that landed
    // moments ago holds for them (the fence counts from it), and one PUT less
    // per step is a quicker primary. Otherwise every step renews first.
    if (
      !this.renewedWithin(Math.min(RENEWED_RECENTLY_MS, this.d.config.timing.retryPeriodMs / 2))
    ) {
      const r = await this.d.elector.claim(this.published);
      // The fence deadline stays where the last landed renewal put it, or
      // where the last failsafe round every member confirmed put it.
      if (!r.ok) {
        this.extendFence();
        return;
      }
    }
    this.armFence(o);
    switch (step) {
      case 'write-record':
        return this.writeRecord(namingPrimary(o.self.pod));
      case 'promote':
        return this.d.pg
          .promote()
          .catch((err: Error) => this.d.log(`promote failed: ${err.message}`));
      case 'label':
        return this.label();
      case 'record-timeline':
        return this.recordTimeline(o);
      case 'record-bootstrap':
        if (o.local.systemIdentifier)
          return this.writeRecord(bootstrappedAs(o.local.systemIdentifier));
        return;
      case 'none':
        return this.relabelFormer();
    }
  }

  private async label(): Promise<void> {
    const self = this.d.config.self.pod;
    await this.d.cluster.labelPod(self, 'primary');
    this.labelled = 'primary';
    // Read afresh: the cached list may predate the old primary's own label
    // (a pod that started after the last relist), and a pod left labelled
    // primary keeps the primary Service pointing at it too.
    await this.relistPeers();
    await this.relabelFormer();
    if (this.takeover) {
      await this.emit({
        reason: 'PromotedToPrimary',
        message: `took over from ${this.takeover.from}: ${this.takeover.reason}`,
      });
    }
  }

  /**
   * Any other pod still labelled primary (its relabel failed, or came before
   * it was seen) is labelled replica: the primary Service must select this
   * pod alone. Checked at every cycle of the holder against the peer list,
   * which is read afresh every few cycles.
   */
  private async relabelFormer(): Promise<void> {
    const self = this.d.config.self.pod;
    const formerly = this.pods.filter((p) => p.name !== self && p.role === 'primary');
    await Promise.all(
      formerly.map(async (p) => {
        try {
          await this.d.cluster.labelPod(p.name, 'replica');
          p.role = 'replica';
        } catch (err) {
          this.d.log(`${p.name} is still labelled primary: ${(err as Error).message}`);
        }
      }),
    );
  }

  /**
   * A standby that cannot go on as it is gets its postgres stopped, so that
   * its start script repairs it as it starts over: `rewind` when it is stuck
   * before the new timeline, `reclone` when the primary gave up its WAL.
   * Once per stop: a repair takes a while (a base backup much longer).
   */
  private async repairStandby(a: Action, o: Observed): Promise<void> {
    if (a.kind !== 'follow' || this.d.files.shuttingDown()) return;
    const now = this.d.clock.now();
    for (const r of STANDBY_REPAIRS) {
      const asked = this.repairAskedMs[r.stop];
      if (asked !== undefined && now - asked < r.onceInMs) continue;
      const why = r.reason(o, now);
      if (!why) continue;
      this.repairAskedMs[r.stop] = now;
      this.d.log(`${r.stop}: ${why}`);
      this.d.files.requestStop(true, r.stop);
      await this.emit({ reason: r.event, type: 'Warning', message: why });
      return;
    }
  }

  /** A standby that follows labels its own pod replica (the NAME-replicas Service selects it). */
  private async labelStandby(a: Action, o: Observed): Promise<void> {
    if (o.local.role !== 'standby' || this.labelled === 'replica') return;
    if (a.kind !== 'follow' && a.kind !== 'wait' && a.kind !== 'refuse') return;
    try {
      await this.d.cluster.labelPod(this.d.config.self.pod, 'replica');
      this.labelled = 'replica';
    } catch (err) {
      this.d.log(`label replica not written: ${(err as Error).message}`);
    }
  }

  private async recordTimeline(o: Observed): Promise<void> {
    const timeline = o.local.timeline;
    if (timeline === undefined) return;
    await this.writeRecord(
      withTimeline({
        time: new Date(this.d.clock.wall()).toISOString(),
        // A handover loses nothing, as kpg failover's switchover; one it asked for is one.
        reason: historyReason(this.takeover?.as),
        oldPrimary: this.takeover?.from ?? 'unknown',
        newPrimary: o.self.pod,
        timeline,
        ...(o.local.flushLsn !== undefined ? { lsn: formatLsn(o.local.flushLsn) } : {}),
        ...(this.takeover
          ? {
              cause: this.takeover.reason,
              durationMs: Math.round(this.d.clock.now() - this.takeover.sinceMs),
            }
          : {}),
      }),
    );
    this.takeover = undefined;
  }

  private async writeRecord(change: Parameters<typeof recordWith>[1]): Promise<void> {
    if (!this.recordObject) return;
    try {
      this.recordObject = await this.d.cluster.replaceRecord(recordWith(this.recordObject, change));
    } catch (err) {
      // 409: someone wrote first; the next cycle reads it again and decides anew.
      this.d.log(`record ${this.d.config.cluster}-kpg not written: ${(err as Error).message}`);
    }
  }

  private async handOver(o: Observed): Promise<void> {
    const h = this.handover;
    if (!h || h.done) return;
    await this.refreshPodsForHandover(h);
    const d = await h.step(this.pods, o.self.pod, this.published);
    // A switchover's pod lives on: once decided, back to the ordinary cycle.
    if (d.kind === 'wait' || h.to === undefined) return;
    this.handover = undefined;
    // Kept: postgres was stopped on purpose and starts again as primary; its
    // time down so far must not count as "kept down" (which gives the lease up).
    if (d.kind === 'keep') this.memory = { ...this.memory, lastPrimaryMs: this.d.clock.now() };
  }

  /**
   * The holder never lists its peers otherwise: the list it has may be from
   * before it took the lease, when the standbys' pods had no IP yet — and a
   * standby without an IP can confirm nothing. Read at the start of each
   * handover, and again (once a second) while a pod to ask has no IP.
   */
  private async refreshPodsForHandover(h: Handover): Promise<void> {
    const now = this.d.clock.now();
    const self = this.d.config.self.pod;
    const lacking = this.pods.some((p) => p.name !== self && !p.ip);
    const due = this.podsReadFor !== h || (lacking && now - this.podsReadMs >= 1000);
    if (!due) return;
    this.podsReadFor = h;
    this.podsReadMs = now;
    await this.relistPeers();
  }

  private handoverDeps(): HandoverDeps {
    return {
      clock: this.d.clock,
      elector: this.d.elector,
      files: this.d.files,
      peers: this.d.peers,
      log: this.d.log,
      emit: (e) => this.emit(e),
      extendFence: () => void this.extendFence(),
      timeoutMs: this.d.config.handoverTimeoutMs,
      renewEveryMs: this.d.config.timing.retryPeriodMs,
    };
  }

  private async emit(e: AgentEvent): Promise<void> {
    await this.d.cluster
      .event(e)
      .catch((err: Error) => this.d.log(`event ${e.reason} not written: ${err.message}`));
  }

  /** Refusals and fences repeat every cycle; one Event per distinct reason. */
  private async emitOnce(e: AgentEvent): Promise<void> {
    const key = `${e.reason}:${reasonKey(e.message)}`;
    if (this.refused.has(key)) return;
    this.refused.add(key);
    await this.emit(e);
  }
}
