import { describe, expect, it } from 'vitest';
import { planDelete, type ObjectRef } from '../../../src/lib/cluster/delete-plan.js';
import {
  deleteQuestion,
  deleteScope,
  refusalOf,
  type DeleteScopeInput,
} from '../../../src/lib/cluster/delete-targets.js';
import { UsageError } from '../../../src/lib/errors.js';
import type { TerminationPolicy } from '../../../src/lib/manifest/index.js';

const NONE: DeleteScopeInput = { names: [], files: [], all: false, allNamespaces: false };

function plan(name: string, policy: TerminationPolicy) {
  const found: ObjectRef[] = [
    { kind: 'StatefulSet', name },
    { kind: 'PersistentVolumeClaim', name: `data-${name}-0` },
    { kind: 'Secret', name: `${name}-auth` },
  ];
  return planDelete({ name, namespace: 'demo', recordFound: true, found, policy });
}

describe('deleteScope', () => {
  it('names or -f delete by name', () => {
    expect(deleteScope({ ...NONE, names: ['pg'] })).toEqual({ by: 'name' });
    expect(deleteScope({ ...NONE, files: ['pg.yaml'] })).toEqual({ by: 'name' });
  });

  it('-l and --all list, -A widens them', () => {
    expect(deleteScope({ ...NONE, selector: 'env=test' })).toEqual({
      by: 'selector',
      selector: 'env=test',
      allNamespaces: false,
    });
    expect(deleteScope({ ...NONE, all: true, allNamespaces: true })).toEqual({
      by: 'selector',
      selector: undefined,
      allNamespaces: true,
    });
  });

  it.each<[string, Partial<DeleteScopeInput>, RegExp]>([
    ['nothing', {}, /name the clusters/],
    ['-A alone', { allNamespaces: true }, /-A\/--all-namespaces needs -l/],
    ['names with -l', { names: ['pg'], selector: 'a=b' }, /cannot be given together/],
    ['-f with --all', { files: ['x.yaml'], all: true }, /cannot be given together/],
    ['-l with --all', { selector: 'a=b', all: true }, /not both/],
    ['an empty -l', { selector: ' ' }, /empty; use --all/],
  ])('refuses %s as a usage error', (_, input, message) => {
    expect(() => deleteScope({ ...NONE, ...input })).toThrow(UsageError);
    expect(() => deleteScope({ ...NONE, ...input })).toThrow(message);
  });
});

describe('refusalOf', () => {
  it('is undefined when every cluster may go', () => {
    expect(refusalOf([plan('a', 'Pause'), plan('b', 'WipeOut')])).toBeUndefined();
  });

  it("keeps a single cluster's own reason", () => {
    expect(refusalOf([plan('a', 'DoNotTerminate')])).toMatch(/postgres "a" has terminationPolicy/);
  });

  it('names every refused cluster of several, and says nothing was deleted', () => {
    const r = refusalOf([
      plan('a', 'Pause'),
      plan('b', 'DoNotTerminate'),
      plan('c', 'DoNotTerminate'),
    ]);
    expect(r).toBe('demo/b, demo/c have terminationPolicy DoNotTerminate; nothing was deleted');
  });
});

describe('deleteQuestion', () => {
  it('asks about one cluster as before, shouting when data goes', () => {
    expect(deleteQuestion([plan('a', 'WipeOut')])).toBe(
      'Delete postgres "a" AND ITS DATA (WipeOut)?',
    );
    expect(deleteQuestion([plan('a', 'Pause')])).toBe(
      'Delete postgres "a" (Pause: the data is kept)?',
    );
  });

  it('asks once about several, counting those whose data goes', () => {
    expect(deleteQuestion([plan('a', 'Pause'), plan('b', 'Delete')])).toBe(
      'Delete 2 postgres clusters ("a", "b"), 1 of them WITH THEIR DATA?',
    );
    expect(deleteQuestion([plan('a', 'Pause'), plan('b', 'Pause')])).toBe(
      'Delete 2 postgres clusters ("a", "b"; their data is kept)?',
    );
  });
});
