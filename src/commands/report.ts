import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { collectReport } from '../lib/cluster/report.js';
import { writeReportArchive } from '../lib/cluster/report-archive.js';
import { findClusters } from '../lib/cluster/list.js';
import { NotFoundError } from '../lib/errors.js';

export interface ReportResult {
  file: string;
  bytes: number;
  files: string[];
}

export default class Report extends BaseCommand<typeof Report> {
  static override summary = 'A diagnostic bundle of a cluster, for a colleague, without passwords.';

  static override description = `Writes a .tar.gz with everything kpg made for the cluster as the API server has it (Secret values and the agent bundle replaced by their sizes), kpg describe as text and JSON, the events of those objects, and the log of every container of every pod (and the previous one after a restart). Every text has the cluster Secrets' passwords and anything like password=... cut out before it is written; the archive is readable by its owner only.

Paused clusters (their record and volumes only) are reported too.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres -o /tmp/ha-postgres-report.tar.gz',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    output: Flags.string({
      char: 'o',
      summary: 'The archive to write (default: kpg-report-NAME-TIME.tar.gz here).',
    }),
  };

  async run(): Promise<ReportResult> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const name = this.args.name;
    const ns = kube.namespace;
    const found = await findClusters(kube, {
      allNamespaces: false,
      namespace: ns,
      name,
      paused: true,
    });
    if (found.length === 0)
      throw new NotFoundError(`postgres "${name}" not found in namespace ${ns}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    const now = new Date();
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const top = `kpg-report-${name}-${stamp}`;
    const file = this.flags.output ?? `${top}.tar.gz`;
    const entries = await collectReport(kube, ns, name, {
      now: () => now,
      version: this.config.version,
    });
    const bytes = await writeReportArchive(file, top, entries);
    this.out(`wrote ${file} (${entries.length} files, ${Math.ceil(bytes / 1024)} KiB)`);
    return { file, bytes, files: entries.map((e) => e.path) };
  }
}
