/**
 * Ctrl-C while a command changes the cluster. The first SIGINT aborts the
 * signal: the library stops at its next step boundary (a request in flight
 * is abandoned, not half-sent: each step is one API write) and the command
 * says what was done and how to go on. A second SIGINT exits at once (130).
 */
export class Interrupt {
  private readonly controller = new AbortController();
  private readonly onSigint = (): void => {
    if (this.controller.signal.aborted) process.exit(130);
    this.notice?.();
    this.controller.abort(new Error('interrupted'));
  };

  constructor(private readonly notice?: () => void) {
    process.on('SIGINT', this.onSigint);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  dispose(): void {
    process.removeListener('SIGINT', this.onSigint);
  }
}
