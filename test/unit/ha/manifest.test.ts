/** spec.leaderElection in the manifest: KubeDB's fields accepted, defaults filled, the order checked. */
import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/lib/manifest/index.js';

const doc = (le: string) =>
  `apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n  name: pg\nspec:\n  version: "15"\n${le}`;
const errors = (text: string) =>
  validateText(text, 'le.yaml').problems.filter((p) => p.severity === 'error');

describe('spec.leaderElection', () => {
  it('defaults to lease 10 s, renew deadline 6 s, retry 1 s, 1 MiB of lag', () => {
    const r = validateText(doc(''), 'le.yaml');
    expect(r.clusters[0]?.leaderElection).toEqual({
      leaseDurationSeconds: 10,
      renewDeadlineSeconds: 6,
      retryPeriodSeconds: 1,
      maximumLagBeforeFailover: 1048576,
    });
  });

  it("accepts KubeDB's four fields", () => {
    const r = validateText(
      doc(
        '  leaderElection:\n    leaseDurationSeconds: 15\n    renewDeadlineSeconds: 10\n    retryPeriodSeconds: 2\n    maximumLagBeforeFailover: 33554432\n',
      ),
      'le.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.clusters[0]?.leaderElection).toEqual({
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      maximumLagBeforeFailover: 33554432,
    });
  });

  it('refuses a renew deadline that is not below the lease duration, at the field written', () => {
    const e = errors(doc('  leaderElection:\n    renewDeadlineSeconds: 10\n'));
    expect(e).toEqual([
      expect.objectContaining({
        path: 'spec.leaderElection.renewDeadlineSeconds',
        line: 8,
        code: 'invalid-value',
        message: expect.stringContaining(
          'renewDeadlineSeconds (10) must be less than leaseDurationSeconds (10)',
        ),
      }),
    ]);
  });

  it('refuses a retry period too long for the renew deadline', () => {
    const e = errors(doc('  leaderElection:\n    retryPeriodSeconds: 5\n'));
    expect(e).toEqual([
      expect.objectContaining({
        path: 'spec.leaderElection.retryPeriodSeconds',
        message: expect.stringContaining('must be more than 1.2 × retryPeriodSeconds (6)'),
      }),
    ]);
  });

  it('refuses unknown fields, non-integers and zero', () => {
    expect(errors(doc('  leaderElection:\n    electionTick: 10\n'))).toEqual([
      expect.objectContaining({ path: 'spec.leaderElection.electionTick' }),
    ]);
    expect(errors(doc('  leaderElection:\n    leaseDurationSeconds: 1.5\n'))[0]).toMatchObject({
      path: 'spec.leaderElection.leaseDurationSeconds',
    });
    expect(errors(doc('  leaderElection:\n    retryPeriodSeconds: 0\n'))[0]).toMatchObject({
      path: 'spec.leaderElection.retryPeriodSeconds',
    });
    expect(errors(doc('  leaderElection:\n    maximumLagBeforeFailover: -1\n'))[0]).toMatchObject({
      path: 'spec.leaderElection.maximumLagBeforeFailover',
    });
  });
});
