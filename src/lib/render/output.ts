import { stringify } from 'yaml';
import type { KubeObject } from './types.js';

/** A YAML multi-document stream, `kubectl apply -f -` ready. */
export function toYamlStream(objects: KubeObject[]): string {
  return objects
    .map((o) => stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 }))
    .map((doc) => `---\n${doc}`)
    .join('');
}

/** A `v1 List`, as `kubectl create --dry-run=client -o json` prints several objects. */
export function toJsonList(objects: KubeObject[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects, metadata: {} }, null, 2)}\n`;
}
