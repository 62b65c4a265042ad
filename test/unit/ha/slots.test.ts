/** planSlots and recloneReason: the slots every pod keeps, and when a standby must re-clone. */
import { describe, expect, it } from 'vitest';
import {
  planSlots,
  RECLONE_AFTER_MS,
  recloneReason,
  slotName,
  type SlotInput,
} from '../../../src/lib/ha/slots.js';
import type { Observed } from '../../../src/lib/ha/types.js';
import { POLICY, identity, standby } from './fakes.js';

const members = ['pg-0', 'pg-1', 'pg-2'];
const input = (over: Partial<SlotInput>): SlotInput => ({
  role: 'primary',
  self: 'pg-0',
  members,
  slots: [],
  ...over,
});

describe('slotName', () => {
  it('is kpg_ and the pod name in [a-z0-9_], at most 63 characters', () => {
    expect(slotName('ha-postgres-1')).toBe('kpg_ha_postgres_1');
    expect(slotName('x'.repeat(70))).toHaveLength(63);
  });
});

describe('planSlots', () => {
  it('on the primary: a reserved slot for every other member, none for itself', () => {
    expect(planSlots(input({}))).toEqual({
      create: [
        { name: 'kpg_pg_1', reserve: true },
        { name: 'kpg_pg_2', reserve: true },
      ],
      drop: [],
      lost: [],
    });
  });

  it('on a standby: unreserved copies, and its own slot dropped', () => {
    const plan = planSlots(
      input({
        role: 'standby',
        self: 'pg-1',
        slots: [{ name: 'kpg_pg_1', active: false, restartLsn: 5n, walStatus: 'reserved' }],
      }),
    );
    expect(plan.drop).toEqual(['kpg_pg_1']);
    expect(plan.create).toEqual([
      { name: 'kpg_pg_0', reserve: false },
      { name: 'kpg_pg_2', reserve: false },
    ]);
  });

  it("a promoted standby's unreserved copies are made reserved; a streaming slot is left alone", () => {
    const plan = planSlots(
      input({
        slots: [
          { name: 'kpg_pg_1', active: true, restartLsn: 9n },
          { name: 'kpg_pg_2', active: false },
        ],
      }),
    );
    expect(plan).toEqual({
      drop: ['kpg_pg_2'],
      create: [{ name: 'kpg_pg_2', reserve: true }],
      lost: [],
    });
  });

  it("a standby's reserved copy (from its primary days) would keep WAL for nobody: made unreserved", () => {
    const plan = planSlots(
      input({
        role: 'standby',
        self: 'pg-1',
        slots: [
          { name: 'kpg_pg_0', active: false, restartLsn: 5n, walStatus: 'reserved' },
          { name: 'kpg_pg_2', active: false },
        ],
      }),
    );
    expect(plan).toEqual({
      drop: ['kpg_pg_0'],
      create: [{ name: 'kpg_pg_0', reserve: false }],
      lost: [],
    });
  });

  it('an invalidated slot on the primary: its member must re-clone; the slot is renewed', () => {
    const plan = planSlots(
      input({
        slots: [
          { name: 'kpg_pg_1', active: false, walStatus: 'lost' },
          { name: 'kpg_pg_2', active: true, restartLsn: 9n, walStatus: 'reserved' },
        ],
      }),
    );
    expect(plan).toEqual({
      drop: ['kpg_pg_1'],
      create: [{ name: 'kpg_pg_1', reserve: true }],
      lost: ['pg-1'],
    });
  });

  it('before 13 the keeper gives up an inactive slot further behind than its limit', () => {
    const behind = (restartLsn: bigint) =>
      planSlots(
        input({
          flushLsn: 1000n,
          keeperLimitBytes: 100n,
          slots: [
            { name: 'kpg_pg_1', active: false, restartLsn },
            { name: 'kpg_pg_2', active: true, restartLsn: 1n },
          ],
        }),
      );
    expect(behind(899n).lost).toEqual(['pg-1']);
    expect(behind(900n)).toEqual({ create: [], drop: [], lost: [] });
  });

  it("drops a former member's slot (scaled down), never a user's own, never an active one", () => {
    const plan = planSlots(
      input({
        members: ['pg-0', 'pg-1'],
        slots: [
          { name: 'kpg_pg_1', active: true, restartLsn: 9n },
          { name: 'kpg_pg_5', active: false, restartLsn: 3n },
          { name: 'kpg_pg_6', active: true, restartLsn: 3n },
          { name: 'my_logical_reader', active: false, restartLsn: 1n },
        ],
      }),
    );
    expect(plan).toEqual({ create: [], drop: ['kpg_pg_5'], lost: [] });
  });
});

describe('recloneReason', () => {
  const NOW = 500_000;
  const quiet = NOW - RECLONE_AFTER_MS - 1;
  const observed = (over: Partial<Observed> = {}): Observed => ({
    self: identity('pg-2'),
    policy: POLICY,
    lease: { readable: false, error: 'not needed here' },
    local: standby({ streaming: false, lastStreamingMs: quiet, roleSinceMs: quiet }),
    peers: [
      { pod: 'pg-0', reachable: true, holder: true, reclone: ['pg-2'] },
      { pod: 'pg-1', reachable: true },
    ],
    ...over,
  });

  it('re-clones a standby the holder names that has not streamed for a while', () => {
    expect(recloneReason(observed(), NOW)).toMatch(/the primary pg-0 no longer has the WAL/);
  });

  it('not on the word of a pod that does not hold the lease, nor for another pod', () => {
    const peers = (p: Observed['peers']) => recloneReason(observed({ peers: p }), NOW);
    expect(peers([{ pod: 'pg-0', reachable: true, reclone: ['pg-2'] }])).toBeUndefined();
    expect(
      peers([{ pod: 'pg-0', reachable: true, holder: true, reclone: ['pg-1'] }]),
    ).toBeUndefined();
    expect(
      peers([{ pod: 'pg-0', reachable: false, holder: true, reclone: ['pg-2'] }]),
    ).toBeUndefined();
  });

  it('not while it streams, just after it started, or when it is not a standby', () => {
    const at = (local: Observed['local']) => recloneReason(observed({ local }), NOW);
    expect(at(standby({ streaming: true }))).toBeUndefined();
    expect(at(standby({ streaming: false, roleSinceMs: NOW - 1000 }))).toBeUndefined();
    expect(
      at(standby({ streaming: false, lastStreamingMs: NOW - 1000, roleSinceMs: quiet })),
    ).toBeUndefined();
    expect(at({ ...standby({}), role: 'down' })).toBeUndefined();
  });
});
