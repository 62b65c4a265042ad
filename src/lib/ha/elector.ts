/**
 * The Lease state machine, after client-go's leaderelection: one record, read
 * and written with compare-and-swap on resourceVersion. Expiry is judged on
 * this observer's own clock (how long the version it sees has been
 * unchanged), never from the holder's renewTime. It decides nothing about
 * *whether* to take the lease: that is decide(). The API and the clock are
 * injected, so every race is testable with fakes.
 */
import type { LeaseObject } from '../kube/types.js';
import type { HaClock } from './clock.js';
import { holderOf, type Identity } from './identity.js';
import { leaseForWrite, snapshotOf, type LeaseSnapshot, type Published } from './lease-record.js';
import type { Timing } from './timing.js';

/** The Lease as the elector needs it: get (undefined on 404), create, replace. */
export interface LeaseApi {
  get(): Promise<LeaseObject | undefined>;
  /** Rejects with LeaseConflictError when it already exists. */
  create(lease: LeaseObject): Promise<LeaseObject>;
  /** Rejects with LeaseConflictError on a stale resourceVersion (409). */
  replace(lease: LeaseObject): Promise<LeaseObject>;
}

/** 409: someone wrote first. Any other rejection means the outcome is unknown. */
export class LeaseConflictError extends Error {
  override readonly name = 'LeaseConflictError';
}

export type WriteOutcome =
  /** Our write (this one, or an earlier one found on re-read) is the current version. */
  | { ok: true; snapshot: LeaseSnapshot; landed: 'now' | 'earlier' }
  | {
      ok: false;
      why: 'conflict' | 'error';
      /** What the re-read found (undefined: absent or unreadable). */
      snapshot?: LeaseSnapshot;
      error: Error;
    };

/** What the elector has seen: the version, and since when (its own clock). */
export interface Observation {
  snapshot?: LeaseSnapshot;
  /** Monotonic ms when this version (or absence) was first seen. */
  sinceMs: number;
}

const KEPT_ATTEMPTS = 16;

export interface ElectorOptions {
  api: LeaseApi;
  clock: HaClock;
  self: Identity;
  timing: Timing;
  ref: { namespace: string; name: string };
}

export class LeaseElector {
  private observation: Observation | undefined;
  /** Monotonic ms at which the newest renewal that landed was sent; undefined: not holding. */
  private renewedSentMs: number | undefined;
  private heldSince: number | undefined;
  private readonly attempts = new Map<string, number>();
  private seq = 0;

  constructor(private readonly o: ElectorOptions) {}

  get holder(): string {
    return holderOf(this.o.self);
  }

  get observed(): Observation | undefined {
    return this.observation;
  }

  /** Holding, as far as this incarnation knows: its last write landed and nobody replaced it since. */
  get holding(): boolean {
    return this.renewedSentMs !== undefined;
  }

  /** When a holder that cannot renew must have stepped down (monotonic ms). */
  get renewDeadlineMs(): number | undefined {
    return this.renewedSentMs === undefined
      ? undefined
      : this.renewedSentMs + this.o.timing.renewDeadlineMs;
  }

  /** When this term began: the send time of the write that made it holder (monotonic ms). */
  get heldSinceMs(): number | undefined {
    return this.renewedSentMs === undefined ? undefined : this.heldSince;
  }

  /** When the newest landed renewal was sent (monotonic ms): the fence deadline counts from it. */
  get lastRenewalSentMs(): number | undefined {
    return this.renewedSentMs;
  }

  /** How long the version seen now has been unchanged, on this observer's clock. */
  unchangedForMs(): number {
    return this.observation ? this.o.clock.now() - this.observation.sinceMs : 0;
  }

  /** GET the lease and note what changed. Rejections (API down) propagate and change nothing. */
  async read(): Promise<LeaseSnapshot | undefined> {
    const object = await this.o.api.get();
    const snapshot = object ? snapshotOf(object) : undefined;
    this.see(snapshot);
    return snapshot;
  }

  /** Write ourselves as holder over the observed version (acquire, or renew), publishing `published`. */
  async claim(published: Published): Promise<WriteOutcome> {
    let outcome = await this.write({ holder: this.holder, published });
    // Someone changed our own lease (kpg failover's pause mark): once more on the fresh version.
    if (!outcome.ok && outcome.why === 'conflict' && outcome.snapshot?.holder === this.holder) {
      outcome = await this.write({ holder: this.holder, published });
    }
    return outcome;
  }

  /** Clear the holder, naming the standby that may take over at once (graceful handover). */
  async release(handoverTo?: string, handoverReason?: string): Promise<WriteOutcome> {
    const outcome = await this.write({
      ...(handoverTo !== undefined ? { handoverTo } : {}),
      ...(handoverTo !== undefined && handoverReason !== undefined ? { handoverReason } : {}),
    });
    if (outcome.ok) this.renewedSentMs = undefined;
    return outcome;
  }

  /** Renew, giving up the pending switchover request with the reason (kpg failover reports it). */
  async refuseSwitchover(published: Published, reason: string): Promise<WriteOutcome> {
    return this.write({ holder: this.holder, published, refuseSwitchover: reason });
  }

  /** Forget holding (a holder past its renew deadline): later reads cannot revive it. */
  stepDown(): void {
    this.renewedSentMs = undefined;
    this.attempts.clear();
  }

  private async write(w: {
    holder?: string;
    published?: Published;
    handoverTo?: string;
    handoverReason?: string;
    refuseSwitchover?: string;
  }): Promise<WriteOutcome> {
    const base = this.observation?.snapshot;
    const attempt = `${this.o.self.uid}:${++this.seq}`;
    const sentMs = this.o.clock.now();
    this.remember(attempt, sentMs);
    const next = leaseForWrite(this.o.ref, base?.object, {
      ...w,
      leaseDurationSeconds: Math.ceil(this.o.timing.leaseDurationMs / 1000),
      wallMs: this.o.clock.wall(),
      attempt,
    });
    try {
      const written = base ? await this.o.api.replace(next) : await this.o.api.create(next);
      const snapshot = snapshotOf(written);
      this.see(snapshot);
      return { ok: true, snapshot, landed: 'now' };
    } catch (err) {
      return this.afterFailure(err as Error, attempt);
    }
  }

  /** After a 409 or an unknown outcome: re-read, and find out whether one of our writes landed. */
  private async afterFailure(error: Error, attempt: string): Promise<WriteOutcome> {
    const why = error instanceof LeaseConflictError ? 'conflict' : 'error';
    let snapshot: LeaseSnapshot | undefined;
    try {
      snapshot = await this.read();
    } catch {
      // The re-read failed too: the write's fate stays unknown, which the
      // renew deadline already accounts for (only confirmed renewals count).
      return { ok: false, why, error };
    }
    if (snapshot?.attempt !== undefined && this.attempts.has(snapshot.attempt)) {
      return { ok: true, snapshot, landed: snapshot.attempt === attempt ? 'now' : 'earlier' };
    }
    return { ok: false, why, error, ...(snapshot ? { snapshot } : {}) };
  }

  private see(snapshot: LeaseSnapshot | undefined): void {
    const now = this.o.clock.now();
    const prev = this.observation?.snapshot;
    if (!this.observation || prev?.resourceVersion !== snapshot?.resourceVersion) {
      this.observation = { ...(snapshot ? { snapshot } : {}), sinceMs: now };
    } else {
      this.observation = { ...this.observation, ...(snapshot ? { snapshot } : {}) };
    }
    this.noteHolding(snapshot);
  }

  /** Holding follows the lease: ours while it names us, from the send time of our newest write in it. */
  private noteHolding(snapshot: LeaseSnapshot | undefined): void {
    if (snapshot?.holder !== this.holder) {
      this.renewedSentMs = undefined;
      return;
    }
    const sent = snapshot.attempt === undefined ? undefined : this.attempts.get(snapshot.attempt);
    // A version naming us that none of our remembered writes produced (another
    // writer kept us as holder) extends nothing: the deadline stays where it was.
    if (sent === undefined) return;
    if (this.renewedSentMs === undefined) this.heldSince = sent;
    this.renewedSentMs = Math.max(this.renewedSentMs ?? sent, sent);
  }

  private remember(attempt: string, sentMs: number): void {
    this.attempts.set(attempt, sentMs);
    while (this.attempts.size > KEPT_ATTEMPTS) {
      const oldest = this.attempts.keys().next().value;
      if (oldest === undefined) break;
      this.attempts.delete(oldest);
    }
  }
}
