import { Args } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../lib/cli/kube-flags.js';
import { formatPause, setPaused, type PauseResult } from '../lib/cluster/pause.js';

export default class Pause extends BaseCommand<typeof Pause> {
  static override summary = 'Maintenance mode: the agents stop failing over and fencing.';

  static override description = `Marks the cluster's record paused (KubeDB calls it halted; Patroni, pause). While paused, the in-pod agents promote no standby and fence no primary, whatever the lease does; postgres keeps running in its current role, even with the API server away (the primary's fence deadline is kept a day ahead). A switchover (kpg failover NAME on a healthy primary) still works. kpg get shows STATUS ...,Paused; kpg describe shows since when.

Refused for a cluster whose pods run no agent (kpg.io/agent: "false"). Pausing a paused cluster changes nothing. kpg resume NAME ends it.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o json',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = { ...kubeFlags, ...textOutputFlag };

  async run(): Promise<PauseResult> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const target = { namespace: kube.namespace, name: this.args.name };
    const r = await setPaused(kube, target, true, new Date());
    this.out(formatPause(r, this.flags.output ?? 'text'));
    return r;
  }
}
