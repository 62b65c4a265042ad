import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/cli/base.js';
import { confirmOrRefuse, isInteractive } from '../../lib/cli/confirm.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../../lib/cli/kube-flags.js';
import { formatPrunePlan } from '../../lib/backup/format.js';
import type { PrunePlan } from '../../lib/backup/prune.js';
import { planBackupPrune, runBackupPrune } from '../../lib/cluster/backup.js';
import { toJson, toYaml } from '../../lib/cluster/format.js';

export default class BackupPrune extends BaseCommand<typeof BackupPrune> {
  static override summary =
    "Remove old base backups, and the WAL only they needed, from a cluster's archive.";

  static override description = `Keeps the newest --keep base backups and removes the others, then the archived WAL of every segment before the oldest kept backup's start: no backup left could replay it. Timeline history files stay. Shows the plan and asks on a terminal (--yes for CI, --dry-run for the plan only). A restore to a point before the oldest kept backup is impossible afterwards.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres --keep 3',
    '<%= config.bin %> <%= command.id %> ha-postgres --keep 1 --dry-run',
    '<%= config.bin %> <%= command.id %> ha-postgres --keep 7 --yes -o json',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    ...textOutputFlag,
    keep: Flags.integer({
      summary: 'How many of the newest base backups to keep (1 or more).',
      required: true,
    }),
    'dry-run': Flags.boolean({ summary: 'Print the plan; change nothing.' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask.' }),
  };

  async run(): Promise<{ location: string; plan: PrunePlan; removed: string[] }> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const target = { namespace: kube.namespace, name: this.args.name };
    const { location, plan } = await planBackupPrune(kube, target, this.flags.keep);
    const output = this.flags.output ?? 'text';
    if (output === 'text') this.err(formatPrunePlan(location, plan));
    let removed: string[] = [];
    const destructive = plan.remove.length > 0 || plan.walBefore !== undefined;
    const go = await confirmOrRefuse(
      this.terminal,
      {
        destructive,
        yes: this.flags.yes,
        dryRun: this.flags['dry-run'],
        interactive: isInteractive(this.terminal),
      },
      `Remove ${plan.remove.length} base backup${plan.remove.length === 1 ? '' : 's'} and the WAL before ${plan.walBefore ?? '-'}?`,
    );
    if (go) removed = await runBackupPrune(kube, target, plan);
    else if (!this.flags['dry-run']) this.err('cancelled: nothing was removed');
    const result = { location, plan, removed };
    if (output === 'json') this.out(toJson(result));
    else if (output === 'yaml') this.out(toYaml(result));
    else for (const line of removed) this.out(line);
    return result;
  }
}
