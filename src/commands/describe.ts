import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../lib/cli/kube-flags.js';
import { collectStatus } from '../lib/cluster/collect.js';
import { describeText } from '../lib/cluster/describe.js';
import { toJson, toYaml } from '../lib/cluster/format.js';
import { healthExitCode } from '../lib/cluster/health.js';
import type { ClusterStatus } from '../lib/cluster/status.js';
import { NotFoundError } from '../lib/errors.js';

const TYPE_WORDS = new Set(['postgres', 'postgreses', 'pg', 'postgres.kubedb.com']);

export default class Describe extends BaseCommand<typeof Describe> {
  static override summary = 'Show everything about one PostgreSQL cluster, and its health.';

  static override description = `Gathers in parallel, each pod with its own deadline (--pod-timeout) so one hung pod degrades the output instead of hanging it: the spec as applied (from the cluster's record), the StatefulSet, each instance (role, readiness, node, timeline, LSN, lag in bytes and time, restarts), the replication view from the primary (pg_stat_replication), the Services with their selectors and endpoints, the Secret's keys and sizes (never values), the failover history and any unfinished operation, and recent events. -o json|yaml emits the same data.

Health: healthy = exactly one primary (labelled primary, not in recovery, the one the record names), every standby streaming, every pod Ready; degraded = a primary serves writes but a standby is missing, not streaming or lagging; down = no writable primary behind the primary Service, or two.

Exit codes with --exit-code: 0 healthy, 10 degraded, 11 down (and the usual codes when the cluster cannot be read: 3 unreachable, 4 forbidden, 5 not found).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o json',
    {
      description: 'Use in scripts: the exit code says the health.',
      command:
        '<%= config.bin %> <%= command.id %> ha-postgres --exit-code >/dev/null || echo "not healthy: $?"',
    },
  ];

  static override args = {
    name: Args.string({
      description: 'Cluster name ("postgres" or "pg" before it is accepted, as with kubedb).',
      required: true,
    }),
    name2: Args.string({ hidden: true }),
  };

  static override flags = {
    ...kubeFlags,
    ...textOutputFlag,
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

  async run(): Promise<ClusterStatus> {
    const name = (
      TYPE_WORDS.has(this.args.name) && this.args.name2 ? this.args.name2 : this.args.name
    ) as string;
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const status = await collectStatus(kube, kube.namespace, name, {
      podTimeoutMs: this.flags['pod-timeout'] * 1000,
    });
    if (!status.statefulSet && !status.record && status.instances.length === 0) {
      throw new NotFoundError(`postgres "${name}" not found in namespace ${kube.namespace}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    }
    const o = this.flags.output;
    if (o === 'json') this.out(toJson(status));
    else if (o === 'yaml') this.out(toYaml(status));
    else this.out(describeText(status, { now: new Date(), color: this.color }));
    if (this.flags['exit-code']) {
      const code = healthExitCode(status.health);
      if (code !== 0) this.fail(code);
    }
    return status;
  }
}
