import { quantityValue } from '../manifest/quantity.js';
import type { PostgresCluster } from '../manifest/types.js';

/**
 * max_slot_wal_keep_size in MB: a quarter of the volume, at least 256 MB
 * (1 GB without a volume). A standby further behind than this loses its
 * slot's WAL and re-clones, rather than fill the primary's disk. Below 13
 * the agent enforces the same bound (KPG_SLOT_WAL_KEEP_MB).
 */
export function slotWalKeepMb(c: PostgresCluster): number {
  const bytes = c.storage ? quantityValue(c.storage.size) : undefined;
  if (bytes === undefined) return 1024;
  return Math.max(256, Math.floor(bytes / 4 / 1024 / 1024));
}
