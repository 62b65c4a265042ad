import { UnsafeStateError, type KpgErrorOptions } from '../errors.js';

/** Why a plan was refused, for code that decides on it (never match the message text). */
export type RefusalReason =
  /** kpg could not probe the primary, yet its port answers. */
  | 'primary-unknown'
  /** Synchronous mode and a standby's position is unknown. */
  | 'position-unknown'
  /** A synchronous standby more advanced than the target exists. */
  | 'sync-behind'
  /** The target lags more than --max-lag. */
  | 'lag'
  /** No standby can be promoted; `waitingForStreaming` when the only thing missing is streaming. */
  | 'no-candidate'
  /** --to names no standby, or an unhealthy one. */
  | 'target'
  | 'other';

/** kpg failover will not act: the plan is unsafe or impossible (exit 9). */
export class FailoverRefusedError extends UnsafeStateError {
  readonly reason: RefusalReason;
  /** Healthy primary, standbys fine except that none streams yet: waiting may help. */
  readonly waitingForStreaming: boolean;
  constructor(
    message: string,
    options: KpgErrorOptions & { reason?: RefusalReason; waitingForStreaming?: boolean } = {},
  ) {
    super(message, options);
    this.reason = options.reason ?? 'other';
    this.waitingForStreaming = options.waitingForStreaming ?? false;
  }
}

/** A step could not complete; the record keeps the operation for the next run (exit 9). */
export class FailoverStepError extends UnsafeStateError {
  readonly step: string;
  /** The message without its `step NAME:` prefix. */
  readonly detail: string;
  constructor(step: string, message: string, options: KpgErrorOptions = {}) {
    super(`step ${step}: ${message}`, options);
    this.step = step;
    this.detail = message;
  }
}
