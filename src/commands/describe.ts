import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, listFlags, listScope } from '../lib/cli/kube-flags.js';
import { parseOutput, renderOutput } from '../lib/cli/output.js';
import { isTypeList } from '../lib/cli/type-words.js';
import { collectStatus } from '../lib/cluster/collect.js';
import { describeText } from '../lib/cluster/describe.js';
import { formatTable, toJson, toYaml } from '../lib/cluster/format.js';
import { healthExitCode } from '../lib/cluster/health.js';
import { findClusters } from '../lib/cluster/list.js';
import type { ClusterStatus, Health } from '../lib/cluster/status.js';
import { NotFoundError, UsageError } from '../lib/errors.js';
import type { Kube } from '../lib/kube/index.js';

const SEVERITY: Health[] = ['healthy', 'degraded', 'down'];

export default class Describe extends BaseCommand<typeof Describe> {
  static override summary = 'Show everything about PostgreSQL clusters, and their health.';

  static override description = `Gathers in parallel, each pod with its own deadline (--pod-timeout) so one hung pod degrades the output instead of hanging it: the spec as applied (from the cluster's record), the StatefulSet, each instance (role, readiness, node, timeline, LSN, lag in bytes and time, restarts), the replication view from the primary (pg_stat_replication), the Services with their selectors and endpoints, the Secret's keys and sizes (never values), TLS (the server certificate's names and end, a warning 30 days before it, and how to connect with sslmode=verify-full), the failover history and any unfinished operation, and recent events. -o json|yaml emits the same data.

Health: healthy = exactly one primary (labelled primary, not in recovery, the one the record names), every standby streaming, every pod Ready; degraded = a primary serves writes but a standby is missing, not streaming or lagging; down = no writable primary behind the primary Service, or two.

Without a name (or with "all", "pg", as kubectl takes types), every cluster in the namespace, in all of them with -A, those whose StatefulSet matches -l: one after another, and -o json|yaml as {items: [...]}.

Exit codes with --exit-code: 0 healthy, 10 degraded, 11 down — the worst of them for several clusters (and the usual codes when a cluster cannot be read: 3 unreachable, 4 forbidden, 5 not found).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o json',
    '<%= config.bin %> <%= command.id %> -A --exit-code',
    `<%= config.bin %> <%= command.id %> ha-postgres -o jsonpath='{range .instances[*]}{.pod} {.role}{"\\n"}{end}'`,
    {
      description: 'Use in scripts: the exit code says the health.',
      command:
        '<%= config.bin %> <%= command.id %> ha-postgres --exit-code >/dev/null || echo "not healthy: $?"',
    },
  ];

  static override args = {
    name: Args.string({
      description:
        'Cluster name ("postgres" or "pg" before it is accepted, as with kubedb); none: every cluster.',
    }),
    name2: Args.string({ hidden: true }),
  };

  static override flags = {
    ...kubeFlags,
    ...listFlags,
    output: Flags.string({
      char: 'o',
      summary: 'Output format.',
      description: `text, json, yaml, jsonpath=TEMPLATE or custom-columns=HEAD:PATH,… (kubectl's syntax, on the -o json document)`,
      default: 'text',
      helpGroup: 'GLOBAL',
    }),
    'exit-code': Flags.boolean({
      summary: 'Exit with the health: 0 healthy, 10 degraded, 11 down.',
    }),
    'pod-timeout': Flags.integer({
      summary: 'Seconds to wait for each pod to answer (1 to 600).',
      default: 5,
      min: 1,
      max: 600,
    }),
  };

  async run(): Promise<ClusterStatus | { items: ClusterStatus[] }> {
    const output = parseOutput(this.flags.output ?? 'text', ['text', 'json', 'yaml']);
    const name = isTypeList(this.args.name, 'describe') ? this.args.name2 : this.args.name;
    if (name && this.flags['all-namespaces'])
      throw new UsageError('a cluster cannot be described by name across all namespaces (-A)');
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const statuses = name ? [await this.one(kube, name)] : await this.every(kube);
    if (!name && statuses.length === 0) {
      this.err(
        this.flags['all-namespaces']
          ? 'No resources found'
          : `No resources found in ${kube.namespace} namespace.`,
      );
      return { items: [] };
    }
    const doc = name ? statuses[0]! : { items: statuses };
    const o = output.kind === 'plain' ? output.format : '';
    if (output.kind !== 'plain')
      this.out(renderOutput(output, doc, (t) => formatTable(t[0] ?? [], t.slice(1))));
    else if (o === 'json') this.out(toJson(doc));
    else if (o === 'yaml') this.out(toYaml(doc));
    else
      this.out(
        statuses.map((st) => describeText(st, { now: new Date(), color: this.color })).join('\n\n'),
      );
    if (this.flags['exit-code']) {
      const worst = SEVERITY[Math.max(...statuses.map((st) => SEVERITY.indexOf(st.health)))];
      const code = healthExitCode(worst ?? 'healthy');
      if (code !== 0) this.fail(code);
    }
    return doc;
  }

  private async one(kube: Kube, name: string): Promise<ClusterStatus> {
    const status = await collectStatus(kube, kube.namespace, name, {
      podTimeoutMs: this.flags['pod-timeout'] * 1000,
    });
    if (!status.statefulSet && !status.record && status.instances.length === 0) {
      throw new NotFoundError(`postgres "${name}" not found in namespace ${kube.namespace}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    }
    return status;
  }

  /** Every cluster in scope, paused ones (a record, no StatefulSet) too. */
  private async every(kube: Kube): Promise<ClusterStatus[]> {
    const scope = { ...listScope(this.flags, kube), selector: this.flags.selector, paused: true };
    const refs = await findClusters(kube, scope);
    return Promise.all(
      refs.map((r) =>
        collectStatus(kube, r.namespace, r.name, {
          podTimeoutMs: this.flags['pod-timeout'] * 1000,
        }),
      ),
    );
  }
}
