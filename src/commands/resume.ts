import { Args } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../lib/cli/kube-flags.js';
import { formatPause, setPaused, type PauseResult } from '../lib/cluster/pause.js';

export default class Resume extends BaseCommand<typeof Resume> {
  static override summary = 'End maintenance mode: the agents fail over and fence again.';

  static override description = `Removes the pause mark kpg pause set in the cluster's record. From the agents' next cycle on (one retry period) they act on what they see: a primary whose postgres stayed down while paused is given up, and the most advanced eligible standby takes over. Resuming a cluster that is not paused changes nothing.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o yaml',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = { ...kubeFlags, ...textOutputFlag };

  async run(): Promise<PauseResult> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const target = { namespace: kube.namespace, name: this.args.name };
    const r = await setPaused(kube, target, false, new Date());
    this.out(formatPause(r, this.flags.output ?? 'text'));
    return r;
  }
}
