/** kpg failover on a cluster with agents: what it may ask them for. */
import { describe, expect, it } from 'vitest';
import { checkAgentPlan } from '../../../src/lib/failover/agents.js';
import type { FailoverContext } from '../../../src/lib/failover/context.js';
import type { Plan } from '../../../src/lib/failover/types.js';
import { snapshotOf } from '../../../src/lib/ha/index.js';

const ctx = { cluster: 'pg', namespace: 'demo' } as FailoverContext;
const lease = (holder?: string) =>
  snapshotOf({
    metadata: { name: 'pg-primary', resourceVersion: '3' },
    spec: { ...(holder ? { holderIdentity: holder } : {}), leaseDurationSeconds: 10 },
  });
const plan = (over: Partial<Plan>) =>
  ({
    kind: 'switchover',
    oldPrimary: 'pg-0',
    target: 'pg-1',
    oldPrimaryHealth: 'healthy',
    ...over,
  }) as Plan;

describe('checkAgentPlan', () => {
  it('accepts a switchover from the holder of the lease', () => {
    expect(() => checkAgentPlan(ctx, plan({}), lease('pg-0/uid-0'))).not.toThrow();
  });

  it('leaves a primary that is down to the agents, and says where to look', () => {
    expect(() =>
      checkAgentPlan(
        ctx,
        plan({ kind: 'failover', oldPrimaryHealth: 'down' }),
        lease('pg-0/uid-0'),
      ),
    ).toThrow(/fails over a primary that is down by itself.*pg-0 is down/);
  });

  it('refuses while the lease is not the primary’s (the agents are changing it)', () => {
    expect(() => checkAgentPlan(ctx, plan({}), lease())).toThrow(/held by nobody/);
    expect(() => checkAgentPlan(ctx, plan({}), lease('pg-2/uid-2'))).toThrow(/held by pg-2/);
  });
});
