import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/cli/base.js';
import { isInteractive } from '../lib/cli/confirm.js';
import { kubeFlags, kubeFromFlags } from '../lib/cli/kube-flags.js';
import { parseTypes } from '../lib/cli/type-words.js';
import { editBuffer, editorOf, restrictedChanges, stripComments } from '../lib/cluster/edit.js';
import { planAgainstCluster } from '../lib/cluster/apply-read.js';
import { InvalidInputError, NotFoundError, UsageError } from '../lib/errors.js';
import type { Kube, KubeObject } from '../lib/kube/index.js';
import { validateText } from '../lib/manifest/index.js';
import { formatProblems } from '../lib/manifest/problem.js';
import { objectNames } from '../lib/render/labels.js';

export default class Edit extends BaseCommand<typeof Edit> {
  static override summary = "Edit a cluster's manifest in your editor, then apply it.";

  static override description = `Opens the manifest the cluster runs (its record's applied spec) in $KPG_EDITOR, $KUBEDB_EDITOR, $EDITOR, else nano. When the editor exits, the manifest is validated; apiVersion, kind, metadata.name and metadata.namespace may not change, and kpg apply refuses what a running cluster cannot change (the major version, storage, databaseSecret, init, the agent and TLS annotations). On a terminal a refused edit reopens the editor with the errors as comments at the top, as kubectl edit does; without one it fails (exit 1) and says where your changes are. A saved file that is empty or unchanged cancels the edit.

The change then goes through kpg apply: its plan, and its question on a terminal before pods are removed or the primary restarts (--yes answers it).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> pg ha-postgres -n demo',
    'KPG_EDITOR=vim <%= config.bin %> <%= command.id %> ha-postgres --dry-run',
  ];

  static override args = {
    name: Args.string({ description: 'The cluster ("pg" or "postgres" before it is accepted).' }),
    name2: Args.string({ hidden: true }),
  };

  static override flags = {
    ...kubeFlags,
    'dry-run': Flags.boolean({ summary: "Show apply's plan of the edit only; change nothing." }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Do not ask before removing pods or restarting the primary.',
    }),
    timeout: Flags.string({
      summary: 'How long apply waits for each pod, e.g. 90s, 10m.',
      default: '10m',
    }),
  };

  async run(): Promise<void> {
    const name = parseTypes(this.args.name, 'edit') ? this.args.name2 : this.args.name;
    if (!name) throw new UsageError('name the cluster to edit: kpg edit pg NAME');
    const kube = await kubeFromFlags(this.flags, this.terminal.env);
    const ns = kube.namespace;
    const rec = await kube.find<KubeObject & { data?: { spec?: string } }>(
      'ConfigMap',
      ns,
      objectNames(name).record,
    );
    const original = rec?.data?.spec;
    if (!original)
      throw new NotFoundError(`postgres "${name}" not found in namespace ${ns}`, {
        suggestions: ['list the clusters: kpg get'],
      });
    const dir = mkdtempSync(join(tmpdir(), 'kpg-edit-'));
    const file = join(dir, `${name}.yaml`);
    let kept = false;
    try {
      let shown = editBuffer(original);
      let errors: string[] = [];
      for (;;) {
        writeFileSync(file, shown, { mode: 0o600 });
        this.runEditor(file);
        const saved = readFileSync(file, 'utf8');
        const text = stripComments(saved);
        if (text === '' || text === stripComments(original)) {
          this.out('Edit cancelled, no changes made.');
          return;
        }
        if (errors.length > 0 && saved === shown)
          throw new InvalidInputError(`the edit was refused (${errors[0]}); nothing was changed`);
        errors = this.check(original, text, file);
        if (errors.length === 0) errors = await this.refusals(kube, text, file, ns);
        if (errors.length === 0) errors = await this.apply(file, text, name);
        if (errors.length === 0) return;
        if (!isInteractive(this.terminal)) {
          kept = true;
          throw new InvalidInputError(
            `the edit was refused; nothing was changed. Your changes are in ${file}`,
            {
              suggestions: errors,
            },
          );
        }
        shown = editBuffer(text, errors);
      }
    } finally {
      if (!kept) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The editor on the terminal (or whatever stdio kpg has), through sh as kubectl does: EDITOR may hold arguments. */
  private runEditor(file: string): void {
    const editor = editorOf(this.terminal.env);
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
    if (r.error || r.status !== 0)
      throw new InvalidInputError(
        `the editor (${editor}) ${r.error ? `could not run: ${r.error.message}` : `exited with ${r.status ?? r.signal}`}; nothing was changed`,
      );
  }

  private check(original: string, text: string, file: string): string[] {
    const restricted = restrictedChanges(original, text);
    const loaded = validateText(text, file);
    const problems = loaded.problems.filter((p) => p.severity === 'error');
    return [
      ...restricted.map((r) => `error: ${r}`),
      ...(problems.length ? [formatProblems(problems, { color: false })] : []),
    ];
  }

  /** What kpg apply would refuse, said in the editor instead of after it. */
  private async refusals(kube: Kube, text: string, file: string, ns: string): Promise<string[]> {
    const next = validateText(text, file).clusters[0];
    if (!next) return ['error: the file holds no Postgres manifest'];
    const { plan } = await planAgainstCluster(kube, next, next.namespace ?? ns);
    return plan.refusals.map(
      (r) => `error: ${r.path}: ${r.reason}${r.suggestion ? ` (${r.suggestion})` : ''}`,
    );
  }

  /** Through kpg apply, with this command's cluster and flags; its refusal becomes the errors shown. */
  private async apply(file: string, text: string, name: string): Promise<[]> {
    writeFileSync(file, `${text}\n`, { mode: 0o600 });
    const f = this.flags;
    const pass = [
      ...(f.kubeconfig ? ['--kubeconfig', f.kubeconfig] : []),
      ...(f.context ? ['--context', f.context] : []),
      ...(f.namespace ? ['-n', f.namespace] : []),
      '--request-timeout',
      f['request-timeout'],
      '--timeout',
      f.timeout,
      ...(f['dry-run'] ? ['--dry-run'] : []),
      ...(f.yes ? ['--yes'] : []),
    ];
    // Its errors are printed by it, and end this command with its exit code.
    await this.config.runCommand('apply', ['-f', file, ...pass]);
    if (!f['dry-run']) this.out(`postgres "${name}" edited`);
    return [];
  }
}
