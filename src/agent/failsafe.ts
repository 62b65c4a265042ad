/**
 * The agent's failsafe, both sides (rules in lib/ha/failsafe.ts): as a
 * holder that cannot renew, it asks every member once per retry period and
 * remembers when a round that everyone confirmed was sent; as a member, it
 * answers and remembers whom it promised not to race, and since when.
 */
import {
  everyoneConfirmed,
  failsafeAnswer,
  type FailsafeAnswer,
  type FailsafeHeard,
  type FailsafeRequest,
  type FailsafeView,
} from '../lib/ha/failsafe.js';
import type { HaClock } from '../lib/ha/clock.js';
import type { PodInfo } from './cluster-api.js';
import type { PeerClient } from './peers.js';

export class Failsafe {
  /** Holder: the send time of the newest round every member confirmed (monotonic ms). */
  private confirmedSent: number | undefined;
  private lastOutcome: string | undefined;
  /** Member: the newest yes it gave. */
  heard: FailsafeHeard | undefined;

  constructor(
    private readonly d: {
      clock: HaClock;
      peers: PeerClient;
      self: string;
      log: (line: string) => void;
    },
  ) {}

  /** When the newest fully confirmed round was sent; undefined: none this term. */
  get confirmedSentMs(): number | undefined {
    return this.confirmedSent;
  }

  /**
   * What the holder's renew and fence deadlines count from: its newest
   * landed renewal, or a later round every member confirmed. A renewal that
   * lands again (or the end of the term) makes earlier rounds count for nothing.
   */
  deadlineFrom(renewedMs: number | undefined): number | undefined {
    const confirmed = this.confirmedSent;
    if (confirmed !== undefined && (renewedMs === undefined || renewedMs >= confirmed)) {
      this.forget();
    }
    if (renewedMs === undefined) return undefined;
    return Math.max(renewedMs, this.confirmedSent ?? renewedMs);
  }

  private forget(): void {
    this.confirmedSent = undefined;
    if (this.lastOutcome !== undefined) this.d.log('failsafe: over (the lease renews again)');
    this.lastOutcome = undefined;
  }

  /** Ask every member but this one; only a round all of them confirmed extends anything. */
  async round(
    members: PodInfo[],
    self: string,
    at: { timeline?: number; lsn?: bigint },
  ): Promise<void> {
    const sentMs = this.d.clock.now();
    const others = members.filter((m) => m.name !== self);
    const req: FailsafeRequest = {
      holder: this.d.self,
      ...(at.timeline !== undefined ? { timeline: at.timeline } : {}),
      ...(at.lsn !== undefined ? { lsn: at.lsn } : {}),
    };
    const answers = await Promise.all(others.map((m) => this.d.peers.failsafe(m.name, m.ip, req)));
    const verdict = everyoneConfirmed(
      others.map((m) => m.name),
      answers,
    );
    let outcome: string;
    if (verdict.ok) {
      this.confirmedSent = Math.max(this.confirmedSent ?? sentMs, sentMs);
      outcome = `every member (${others.length}) confirms this primary over the pod network`;
    } else {
      const why = answers
        .filter((a) => !a.confirmed)
        .map((a) => `${a.pod}: ${a.reason ?? 'no'}`)
        .join('; ');
      outcome = `not every member confirms this primary (${why}): the fence deadline stays`;
    }
    if (outcome !== this.lastOutcome) this.d.log(`failsafe: ${outcome}`);
    this.lastOutcome = outcome;
  }

  /** A member's answer; a yes is a promise not to race for the asker's lease. */
  answer(view: Omit<FailsafeView, 'self'>, req: FailsafeRequest): FailsafeAnswer {
    const a = failsafeAnswer({ ...view, self: this.d.self }, req);
    if (a.confirmed) {
      if (this.heard?.holder !== req.holder) this.d.log(`failsafe: confirmed ${req.holder}`);
      const same = this.heard?.holder === req.holder ? this.heard.lsn : undefined;
      const lsn = same !== undefined && (req.lsn === undefined || same > req.lsn) ? same : req.lsn;
      this.heard = {
        holder: req.holder,
        atMs: this.d.clock.now(),
        ...(lsn !== undefined ? { lsn } : {}),
      };
    }
    return a;
  }
}
