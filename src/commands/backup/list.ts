import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/cli/base.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../../lib/cli/kube-flags.js';
import { formatBackupList } from '../../lib/backup/format.js';
import type { BackupInfo } from '../../lib/backup/info.js';
import { listBackups } from '../../lib/cluster/backup.js';

export default class BackupList extends BaseCommand<typeof BackupList> {
  static override summary = "List the base backups in a cluster's WAL archive.";

  static override description = `Reads the archive of spec.archiver through the storage sidecar of one of the cluster's pods (the primary's when it runs), so it works wherever the pods reach the storage, and lists each complete base backup: its id, timeline, start and end LSN, size and when it ended. Oldest first.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o json',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = { ...kubeFlags, ...textOutputFlag };

  async run(): Promise<{ location: string; backups: BackupInfo[] }> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const l = await listBackups(kube, { namespace: kube.namespace, name: this.args.name });
    this.out(formatBackupList(l, this.flags.output ?? 'text', new Date()));
    return l;
  }
}
