/** Failsafe's rules: whom a member confirms, what the promise holds back, when a round counts. */
import { describe, expect, it } from 'vitest';
import {
  everyoneConfirmed,
  failsafeAnswer,
  failsafePromise,
  newestPublished,
  type FailsafeView,
} from '../../../src/lib/ha/failsafe.js';
import type { LeaseSnapshot } from '../../../src/lib/ha/lease-record.js';

const held = (holder: string | undefined, over: Partial<LeaseSnapshot> = {}): LeaseSnapshot =>
  ({
    ...(holder !== undefined ? { holder } : {}),
    resourceVersion: '7',
    published: {},
    object: {},
    ...over,
  }) as LeaseSnapshot;

const member = (over: Partial<FailsafeView> = {}): FailsafeView => ({
  self: 'pg-1/u1',
  holdingOrTaking: false,
  role: 'standby',
  lastLease: held('pg-0/u0'),
  timeline: 2,
  ...over,
});

describe('failsafeAnswer', () => {
  it('confirms the holder of the lease it last read, as a standby', () => {
    expect(failsafeAnswer(member(), { holder: 'pg-0/u0', timeline: 2 })).toEqual({
      confirmed: true,
    });
  });

  it.each([
    ['another holder', member({ lastLease: held('pg-2/u2') }), /held by pg-2/],
    ['a released lease', member({ lastLease: held(undefined) }), /held by nobody/],
    ['no lease read', member({ lastLease: undefined }), /has not read the lease/],
    ['its own primary', member({ role: 'primary' }), /runs as primary/],
    ['holding or taking', member({ holdingOrTaking: true }), /holds the lease, or is taking it/],
    [
      'kpg failover driving',
      member({ lastLease: held('pg-0/u0', { pausedBy: 'kpg failover' }) }),
      /kpg failover drives/,
    ],
    ['a newer timeline', member({ timeline: 3 }), /timeline 3, ahead of 2/],
  ])('refuses with %s', (_what, view, why) => {
    const a = failsafeAnswer(view, { holder: 'pg-0/u0', timeline: 2 });
    expect(a.confirmed).toBe(false);
    expect(a.confirmed === false && a.reason).toMatch(why);
  });

  it('refuses to confirm itself', () => {
    expect(failsafeAnswer(member(), { holder: 'pg-1/u1' }).confirmed).toBe(false);
  });
});

describe('failsafePromise', () => {
  const heard = { holder: 'pg-0/u0', atMs: 1000 };
  it('holds back a race for that holder for a lease duration after the yes', () => {
    expect(failsafePromise(heard, held('pg-0/u0'), 1000, 10_000)).toBe(10_000);
    expect(failsafePromise(heard, held('pg-0/u0'), 10_999, 10_000)).toBe(1);
    expect(failsafePromise(heard, held('pg-0/u0'), 11_000, 10_000)).toBeUndefined();
  });
  it('holds nothing back for another holder, a released lease, or no yes at all', () => {
    expect(failsafePromise(heard, held('pg-2/u2'), 2000, 10_000)).toBeUndefined();
    expect(failsafePromise(heard, held(undefined), 2000, 10_000)).toBeUndefined();
    expect(failsafePromise(undefined, held('pg-0/u0'), 2000, 10_000)).toBeUndefined();
  });
});

describe('everyoneConfirmed', () => {
  it('needs a yes from every member named', () => {
    expect(
      everyoneConfirmed(
        ['a', 'b'],
        [
          { pod: 'a', confirmed: true },
          { pod: 'b', confirmed: true },
        ],
      ),
    ).toEqual({ ok: true });
    expect(
      everyoneConfirmed(
        ['a', 'b'],
        [
          { pod: 'a', confirmed: true },
          { pod: 'b', confirmed: false },
        ],
      ),
    ).toEqual({ ok: false, missing: ['b'] });
    expect(everyoneConfirmed(['a', 'b'], [{ pod: 'a', confirmed: true }])).toEqual({
      ok: false,
      missing: ['b'],
    });
    // A single-member cluster: nobody could take over.
    expect(everyoneConfirmed([], [])).toEqual({ ok: true });
  });
});

describe('newestPublished', () => {
  const snap = held('pg-0/u0', { published: { lsn: 0x3000000n } });
  it('takes the LSN the holder sent over the pod network when it is newer than the lease', () => {
    const heard = { holder: 'pg-0/u0', atMs: 0, lsn: 0x9000000n };
    expect(newestPublished(heard, snap)).toBe(0x9000000n);
    expect(newestPublished({ ...heard, lsn: 0x1000000n }, snap)).toBe(0x3000000n);
  });
  it("ignores another holder's LSN, and works without one", () => {
    expect(newestPublished({ holder: 'pg-2/u2', atMs: 0, lsn: 0x9000000n }, snap)).toBe(0x3000000n);
    expect(newestPublished(undefined, snap)).toBe(0x3000000n);
    expect(newestPublished(undefined, undefined)).toBeUndefined();
  });
});
