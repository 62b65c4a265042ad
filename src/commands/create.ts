import { Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { parseDuration } from '../lib/cli/duration.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { Interrupt } from '../lib/cli/interrupt.js';
import { Progress } from '../lib/cli/progress.js';
import { requireAccess } from '../lib/cluster/access.js';
import { agentBundleFor } from '../lib/cluster/agent-bundle.js';
import {
  createAccessChecks,
  executePlan,
  prepareCreate,
  type CreatePlan,
} from '../lib/cluster/create.js';
import { blockerLine } from '../lib/cluster/blockers.js';
import { recordEvent } from '../lib/cluster/events.js';
import { waitForCluster } from '../lib/cluster/wait.js';
import { issueTls } from '../lib/cluster/tls.js';
import { InterruptedError, InvalidInputError, UsageError } from '../lib/errors.js';
import type { Kube } from '../lib/kube/index.js';
import {
  loadManifests,
  validateText,
  type LoadResult,
  type PostgresCluster,
} from '../lib/manifest/index.js';
import {
  allObjects,
  clusterNamespace,
  redactSecrets,
  renderCluster,
  toJsonList,
  toYamlStream,
  type KubeObject,
} from '../lib/render/index.js';

export interface CreatedCluster {
  name: string;
  namespace: string;
  created: string[];
  applied: string[];
  skipped: string[];
  resumed: boolean;
  ready: boolean;
  /** Milliseconds each wait step took. */
  durations: Record<string, number>;
}

export interface CreateResult {
  dryRun: 'none' | 'client' | 'server';
  /** The objects rendered (client dry run). */
  objects?: KubeObject[];
  clusters: CreatedCluster[];
}

/** The agent's bundle, read only when a cluster runs the in-pod agent (unless kpg.io/agent: "false"). */
function renderBundle(clusters: PostgresCluster[]): { agentBundle?: string } {
  const agentBundle = agentBundleFor(clusters);
  return agentBundle !== undefined ? { agentBundle } : {};
}

export default class Create extends BaseCommand<typeof Create> {
  static override summary =
    'Create PostgreSQL clusters from kubedb.com/v1alpha1 Postgres manifests.';

  static override description = `Renders each Postgres manifest into the Kubernetes objects that run it without an operator: a Secret (unless spec.databaseSecret names one), the TLS Secrets <name>-ca and <name>-tls (a CA of the cluster's own and the server certificate it signed; none with the annotation kpg.io/tls: "false"), a ServiceAccount with the Role the pods need, a ConfigMap with postgresql.conf, pg_hba.conf and the start scripts, the Services <name> (primary), <name>-replicas and <name>-pods, a StatefulSet, a PodDisruptionBudget, a NetworkPolicy (none with kpg.io/network-policy: "false"), and the cluster's record (ConfigMap <name>-kpg).

Every document is validated first; if any is invalid nothing is sent. The record and the generated Secret are created only when absent; everything else is server-side applied (field manager kpg), so running create again on a half-created cluster finishes it. A cluster that already exists is refused (exit 6): change it with kpg apply. So is one that would need an object of the same name that kpg did not make, or that belongs to another cluster (exit 6, nothing created): kpg takes nothing over (a user's own Secret <name>-auth is used as it is).

Then kpg waits (--wait=false to skip, --timeout to bound it) until the primary accepts writes and every standby streams from it (pg_stat_replication on the primary), showing progress. When the cluster says the wait cannot succeed (the StatefulSet may not create a pod: Pod Security, a ResourceQuota, a LimitRange, a webhook; a volume without a StorageClass; an image that cannot be pulled; a container that keeps crashing, with its last log lines), kpg stops at once with Kubernetes' message and exit 12; what may clear by itself (a pod no node can take yet) is shown while it waits. Ctrl-C stops between two objects, or leaves the cluster to come up on its own while waiting (exit 130); the same kpg create resumes a half-created cluster.

Without -f on a terminal, an interactive wizard asks for the cluster's settings and builds the manifest.

With --dry-run=client the objects are printed (-o yaml, the default, or -o json as a v1 List) and nothing is sent anywhere; with --dry-run=server the API server validates everything and persists nothing.`;

  static override examples = [
    {
      description: "Create the cluster of KubeDB's guide and wait for it.",
      command: '<%= config.bin %> <%= command.id %> -f examples/ha-postgres.yaml',
    },
    {
      description: 'Answer a few questions instead of writing a manifest.',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Print the objects without creating anything.',
      command:
        '<%= config.bin %> <%= command.id %> -f examples/ha-postgres.yaml --dry-run=client -o yaml',
    },
    {
      description: 'Create without waiting.',
      command: '<%= config.bin %> <%= command.id %> -f pg.yaml --wait=false',
    },
  ];

  static override flags = {
    ...kubeFlags,
    filename: Flags.string({
      char: 'f',
      summary:
        'Manifest file, directory, URL, or - for standard input. Repeatable. Without it: the wizard (terminal only).',
      multiple: true,
    }),
    'dry-run': Flags.string({
      summary:
        'client: only print the objects; server: let the API server validate them, persist nothing.',
      options: ['none', 'client', 'server'],
      default: 'none',
    }),
    wait: Flags.boolean({
      summary:
        'Wait until the primary accepts writes and every standby streams (--wait=false: do not).',
      allowNo: true,
      default: true,
    }),
    timeout: Flags.string({ summary: 'How long to wait, e.g. 90s, 10m.', default: '10m' }),
    'show-secrets': Flags.boolean({
      summary:
        "With --dry-run=client: print the Secret's data (the generated passwords); by default it is printed without it.",
    }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation (wizard).' }),
    output: Flags.string({
      char: 'o',
      summary: 'Output format; with --dry-run=client, text prints YAML.',
      options: ['text', 'yaml', 'json'],
      default: 'text',
      helpGroup: 'GLOBAL',
    }),
  };

  override async init(): Promise<void> {
    // kubectl spells it --wait=false; oclif booleans take no value.
    this.argv = this.argv.map((a) =>
      a === '--wait=false' ? '--no-wait' : a === '--wait=true' ? '--wait' : a,
    );
    await super.init();
  }

  async run(): Promise<CreateResult> {
    const dryRun = this.flags['dry-run'] as CreateResult['dryRun'];
    const timeoutMs = parseDuration(this.flags.timeout);
    const loaded = await this.manifests();
    this.printProblems(loaded.problems, { summary: true });
    if (!loaded.ok) throw new InvalidInputError('the manifests were refused; nothing was created');

    const bundle = renderBundle(loaded.clusters);
    if (dryRun === 'client') {
      const namespace = this.flags.namespace ?? 'default';
      const objects: KubeObject[] = [];
      for (const c of loaded.clusters) {
        const tls = await issueTls(c, c.namespace ?? namespace);
        objects.push(...allObjects(renderCluster(c, { namespace, ...bundle, tls })));
      }
      const json = (this.flags.output as string) === 'json';
      const shown = this.flags['show-secrets'] ? { objects, redacted: [] } : redactSecrets(objects);
      this.out((json ? toJsonList(shown.objects) : toYamlStream(shown.objects)).trimEnd());
      if (shown.redacted.length > 0)
        this.err(
          `note: ${shown.redacted.join(', ')} printed without ${shown.redacted.length > 1 ? 'their' : 'its'} data (--show-secrets prints the passwords and keys)`,
        );
      return { objects: shown.objects, dryRun, clusters: [] };
    }

    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    this.checkNamespaces(loaded.clusters, kube);
    // Plan every cluster before sending anything: one refusal sends nothing.
    const plans: [PostgresCluster, CreatePlan][] = [];
    for (const c of loaded.clusters) {
      plans.push([
        c,
        await prepareCreate(kube, c, kube.namespace, {
          applyHint: this.applyHint(),
          render: bundle,
        }),
      ]);
    }
    for (const [, plan] of plans)
      await requireAccess(kube, plan.namespace, createAccessChecks(plan));
    const results: CreatedCluster[] = [];
    const interrupt = new Interrupt(() => this.err('interrupted: stopping after the current step'));
    try {
      for (const [c, plan] of plans)
        results.push(await this.createOne(kube, c, plan, dryRun, timeoutMs, interrupt));
    } finally {
      interrupt.dispose();
    }
    if (this.output === 'json' || (this.flags.output as string) === 'yaml') {
      const doc = { dryRun, clusters: results };
      this.out(
        (this.flags.output as string) === 'yaml'
          ? toYamlStream([doc as never]).trimEnd()
          : JSON.stringify(doc, null, 2),
      );
    }
    return { dryRun, clusters: results };
  }

  private async manifests(): Promise<LoadResult> {
    if (this.flags.filename?.length)
      return loadManifests(this.flags.filename, { stdin: this.terminal.stdin });
    const stdin = this.terminal.stdin as NodeJS.ReadableStream & { isTTY?: boolean };
    if (!stdin.isTTY || !this.terminal.stdout.isTTY) {
      throw new UsageError('no manifest given: pass -f FILE (or -f - for standard input)', {
        suggestions: [
          'run kpg create in a terminal, without -f, to be asked for the settings instead',
        ],
      });
    }
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    // Loaded here: inquirer costs every other create a third of a second.
    const { runWizard } = await import('../lib/cluster/wizard.js');
    const manifest = await runWizard({
      kube,
      terminal: this.terminal,
      namespace: this.flags.namespace,
      yes: this.flags.yes,
    });
    return validateText(manifest, 'wizard');
  }

  private createHint(): string {
    return this.applyHint().replace(/^kpg apply/, 'kpg create');
  }

  private applyHint(): string {
    const f = this.flags.filename?.length
      ? this.flags.filename.map((x) => `-f ${x}`).join(' ')
      : '-f FILE';
    return `kpg apply ${f}`;
  }

  private checkNamespaces(clusters: PostgresCluster[], kube: Kube): void {
    const flag = this.flags.namespace;
    if (!flag) return;
    for (const c of clusters) {
      if (c.namespace && c.namespace !== flag) {
        throw new InvalidInputError(
          `postgres "${c.name}" names namespace ${c.namespace}, which does not match --namespace ${flag}; nothing was created`,
          {
            suggestions: [
              'remove metadata.namespace from the manifest, or pass the same --namespace',
            ],
          },
        );
      }
    }
    void kube;
  }

  private async createOne(
    kube: Kube,
    c: PostgresCluster,
    plan: CreatePlan,
    dryRun: CreateResult['dryRun'],
    timeoutMs: number,
    interrupt: Interrupt,
  ): Promise<CreatedCluster> {
    const ns = clusterNamespace(c, { namespace: kube.namespace });
    const human = this.output === 'text';
    const sent: string[] = [];
    try {
      await executePlan(kube, plan, {
        ...(dryRun === 'server' ? { dryRun: 'server' } : {}),
        signal: interrupt.signal,
        onStep: (step) => sent.push(`${step.object.kind}/${step.object.metadata.name}`),
      });
    } catch (err) {
      if (!interrupt.interrupted) throw err;
      const left = plan.steps.length - sent.length;
      throw new InterruptedError(
        `interrupted: postgres "${c.name}": ${sent.length ? `${sent.join(', ')} sent` : 'nothing sent'}; ${left} object${left === 1 ? '' : 's'} not`,
        {
          suggestions: [
            `the same ${this.createHint()} finishes it (create resumes a half-created cluster)`,
            ...(sent.length ? [`or remove what was made: kpg delete ${c.name} -n ${ns}`] : []),
          ],
        },
      );
    }
    const names = (a: string) =>
      plan.steps
        .filter((s) => s.action === a)
        .map((s) => `${s.object.kind}/${s.object.metadata.name}`);
    const result: CreatedCluster = {
      name: c.name,
      namespace: ns,
      created: names('create'),
      applied: names('apply'),
      skipped: names('skip'),
      resumed: plan.resuming,
      ready: false,
      durations: {},
    };
    if (human) {
      const suffix =
        dryRun === 'server'
          ? ' (server dry run)'
          : plan.resuming
            ? ' (finishing an earlier create)'
            : '';
      this.out(`postgres "${c.name}" created${suffix}`);
    }
    if (dryRun === 'server') return result;
    if (!this.flags.wait) {
      await recordEvent(kube, ns, c.name, {
        reason: 'Created',
        message: `kpg create: ${result.created.length} objects created (not waited for)`,
      });
      return result;
    }

    const stderr = this.terminal.stderr;
    const progress = new Progress(stderr, {
      tty: stderr.isTTY === true,
      color: this.colorErr,
      enabled: human,
    });
    const started = Date.now();
    try {
      await waitForCluster(
        kube,
        { ns, name: c.name, replicas: c.replicas, primary: `${c.name}-0` },
        {
          timeoutMs,
          major: c.major,
          signal: interrupt.signal,
          onUpdate: (steps) => progress.update(steps),
          onBlocker: (b) => progress.log(`waiting: ${blockerLine(b)} (${b.advice})`),
        },
      );
      progress.stop();
    } catch (err) {
      progress.stop(true);
      if (!interrupt.interrupted) {
        await recordEvent(kube, ns, c.name, {
          reason: 'NotReady',
          type: 'Warning',
          message: `kpg create: ${(err as Error).message}`,
        });
        throw err;
      }
      throw new InterruptedError(
        `interrupted while waiting: postgres "${c.name}" is created and comes up on its own`,
        { suggestions: [`kpg describe ${c.name} -n ${ns} shows how far it got`] },
      );
    }
    result.ready = true;
    result.durations = progress.durations();
    const standbys = c.replicas - 1;
    const ready =
      `primary ${c.name}-0 accepts writes` +
      (standbys > 0 ? `, ${standbys} standby${standbys === 1 ? '' : 's'} streaming` : '') +
      ` (${((Date.now() - started) / 1000).toFixed(1)}s)`;
    await recordEvent(kube, ns, c.name, { reason: 'Created', message: `kpg create: ${ready}` });
    if (human) this.out(`postgres "${c.name}" is ready: ${ready}`);
    return result;
  }
}
