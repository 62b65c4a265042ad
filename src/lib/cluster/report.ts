/**
 * `kpg report`: what a colleague needs to diagnose a cluster, and nothing
 * that leaks a password. Reads the cluster's objects (Secrets without their
 * values), describe's status, the events and every container's log; every
 * text then has the Secret's passwords and anything like `password=…` cut
 * out. No printing, no files: the command writes the archive.
 */
import { stringify } from 'yaml';
import type { Kube, KubeObject } from '../kube/index.js';
import { agentBundleName } from '../render/agent.js';
import { redactLog } from './blockers.js';
import { collectStatus } from './collect.js';
import { takeInventory } from './delete-exec.js';
import { describeText } from './describe.js';
import type { K8sEvent, K8sPod } from './objects.js';

export interface ReportEntry {
  /** Relative path in the archive. */
  path: string;
  content: string;
}

type Obj = KubeObject & {
  data?: Record<string, string>;
  stringData?: unknown;
  metadata?: KubeObject['metadata'] & { managedFields?: unknown };
};

/** An object as it may leave the cluster: a Secret's values become their sizes, no managedFields. */
export function redactObject(o: Obj, agentBundleMap: string): Obj {
  const metadata = { ...o.metadata };
  delete metadata.managedFields;
  const out: Obj = { ...o, metadata } as Obj;
  if (o.kind === 'Secret' || o.metadata?.name === agentBundleMap) {
    const what = o.kind === 'Secret' ? 'removed by kpg report' : 'the agent bundle, left out';
    out.data = Object.fromEntries(
      Object.entries(o.data ?? {}).map(([k, v]) => [
        k,
        `<${o.kind === 'Secret' ? Buffer.from(v, 'base64').length : v.length} bytes, ${what}>`,
      ]),
    );
    delete out.stringData;
  }
  return out;
}

/** Every password value in the Secrets found, to cut out of every text. */
export function secretValues(secrets: Obj[]): string[] {
  return secrets.flatMap((s) =>
    Object.entries(s.data ?? {})
      .filter(([k]) => /PASSWORD|tls\.key/i.test(k))
      .map(([, v]) => Buffer.from(v, 'base64').toString('utf8'))
      // Texts are cut line by line: a PEM key by each of its base64 lines.
      .flatMap((v) =>
        v.includes('\n')
          ? v.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'))
          : [v],
      ),
  );
}

const redactText = (text: string, secrets: string[]) =>
  redactLog(text.split('\n'), secrets).join('\n');

export interface ReportOptions {
  now?: () => Date;
  version: string;
}

export async function collectReport(
  kube: Kube,
  namespace: string,
  name: string,
  o: ReportOptions,
): Promise<ReportEntry[]> {
  const now = o.now ?? (() => new Date());
  const inv = await takeInventory(kube, namespace, name);
  const objects = (
    await Promise.all(
      inv.found.map((r) => kube.find<Obj>(r.kind, namespace, r.name).catch(() => undefined)),
    )
  ).filter((x): x is Obj => x !== undefined);
  const secrets = secretValues(objects.filter((x) => x.kind === 'Secret'));
  const bundle = agentBundleName(name);
  const entries: ReportEntry[] = [];
  const add = (path: string, content: string) =>
    entries.push({ path, content: redactText(content, secrets) });

  for (const x of objects) {
    const path = `objects/${x.kind}-${x.metadata?.name ?? 'unnamed'}.yaml`;
    // A Secret's values are gone already; the cut would only blur the sizes said instead.
    if (x.kind === 'Secret') entries.push({ path, content: stringify(redactObject(x, bundle)) });
    else add(path, stringify(redactObject(x, bundle)));
  }
  const status = await collectStatus(kube, namespace, name, { now });
  add('describe.json', `${JSON.stringify(status, null, 2)}\n`);
  add('describe.txt', `${describeText(status, { color: false, now: now() })}\n`);
  const names = new Set(objects.map((x) => `${x.kind}/${x.metadata?.name}`));
  const { items: events } = await kube.list<K8sEvent & KubeObject>('Event', { namespace });
  const ours = events.filter((e) =>
    names.has(`${e.involvedObject?.kind}/${e.involvedObject?.name}`),
  );
  add('events.yaml', stringify(ours.map((e) => redactObject(e, bundle))));
  for (const pod of objects.filter((x): x is Obj & K8sPod => x.kind === 'Pod'))
    for (const [container, restarted] of containersOf(pod)) {
      const pname = pod.metadata?.name ?? '';
      const read = (previous: boolean) =>
        kube
          .logs(namespace, pname, container, { timestamps: true, previous })
          .catch((err: Error) => `<no log: ${err.message}>\n`);
      add(`logs/${pname}/${container}.log`, await read(false));
      if (restarted) add(`logs/${pname}/${container}.previous.log`, await read(true));
    }
  add(
    'README.txt',
    [
      `kpg report of postgres "${name}" in namespace ${namespace}`,
      `made ${now().toISOString()} by kpg ${o.version}`,
      '',
      'objects/   every object kpg made for the cluster, as the API server has it;',
      '           Secret values and the agent bundle replaced by their sizes',
      'describe.* kpg describe (text and JSON)',
      'events.yaml the events of those objects',
      'logs/      every container of every pod (and the previous one after a restart)',
      '',
      "Every text had the cluster Secrets' passwords and anything like password=... cut out.",
      '',
    ].join('\n'),
  );
  return entries.sort((a, b) => a.path.localeCompare(b.path));
}

/** Containers with a log: the regular ones and the native sidecars; whether each restarted. */
function containersOf(pod: K8sPod): [string, boolean][] {
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ];
  return statuses.map((s) => [s.name, (s.restartCount ?? 0) > 0]);
}
