import type { Readable, Writable } from 'node:stream';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { clusterPods } from '../lib/cluster/pods.js';
import { choosePsqlPod } from '../lib/cluster/psql-target.js';
import { interactivePsqlArgv, PG_CONTAINER } from '../lib/postgres/index.js';

export default class Psql extends BaseCommand<typeof Psql> {
  static override summary = 'psql on the primary (or a standby), as the cluster superuser.';

  static override description = `Runs psql in the postgres container of the pod labelled primary (--replica: a ready standby; --pod: that pod) through the API server (exec), as the superuser the cluster's Secret names, over the pod's local socket: no password is asked for, sent or put on any command line.

On a terminal psql gets one (as kubectl exec -it does: line editing, Ctrl-C cancels the query, the window size followed). In a pipe input and output are plain streams: echo 'select 1' | kpg psql NAME. Arguments after -- go to psql as they are (-c, -f -, -v ...).

Exit codes: psql's own (0 ok, 1 a fatal error, 2 the connection went bad, 3 an error in a script with ON_ERROR_STOP), or kpg's (3 the API server, 4 forbidden, 5 no such cluster or no pod to connect to) before psql started.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres --replica -d app',
    "echo 'select now()' | <%= config.bin %> <%= command.id %> ha-postgres",
    "<%= config.bin %> <%= command.id %> ha-postgres -- -c 'select * from pg_stat_replication'",
  ];

  static override strict = false;

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    replica: Flags.boolean({ summary: 'Connect to a ready standby instead of the primary.' }),
    pod: Flags.string({ summary: 'Connect to this pod of the cluster.', exclusive: ['replica'] }),
    database: Flags.string({ char: 'd', summary: 'The database (default: the superuser’s own).' }),
  };

  async run(): Promise<number> {
    const { argv } = await this.parse(Psql);
    const psqlArgs = (argv as string[]).slice(1);
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const name = this.args.name;
    const pods = await clusterPods(kube, kube.namespace, name);
    const pod = choosePsqlPod(pods, {
      cluster: name,
      namespace: kube.namespace,
      ...(this.flags.replica ? { replica: true } : {}),
      ...(this.flags.pod !== undefined ? { pod: this.flags.pod } : {}),
    });
    const stdin = this.terminal.stdin as Readable & {
      isTTY?: boolean;
      setRawMode?: (on: boolean) => void;
    };
    const tty = stdin.isTTY === true && this.terminal.stdout.isTTY === true;
    if (tty) stdin.setRawMode?.(true);
    try {
      const code = await kube.execAttached(
        kube.namespace,
        pod,
        PG_CONTAINER,
        interactivePsqlArgv(this.flags.database, psqlArgs),
        {
          stdin,
          stdout: this.terminal.stdout as unknown as Writable,
          stderr: this.terminal.stderr as unknown as Writable,
          tty,
        },
      );
      process.exitCode = code;
      return code;
    } finally {
      if (tty) stdin.setRawMode?.(false);
      // The attached stdin keeps the event loop alive once psql has ended.
      stdin.pause();
    }
  }
}
