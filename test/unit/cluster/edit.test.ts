import { describe, expect, it } from 'vitest';
import {
  EDIT_HEADER,
  editBuffer,
  editorOf,
  restrictedChanges,
  stripComments,
} from '../../../src/lib/cluster/edit.js';

const M =
  'apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n  name: pg\n  namespace: demo\nspec:\n  replicas: 2\n';

describe('kpg edit', () => {
  it("the editor: KPG_EDITOR, KUBEDB_EDITOR, EDITOR, else nano (KubeDB's guide)", () => {
    expect(editorOf({ KPG_EDITOR: 'a', KUBEDB_EDITOR: 'b', EDITOR: 'c' })).toBe('a');
    expect(editorOf({ KUBEDB_EDITOR: 'b', EDITOR: 'c' })).toBe('b');
    expect(editorOf({ EDITOR: 'vim -n' })).toBe('vim -n');
    expect(editorOf({})).toBe('nano');
  });

  it("kubectl's header, the last errors as comments, and back to the manifest without them", () => {
    const b = editBuffer(M, ['error: spec.version: cannot change\nsecond line']);
    expect(b.startsWith(EDIT_HEADER.join('\n'))).toBe(true);
    expect(b).toContain('# error: spec.version: cannot change\n# second line\n#\napiVersion:');
    expect(stripComments(b)).toBe(M.trim());
    expect(stripComments(editBuffer(M))).toBe(M.trim());
  });

  it('apiVersion, kind, metadata.name and metadata.namespace may not change; the spec may', () => {
    expect(restrictedChanges(M, M.replace('replicas: 2', 'replicas: 3'))).toEqual([]);
    expect(restrictedChanges(M, M.replace('name: pg', 'name: other'))).toEqual([
      'metadata.name cannot be changed with kpg edit (it was "pg")',
    ]);
    expect(restrictedChanges(M, M.replace('kind: Postgres', 'kind: Snapshot'))[0]).toMatch(
      /^kind cannot/,
    );
    expect(restrictedChanges(M, M.replace('namespace: demo', 'namespace: prod'))[0]).toMatch(
      /^metadata\.namespace cannot/,
    );
    // Leaving the namespace out keeps it; a file that does not parse is the validator's to report.
    expect(restrictedChanges(M, M.replace('  namespace: demo\n', ''))).toEqual([]);
    expect(restrictedChanges(M, 'a: [')).toEqual([]);
  });
});
