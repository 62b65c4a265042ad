import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/cli/base.js';
import { parseDuration } from '../../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags, textOutputFlag } from '../../lib/cli/kube-flags.js';
import { formatBackup } from '../../lib/backup/format.js';
import { runBackup, type BackupResult } from '../../lib/cluster/backup.js';

export default class Backup extends BaseCommand<typeof Backup> {
  static override summary = 'Take a base backup of a cluster into its WAL archive.';

  static override description = `Runs pg_basebackup as a Job (NAME-backup-ID) that streams one tar of the data (read from a Ready hot standby when there is one, else the primary), with the WAL it needs, into the archive of spec.archiver (basebackups/ID/ beside wal/), and waits for it. A backup is complete only once its backup.info is stored: a failed one is removed and reported with the Job's own words (exit 8). Prints the backup's id, start and end LSN, size and duration.

A new cluster restores from it with spec.init.postgresWAL (the archive's path as prefix, and pitr for a point in time): the newest backup that ended before the target, then the archived WAL up to it. kpg backup list NAME shows the backups.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o json',
    '<%= config.bin %> backup list ha-postgres',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    ...textOutputFlag,
    timeout: Flags.string({
      summary: 'How long to wait for the backup, e.g. 30m, 2h.',
      default: '1h',
    }),
  };

  async run(): Promise<BackupResult> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const r = await runBackup(
      kube,
      { namespace: kube.namespace, name: this.args.name },
      { now: () => new Date(), timeoutMs: parseDuration(this.flags.timeout) },
    );
    this.out(formatBackup(r, this.flags.output ?? 'text'));
    return r;
  }
}
