/**
 * `kpg edit`: the buffer the editor shows (the applied manifest under
 * kubectl's header, the last attempt's errors as comments), what is read
 * back, and the fields no edit may change (KubeDB's "Edit restrictions";
 * the rest of them are apply's own refusals). Pure.
 */
import { parse } from 'yaml';

export const EDIT_HEADER = [
  '# Please edit the object below. Lines beginning with a "#" will be ignored,',
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
];

/** The editor: $KPG_EDITOR, $KUBEDB_EDITOR, $EDITOR, else nano (KubeDB's CLI guide). */
export function editorOf(env: Record<string, string | undefined>): string {
  return env['KPG_EDITOR'] || env['KUBEDB_EDITOR'] || env['EDITOR'] || 'nano';
}

/** What the editor opens: the header, the errors of the last try, then the manifest. */
export function editBuffer(manifest: string, errors: string[] = []): string {
  const errs = errors.flatMap((e) => e.split('\n')).map((l) => `# ${l}`);
  return [...EDIT_HEADER, ...(errs.length ? [...errs, '#'] : []), manifest.trimEnd(), ''].join(
    '\n',
  );
}

/** The manifest as saved: every line starting with # dropped (as kubectl edit does). */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .trim();
}

const at = (doc: unknown, path: string[]): unknown =>
  path.reduce<unknown>(
    (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
    doc,
  );

/** The fields `kpg edit` never lets change, each as a sentence; empty when none changed. */
export function restrictedChanges(before: string, after: string): string[] {
  let a: unknown;
  let b: unknown;
  try {
    a = parse(before);
    b = parse(after);
  } catch {
    // A parse error is the validator's to report, with its line.
    return [];
  }
  const out: string[] = [];
  for (const path of [
    ['apiVersion'],
    ['kind'],
    ['metadata', 'name'],
    ['metadata', 'namespace'],
    ['status'],
  ]) {
    const x = at(a, path);
    const y = at(b, path);
    if (JSON.stringify(x) !== JSON.stringify(y) && !(path[1] === 'namespace' && y === undefined))
      out.push(
        `${path.join('.')} cannot be changed with kpg edit (it was ${JSON.stringify(x ?? null)})`,
      );
  }
  return out;
}
