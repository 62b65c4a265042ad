import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import {
  formatLogLine,
  labelOf,
  mergeLogs,
  normalizeTs,
  parseLogLines,
  type LogLine,
  type LogSource,
} from '../lib/cluster/logs.js';
import { clusterPods } from '../lib/cluster/pods.js';
import { NotFoundError } from '../lib/errors.js';
import type { Kube } from '../lib/kube/index.js';

export default class Logs extends BaseCommand<typeof Logs> {
  static override summary =
    "Every pod's log, each line prefixed by its pod and role, in time order.";

  static override description = `Reads the log of every container (postgres and the in-pod agent; -c for one) of every pod of the cluster and prints them merged in time order, each line prefixed by [pod/role/container], as the pods were labelled when kpg started. --since and --tail bound what is read (--tail: the last lines of each container).

With -f the log is followed as it grows, until Ctrl-C: the lines of all containers as they come; a container that restarts is followed again from where it stopped.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ha-postgres -n demo',
    '<%= config.bin %> <%= command.id %> ha-postgres --since 10m -c kpg-agent',
    '<%= config.bin %> <%= command.id %> ha-postgres -f --tail 20',
  ];

  static override args = { name: Args.string({ description: 'The cluster.', required: true }) };

  static override flags = {
    ...kubeFlags,
    follow: Flags.boolean({ char: 'f', summary: 'Follow the logs as they grow (Ctrl-C stops).' }),
    since: Flags.string({ summary: 'Only lines newer than this (e.g. 30s, 10m, 2h).' }),
    tail: Flags.integer({ summary: 'Only the last N lines of each container.', min: 0 }),
    container: Flags.string({ char: 'c', summary: 'Only this container (postgres, kpg-agent).' }),
    timestamps: Flags.boolean({ summary: "Print each line's timestamp (RFC 3339)." }),
  };

  async run(): Promise<void> {
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const name = this.args.name;
    const pods = await clusterPods(kube, kube.namespace, name);
    if (pods.length === 0) {
      throw new NotFoundError(`postgres "${name}" has no pods in namespace ${kube.namespace}`, {
        suggestions: ['list the clusters: kpg get -A'],
      });
    }
    const want = this.flags.container;
    const sources: LogSource[] = pods.flatMap((p) =>
      p.containers
        .filter((c) => want === undefined || c === want)
        .map((container) => ({ pod: p.name, ...(p.role ? { role: p.role } : {}), container })),
    );
    if (sources.length === 0) {
      throw new NotFoundError(
        `no container ${want ?? ''} in the pods of ${kube.namespace}/${name} (${pods[0]?.containers.join(', ') ?? ''})`,
      );
    }
    const sinceSeconds =
      this.flags.since !== undefined
        ? Math.max(
            1,
            Math.ceil(
              parseDuration(this.flags.since, '--since', { minMs: 1000, maxMs: 365 * 86_400_000 }) /
                1000,
            ),
          )
        : undefined;
    const read = await Promise.all(
      sources.map(async (source) => {
        try {
          const body = await kube.logs(kube.namespace, source.pod, source.container, {
            timestamps: true,
            ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
            ...(this.flags.tail !== undefined ? { tailLines: this.flags.tail } : {}),
          });
          return { source, lines: parseLogLines(body) };
        } catch (err) {
          // Not started yet, or gone: the others are still worth reading.
          this.terminal.stderr.write(`${labelOf(source)}: ${(err as Error).message}\n`);
          return { source, lines: [] as LogLine[] };
        }
      }),
    );
    const timestamps = this.flags.timestamps === true;
    for (const line of mergeLogs(read, { timestamps })) this.terminal.stdout.write(`${line}\n`);
    if (!this.flags.follow) return;
    const width = Math.max(...sources.map((s) => labelOf(s).length));
    await Promise.all(
      read.map(({ source, lines }) =>
        follow(kube, source, lines.at(-1)?.ts ?? normalizeTs(new Date().toISOString()), (l) =>
          this.terminal.stdout.write(`${formatLogLine(source, l, { timestamps, width })}\n`),
        ),
      ),
    );
  }
}

/**
 * Follows one container's log from `after` (exclusive) until the process
 * ends; a stream that ends (the container restarted) or fails is opened again.
 */
async function follow(
  kube: Kube,
  s: LogSource,
  after: string,
  print: (l: LogLine) => void,
): Promise<void> {
  let last = after;
  for (;;) {
    try {
      const res = await kube.followLogs(kube.namespace, s.pod, s.container, {
        timestamps: true,
        sinceTime: `${last.slice(0, 19)}Z`,
      });
      let partial = '';
      for await (const chunk of res) {
        const text = partial + (chunk as Buffer).toString('utf8');
        const cut = text.lastIndexOf('\n');
        partial = text.slice(cut + 1);
        // sinceTime has whole seconds: what was printed already comes again.
        for (const l of parseLogLines(text.slice(0, cut + 1), last)) {
          if (l.ts <= last) continue;
          last = l.ts;
          print(l);
        }
      }
    } catch {
      // Gone for now (restarting, or the API server away): try again below.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
