import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { confirmOrRefuse, isInteractive } from '../lib/cli/confirm.js';
import { Interrupt } from '../lib/cli/interrupt.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags, listFlags } from '../lib/cli/kube-flags.js';
import { recordEvent } from '../lib/cluster/events.js';
import { requireAccess } from '../lib/cluster/access.js';
import { deleteAccessChecks, executeDelete, takeInventory } from '../lib/cluster/delete-exec.js';
import { formatDeletePlan, planDelete, type DeletePlan } from '../lib/cluster/delete-plan.js';
import {
  deleteQuestion,
  deleteScope,
  refusalOf,
  type DeleteScope,
} from '../lib/cluster/delete-targets.js';
import { findClusters } from '../lib/cluster/list.js';
import { parseTypes, type ResourceType } from '../lib/cli/type-words.js';
import {
  InterruptedError,
  InvalidInputError,
  NotFoundError,
  UnsafeStateError,
} from '../lib/errors.js';
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

const DORMANT_WIPE = 'a dormant database: what Pause kept goes';

export default class Delete extends BaseCommand<typeof Delete> {
  static override summary = 'Delete PostgreSQL clusters as their terminationPolicy says.';

  static override description = `Honours spec.terminationPolicy from the cluster's record (KubeDB's table):
  DoNotTerminate  refuses (exit 9): change the policy with kpg apply first
  Pause (default) removes the StatefulSet, pods, Services, PDB, ConfigMap <name>-config and the pods' RBAC; keeps the PVCs, the Secret and the record, so kpg create with the same manifest resumes the data
  Delete          also removes the PVCs and the record; keeps the Secret
  WipeOut         removes everything, the Secret included

Every cluster is planned before anything is removed: when one of them refuses (DoNotTerminate), nothing is deleted. Shows what is removed and what is kept, and asks once on a terminal (--yes for CI).

-l/--selector and --all pick clusters by label in the namespace (-A: in every namespace), paused ones (only their record left) included; they cannot be mixed with names or -f.

Types, as KubeDB's CLI takes them, before the names or with --all: pg (postgres) is a running cluster; drmn (dormantdatabase) is what terminationPolicy Pause kept of a deleted one (its record, PVCs and Secrets), and deleting it removes all of that; snap (snapshot) finds nothing, as kpg makes no snapshots yet. Without a type, clusters running or paused, each as its policy says.

--force removes everything of each cluster, data and Secrets included, whatever its terminationPolicy says (DoNotTerminate still refuses); the plan and the question come first as always.

Ctrl-C stops between two objects (exit 130) and says what was deleted; the same kpg delete finishes it.`;

  static override examples = [
    {
      description: 'See what would be removed.',
      command: '<%= config.bin %> <%= command.id %> pg --dry-run',
    },
    {
      description: 'Delete the clusters of a manifest, without asking.',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml --yes',
    },
    {
      description: 'Delete every cluster labelled env=test, in every namespace.',
      command: '<%= config.bin %> <%= command.id %> -A -l env=test',
    },
    {
      description:
        "The KubeDB guide's clean-up: every cluster of the namespace and what paused ones kept, data included.",
      command: '<%= config.bin %> <%= command.id %> pg,drmn,snap -n demo --all --force',
    },
  ];

  static override strict = false;
  static override args = { name: Args.string({ description: 'Cluster names (repeatable).' }) };

  static override flags = {
    ...kubeFlags,
    ...listFlags,
    all: Flags.boolean({ summary: 'Delete every cluster in the namespace (-A: everywhere).' }),
    filename: Flags.string({
      char: 'f',
      summary: 'Delete the clusters named in these manifests.',
      multiple: true,
    }),
    'dry-run': Flags.boolean({ summary: 'Print the plan only; change nothing.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask.' }),
    force: Flags.boolean({
      summary: 'Remove everything, data and Secrets included, whatever terminationPolicy says.',
    }),
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
    const words = argv as string[];
    const types = parseTypes(words[0], 'delete', ['postgres', 'dormant', 'snapshot']);
    const names = types ? words.slice(1) : words;
    const scope = deleteScope({
      names,
      files: this.flags.filename ?? [],
      selector: this.flags.selector,
      all: this.flags.all,
      allNamespaces: this.flags['all-namespaces'],
    });
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const targets = await this.targets(kube, scope, names);
    const result: DeleteResult = {
      plans: [],
      dryRun: this.flags['dry-run'],
      deleted: [],
      notFound: [],
    };
    for (const t of targets) await this.plan(kube, t, result, types);
    const refusal = refusalOf(result.plans);
    if (refusal) {
      if (this.output === 'json') this.out(JSON.stringify(result, null, 2));
      throw new UnsafeStateError(refusal, {
        suggestions: [
          'to delete it, change spec.terminationPolicy (e.g. to Pause) with kpg apply first',
        ],
      });
    }
    if (!this.flags['dry-run']) await this.removeAll(kube, result);
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

  private async targets(kube: Kube, scope: DeleteScope, names: string[]): Promise<Target[]> {
    if (scope.by === 'name') return this.named(kube, names);
    const found = await findClusters(kube, { ...scope, namespace: kube.namespace, paused: true });
    if (found.length === 0 && this.output !== 'json') {
      this.err(
        scope.allNamespaces
          ? 'No resources found'
          : `No resources found in ${kube.namespace} namespace.`,
      );
    }
    return found;
  }

  private async named(kube: Kube, names: string[]): Promise<Target[]> {
    const files = this.flags.filename ?? [];
    const ns = kube.namespace;
    const out: Target[] = names.map((name) => ({ name, namespace: ns }));
    if (files.length > 0) {
      const loaded = await loadManifests(files, { stdin: this.terminal.stdin });
      this.printProblems(loaded.problems, { summary: true });
      if (!loaded.ok)
        throw new InvalidInputError('the manifests were refused; nothing was deleted');
      out.push(...loaded.clusters.map((c) => ({ name: c.name, namespace: c.namespace ?? ns })));
    }
    // A name given twice (or also in a file) is deleted once.
    return [...new Map(out.map((t) => [`${t.namespace}/${t.name}`, t])).values()];
  }

  private async plan(
    kube: Kube,
    t: Target,
    result: DeleteResult,
    types: Set<ResourceType> | undefined,
  ): Promise<void> {
    const inv = await takeInventory(kube, t.namespace, t.name);
    const exists = inv.recordFound || inv.found.length > 0;
    const dormant = exists && !inv.found.some((o) => o.kind === 'StatefulSet');
    const kind = dormant ? 'dormant' : 'postgres';
    if (!exists || (types && !types.has(kind))) {
      // Picked by a selector, a cluster of another type is not this command's.
      if (!exists || this.isNamed()) this.notFound(t, result, types, exists ? kind : undefined);
      return;
    }
    const wipe = this.flags.force ? '--force' : types && dormant ? DORMANT_WIPE : undefined;
    const plan = planDelete({ ...t, ...inv, ...(wipe ? { wipe } : {}) });
    result.plans.push(plan);
    this.text(formatDeletePlan(plan));
  }

  private isNamed(): boolean {
    return this.flags.selector === undefined && !this.flags.all;
  }

  private notFound(
    t: Target,
    result: DeleteResult,
    types: Set<ResourceType> | undefined,
    is: ResourceType | undefined,
  ): void {
    result.notFound.push(`${t.namespace}/${t.name}`);
    if (this.output === 'json') return;
    const asked =
      types && !types.has('postgres') ? [...types].map(typeName).join(' or ') : 'postgres';
    const why =
      is === 'postgres'
        ? ` (postgres "${t.name}" runs: kpg delete pg ${t.name})`
        : is === 'dormant'
          ? ` (a dormant database: kpg delete drmn ${t.name})`
          : types?.has('snapshot') && !types.has('postgres')
            ? ' (kpg makes no snapshots yet)'
            : '';
    this.err(`${asked} "${t.name}" not found in namespace ${t.namespace}${why}`);
  }

  /** Checks every permission first, asks once, then removes the clusters one after another. */
  private async removeAll(kube: Kube, result: DeleteResult): Promise<void> {
    const acting = result.plans.filter((p) => p.remove.length > 0);
    if (acting.length === 0) return;
    for (const p of acting) await requireAccess(kube, p.namespace, deleteAccessChecks(p));
    const go = await confirmOrRefuse(
      this.terminal,
      {
        destructive: true,
        yes: this.flags.yes,
        dryRun: false,
        interactive: isInteractive(this.terminal),
      },
      deleteQuestion(acting),
    );
    if (!go) {
      this.text(['cancelled: nothing was deleted']);
      return;
    }
    const interrupt = new Interrupt(() =>
      this.err('interrupted: stopping after the current object'),
    );
    try {
      for (const plan of acting) {
        const removed: string[] = [];
        try {
          await executeDelete(
            {
              kube,
              namespace: plan.namespace,
              timeoutMs: parseDuration(this.flags.timeout),
              onStep: (l) => this.err(`  ${l}`),
              onRemoved: (o) => removed.push(o),
              signal: interrupt.signal,
            },
            plan,
            this.flags.wait,
          );
        } catch (err) {
          if (!interrupt.interrupted) throw err;
          throw interruptedDelete(plan, removed, result.deleted);
        }
        result.deleted.push(`${plan.namespace}/${plan.name}`);
        const kept = plan.keep.map((k) => `${k.kind}/${k.name}`).join(', ');
        await recordEvent(kube, plan.namespace, plan.name, {
          reason: 'Deleted',
          message: `kpg delete (terminationPolicy ${plan.policy}${plan.wipe ? `, wiped: ${plan.wipe}` : ''}): ${plan.remove.length} objects removed${kept ? `; kept ${kept}` : ''}`,
        });
        this.text([`postgres "${plan.name}" deleted (${plan.wipe ? 'wiped' : plan.policy})`]);
      }
    } finally {
      interrupt.dispose();
    }
  }

  private text(lines: string[]): void {
    if (this.output !== 'json') for (const l of lines) this.out(l);
  }
}

/** What an interrupted delete did, and how to finish it. */
function interruptedDelete(plan: DeletePlan, removed: string[], done: string[]): InterruptedError {
  const left = plan.remove.length - removed.length;
  return new InterruptedError(
    `interrupted: postgres "${plan.name}": ${removed.length ? `${removed.join(', ')} deleted` : 'nothing of it deleted'}${left ? `; ${left} object${left === 1 ? '' : 's'} not` : ''}${done.length ? ` (done before: ${done.join(', ')})` : ''}`,
    {
      suggestions: [
        `the same kpg delete ${plan.name} -n ${plan.namespace} finishes it (what is gone is skipped)`,
      ],
    },
  );
}

const typeName = (t: ResourceType) =>
  t === 'dormant' ? 'dormantdatabase' : t === 'snapshot' ? 'snapshot' : 'postgres';
