/**
 * The holder's side of a graceful handover, in two cases: its pod is
 * stopping (postgres shuts down because of the SIGTERM), or kpg failover
 * asked for a switchover in the lease (the agent asks the postgres container
 * for a fast shutdown; the container stays and comes back as a standby). Each
 * cycle: keep the lease while waiting, ask the standbys (only the requested
 * one for a switchover) whether they replayed the shutdown checkpoint, and
 * release naming the first that did — or, after the timeout, keep the lease.
 */
import { decideHandover, type HandoverDecision } from '../lib/ha/handover.js';
import type { Published } from '../lib/ha/lease-record.js';
import type { LeaseElector } from '../lib/ha/elector.js';
import type { HaClock } from '../lib/ha/clock.js';
import { holderOf } from '../lib/ha/identity.js';
import type { Observed } from '../lib/ha/types.js';
import type { AgentEvent, PodInfo } from './cluster-api.js';
import type { SharedFiles } from './files.js';
import type { PeerClient } from './peers.js';

export interface HandoverDeps {
  clock: HaClock;
  elector: LeaseElector;
  files: SharedFiles;
  peers: PeerClient;
  log: (line: string) => void;
  emit: (e: AgentEvent) => Promise<void>;
  /** Moves the fence deadline on after a renewal that landed (not the role: no start as primary). */
  extendFence: () => void;
  timeoutMs: number;
  /** The lease is renewed this often while waiting (the steps come quicker than that). */
  renewEveryMs: number;
}

export class Handover {
  private readonly sinceMs: number;
  private settled = false;
  private renewedMs = Number.NEGATIVE_INFINITY;
  private said: string | undefined;

  /** `to`: a switchover's target; undefined: the pod is stopping, any standby will do. */
  constructor(
    private readonly d: HandoverDeps,
    readonly to?: string,
  ) {
    this.sinceMs = d.clock.now();
    if (to === undefined) {
      d.log(
        'handover: the pod is stopping; waiting for a standby to confirm the shutdown checkpoint',
      );
      return;
    }
    // The start script must not start a primary again once postgres stopped.
    d.files.writeRole('wait');
    d.files.requestStop(true);
    d.log(`switchover to ${to} asked for: shutting postgres down fast`);
  }

  get done(): boolean {
    return this.settled;
  }

  /** One cycle; returns the decision once it is final (released or kept). */
  async step(pods: PodInfo[], self: string, published: Published): Promise<HandoverDecision> {
    const cp = this.d.files.shutdownCheckpoint();
    // A pod annotated nofailover is handed nothing, unless a switchover names it (refused before).
    const asked = pods.filter(
      (p) =>
        p.name !== self && (this.to === undefined ? p.noFailover !== true : p.name === this.to),
    );
    const confirmations = cp
      ? await Promise.all(asked.map((p) => this.d.peers.confirm(p.name, p.ip, cp)))
      : [];
    const h = decideHandover(
      {
        sinceMs: this.sinceMs,
        timeoutMs: this.d.timeoutMs,
        ...(cp ? { checkpoint: cp } : {}),
        confirmations,
      },
      this.d.clock.now(),
    );
    const line = `handover ${h.kind}: ${h.reason}`;
    if (line !== this.said) this.d.log(line);
    this.said = line;
    if (h.kind === 'wait') {
      // Keep the lease meanwhile: nobody takes over a primary that is handing over.
      // A fast shutdown still in progress must not be cut short by the fence into a crash.
      const now = this.d.clock.now();
      if (now - this.renewedMs >= this.d.renewEveryMs) {
        this.renewedMs = now;
        if ((await this.d.elector.claim(published)).ok) this.d.extendFence();
      }
      return h;
    }
    this.settled = true;
    if (h.kind === 'release') {
      const r = await this.d.elector.release(
        h.to,
        this.to !== undefined ? 'switchover' : 'pod stopping',
      );
      if (r.ok) await this.d.emit({ reason: 'HandedOver', message: h.reason });
      else
        this.d.log(`handover: the release failed (${r.error.message}); the lease expires instead`);
    } else if (this.to !== undefined) {
      // A switchover given up: say why in the lease (kpg failover reports it), start again as primary.
      await this.d.elector.refuseSwitchover(published, h.reason);
      await this.d.emit({
        reason: 'FailoverRefused',
        type: 'Warning',
        message: `switchover to ${this.to}: ${h.reason}`,
      });
    } else {
      await this.d.emit({ reason: 'FailoverRefused', type: 'Warning', message: h.reason });
    }
    if (this.to !== undefined) this.d.files.requestStop(false);
    return h;
  }
}

/** The switchover kpg failover asked this holder incarnation for, if any: its target's name. */
export function switchoverAskedOf(o: Observed): string | undefined {
  const req = o.lease.readable ? o.lease.snapshot?.switchover : undefined;
  return req && req.from === holderOf(o.self) ? req.to : undefined;
}

/** Why a requested target cannot be handed the lease; undefined when it can. */
export function switchoverProblem(
  to: string,
  self: string,
  pods: { name: string; noFailover?: boolean }[],
): string | undefined {
  if (to === self) return 'it names the primary itself';
  const pod = pods.find((p) => p.name === to);
  if (!pod) return `${to} is not a pod of this cluster`;
  if (pod.noFailover) return `${to} is annotated kpg.io/nofailover: "true"`;
  return undefined;
}
