// Ctrl-C stops create and delete between two objects, never within one.
import { describe, expect, it } from 'vitest';
import { executePlan, type CreatePlan } from '../../../src/lib/cluster/create.js';
import { executeDelete } from '../../../src/lib/cluster/delete-exec.js';
import type { DeletePlan } from '../../../src/lib/cluster/delete-plan.js';
import type { Kube } from '../../../src/lib/kube/index.js';

describe('an interrupt between steps', () => {
  it('delete: the object being deleted is finished, the next is not started', async () => {
    const ctl = new AbortController();
    const calls: string[] = [];
    const kube = {
      delete: async (kind: string, _ns: string, name: string) => {
        calls.push(`${kind}/${name}`);
        if (calls.length === 1) ctl.abort(new Error('interrupted'));
        return { deleted: true };
      },
    } as unknown as Kube;
    const plan = {
      name: 'pg',
      namespace: 'demo',
      remove: [
        { kind: 'StatefulSet', name: 'pg' },
        { kind: 'Service', name: 'pg' },
        { kind: 'Secret', name: 'pg-auth' },
      ],
    } as unknown as DeletePlan;
    const removed: string[] = [];
    await expect(
      executeDelete(
        {
          kube,
          namespace: 'demo',
          timeoutMs: 1000,
          signal: ctl.signal,
          onRemoved: (o) => removed.push(o),
        },
        plan,
        false,
      ),
    ).rejects.toThrow('interrupted');
    expect(calls).toEqual(['StatefulSet/pg']);
    expect(removed).toEqual(['StatefulSet/pg']);
  });

  it('create: the objects sent so far stay, the rest are not sent', async () => {
    const ctl = new AbortController();
    const sent: string[] = [];
    const kube = {
      apply: async (o: { kind: string }) => {
        sent.push(o.kind);
        ctl.abort(new Error('interrupted'));
        return o;
      },
      create: async (o: { kind: string }) => {
        sent.push(o.kind);
        return o;
      },
    } as unknown as Kube;
    const obj = (kind: string) => ({ apiVersion: 'v1', kind, metadata: { name: 'pg' } });
    const plan = {
      name: 'pg',
      namespace: 'demo',
      resuming: false,
      steps: [
        { object: obj('Secret'), action: 'create' },
        { object: obj('ConfigMap'), action: 'apply' },
        { object: obj('StatefulSet'), action: 'apply' },
      ],
    } as unknown as CreatePlan;
    await expect(executePlan(kube, plan, { signal: ctl.signal })).rejects.toThrow('interrupted');
    expect(sent).toEqual(['Secret', 'ConfigMap']);
  });
});
