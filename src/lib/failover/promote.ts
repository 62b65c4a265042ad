/**
 * Promotion of the target in one exec: `pg_ctl promote` (every version; the
 * trigger file and pg_promote() do the same) unless it is already a primary,
 * wait until it is out of recovery, then CHECKPOINT, so the control file
 * carries the new timeline (pg_rewind of the old primary reads it there and
 * would otherwise say "no rewind required"), and print timeline, LSN and
 * where the new timeline begins (from its history file).
 */
import { type FailoverContext } from './context.js';
import { FailoverStepError } from './errors.js';
import { parseLsn, type Lsn } from './lsn.js';
import { shell } from './pg.js';
import { keyValues } from './probe.js';

export interface Promoted {
  timeline: number;
  lsn: Lsn;
  /** false when it was already a primary (an interrupted run promoted it). */
  promotedNow: boolean;
  /** Where the new timeline begins (its history file): the end of the WAL replayed. */
  switchLsn?: Lsn;
}

export const PROMOTE_SCRIPT = `
set -u
wait_s=$1
q() { psql -XAtq -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "\${POSTGRES_USER:-postgres}" -d postgres -c "$1" 2>/dev/null; }
major=\${KPG_PG_MAJOR:-15}
if [[ \${major%%.*} -lt 10 ]]; then cur=pg_current_xlog_location wfn=pg_xlogfile_name; else cur=pg_current_wal_lsn wfn=pg_walfile_name; fi
state() { LC_ALL=C pg_controldata "$PGDATA" 2>/dev/null | sed -n 's/^Database cluster state: *//p'; }
now=no
if [[ $(state) != "in production" ]]; then
  [[ $(state) == "in archive recovery" ]] || { echo "error=not a running standby ($(state))"; exit 0; }
  out=$(pg_ctl promote -D "$PGDATA" 2>&1) || { echo "error=$out"; exit 0; }
  now=yes
fi
for ((i = 0; i < wait_s * 20; i++)); do
  [[ $(q 'select pg_is_in_recovery()') == f ]] && break
  sleep 0.05
done
[[ $(q 'select pg_is_in_recovery()') == f ]] || { echo "error=still in recovery after \${wait_s}s"; exit 0; }
q CHECKPOINT >/dev/null
echo "promoted_now=$now"
info=$(q "select ('x' || substr($wfn($cur()), 1, 8))::bit(32)::int || '|' || $cur()")
echo "info=$info"
waldir=$PGDATA/pg_wal
[[ -d $waldir ]] || waldir=$PGDATA/pg_xlog
echo "switch=$(tail -n 1 "$waldir/$(printf '%08X' "\${info%%|*}").history" 2>/dev/null | cut -f2)"
`;

export async function promote(
  ctx: FailoverContext,
  pod: string,
  timeoutMs: number,
): Promise<Promoted> {
  const waitS = Math.max(5, Math.round(timeoutMs / 1000));
  const r = await shell(ctx, pod, PROMOTE_SCRIPT, {
    args: [String(waitS)],
    timeoutMs: timeoutMs + 10_000,
  });
  const kv = keyValues(r.stdout);
  const error = kv.get('error');
  if (error || r.exitCode !== 0) {
    throw new FailoverStepError(
      'promote',
      `${pod}: ${error ?? (r.stderr.trim() || `exit ${r.exitCode}`)}`,
    );
  }
  const [tli, lsnText] = (kv.get('info') ?? '').split('|');
  const timeline = Number.parseInt(tli ?? '', 10);
  const lsn = parseLsn(lsnText);
  if (!Number.isFinite(timeline) || lsn === undefined) {
    throw new FailoverStepError(
      'promote',
      `${pod} was promoted but its timeline and LSN cannot be read`,
    );
  }
  const switchLsn = parseLsn(kv.get('switch'));
  return {
    timeline,
    lsn,
    promotedNow: kv.get('promoted_now') === 'yes',
    ...(switchLsn !== undefined ? { switchLsn } : {}),
  };
}
