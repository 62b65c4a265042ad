/**
 * The base of every kpg command: shared flags (--debug, -o/--output,
 * --[no-]color), an injectable terminal, problem printing, and one place that
 * turns errors into a message and an exit code (no stack unless --debug).
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ExitCode, isKpgError } from '../errors.js';
import { countProblems, formatProblems, type Problem } from '../manifest/problem.js';
import { processTerminal, type Terminal, useColor } from './terminal.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

export const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const red = (s: string) => `\u001b[31m${s}\u001b[39m`;

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    output: Flags.string({
      char: 'o',
      summary: 'Output format.',
      options: [...OUTPUT_FORMATS],
      default: 'text',
      helpGroup: 'GLOBAL',
    }),
    color: Flags.boolean({
      summary: 'Colour the output (default: when writing to a terminal and NO_COLOR is unset).',
      allowNo: true,
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({
      summary: 'Show stack traces and internal details on errors.',
      helpGroup: 'GLOBAL',
    }),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  /** Where the command reads and writes; tests replace it before run. */
  terminal: Terminal = processTerminal();

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof BaseCommand;
    const { args, flags } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      args: ctor.args,
      strict: ctor.strict,
      enableJsonFlag: false,
    });
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
  }

  /** Runs like oclif does (parse, run, error handling); tests call it after replacing `terminal`. */
  async execute(): Promise<unknown> {
    return this._run();
  }

  protected get output(): OutputFormat {
    return (this.flags?.output ?? 'text') as OutputFormat;
  }

  protected get debugEnabled(): boolean {
    return this.flags?.debug === true;
  }

  /** Colour for what goes to stdout. */
  protected get color(): boolean {
    return useColor(this.terminal, this.flags?.color);
  }

  /** Colour for what goes to stderr. */
  protected get colorErr(): boolean {
    return useColor(this.terminal, this.flags?.color, this.terminal.stderr);
  }

  protected out(line: string): void {
    this.terminal.stdout.write(`${line}\n`);
  }

  protected err(line: string): void {
    this.terminal.stderr.write(`${line}\n`);
  }

  /** Problems to stderr, one per line, then a count when there are errors. */
  protected printProblems(problems: Problem[], opts: { summary?: boolean } = {}): void {
    if (problems.length === 0) return;
    this.err(formatProblems(problems, { color: this.colorErr }));
    if (opts.summary && problems.some((p) => p.severity === 'error'))
      this.err(countProblems(problems));
  }

  /** Ends the command with an exit code, after its output is written. */
  protected fail(code: number): never {
    throw new Errors.ExitError(code);
  }

  override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    // oclif's own usage errors (unknown flag, missing value) keep its message and exit 2.
    if (!isKpgError(err) && err.oclif?.exit !== undefined) throw err;
    const code = isKpgError(err) ? err.exitCode : ExitCode.Internal;
    if (this.output === 'json') {
      this.out(
        JSON.stringify(
          {
            error: {
              message: err.message,
              kind: err.name,
              exitCode: code,
              ...(isKpgError(err) ? err.details : {}),
            },
          },
          null,
          2,
        ),
      );
    } else {
      this.printError(err);
    }
    if (this.debugEnabled && err.stack) this.err(err.stack);
    throw new Errors.ExitError(code);
  }

  /** `error: message`, then the suggestions; unexpected errors say how to learn more. */
  protected printError(err: Error): void {
    const label = this.colorErr ? red('error') : 'error';
    if (isKpgError(err)) {
      this.err(`${label}: ${err.message}`);
      for (const s of err.suggestions) this.err(`  ${s}`);
      return;
    }
    this.err(`${label}: internal error: ${err.message}`);
    if (!this.debugEnabled) this.err('  (run again with --debug for details)');
  }
}
