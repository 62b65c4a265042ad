// Leases as a mutex: create, refuse with the holder, take over after expiry.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError as BaseConflictError } from '../../../src/lib/errors.js';
import {
  LeaseHeldError,
  systemClock,
  type Kube,
  type LeaseObject,
} from '../../../src/lib/kube/index.js';
import { FakeStore, startFakeApi, type FakeApi } from './fake-api.js';

let api: FakeApi;
let store: FakeStore;
let now: number;
let kube: Kube;

beforeEach(async () => {
  api = await startFakeApi();
  store = new FakeStore();
  api.handle(store.handler);
  now = Date.parse('2030-01-01T00:00:00Z');
  kube = await api.kube({ clock: { ...systemClock, now: () => now } });
});
afterEach(async () => {
  await api.close();
});

const lease = (): LeaseObject => store.get('demo', 'leases', 'failover') as LeaseObject;

describe('leases', () => {
  it('creates the lease when absent', async () => {
    const r = await kube.acquireLease('demo', 'failover', 'alice', 15);
    expect(r.acquired).toBe(true);
    expect(lease().spec).toEqual({
      holderIdentity: 'alice',
      leaseDurationSeconds: 15,
      acquireTime: '2030-01-01T00:00:00.000000Z',
      renewTime: '2030-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
    expect(api.requests.map((q) => `${q.method} ${q.url.pathname}`)).toEqual([
      'GET /apis/coordination.k8s.io/v1/namespaces/demo/leases/failover',
      'POST /apis/coordination.k8s.io/v1/namespaces/demo/leases',
    ]);
  });

  it('refuses while another holder is within its TTL, naming the holder', async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 15);
    now += 10_000;
    const r = await kube.acquireLease('demo', 'failover', 'bob', 15);
    expect(r).toMatchObject({ acquired: false, holder: 'alice' });
    if (!r.acquired) expect(r.expiresAt.toISOString()).toBe('2030-01-01T00:00:15.000Z');
    expect(lease().spec?.holderIdentity).toBe('alice');
  });

  it('lets the holder re-acquire (renew) and another take over once expired', async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 15);
    now += 5_000;
    expect((await kube.acquireLease('demo', 'failover', 'alice', 15)).acquired).toBe(true);
    expect(lease().spec?.leaseTransitions).toBe(0);
    expect(lease().spec?.acquireTime).toBe('2030-01-01T00:00:00.000000Z');
    now += 16_000;
    // Expiry is the caller's verdict (the version it watched unchanged), never renewTime vs our clock.
    const seen = await kube.acquireLease('demo', 'failover', 'bob', 15);
    expect(seen.acquired).toBe(false);
    const version = seen.lease.metadata?.resourceVersion;
    expect(version).toBeDefined();
    const r = await kube.acquireLease('demo', 'failover', 'bob', 15, { expiredVersion: version });
    expect(r.acquired).toBe(true);
    expect(lease().spec).toMatchObject({
      holderIdentity: 'bob',
      leaseTransitions: 1,
      acquireTime: '2030-01-01T00:00:21.000000Z',
    });
    // The PUT carried the resourceVersion it read (optimistic concurrency).
    const put = api.requests.filter((q) => q.method === 'PUT').at(-1)!;
    expect((put.json as LeaseObject).metadata?.resourceVersion).toBeDefined();
  });

  it('does not take over a version other than the one watched expire', async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 15);
    const seen = await kube.acquireLease('demo', 'failover', 'bob', 15);
    now += 3_000;
    await kube.renewLease('demo', 'failover', 'alice');
    const r = await kube.acquireLease('demo', 'failover', 'bob', 15, {
      expiredVersion: seen.lease.metadata?.resourceVersion,
    });
    expect(r).toMatchObject({ acquired: false, holder: 'alice' });
    expect(lease().spec?.holderIdentity).toBe('alice');
  });

  it("sets the taker's annotations, dropping the previous holder's", async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 15, { annotations: { 'kpg.io/x': 'a' } });
    expect(lease().metadata?.annotations).toEqual({ 'kpg.io/x': 'a' });
    await kube.renewLease('demo', 'failover', 'alice');
    expect(lease().metadata?.annotations).toEqual({ 'kpg.io/x': 'a' });
    const seen = await kube.acquireLease('demo', 'failover', 'bob', 15);
    await kube.acquireLease('demo', 'failover', 'bob', 15, {
      expiredVersion: seen.lease.metadata?.resourceVersion,
    });
    expect(lease().spec?.holderIdentity).toBe('bob');
    expect(lease().metadata?.annotations ?? {}).toEqual({});
  });

  it('renews only for the holder', async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 15);
    now += 3_000;
    await kube.renewLease('demo', 'failover', 'alice');
    expect(lease().spec?.renewTime).toBe('2030-01-01T00:00:03.000000Z');
    const err = await kube.renewLease('demo', 'failover', 'bob').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(err).toBeInstanceOf(BaseConflictError);
    expect((err as LeaseHeldError).holder).toBe('alice');
  });

  it('releases only for the holder, after which anyone may acquire', async () => {
    await kube.acquireLease('demo', 'failover', 'alice', 60);
    expect(await kube.releaseLease('demo', 'failover', 'bob')).toBe(false);
    expect(lease().spec?.holderIdentity).toBe('alice');
    expect(await kube.releaseLease('demo', 'failover', 'alice')).toBe(true);
    expect(lease().spec?.holderIdentity).toBeUndefined();
    expect((await kube.acquireLease('demo', 'failover', 'bob', 60)).acquired).toBe(true);
    expect(await kube.releaseLease('demo', 'gone', 'bob')).toBe(false);
  });

  it('loses a create race cleanly and reports the winner', async () => {
    let raced = false;
    api.handle((req, res, raw) => {
      if (req.method === 'POST' && !raced) {
        raced = true;
        store.put('demo', 'leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'failover' },
          spec: {
            holderIdentity: 'carol',
            leaseDurationSeconds: 15,
            renewTime: '2030-01-01T00:00:00.000000Z',
          },
        });
      }
      return store.handler(req, res, raw);
    });
    const r = await kube.acquireLease('demo', 'failover', 'alice', 15);
    expect(r).toMatchObject({ acquired: false, holder: 'carol' });
  });
});
