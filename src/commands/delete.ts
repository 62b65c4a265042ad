import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { confirmOrRefuse, isInteractive } from '../lib/cli/confirm.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { requireAccess } from '../lib/cluster/access.js';
import { deleteAccessChecks, executeDelete, takeInventory } from '../lib/cluster/delete-exec.js';
import {
  formatDeletePlan,
  planDelete,
  removesData,
  type DeletePlan,
} from '../lib/cluster/delete-plan.js';
import { InvalidInputError, NotFoundError, UnsafeStateError, UsageError } from '../lib/errors.js';
import type { Kube } from '../lib/kube/index.js';
import { loadManifests } from '../lib/manifest/index.js';

export interface DeleteResult {
  plans: DeletePlan[];
  dryRun: boolean;
  /** Clusters whose objects were removed. */
  deleted: string[];
  notFound: string[];
}

interface Target {
  name: string;
  namespace: string;
}

export default class Delete extends BaseCommand<typeof Delete> {
  static override summary = 'Delete PostgreSQL clusters as their terminationPolicy says.';

  static override description = `Honours spec.terminationPolicy from the cluster's record (KubeDB's table):
  DoNotTerminate  refuses (exit 9): change the policy with kpg apply first
  Pause (default) removes the StatefulSet, pods, Services, PDB, ConfigMap <name>-config and the pods' RBAC; keeps the PVCs, the Secret and the record, so kpg create with the same manifest resumes the data
  Delete          also removes the PVCs and the record; keeps the Secret
  WipeOut         removes everything, the Secret included

Shows what is removed and what is kept, and asks on a terminal (--yes for CI).`;

  static override examples = [
    {
      description: 'See what would be removed.',
      command: '<%= config.bin %> <%= command.id %> pg --dry-run',
    },
    {
      description: 'Delete the clusters of a manifest, without asking.',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml --yes',
    },
  ];

  static override strict = false;
  static override args = { name: Args.string({ description: 'Cluster names (repeatable).' }) };

  static override flags = {
    ...kubeFlags,
    filename: Flags.string({
      char: 'f',
      summary: 'Delete the clusters named in these manifests.',
      multiple: true,
    }),
    'dry-run': Flags.boolean({ summary: 'Print the plan only; change nothing.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask.' }),
    wait: Flags.boolean({
      summary: 'Wait until the removed objects are gone.',
      default: true,
      allowNo: true,
    }),
    timeout: Flags.string({ summary: 'How long to wait, e.g. 90s, 10m.', default: '5m' }),
    'ignore-not-found': Flags.boolean({
      summary: 'A cluster that does not exist is not an error.',
    }),
  };

  async run(): Promise<DeleteResult> {
    const { argv } = await this.parse(Delete);
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const targets = await this.targets(kube, argv as string[]);
    const result: DeleteResult = {
      plans: [],
      dryRun: this.flags['dry-run'],
      deleted: [],
      notFound: [],
    };
    for (const t of targets) await this.deleteOne(kube, t, result);
    if (this.output === 'json') this.out(JSON.stringify(result, null, 2));
    if (result.notFound.length > 0 && !this.flags['ignore-not-found']) {
      throw new NotFoundError(
        `postgres ${result.notFound.map((n) => `"${n}"`).join(', ')} not found`,
        {
          suggestions: [
            'list the clusters with kpg get; --ignore-not-found makes this not an error',
          ],
        },
      );
    }
    return result;
  }

  private async targets(kube: Kube, names: string[]): Promise<Target[]> {
    const files = this.flags.filename ?? [];
    if (names.length === 0 && files.length === 0) {
      throw new UsageError('name the clusters to delete, or give -f FILE', {
        suggestions: ['kpg delete NAME [NAME...]'],
      });
    }
    const ns = kube.namespace;
    const out: Target[] = names.map((name) => ({ name, namespace: ns }));
    if (files.length > 0) {
      const loaded = await loadManifests(files, { stdin: this.terminal.stdin });
      this.printProblems(loaded.problems, { summary: true });
      if (!loaded.ok)
        throw new InvalidInputError('the manifests were refused; nothing was deleted');
      out.push(...loaded.clusters.map((c) => ({ name: c.name, namespace: c.namespace ?? ns })));
    }
    return out;
  }

  private async deleteOne(kube: Kube, t: Target, result: DeleteResult): Promise<void> {
    const inv = await takeInventory(kube, t.namespace, t.name);
    if (!inv.recordFound && inv.found.length === 0) {
      result.notFound.push(`${t.namespace}/${t.name}`);
      if (this.output !== 'json')
        this.err(`postgres "${t.name}" not found in namespace ${t.namespace}`);
      return;
    }
    const plan = planDelete({ ...t, ...inv });
    result.plans.push(plan);
    this.text(formatDeletePlan(plan));
    if (plan.refusal) {
      throw new UnsafeStateError(plan.refusal, {
        suggestions: [
          'to delete it, change spec.terminationPolicy (e.g. to Pause) with kpg apply first',
        ],
      });
    }
    if (this.flags['dry-run'] || plan.remove.length === 0) return;
    await requireAccess(kube, t.namespace, deleteAccessChecks(plan));
    const go = await confirmOrRefuse(
      this.terminal,
      {
        destructive: true,
        yes: this.flags.yes,
        dryRun: false,
        interactive: isInteractive(this.terminal),
      },
      removesData(plan)
        ? `Delete postgres "${t.name}" AND ITS DATA (${plan.policy})?`
        : `Delete postgres "${t.name}" (${plan.policy}: the data is kept)?`,
    );
    if (!go) {
      this.text(['cancelled: nothing was deleted']);
      return;
    }
    await executeDelete(
      {
        kube,
        namespace: t.namespace,
        timeoutMs: parseDuration(this.flags.timeout),
        onStep: (l) => this.err(`  ${l}`),
      },
      plan,
      this.flags.wait,
    );
    result.deleted.push(`${t.namespace}/${t.name}`);
    this.text([`postgres "${t.name}" deleted (${plan.policy})`]);
  }

  private text(lines: string[]): void {
    if (this.output !== 'json') for (const l of lines) this.out(l);
  }
}
