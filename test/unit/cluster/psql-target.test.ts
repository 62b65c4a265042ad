/** choosePsqlPod and interactivePsqlArgv: where kpg psql connects, and how. */
import { describe, expect, it } from 'vitest';
import { choosePsqlPod } from '../../../src/lib/cluster/psql-target.js';
import { interactivePsqlArgv } from '../../../src/lib/postgres/index.js';

const want = { cluster: 'pg', namespace: 'demo' };
const pods = [
  { name: 'pg-0', role: 'replica', ready: true },
  { name: 'pg-1', role: 'primary', ready: true },
  { name: 'pg-2', role: 'replica', ready: false },
];

describe('choosePsqlPod', () => {
  it('the pod labelled primary; --replica a ready standby; --pod that pod', () => {
    expect(choosePsqlPod(pods, want)).toBe('pg-1');
    expect(choosePsqlPod(pods, { ...want, replica: true })).toBe('pg-0');
    expect(choosePsqlPod(pods, { ...want, pod: 'pg-2' })).toBe('pg-2');
  });

  it('refuses a pod of another cluster, two primaries, none ready, no pods', () => {
    expect(() => choosePsqlPod(pods, { ...want, pod: 'other-0' })).toThrow(
      'other-0 is not a pod of demo/pg (its pods: pg-0, pg-1, pg-2)',
    );
    const two = pods.map((p) => ({ ...p, role: 'primary' }));
    expect(() => choosePsqlPod(two, want)).toThrow(/2 pods of demo\/pg are labelled primary/);
    const down = pods.map((p) => ({ ...p, ready: false }));
    expect(() => choosePsqlPod(down, want)).toThrow('no ready pod of demo/pg is labelled primary');
    expect(() => choosePsqlPod([], want)).toThrow('postgres "pg" has no pods in namespace demo');
  });
});

describe('interactivePsqlArgv', () => {
  it('the superuser over the local socket, no password, the caller’s arguments last', () => {
    const argv = interactivePsqlArgv('app', ['-c', 'select 1']);
    expect(argv.slice(0, 2)).toEqual(['bash', '-c']);
    expect(argv[2]).toContain('exec psql -U "${POSTGRES_USER:-postgres}" "$@"');
    expect(argv[2]).toContain('PSQL_HISTORY=${PSQL_HISTORY:-/tmp/.psql_history}');
    expect(argv.slice(3)).toEqual([
      'psql',
      '-h',
      '/var/run/postgresql',
      '-d',
      'app',
      '-c',
      'select 1',
    ]);
    expect(argv.join(' ')).not.toMatch(/PASSWORD|PGPASSWORD/);
  });
});
