// Issue 11, done-when 4: a standby stopped as on a lost node (its processes
// frozen, its pod cut off the pod network) while more than 1 GB of WAL is
// written, with max_slot_wal_keep_size far smaller: the primary's pg_wal
// stays bounded (the slot is given up, not the disk), and once the standby
// is back it re-clones itself (base backup beside, old data moved aside)
// and streams through its slot again, unattended. Under the writer and the
// checker; every acknowledged row ends up on every pod. (Losing the node itself
// would stop every pod of that node, other files' too: this is that node's
// loss as this pod sees it, and the file stays beside the others.)
import { afterAll, describe, expect, it } from 'vitest';
import { freezePod, healPod, partitionPod, thawPod } from '../../cluster/faults.js';
import { exec, getJson, waitFor } from '../../cluster/kube.js';
import { cleanup, kpg, sql, standbysOf } from '../failover/harness.js';
import { settle, startCluster, streamingThroughSlots } from './setup.js';

const MB = 1024 * 1024;
/** The primary's WAL position in bytes. */
const WAL_POS = "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint";
const KEEP_MB = 128;
/** The WAL to write while the standby is away. */
const WRITE_BYTES = 1100 * MB;

// Small WAL settings, so that 1 GB is many times every bound.
const USER_CONF = [
  `max_slot_wal_keep_size = '${KEEP_MB}MB'`,
  `wal_keep_size = '32MB'`,
  `max_wal_size = '128MB'`,
  `min_wal_size = '32MB'`,
].join('\n');

async function one(ns: string, pod: string, query: string): Promise<string> {
  const r = await sql(ns, pod, query, 120_000);
  if (r.code !== 0) throw new Error(`${pod}: ${query}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

describe('in-pod agent: replication slots', () => {
  let ns: string | undefined;
  let cut: { ns: string; pod: string } | undefined;
  afterAll(async () => {
    if (cut) {
      thawPod(cut.ns, cut.pod);
      healPod(cut.ns, cut.pod);
    }
    await cleanup(ns);
  });

  it('a standby away while 1 GB of WAL is written: pg_wal bounded, then it re-clones and streams', async () => {
    const s = await startCluster('agent-slots', (n) => (ns = n), { userConf: USER_CONF });
    const standbys = await standbysOf(s.ns, s.primary);
    await streamingThroughSlots(s.ns, s.primary, standbys);
    const [away = '', stays = ''] = standbys;
    const slot = `kpg_${away.replace(/-/g, '_')}`;

    partitionPod(s.ns, away);
    freezePod(s.ns, away);
    cut = { ns: s.ns, pod: away };
    // The walsender to a peer that acknowledges nothing lets go of the slot
    // within tcp_user_timeout (10 s): until then the slot keeps WAL as for a live standby.
    const cutAt = Date.now();
    await waitFor(
      async () =>
        (await one(
          s.ns,
          s.primary,
          `select coalesce((select active::text from pg_replication_slots where slot_name = '${slot}'), 'none')`,
        )) === 'false',
      60_000,
      { what: `${slot} inactive on ${s.primary}`, intervalMs: 500 },
    );
    const releasedMs = Date.now() - cutAt;
    await one(s.ns, s.primary, 'create table filler (x text)');
    const start = BigInt(await one(s.ns, s.primary, `select ${WAL_POS}`));
    let written = 0n;
    let peak = 0;
    let lostSeen = false;
    while (written < BigInt(WRITE_BYTES)) {
      // About 110 MB of WAL a round; truncated so the table does not grow the disk.
      await one(
        s.ns,
        s.primary,
        'insert into filler select repeat(md5(g::text), 32) from generate_series(1, 100000) g; truncate filler',
      );
      const [lsn = '', walBytes = '0', status = ''] = (
        await one(
          s.ns,
          s.primary,
          `select ${WAL_POS}, (select sum(size) from pg_ls_waldir()),
                  coalesce((select wal_status from pg_replication_slots where slot_name = '${slot}'), 'none')`,
        )
      ).split('|');
      written = BigInt(lsn) - start;
      peak = Math.max(peak, Number(walBytes));
      if (status === 'lost') lostSeen = true;
    }
    // A slot past the bound is `unreserved` until the next checkpoint
    // invalidates it (`lost`); the primary's agent then renews it. One
    // checkpoint here, as the next one would anyway.
    await one(s.ns, s.primary, 'checkpoint');
    let slotNow = '';
    await waitFor(
      async () => {
        slotNow = await one(
          s.ns,
          s.primary,
          `select coalesce((select (active and active_pid in (select pid from pg_stat_replication))::text || ',' || coalesce(wal_status, '') from pg_replication_slots where slot_name = '${slot}'), 'none')`,
        );
        if (slotNow.endsWith(',lost')) lostSeen = true;
        // Held by a walsender only: the checkpoint that invalidates it holds it for a moment too.
        return !slotNow.endsWith(',unreserved');
      },
      60_000,
      { what: `${slot} invalidated on ${s.primary}`, intervalMs: 500 },
    );
    console.log(
      `${s.ns}: ${away} cut off; its slot inactive after ${releasedMs} ms; ${Number(written / BigInt(MB))} MB of WAL written with it away; pg_wal peak ${Math.round(peak / MB)} MB; slot ${slot} now ${slotNow}${lostSeen ? ' (seen lost)' : ''}`,
    );
    // Bounded: the slot kept at most KEEP_MB, and max_wal_size and wal_keep_size the rest.
    expect(releasedMs).toBeLessThan(30_000);
    expect(peak).toBeLessThan(512 * MB);
    expect(Number(written)).toBeGreaterThan(4 * peak);
    // The slot was given up (lost, then renewed by the primary's agent), not kept at the disk's cost.
    expect(slotNow).toMatch(/^false,(lost|reserved|extended)$/);

    const healedAt = Date.now();
    // Back as a machine that restarts: its processes run on (or were restarted
    // by their liveness probes meanwhile), and its network is back.
    thawPod(s.ns, away);
    healPod(s.ns, away);
    cut = undefined;
    await streamingThroughSlots(s.ns, s.primary, [away, stays], 300_000);
    const backMs = Date.now() - healedAt;
    const aside = await asideDirs(s.ns, away);
    console.log(
      `${s.ns}: ${away} re-cloned and streams through its slot ${backMs} ms after it was back; old data at ${aside}`,
    );
    expect(aside).toMatch(/\/var\/lib\/postgresql\/data\/pgdata\.before-reclone-\d{8}T\d{6}Z/);

    const events = await getJson<{
      items: { reason?: string; involvedObject?: { name?: string } }[];
    }>(['-n', s.ns, 'events', '--field-selector', `involvedObject.name=${away}`]);
    expect(events.items.some((e) => e.reason === 'Recloning')).toBe(true);

    const described = await kpg(['describe', 'pg', 'ha-postgres', '-n', s.ns]);
    expect(described.stdout).toMatch(new RegExp(`Slots \\(on ${s.primary}\\):`));
    expect(described.stdout).toMatch(new RegExp(`${slot}\\s+yes\\s`));
    expect(described.stdout).toMatch(/Recloning/);

    await settle(s, s.primary);
  });
});

/** The directories the re-clone moved aside, as the pod's own shell lists them. */
async function asideDirs(ns: string, pod: string): Promise<string> {
  const r = await exec(
    ns,
    pod,
    ['bash', '-c', 'ls -d /var/lib/postgresql/data/pgdata.before-reclone-*'],
    {
      container: 'postgres',
      timeoutMs: 20_000,
    },
  );
  return r.stdout.trim();
}
