import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { ask, decideConfirmation, isInteractive } from '../lib/cli/confirm.js';
import { UsageError } from '../lib/errors.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { Progress } from '../lib/cli/progress.js';
import { recordEvent } from '../lib/cluster/events.js';
import {
  DEFAULT_MAX_LAG,
  runFailover,
  type FailoverResult,
  type ProgressEvent,
} from '../lib/failover/index.js';
import { FailoverRefusedError } from '../lib/failover/errors.js';
import { leaseHolder } from '../lib/failover/lease.js';
import { planLines, summaryLine } from '../lib/failover/render.js';
import { STEPS, STEP_TITLES } from '../lib/failover/steps.js';

export default class Failover extends BaseCommand<typeof Failover> {
  static override summary =
    'Switch the primary over to a standby, or fail over from a primary that is down.';

  static override description = `With a healthy primary: a switchover. The old primary leaves the primary Service, is shut down cleanly, and the target is promoted only once it holds all of its WAL: nothing acknowledged is lost. The old primary then rejoins as a standby.

With a primary that is down, hung or cut off: a failover. The old primary is fenced (out of the primary Service, its pod deleted) before the most advanced standby is promoted; the record names the new primary first, so whatever restarts comes back as a standby. A target lagging more than --max-lag is refused unless --force; in synchronous mode only a standby that confirmed every commit is promoted.

Asynchronous replication lets a primary acknowledge commits it has not sent yet. Before promoting, kpg waits (--salvage-timeout) for the fenced old primary's pod to run again and copies the WAL it never sent from its volume into the target, so nothing acknowledged is lost. When that WAL cannot be read (its node or volume is gone), kpg refuses and rolls back unless --force.

On a terminal kpg shows the plan and asks first; without one it needs --yes (exit 2 otherwise, nothing changed).

One kpg failover runs at a time (Lease <name>-failover). An interrupted run leaves its operation in the record (kpg describe shows it); the next kpg failover completes it or rolls it back.`;

  static override examples = [
    {
      description: 'Switch over to the most advanced standby.',
      command: '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    },
    {
      description: 'Show the plan only.',
      command: '<%= config.bin %> <%= command.id %> ha-postgres --dry-run',
    },
    {
      description: 'Promote a given standby, without asking.',
      command: '<%= config.bin %> <%= command.id %> ha-postgres --to ha-postgres-2 --yes',
    },
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    to: Flags.string({
      summary: 'The standby to promote (default: the most advanced healthy one).',
    }),
    force: Flags.boolean({
      summary:
        "Promote even when the target lags more than --max-lag, or when a killed primary's unsent WAL cannot be read (acknowledged commits may be lost).",
    }),
    'max-lag': Flags.integer({
      summary: 'Largest lag, in bytes, of a target promoted without --force.',
      default: Number(DEFAULT_MAX_LAG),
      min: 0,
    }),
    'dry-run': Flags.boolean({
      summary: 'Print the plan (target, why, expected loss); change nothing.',
    }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Go ahead without asking (required without a terminal).',
    }),
    timeout: Flags.string({ summary: 'Longest wait of any step (e.g. 60s, 2m).', default: '60s' }),
    'salvage-timeout': Flags.string({
      summary:
        "Asynchronous failover: how long to wait for the old primary's pod to run again, so that the WAL it never sent is copied from its volume.",
      description:
        'Without that WAL, commits the old primary acknowledged may be lost: kpg then refuses (and rolls back) unless --force.',
      default: '60s',
    }),
  };

  async run(): Promise<FailoverResult> {
    const timeoutMs = parseDuration(this.flags.timeout);
    const salvageTimeoutMs = parseDuration(this.flags['salvage-timeout'], '--salvage-timeout');
    const askFirst = this.askFirst();
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const json = this.output === 'json';
    const progress = new LazyProgress(
      () =>
        new Progress(this.terminal.stderr, {
          tty: this.terminal.stderr.isTTY === true,
          color: this.colorErr,
          enabled: !json,
        }),
      (line) => {
        if (!json) this.err(line);
      },
    );
    const interrupt = new AbortController();
    const onSigint = (): void => interrupt.abort();
    process.once('SIGINT', onSigint);
    const crashAfter = this.terminal.env.KPG_FAILOVER_CRASH_AFTER;
    try {
      const result = await runFailover(
        {
          kube,
          namespace: kube.namespace,
          cluster: this.args.name,
          clock: kube.clock,
          signal: interrupt.signal,
          holder: leaseHolder(),
          onEvent: (e) => this.onEvent(progress, e),
          ...(crashAfter ? { crashAfter, crash: () => process.kill(process.pid, 'SIGKILL') } : {}),
        },
        {
          ...(this.flags.to ? { to: this.flags.to } : {}),
          force: this.flags.force,
          maxLagBytes: BigInt(this.flags['max-lag']),
          dryRun: this.flags['dry-run'],
          timeoutMs,
          salvageTimeoutMs,
          ...(askFirst
            ? {
                confirm: (plan) => {
                  progress.log(planLines(plan).join('\n'));
                  return ask(this.terminal, `Go ahead with the ${plan.kind} to ${plan.target}?`);
                },
              }
            : {}),
        },
      );
      progress.stop();
      this.report(result);
      if (!result.dryRun && !result.cancelled)
        await recordEvent(kube, kube.namespace, this.args.name, {
          reason: result.kind === 'switchover' ? 'SwitchedOver' : 'FailedOver',
          message: `kpg failover: ${summaryLine(result)}`,
        });
      return result;
    } catch (err) {
      progress.stop(true);
      if (err instanceof FailoverRefusedError)
        await recordEvent(kube, kube.namespace, this.args.name, {
          reason: 'FailoverRefused',
          type: 'Warning',
          message: `kpg failover: ${err.message}`,
        });
      if (interrupt.signal.aborted) {
        this.err(
          'interrupted: any unfinished operation is kept in the record; run kpg failover again to complete it',
        );
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }

  /**
   * Asks on a terminal (the plan and the question on stderr, so -o json's
   * stdout stays clean); without one it needs --yes: changing the primary is
   * never done on a guess about who is watching.
   */
  private askFirst(): boolean {
    const d = decideConfirmation({
      destructive: true,
      yes: this.flags.yes,
      dryRun: this.flags['dry-run'],
      interactive: isInteractive(this.terminal),
    });
    if (d === 'refuse')
      throw new UsageError(
        'kpg failover changes which pod is the primary, and there is no terminal to ask on: nothing was changed',
        { suggestions: ['run it again with --yes to go ahead, or with --dry-run to see the plan'] },
      );
    return d === 'ask';
  }

  private tasks: Map<string, 'pending' | 'running' | 'done'> = new Map(
    STEPS.map((s) => [s, 'pending']),
  );

  private onEvent(progress: LazyProgress, e: ProgressEvent): void {
    if (e.type === 'info') return progress.log(e.message);
    if (e.type === 'warn') return progress.log(`warning: ${e.message}`);
    this.tasks.set(e.step, e.type === 'step-start' ? 'running' : 'done');
    progress
      .start()
      .update(
        STEPS.map((s) => ({ id: s, title: STEP_TITLES[s], state: this.tasks.get(s) ?? 'pending' })),
      );
  }

  private report(r: FailoverResult): void {
    if (this.output === 'json') {
      this.out(JSON.stringify(r, null, 2));
      return;
    }
    if (r.dryRun || r.cancelled) {
      this.out(
        `${r.cancelled ? 'cancelled' : 'dry run'}: ${r.kind} ${r.oldPrimary} → ${r.newPrimary} (${r.why})`,
      );
      this.out(
        `  lag ${r.lagBytes} bytes; possible loss ${r.possibleLossBytes} bytes; reference ${r.lsn.reference ?? 'unknown'}, target ${r.lsn.target ?? 'unknown'}`,
      );
      for (const w of r.warnings) this.out(`  warning: ${w}`);
      this.out('nothing was changed');
      return;
    }
    this.out(summaryLine(r));
  }
}

/**
 * The task list starts with the first step, so its clock does not count the
 * planning before it; messages before that go out as plain lines.
 */
class LazyProgress {
  private p: Progress | undefined;
  constructor(
    private readonly make: () => Progress,
    private readonly plain: (line: string) => void,
  ) {}
  start(): Progress {
    this.p ??= this.make();
    return this.p;
  }
  log(line: string): void {
    if (this.p) this.p.log(line);
    else this.plain(line);
  }
  stop(failed = false): void {
    this.p?.stop(failed);
  }
}
