import { UnsafeStateError, type KpgErrorOptions } from '../errors.js';

/** kpg failover will not act: the plan is unsafe or impossible (exit 9). */
export class FailoverRefusedError extends UnsafeStateError {
  constructor(message: string, options: KpgErrorOptions = {}) {
    super(message, options);
  }
}

/** A step could not complete; the record keeps the operation for the next run (exit 9). */
export class FailoverStepError extends UnsafeStateError {
  readonly step: string;
  constructor(step: string, message: string, options: KpgErrorOptions = {}) {
    super(`step ${step}: ${message}`, options);
    this.step = step;
  }
}
