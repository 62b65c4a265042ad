// A command run in a real terminal (a tmux session), as a person would run
// it: what is on the screen, keys typed, and the exit status the shell
// prints after it (KPG-EXIT=N).
import { execFileSync } from 'node:child_process';
import { waitFor } from '../cluster/kube.js';

export class TmuxSession {
  constructor(readonly name: string) {}

  private tmux(...args: string[]): string {
    return execFileSync('tmux', args, { encoding: 'utf8' });
  }

  /** Starts `command` (a shell line) in a fresh session, 200×60. */
  start(command: string): void {
    this.close();
    this.tmux(
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      '200',
      '-y',
      '60',
      `${command}; echo "KPG-EXIT=$?"; sleep 600`,
    );
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', this.name, '-S', '-400');
  }

  /** Waits for the text on the screen; returns the screen. */
  until(text: string | RegExp, timeoutMs = 120_000): Promise<string> {
    return waitFor(
      () => {
        const s = this.screen();
        return (typeof text === 'string' ? s.includes(text) : text.test(s)) ? s : '';
      },
      timeoutMs,
      { what: `"${String(text)}" on the screen`, intervalMs: 200 },
    );
  }

  keys(...keys: string[]): void {
    for (const k of keys) this.tmux('send-keys', '-t', this.name, k);
  }

  close(): void {
    try {
      this.tmux('kill-session', '-t', this.name);
    } catch {
      // No such session.
    }
  }
}
