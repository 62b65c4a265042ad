import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, listFlags, listScope } from '../lib/cli/kube-flags.js';
import { collectStatus } from '../lib/cluster/collect.js';
import { getTable, summarize, toJson, toYaml } from '../lib/cluster/format.js';
import { findClusters } from '../lib/cluster/list.js';
import type { ClusterSummary } from '../lib/cluster/status.js';
import { NotFoundError } from '../lib/errors.js';

const TYPE_WORDS = new Set(['postgres', 'postgreses', 'pg', 'postgres.kubedb.com']);

export interface GetResult {
  clusters: ClusterSummary[];
}

export default class Get extends BaseCommand<typeof Get> {
  static override summary = 'List PostgreSQL clusters created by kpg.';

  static override description = `Finds clusters from their labels (StatefulSets labelled app.kubernetes.io/managed-by=kpg,kubedb.com/kind=Postgres) and their records, and asks each primary whether it accepts writes and who streams from it.

Columns: NAME, NAMESPACE (with -A), VERSION, READY (ready pods / replicas), PRIMARY (the pod labelled primary; "NAME-0?" when only the record names one), STATUS (Running, Degraded, Down, Provisioning), AGE. -o wide adds STANDBY, STREAMING and STORAGE.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo -o wide',
    '<%= config.bin %> <%= command.id %> -A -o json',
    '<%= config.bin %> <%= command.id %> -l env=prod -o name',
  ];

  static override args = {
    name: Args.string({
      description:
        'Cluster name (optional; "postgres" or "pg" before it is accepted, as with kubedb).',
    }),
    name2: Args.string({ hidden: true }),
  };

  static override flags = {
    ...kubeFlags,
    ...listFlags,
    output: Flags.string({
      char: 'o',
      summary: 'Output format.',
      options: ['table', 'wide', 'json', 'yaml', 'name'],
      default: 'table',
      helpGroup: 'GLOBAL',
    }),
    'pod-timeout': Flags.integer({
      summary: 'Seconds to wait for each pod to answer (1 to 600).',
      default: 3,
      min: 1,
      max: 600,
    }),
  };

  async run(): Promise<GetResult> {
    const name = TYPE_WORDS.has(this.args.name ?? '') ? this.args.name2 : this.args.name;
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const scope = { ...listScope(this.flags, kube), selector: this.flags.selector, name };
    const refs = await findClusters(kube, scope);
    if (name && refs.length === 0) {
      throw new NotFoundError(`postgres "${name}" not found in namespace ${kube.namespace}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    }
    const statuses = await Promise.all(
      refs.map((r) =>
        collectStatus(kube, r.namespace, r.name, {
          podTimeoutMs: this.flags['pod-timeout'] * 1000,
          maxEvents: 0,
        }),
      ),
    );
    const clusters = statuses.map(summarize);
    this.print(clusters, scope.allNamespaces, kube.namespace);
    return { clusters };
  }

  private print(clusters: ClusterSummary[], all: boolean, ns: string): void {
    const o = this.flags.output;
    if (o === 'json')
      return this.out(
        toJson(this.args.name && clusters.length === 1 ? clusters[0] : { items: clusters }),
      );
    if (o === 'yaml')
      return this.out(
        toYaml(this.args.name && clusters.length === 1 ? clusters[0] : { items: clusters }),
      );
    if (clusters.length === 0) {
      this.err(all ? 'No resources found' : `No resources found in ${ns} namespace.`);
      return;
    }
    if (o === 'name') return this.out(clusters.map((c) => `postgres/${c.name}`).join('\n'));
    this.out(
      getTable(clusters, {
        now: new Date(),
        wide: o === 'wide',
        allNamespaces: all,
        color: this.color,
      }),
    );
  }
}
