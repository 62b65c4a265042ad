/**
 * Keeps a slot for every member on this pod's postgres (src/lib/ha/slots.ts
 * says which), and remembers which members' WAL the primary gave up: those
 * are told, through GET /state, that they must re-clone. Slot changes are
 * logged; a failure to make one is logged once and retried next time.
 */
import { formatBytes } from '../lib/failover/lsn.js';
import type { Lsn } from '../lib/failover/lsn.js';
import { planSlots, slotName, type SlotPlan, type SlotRow } from '../lib/ha/slots.js';
import type { Postgres } from './postgres.js';

export interface SlotKeeperDeps {
  pg: Pick<Postgres, 'slots' | 'changeSlots'>;
  self: string;
  log: (line: string) => void;
  keeperLimitBytes?: bigint;
}

export class SlotKeeper {
  /** Members whose slot was lost, until they stream through the new one. */
  private lost = new Set<string>();
  private failed: string | undefined;

  constructor(private readonly d: SlotKeeperDeps) {}

  async keep(
    role: 'primary' | 'standby',
    members: string[],
    flushLsn?: Lsn,
  ): Promise<SlotPlan | undefined> {
    const slots = await this.d.pg.slots();
    if (!slots) return undefined;
    this.forgetStreaming(role, slots);
    const limit = this.d.keeperLimitBytes;
    const plan = planSlots({
      role,
      self: this.d.self,
      members,
      slots,
      ...(flushLsn !== undefined ? { flushLsn } : {}),
      ...(limit !== undefined ? { keeperLimitBytes: limit } : {}),
    });
    for (const m of plan.lost.filter((x) => !this.lost.has(x))) {
      this.lost.add(m);
      const bound = limit !== undefined ? formatBytes(limit) : 'max_slot_wal_keep_size';
      this.d.log(`slots: ${m}'s slot lost the WAL it needs (beyond ${bound}): it must re-clone`);
    }
    if (plan.create.length > 0 || plan.drop.length > 0) await this.change(plan);
    return plan;
  }

  /** A lost member that streams through its renewed slot has caught up; a standby keeps no verdicts. */
  private forgetStreaming(role: 'primary' | 'standby', slots: SlotRow[]): void {
    if (role === 'standby') this.lost.clear();
    for (const m of this.lost) {
      if (!slots.some((s) => s.name === slotName(m) && s.active)) continue;
      this.lost.delete(m);
      this.d.log(`slots: ${m} streams through its slot again`);
    }
  }

  private async change(plan: SlotPlan): Promise<void> {
    const problem = await this.d.pg.changeSlots(plan);
    if (problem && problem !== this.failed) this.d.log(`slots: ${problem}`);
    this.failed = problem;
    if (problem) return;
    const made = plan.create.map((c) => `${c.name}${c.reserve ? '' : ' (unreserved)'}`);
    const said = [
      ...(made.length ? [`created ${made.join(', ')}`] : []),
      ...(plan.drop.length ? [`dropped ${plan.drop.join(', ')}`] : []),
    ];
    this.d.log(`slots: ${said.join('; ')}`);
  }

  /** The members that must re-clone (what the primary's GET /state says). */
  mustReclone(): string[] {
    return [...this.lost].sort();
  }
}
