import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { Interrupt } from '../lib/cli/interrupt.js';
import { confirmOrRefuse, isInteractive } from '../lib/cli/confirm.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { agentEnabled } from '../lib/render/agent.js';
import { applyAccessChecks, executeApply, readRunning } from '../lib/cluster/apply-exec.js';
import { planAgainstCluster } from '../lib/cluster/apply-read.js';
import { recordEvent } from '../lib/cluster/events.js';
import { requireAccess } from '../lib/cluster/access.js';
import { formatApplyPlan, hasChanges, type ApplyPlan } from '../lib/cluster/apply-plan.js';
import {
  ConflictError,
  InterruptedError,
  InvalidInputError,
  UnsafeStateError,
} from '../lib/errors.js';
import { leaseHolder, takeLease } from '../lib/failover/lease.js';
import type { Kube } from '../lib/kube/index.js';
import { loadManifests, type PostgresCluster } from '../lib/manifest/index.js';

export interface ApplyResult {
  plans: ApplyPlan[];
  dryRun: boolean;
  /** Clusters changed, with their record's new generation. */
  applied: { name: string; namespace: string; generation: number }[];
}

export default class Apply extends BaseCommand<typeof Apply> {
  static override summary = 'Update running PostgreSQL clusters from changed manifests.';

  static override description = `Compares each manifest with the spec the cluster runs (kept in its record, ConfigMap <name>-kpg) and shows the plan: fields that change, pods added or removed, and a rolling restart when the pod template changes (standbys first, the primary last: a brief outage). Fields a running cluster cannot change (major version, storage class, size or type, databaseSecret, init), and turning the in-pod agent (kpg.io/agent) or TLS (kpg.io/tls) on or off, are refused and nothing is changed; recreating the cluster (kpg delete with terminationPolicy Pause, then kpg create) keeps the data and makes those changes.

Scaling down removes the highest ordinals and keeps their PVCs; it is refused when it would remove the primary (run kpg failover first). On a terminal kpg asks before removing pods or restarting the primary; --yes answers for it.

A rolling restart stops at the first pod that cannot come back when the cluster says why (its creation forbidden, its image or volume not to be had, a crash loop): exit 12, with Kubernetes' message; the other members keep serving, and the same kpg apply finishes the job once the cause is fixed.

Ctrl-C stops at once (exit 130; a pod restarting comes back by itself), and applies the StatefulSet's own update strategy again (never leaving it OnDelete): its controller restarts the pods kpg did not; the same kpg apply finishes the job.`;

  static override examples = [
    {
      description: 'Show what would change.',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml --dry-run',
    },
    {
      description: 'Apply without asking (CI).',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml --yes',
    },
  ];

  static override flags = {
    ...kubeFlags,
    filename: Flags.string({
      char: 'f',
      summary: 'Manifest file, directory, URL, or - for standard input. Repeatable.',
      multiple: true,
      required: true,
    }),
    'dry-run': Flags.boolean({ summary: 'Print the plan only; change nothing.' }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Do not ask before removing pods or restarting the primary.',
    }),
    timeout: Flags.string({
      summary: 'How long to wait for each pod and each scale step, e.g. 90s, 10m.',
      default: '10m',
    }),
  };

  async run(): Promise<ApplyResult> {
    const loaded = await loadManifests(this.flags.filename, { stdin: this.terminal.stdin });
    this.printProblems(loaded.problems, { summary: true });
    if (!loaded.ok) throw new InvalidInputError('the manifests were refused; nothing was changed');
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const result: ApplyResult = { plans: [], dryRun: this.flags['dry-run'], applied: [] };
    for (const next of loaded.clusters) {
      const applied = await this.applyOne(kube, next, result);
      if (applied) result.applied.push(applied);
    }
    if (this.output === 'json') this.out(JSON.stringify(result, null, 2));
    return result;
  }

  private namespaceOf(kube: Kube, c: PostgresCluster): string {
    const flag = this.flags.namespace;
    if (flag && c.namespace && flag !== c.namespace) {
      throw new InvalidInputError(
        `postgres "${c.name}" names namespace ${c.namespace} but --namespace is ${flag}`,
      );
    }
    return c.namespace ?? kube.namespace;
  }

  private async applyOne(kube: Kube, next: PostgresCluster, result: ApplyResult) {
    const namespace = this.namespaceOf(kube, next);
    const { plan, running, render } = await planAgainstCluster(kube, next, namespace);
    result.plans.push(plan);
    this.text(formatApplyPlan(plan));
    if (plan.refusals.length > 0) {
      throw new InvalidInputError(
        `postgres "${next.name}": the change was refused; nothing was changed`,
        {
          suggestions: plan.refusals.flatMap((r) => (r.suggestion ? [r.suggestion] : [])),
        },
      );
    }
    if (!hasChanges(plan) || this.flags['dry-run']) return undefined;
    if (running.record.operation) {
      throw new UnsafeStateError(
        `postgres "${next.name}" has an unfinished ${running.record.operation.kind} (${running.record.operation.id}): nothing was changed`,
        { suggestions: ['finish it first (kpg failover), then apply again'] },
      );
    }
    await requireAccess(kube, namespace, applyAccessChecks(plan, next, render));
    const go = await confirmOrRefuse(
      this.terminal,
      {
        destructive: plan.destructive,
        yes: this.flags.yes,
        dryRun: false,
        interactive: isInteractive(this.terminal),
      },
      `Apply these changes to postgres "${next.name}"?`,
    );
    if (!go) {
      this.text(['cancelled: nothing was changed']);
      return undefined;
    }
    // Not while a failover runs (it holds the same lease), and not on a cluster
    // that changed since it was read: the plan names the primary it saw.
    const lease = await takeLease({
      kube,
      namespace,
      cluster: next.name,
      clock: kube.clock,
      holder: leaseHolder('apply'),
    });
    let generation: number;
    const interrupt = new Interrupt(() =>
      this.err('interrupted: stopping now (a pod restarting comes back by itself)'),
    );
    try {
      const now = await readRunning(kube, namespace, next.name);
      if (
        now.record.operation ||
        now.record.primary !== running.record.primary ||
        now.record.generation !== running.record.generation
      ) {
        throw new ConflictError(
          `postgres "${next.name}" changed while kpg apply was planning (a failover or another apply): nothing was changed`,
          { suggestions: ['run kpg apply again'] },
        );
      }
      generation = await executeApply({
        plan,
        next,
        running,
        render,
        ctx: {
          kube,
          namespace,
          name: next.name,
          primary: running.record.primary,
          agents: agentEnabled(next),
          major: next.major,
          timeoutMs: parseDuration(this.flags.timeout),
          onStep: (line) => this.err(`  ${line}`),
          signal: interrupt.signal,
        },
      });
    } catch (err) {
      if (!interrupt.interrupted) throw err;
      throw new InterruptedError(
        `interrupted: postgres "${next.name}" is partly applied (the record still holds the old spec)${plan.restart ? `; the StatefulSet's updateStrategy is ${next.updateStrategy.type} again${next.updateStrategy.type === 'OnDelete' ? '' : ': its controller restarts the pods kpg did not'}` : ''}`,
        { suggestions: ['run the same kpg apply again to finish it'] },
      );
    } finally {
      interrupt.dispose();
      await lease.release();
    }
    const changes = formatApplyPlan(plan)
      .slice(1)
      .map((l) => l.trim().replace(/\s+/g, ' '))
      .filter(Boolean);
    await recordEvent(kube, namespace, next.name, {
      reason: 'Applied',
      message: `kpg apply: generation ${generation}: ${changes.join('; ')}`,
    });
    this.text([`postgres "${next.name}" applied (generation ${generation})`]);
    return { name: next.name, namespace, generation };
  }

  /** Human output: the plan and results on stdout, unless -o json. */
  private text(lines: string[]): void {
    if (this.output !== 'json') for (const l of lines) this.out(l);
  }
}
