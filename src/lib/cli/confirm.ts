/**
 * Asking before destructive steps: on a terminal kpg asks, `--yes` skips the
 * question, `--dry-run` never gets that far, and without a terminal a
 * destructive step needs `--yes` (a pipeline cannot answer). The decision is
 * pure; the question reads one line from the injected terminal.
 */
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import type { Terminal } from './terminal.js';

export type Confirmation =
  /** Print the plan, change nothing. */
  | 'dry-run'
  /** Go ahead without asking. */
  | 'proceed'
  /** Ask on the terminal. */
  | 'ask'
  /** Not a terminal and no --yes: refuse. */
  | 'refuse';

export interface ConfirmInput {
  destructive: boolean;
  yes: boolean;
  dryRun: boolean;
  /** stdin and stderr are both terminals. */
  interactive: boolean;
}

export function decideConfirmation(i: ConfirmInput): Confirmation {
  if (i.dryRun) return 'dry-run';
  if (!i.destructive || i.yes) return 'proceed';
  return i.interactive ? 'ask' : 'refuse';
}

/** stdin and stderr are terminals (the question goes to stderr, so stdout stays clean). */
export function isInteractive(t: Terminal): boolean {
  return (t.stdin as { isTTY?: boolean }).isTTY === true && t.stderr.isTTY === true;
}

/** Reads one answer; true only for y or yes. End of input is no. */
export function ask(t: Terminal, question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: t.stdin, terminal: false });
    let answered = false;
    t.stderr.write(`${question} [y/N] `);
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (!answered) resolve(false);
    });
  });
}

/**
 * Applies the decision: returns true to go ahead, false when the person said
 * no; throws (exit 2) when a destructive step has no terminal to ask on.
 */
export async function confirmOrRefuse(
  t: Terminal,
  input: ConfirmInput,
  question: string,
): Promise<boolean> {
  const d = decideConfirmation(input);
  if (d === 'dry-run') return false;
  if (d === 'proceed') return true;
  if (d === 'refuse') {
    throw new UsageError(
      'this step is destructive and there is no terminal to ask on: nothing was changed',
      {
        suggestions: [
          'run it again with --yes to go ahead, or with --dry-run to see the plan only',
        ],
      },
    );
  }
  return ask(t, question);
}
