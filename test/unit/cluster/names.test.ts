/** Names that become API paths: from the record, from -n, and in the one place paths are built. */
import { describe, expect, it } from 'vitest';
import { checkNamespace } from '../../../src/lib/cli/kube-flags.js';
import { parseRecord, RecordFormatError } from '../../../src/lib/cluster/record.js';
import { ExitCode } from '../../../src/lib/errors.js';
import { builtinResource, resourcePath } from '../../../src/lib/kube/resources.js';

const pods = builtinResource('Pod')!;

describe('names from the record', () => {
  it('a pod of the cluster is accepted', () => {
    expect(parseRecord({ primary: 'pg-2' }, 'pg').primary).toBe('pg-2');
    expect(parseRecord({ primary: 'my.pg-10' }, 'my.pg').primary).toBe('my.pg-10');
  });

  it.each(['..', '.', 'pg', 'pg-', 'pg-x', '../../secrets/x', 'other-0', 'pg-0/status', 'PG-0'])(
    'primary %j is refused with exit 9',
    (primary) => {
      const err = (() => {
        try {
          parseRecord({ primary }, 'pg');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(RecordFormatError);
      expect((err as RecordFormatError).exitCode).toBe(ExitCode.UnsafeState);
      expect((err as Error).message).toContain(`names as primary ${JSON.stringify(primary)}`);
    },
  );

  it("an operation's old or new primary is checked too", () => {
    const operation = JSON.stringify({ kind: 'failover', oldPrimary: 'pg-0', newPrimary: '..' });
    expect(() => parseRecord({ primary: 'pg-0', operation }, 'pg')).toThrow(
      /new primary of its operation "\.\."/,
    );
  });
});

describe('path segments', () => {
  it('refuses . and .. where URL parsing would collapse them', () => {
    expect(() => resourcePath(pods, 'demo', '..')).toThrow(/refusing the Pod name "\.\."/);
    expect(() => resourcePath(pods, '..', 'pg-0')).toThrow(/refusing the namespace "\.\."/);
    expect(() => resourcePath(pods, 'demo', '')).toThrow(/not a Kubernetes name/);
    expect(resourcePath(pods, 'demo', 'pg-0')).toBe('/api/v1/namespaces/demo/pods/pg-0');
  });

  it('-n takes DNS-1123 labels only', () => {
    expect(checkNamespace('demo-1')).toBe('demo-1');
    for (const bad of ['..', 'Demo', 'a/b', '-x', 'x'.repeat(64)]) {
      expect(() => checkNamespace(bad)).toThrow(/is not a namespace name/);
    }
  });
});
