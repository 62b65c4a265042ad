import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, listFlags, listScope } from '../lib/cli/kube-flags.js';
import { collectStatus } from '../lib/cluster/collect.js';
import { formatTable, getTable, summarize, toJson, toYaml } from '../lib/cluster/format.js';
import { followClusters } from '../lib/cluster/follow.js';
import { findClusters, type ClusterScope } from '../lib/cluster/list.js';
import type { ClusterSummary } from '../lib/cluster/status.js';
import { seenOf, watchChanges } from '../lib/cluster/watch-rows.js';
import { Interrupt } from '../lib/cli/interrupt.js';
import { parseOutput, renderOutput, type Output } from '../lib/cli/output.js';
import { parseTypes } from '../lib/cli/type-words.js';
import { findDormant, runningAndDormantText, type DormantSummary } from '../lib/cluster/dormant.js';
import type { Kube } from '../lib/kube/index.js';
import { NotFoundError, UsageError } from '../lib/errors.js';

export interface GetResult {
  clusters: ClusterSummary[];
  /** `kpg get drmn`: what Pause kept of deleted clusters. */
  dormant?: DormantSummary[];
}

export default class Get extends BaseCommand<typeof Get> {
  static override summary = 'List PostgreSQL clusters created by kpg.';

  static override description = `Finds clusters from their labels (StatefulSets labelled app.kubernetes.io/managed-by=kpg,kubedb.com/kind=Postgres) and their records, and asks each primary whether it accepts writes and who streams from it.

Columns: NAME, NAMESPACE (with -A), VERSION, READY (ready pods / replicas), PRIMARY (the pod labelled primary; "NAME-0?" when only the record names one), STATUS (Running, Degraded, Down, Provisioning), AGE. -o wide adds STANDBY, STREAMING and STORAGE.

drmn (dormantdatabase), as KubeDB's CLI has it, lists what terminationPolicy Pause kept of deleted clusters (the record, the volumes, the Secrets): NAME, VERSION, POLICY, VOLUMES, AGE; kpg create with the same manifest resumes one, kpg delete drmn NAME removes it. pg,drmn lists both.

-w (--watch) goes on after the list, as kubectl's does: a row again whenever a cluster's READY, PRIMARY or STATUS changes (a failover, a pod not ready), a row with STATUS Deleted when one goes, until Ctrl-C (exit 0). --watch-only skips the first list. With -o json or yaml each row is one document.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo -o wide',
    '<%= config.bin %> <%= command.id %> -A -o json',
    '<%= config.bin %> <%= command.id %> -l env=prod -o name',
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo -w',
    `<%= config.bin %> <%= command.id %> ha-postgres -o jsonpath='{.primary}'`,
    '<%= config.bin %> <%= command.id %> -A -o custom-columns=NAME:.name,PRIMARY:.primary',
    '<%= config.bin %> <%= command.id %> drmn -n demo',
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
      description: `table, wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=HEAD:PATH,… (kubectl's syntax, on the -o json document)`,
      default: 'table',
      helpGroup: 'GLOBAL',
    }),
    watch: Flags.boolean({
      char: 'w',
      summary: 'After the list, print a cluster again whenever READY, PRIMARY or STATUS changes.',
    }),
    'watch-only': Flags.boolean({
      summary: 'As --watch, without the first list.',
    }),
    'pod-timeout': Flags.integer({
      summary: 'Seconds to wait for each pod to answer (1 to 600).',
      default: 3,
      min: 1,
      max: 600,
    }),
  };

  private format: Output = { kind: 'plain', format: 'table' };

  async run(): Promise<GetResult> {
    this.format = parseOutput(this.flags.output ?? 'table', [
      'table',
      'wide',
      'json',
      'yaml',
      'name',
    ]);
    const types = parseTypes(this.args.name, 'get', ['postgres', 'dormant']);
    const name = types ? this.args.name2 : this.args.name;
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const scope = { ...listScope(this.flags, kube), selector: this.flags.selector, name };
    if (types?.has('dormant')) return this.dormant(kube, scope, types.has('postgres'));
    const refs = await findClusters(kube, scope);
    if (name && refs.length === 0) {
      throw new NotFoundError(`postgres "${name}" not found in namespace ${kube.namespace}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    }
    const watching = this.flags.watch || this.flags['watch-only'];
    const clusters = await this.summaries(kube, refs);
    if (!this.flags['watch-only']) this.print(clusters, scope.allNamespaces, kube.namespace);
    if (watching) await this.follow(kube, scope, clusters);
    return { clusters };
  }

  private async summaries(
    kube: Kube,
    refs: { namespace: string; name: string }[],
  ): Promise<ClusterSummary[]> {
    const statuses = await Promise.all(
      refs.map((r) =>
        collectStatus(kube, r.namespace, r.name, {
          podTimeoutMs: this.flags['pod-timeout'] * 1000,
          maxEvents: 0,
        }),
      ),
    );
    return statuses.map(summarize);
  }

  /** -w: a row per change until Ctrl-C. */
  private async follow(kube: Kube, scope: ClusterScope, first: ClusterSummary[]): Promise<void> {
    const interrupt = new Interrupt();
    let seen = seenOf(first);
    let header = !this.flags['watch-only'] && first.length > 0;
    const refresh = async () => {
      try {
        const now = await this.summaries(kube, await findClusters(kube, scope));
        const change = watchChanges(seen, now);
        seen = change.seen;
        if (change.rows.length === 0) return;
        this.printRows(change.rows, scope.allNamespaces, header);
        header = true;
      } catch (err) {
        // As kubectl's watch: say so and go on; the next change tries again.
        if (!interrupt.interrupted)
          this.warn(`cannot read the clusters: ${(err as Error).message}`);
      }
    };
    try {
      await followClusters(kube, scope, refresh, { signal: interrupt.signal });
    } finally {
      interrupt.dispose();
    }
  }

  private printRows(rows: ClusterSummary[], all: boolean, headerShown: boolean): void {
    if (this.format.kind !== 'plain') {
      const o = this.format;
      return this.out(rows.map((r) => renderOutput(o, r, (t) => this.columns(t))).join('\n'));
    }
    const o = this.format.format;
    if (o === 'json') return this.out(rows.map((r) => toJson(r)).join('\n'));
    if (o === 'yaml') return this.out(rows.map((r) => `---\n${toYaml(r)}`).join('\n'));
    if (o === 'name') return this.out(rows.map((c) => `postgres/${c.name}`).join('\n'));
    const table = getTable(rows, {
      now: new Date(),
      wide: o === 'wide',
      allNamespaces: all,
      color: this.color,
    }).split('\n');
    this.out((headerShown ? table.slice(1) : table).join('\n'));
  }

  private print(clusters: ClusterSummary[], all: boolean, ns: string): void {
    const doc = this.args.name && clusters.length === 1 ? clusters[0] : { items: clusters };
    if (this.format.kind !== 'plain')
      return this.out(renderOutput(this.format, doc, (t) => this.columns(t)));
    const o = this.format.format;
    if (o === 'json') return this.out(toJson(doc));
    if (o === 'yaml') return this.out(toYaml(doc));
    if (clusters.length === 0) {
      this.noneFound(all, ns);
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

  /** `kpg get drmn` (and `pg,drmn`): the dormant clusters, after the running ones. */
  private async dormant(kube: Kube, scope: ClusterScope, withRunning: boolean): Promise<GetResult> {
    if (this.flags.watch || this.flags['watch-only'])
      throw new UsageError('-w watches running clusters: leave drmn out');
    const clusters = withRunning ? await this.summaries(kube, await findClusters(kube, scope)) : [];
    const dormant = await findDormant(kube, scope);
    if (scope.name && clusters.length === 0 && dormant.length === 0) {
      throw new NotFoundError(
        `${withRunning ? 'postgres or ' : ''}dormantdatabase "${scope.name}" not found in namespace ${kube.namespace}`,
        { suggestions: ['list them: kpg get pg,drmn -A'] },
      );
    }
    const result: GetResult = { clusters, dormant };
    const f = this.format;
    if (f.kind !== 'plain') {
      this.out(renderOutput(f, result, (t) => this.columns(t)));
    } else if (f.format === 'json') this.out(toJson(result));
    else if (f.format === 'yaml') this.out(toYaml(result));
    else if (clusters.length === 0 && dormant.length === 0) {
      this.noneFound(scope.allNamespaces, kube.namespace);
    } else {
      this.out(
        runningAndDormantText(clusters, dormant, {
          name: f.format === 'name',
          wide: f.format === 'wide',
          now: new Date(),
          allNamespaces: scope.allNamespaces,
          color: this.color,
        }),
      );
    }
    return result;
  }

  /** kubectl's words for an empty list. */
  private noneFound(all: boolean, ns: string): void {
    this.err(all ? 'No resources found' : `No resources found in ${ns} namespace.`);
  }

  /** custom-columns: the header row first. */
  private columns(t: string[][]): string {
    return formatTable(t[0] ?? [], t.slice(1));
  }
}
