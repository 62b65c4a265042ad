/**
 * Progress of a multi-step wait. On a terminal: a task list redrawn in place
 * with a spinner on the running step and each step's duration. Without a
 * terminal (CI, pipes): one plain line per finished step. Disabled (for
 * `-o json|yaml`): nothing. Time and the stream are injected.
 */
import type { OutputStream } from './terminal.js';

export type TaskState = 'pending' | 'running' | 'done' | 'failed';

export interface Task {
  id: string;
  title: string;
  state: TaskState;
  detail?: string;
}

export interface ProgressOptions {
  /** Redraw in place (a terminal). */
  tty: boolean;
  color: boolean;
  /** false: print nothing at all. */
  enabled: boolean;
  now?: () => number;
  /** Spinner redraw interval on a terminal; 0 disables the timer (tests). Default 100. */
  tickMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const c = (code: number, on: boolean) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[39m` : s);

/**
 * LINE cut to fit WIDTH columns, escape sequences kept and not counted: a
 * line that wraps takes two rows, and the redraw (cursor up one row per
 * line) would then leave a copy of the task list behind on every tick.
 */
export function fitLine(line: string, width: number | undefined): string {
  // eslint-disable-next-line no-control-regex -- terminal escape sequences are what it skips
  const ESC = /\u001b\[[0-9;]*[A-Za-z]/y;
  const chars: { text: string; visible: boolean }[] = [];
  for (let i = 0; i < line.length;) {
    ESC.lastIndex = i;
    const esc = ESC.exec(line);
    const text = esc ? esc[0] : String.fromCodePoint(line.codePointAt(i) ?? 0);
    chars.push({ text, visible: !esc });
    i += text.length;
  }
  // The last column stays free: a line that fills it wraps on some terminals.
  const room = (width ?? 0) - 1;
  if (room < 1 || chars.filter((c) => c.visible).length <= room) return line;
  let out = '';
  let visible = 0;
  for (const c of chars) {
    if (c.visible && visible === room - 1) break;
    out += c.text;
    if (c.visible) visible++;
  }
  return `${out}…\u001b[0m`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export class Progress {
  private tasks: Task[] = [];
  private readonly started = new Map<string, number>();
  private readonly finished = new Map<string, number>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly t0: number;

  constructor(
    private readonly out: OutputStream,
    private readonly o: ProgressOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.t0 = this.now();
    if (o.enabled && o.tty && (o.tickMs ?? 100) > 0) {
      this.timer = setInterval(() => this.draw(), o.tickMs ?? 100);
      this.timer.unref();
    }
  }

  /** The new state of every task; finished ones are printed (plain) or redrawn (terminal). */
  update(tasks: Task[]): void {
    const t = this.now();
    for (const task of tasks) {
      if (task.state !== 'pending' && !this.started.has(task.id)) {
        // A task found already done started when the previous one finished.
        this.started.set(task.id, this.lastFinish());
      }
      if ((task.state === 'done' || task.state === 'failed') && !this.finished.has(task.id)) {
        this.finished.set(task.id, t);
        if (this.o.enabled && !this.o.tty) this.out.write(`${this.plainLine(task)}\n`);
      }
    }
    this.tasks = tasks.map((x) => ({ ...x }));
    this.draw();
  }

  /** A message above the task list. */
  log(line: string): void {
    if (!this.o.enabled) return;
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  /** Stops the spinner; marks running tasks failed when `failed`. */
  stop(failed = false): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (failed)
      this.update(this.tasks.map((x) => (x.state === 'running' ? { ...x, state: 'failed' } : x)));
    else this.draw();
  }

  /** Milliseconds each finished task took. */
  durations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, end] of this.finished) out[id] = end - (this.started.get(id) ?? this.t0);
    return out;
  }

  private lastFinish(): number {
    return Math.max(this.t0, ...this.finished.values());
  }

  private took(task: Task): string {
    const start = this.started.get(task.id);
    if (start === undefined) return '';
    return formatDuration((this.finished.get(task.id) ?? this.now()) - start);
  }

  private plainLine(task: Task): string {
    const word = task.state === 'failed' ? 'failed' : 'done';
    return `${word}: ${task.title} (${this.took(task)})`;
  }

  private ttyLine(task: Task): string {
    const col = this.o.color;
    const icon =
      task.state === 'done'
        ? c(32, col)('✔')
        : task.state === 'failed'
          ? c(31, col)('✖')
          : task.state === 'running'
            ? c(36, col)(FRAMES[this.frame % FRAMES.length] ?? '-')
            : c(90, col)('○');
    const took = task.state === 'pending' ? '' : c(90, col)(` ${this.took(task)}`);
    const detail = task.state === 'running' && task.detail ? c(90, col)(` — ${task.detail}`) : '';
    return `${icon} ${task.title}${took}${detail}`;
  }

  private clear(): void {
    if (!this.o.tty || this.drawn === 0) return;
    this.out.write(`\u001b[${this.drawn}A\u001b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.o.enabled || !this.o.tty) return;
    this.frame++;
    this.clear();
    const lines = this.tasks.map((t) => fitLine(this.ttyLine(t), this.out.columns));
    if (lines.length) this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
