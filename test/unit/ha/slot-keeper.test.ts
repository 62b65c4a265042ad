/** SlotKeeper: carries out planSlots on the local postgres and remembers who must re-clone. */
import { describe, expect, it } from 'vitest';
import { SlotKeeper } from '../../../src/agent/slot-keeper.js';
import type { SlotPlan, SlotRow } from '../../../src/lib/ha/slots.js';

function keeper(rows: SlotRow[]) {
  const lines: string[] = [];
  const changes: Pick<SlotPlan, 'create' | 'drop'>[] = [];
  const pg = {
    rows,
    slots: async () => pg.rows.map((r) => ({ ...r })),
    changeSlots: async (plan: Pick<SlotPlan, 'create' | 'drop'>) => {
      changes.push(plan);
      pg.rows = pg.rows.filter((r) => !plan.drop.includes(r.name));
      for (const c of plan.create)
        pg.rows.push({ name: c.name, active: false, ...(c.reserve ? { restartLsn: 9n } : {}) });
      return undefined;
    },
  };
  const k = new SlotKeeper({ pg, self: 'pg-0', log: (l) => lines.push(l) });
  return { k, pg, lines, changes };
}

describe('SlotKeeper', () => {
  it('names a member whose slot was lost until it streams through the renewed one', async () => {
    const t = keeper([
      { name: 'kpg_pg_1', active: false, walStatus: 'lost' },
      { name: 'kpg_pg_2', active: true, restartLsn: 5n },
    ]);
    await t.k.keep('primary', ['pg-0', 'pg-1', 'pg-2']);
    expect(t.k.mustReclone()).toEqual(['pg-1']);
    expect(t.pg.rows.find((r) => r.name === 'kpg_pg_1')?.restartLsn).toBe(9n);
    expect(t.lines).toContain(
      "slots: pg-1's slot lost the WAL it needs (beyond max_slot_wal_keep_size): it must re-clone",
    );
    // Renewed, not yet used: still named.
    await t.k.keep('primary', ['pg-0', 'pg-1', 'pg-2']);
    expect(t.k.mustReclone()).toEqual(['pg-1']);
    t.pg.rows = t.pg.rows.map((r) => ({ ...r, active: true }));
    await t.k.keep('primary', ['pg-0', 'pg-1', 'pg-2']);
    expect(t.k.mustReclone()).toEqual([]);
    expect(t.lines).toContain('slots: pg-1 streams through its slot again');
  });

  it('changes nothing when every slot is as it should be, and says nothing', async () => {
    const t = keeper([
      { name: 'kpg_pg_1', active: true, restartLsn: 5n },
      { name: 'kpg_pg_2', active: false, restartLsn: 5n, walStatus: 'reserved' },
    ]);
    await t.k.keep('primary', ['pg-0', 'pg-1', 'pg-2']);
    expect(t.changes).toEqual([]);
    expect(t.lines).toEqual([]);
  });

  it('does nothing while postgres does not answer', async () => {
    const t = keeper([]);
    t.pg.slots = async () => undefined as unknown as SlotRow[];
    expect(await t.k.keep('primary', ['pg-0', 'pg-1'])).toBeUndefined();
    expect(t.changes).toEqual([]);
  });
});
