import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { Interrupt } from '../lib/cli/interrupt.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import {
  clusterPodOf,
  clusterPods,
  clusterSelector,
  type ClusterPod,
  type PodObject,
} from '../lib/cluster/pods.js';
import { choosePsqlPod, type PsqlWant } from '../lib/cluster/psql-target.js';
import { InvalidInputError } from '../lib/errors.js';

const PG_PORT = 5432;

export default class PortForward extends BaseCommand<typeof PortForward> {
  static override summary = 'Forward a local port to the primary, following it through failovers.';

  static override description = `Listens on 127.0.0.1:LOCAL_PORT (default 5432; 0 picks a free port) and forwards each connection through the API server to port 5432 of the pod labelled primary (--replica: a ready standby), as kubectl port-forward does, but the target is chosen again for every new connection. When the primary changes (a failover or switchover) it says so on stderr, closes the connections to the old one, and sends new ones to the new primary; no restart needed. Runs until Ctrl-C (exit 0).

No password is involved here: connect with the cluster's Secret, e.g. PGPASSWORD=$(kubectl get secret NAME-auth -o jsonpath='{.data.POSTGRES_PASSWORD}' | base64 -d) psql -h 127.0.0.1 -U postgres.

Exit codes before it listens: 1 the local port is taken, 3 the API server, 4 forbidden, 5 no such cluster or no pod to forward to.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres 15432',
    '<%= config.bin %> <%= command.id %> ha-postgres 0 --replica',
  ];

  static override args = {
    name: Args.string({ description: 'The cluster.', required: true }),
    port: Args.integer({
      description: 'The local port (default 5432; 0: any free one).',
      min: 0,
      max: 65535,
    }),
  };

  static override flags = {
    ...kubeFlags,
    replica: Flags.boolean({ summary: 'Forward to a ready standby instead of the primary.' }),
  };

  async run(): Promise<void> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const name = this.args.name;
    const ns = kube.namespace;
    const want: PsqlWant = {
      cluster: name,
      namespace: ns,
      ...(this.flags.replica ? { replica: true } : {}),
    };
    const pods = new Map<string, ClusterPod>(
      (await clusterPods(kube, ns, name)).map((p) => [p.name, p]),
    );
    const choose = () => choosePsqlPod([...pods.values()], want);
    let current = choose();
    const role = this.flags.replica ? 'standby' : 'primary';
    const local = this.args.port ?? PG_PORT;
    const handle = await kube
      .portForward(
        ns,
        async () => {
          try {
            return choose();
          } catch (err) {
            this.err(`connection refused: ${(err as Error).message}`);
            throw err;
          }
        },
        PG_PORT,
        local,
      )
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
        throw new InvalidInputError(`cannot listen on 127.0.0.1:${local}: ${err.code}`, {
          suggestions: [
            `name another local port: kpg port-forward ${name} 15432 (0: any free one)`,
          ],
        });
      });
    this.out(
      `Forwarding from 127.0.0.1:${handle.localPort} -> ${name} (${role} ${current}:${PG_PORT})`,
    );
    const interrupt = new Interrupt();
    const follow = () => {
      let now: string;
      try {
        now = choose();
      } catch {
        return; // none ready for now: the next connection says so
      }
      if (now === current) return;
      const dropped = handle.drop(current);
      this.err(
        `the ${role} is now ${now} (was ${current}): new connections go to it; ${dropped} connection(s) to ${current} closed`,
      );
      current = now;
    };
    try {
      await kube.watch<PodObject>(
        'Pod',
        { namespace: ns, labelSelector: clusterSelector(name), signal: interrupt.signal },
        (e) => {
          if (e.type === 'LIST') {
            pods.clear();
            for (const p of e.items) pods.set(p.metadata.name ?? '', clusterPodOf(p));
          } else if (e.type === 'DELETED') pods.delete(e.object.metadata.name ?? '');
          else pods.set(e.object.metadata.name ?? '', clusterPodOf(e.object));
          follow();
        },
      );
    } finally {
      interrupt.dispose();
      await handle.close();
    }
  }
}
