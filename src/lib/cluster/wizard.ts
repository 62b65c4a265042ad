/**
 * `kpg create` without -f on a terminal: asks for a cluster's settings, shows
 * the manifest, can save it, asks before creating. The manifest it produces
 * goes through the same validation as a file. `manifestFromAnswers` is pure.
 */
import { writeFile } from 'node:fs/promises';
import inquirer from 'inquirer';
import { stringify } from 'yaml';
import { UsageError } from '../errors.js';
import type { Kube } from '../kube/index.js';
import { API_VERSION, KIND, SUPPORTED_MAJORS, validateText } from '../manifest/index.js';
import { AGENT_ANNOTATION, AGENT_IMAGE_ANNOTATION, DEFAULT_AGENT_IMAGE } from '../render/agent.js';
import type { Terminal } from '../cli/terminal.js';

export interface WizardAnswers {
  name: string;
  namespace: string;
  version: string;
  replicas: number;
  standbyMode: 'Hot' | 'Warm';
  streamingMode: 'Asynchronous' | 'Synchronous';
  /** '' for the cluster's default StorageClass. */
  storageClass: string;
  size: string;
  /** Fail over by itself (the in-pod agent), or only by `kpg failover`. */
  failover: 'Automatic' | 'Manual';
  /** The agent's Node.js image (automatic failover). */
  agentImage: string;
}

export const DEFAULT_ANSWERS: WizardAnswers = {
  name: 'postgres',
  namespace: 'default',
  version: '15',
  replicas: 3,
  standbyMode: 'Hot',
  streamingMode: 'Asynchronous',
  storageClass: '',
  size: '1Gi',
  failover: 'Automatic',
  agentImage: DEFAULT_AGENT_IMAGE,
};

/** The annotations that say how the cluster fails over (none for the defaults). */
function failoverAnnotations(a: WizardAnswers): Record<string, string> {
  if (a.failover === 'Manual') return { [AGENT_ANNOTATION]: 'false' };
  return a.agentImage && a.agentImage !== DEFAULT_AGENT_IMAGE
    ? { [AGENT_IMAGE_ANNOTATION]: a.agentImage }
    : {};
}

/** The manifest the answers describe (YAML). */
export function manifestFromAnswers(a: WizardAnswers): string {
  const storage: Record<string, unknown> = {
    ...(a.storageClass ? { storageClassName: a.storageClass } : {}),
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: a.size } },
  };
  const extra = failoverAnnotations(a);
  const annotations = Object.keys(extra).length > 0 ? { annotations: extra } : {};
  const doc = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: a.name, namespace: a.namespace, ...annotations },
    spec: {
      version: a.version,
      replicas: a.replicas,
      standbyMode: a.standbyMode,
      streamingMode: a.streamingMode,
      storage,
    },
  };
  // yaml quotes what would otherwise read as another type (version '15').
  return stringify(doc);
}

/** An inquirer validate function from the manifest validator: the field's own problem, or true. */
export function validateField(a: WizardAnswers, path: string): true | string {
  const res = validateText(manifestFromAnswers(a), 'wizard');
  const p = res.problems.find((x) => x.severity === 'error' && x.path.startsWith(path));
  return p ? p.message : true;
}

interface StorageClassObj {
  metadata?: { name?: string; annotations?: Record<string, string> };
}

export async function storageClassChoices(
  kube: Pick<Kube, 'list'>,
): Promise<{ name: string; value: string }[]> {
  const out = [{ name: '(the cluster default)', value: '' }];
  try {
    const list = await kube.list<StorageClassObj>('StorageClass');
    for (const sc of list.items) {
      const n = sc.metadata?.name ?? '';
      const def =
        sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
      out.push({ name: def ? `${n} (default)` : n, value: n });
    }
  } catch {
    // Listing StorageClasses may be forbidden: the default class still works.
    // (The error is not hidden: the choice list simply has no named classes.)
  }
  return out;
}

export interface WizardContext {
  kube: Kube;
  terminal: Terminal;
  namespace?: string;
  yes?: boolean;
}

/** Runs the prompts on the terminal and returns the manifest to create. */
export async function runWizard(ctx: WizardContext): Promise<string> {
  const prompt = inquirer.createPromptModule({
    input: ctx.terminal.stdin as NodeJS.ReadStream,
    output: ctx.terminal.stdout as unknown as NodeJS.WriteStream,
  });
  const classes = await storageClassChoices(ctx.kube);
  const d: WizardAnswers = { ...DEFAULT_ANSWERS, namespace: ctx.namespace ?? ctx.kube.namespace };
  const with_ = (k: keyof WizardAnswers, v: unknown) => ({ ...d, [k]: v }) as WizardAnswers;
  const a = (await prompt([
    {
      type: 'input',
      name: 'name',
      message: 'Cluster name',
      default: d.name,
      validate: (v: string) => validateField(with_('name', v), 'metadata.name'),
    },
    {
      type: 'input',
      name: 'namespace',
      message: 'Namespace',
      default: d.namespace,
      validate: (v: string) => validateField(with_('namespace', v), 'metadata.namespace'),
    },
    {
      type: 'select',
      name: 'version',
      message: 'PostgreSQL version',
      default: d.version,
      choices: [...SUPPORTED_MAJORS].reverse().map((v) => ({ name: v, value: v })),
    },
    {
      type: 'number',
      name: 'replicas',
      message: 'Servers (1 primary + standbys)',
      default: d.replicas,
      validate: (v: number | undefined) =>
        validateField(with_('replicas', v ?? 0), 'spec.replicas'),
    },
    {
      type: 'select',
      name: 'standbyMode',
      message: 'Standby mode',
      default: d.standbyMode,
      choices: [
        { name: 'Hot (standbys serve read-only queries)', value: 'Hot' },
        { name: 'Warm (standbys refuse connections until promoted)', value: 'Warm' },
      ],
    },
    {
      type: 'select',
      name: 'streamingMode',
      message: 'Streaming mode',
      default: d.streamingMode,
      choices: [
        { name: 'Asynchronous', value: 'Asynchronous' },
        { name: 'Synchronous (a commit waits for a standby)', value: 'Synchronous' },
      ],
    },
    {
      type: 'select',
      name: 'storageClass',
      message: 'Storage class',
      default: '',
      choices: classes,
    },
    {
      type: 'input',
      name: 'size',
      message: 'Volume size',
      default: d.size,
      validate: (v: string) => validateField(with_('size', v), 'spec.storage'),
    },
    {
      type: 'select',
      name: 'failover',
      message: 'Failover',
      default: d.failover,
      choices: [
        { name: 'Automatic (an agent in each pod elects the primary)', value: 'Automatic' },
        { name: 'Manual (only kpg failover changes the primary)', value: 'Manual' },
      ],
    },
    {
      type: 'input',
      name: 'agentImage',
      message: "The agent's Node.js image",
      default: d.agentImage,
      when: (x: WizardAnswers) => x.failover === 'Automatic',
    },
  ] as never)) as WizardAnswers;
  const manifest = manifestFromAnswers(a);
  ctx.terminal.stdout.write(`\n---\n${manifest}---\n\n`);
  const next = (await prompt([
    {
      type: 'input',
      name: 'save',
      message: 'Save the manifest to a file (empty: do not save)',
      default: '',
    },
    ...(ctx.yes
      ? []
      : [
          {
            type: 'confirm',
            name: 'go',
            message: `Create postgres "${a.name}" in namespace ${a.namespace}?`,
            default: true,
          },
        ]),
  ] as never)) as { save: string; go?: boolean };
  if (next.save.trim()) {
    await writeFile(next.save.trim(), manifest, { flag: 'wx' }).catch(
      (err: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot save the manifest to ${next.save.trim()}: ${err.code === 'EEXIST' ? 'the file exists' : err.message}`,
        );
      },
    );
    ctx.terminal.stdout.write(
      `saved to ${next.save.trim()} (create it later with: kpg create -f ${next.save.trim()})\n`,
    );
  }
  if (next.go === false) throw new WizardCancelled('nothing was created');
  return manifest;
}

/** The user answered no to "Create?": nothing was created (exit 2). */
export class WizardCancelled extends UsageError {}
