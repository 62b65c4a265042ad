/**
 * The process's terminal, as one injectable object: commands write through it
 * and decide on colour from it, so tests can pass a fake.
 */

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** A terminal's width (Node's tty.WriteStream has it). */
  columns?: number;
}

export interface Terminal {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

export function processTerminal(): Terminal {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/**
 * Colour is on when asked with --color, off with --no-color, and otherwise on
 * only for a terminal and when NO_COLOR is unset or empty (https://no-color.org).
 */
export function useColor(
  term: Terminal,
  flag: boolean | undefined,
  stream: OutputStream = term.stdout,
): boolean {
  if (flag !== undefined) return flag;
  const noColor = term.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  if (term.env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** A Terminal that records what is written, for tests. */
export function memoryTerminal(
  opts: {
    isTTY?: boolean;
    env?: Record<string, string | undefined>;
    stdin?: NodeJS.ReadableStream;
  } = {},
): Terminal & {
  out: () => string;
  err: () => string;
} {
  const out: string[] = [];
  const err: string[] = [];
  const stdin =
    opts.stdin ?? (Object.assign(Object.create(null), { isTTY: false }) as NodeJS.ReadableStream);
  return {
    stdout: { write: (s: string) => out.push(s), isTTY: opts.isTTY ?? false },
    stderr: { write: (s: string) => err.push(s), isTTY: opts.isTTY ?? false },
    stdin,
    env: opts.env ?? {},
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
