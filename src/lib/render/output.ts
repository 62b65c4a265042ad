import { stringify } from 'yaml';
import type { KubeObject } from './types.js';

/** A YAML multi-document stream, `kubectl apply -f -` ready. */
export function toYamlStream(objects: KubeObject[]): string {
  return objects
    .map((o) => stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 }))
    .map((doc) => `---\n${doc}`)
    .join('');
}

/** Marks a Secret printed without its data. */
export const REDACTED_ANNOTATION = 'kpg.io/redacted';

/**
 * Secrets without their data (a dry run's output lands in logs, terminals
 * and repositories; generated passwords must not). The rest as it is.
 * Applied as printed, such a Secret has no keys: the pods fail to start,
 * saying which key is missing, rather than run with a password anyone saw.
 */
export function redactSecrets(objects: KubeObject[]): {
  objects: KubeObject[];
  redacted: string[];
} {
  const redacted: string[] = [];
  const out = objects.map((o) => {
    if (o.kind !== 'Secret') return o;
    const rest: KubeObject & { data?: unknown; stringData?: unknown } = { ...o };
    delete rest.data;
    delete rest.stringData;
    redacted.push(`Secret/${o.metadata.name}`);
    return {
      ...rest,
      metadata: {
        ...o.metadata,
        annotations: {
          ...(o.metadata.annotations ?? {}),
          [REDACTED_ANNOTATION]:
            'data omitted: kpg create --dry-run=client --show-secrets prints it',
        },
      },
    } as KubeObject;
  });
  return { objects: out, redacted };
}

/** A `v1 List`, as `kubectl create --dry-run=client -o json` prints several objects. */
export function toJsonList(objects: KubeObject[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects, metadata: {} }, null, 2)}\n`;
}
