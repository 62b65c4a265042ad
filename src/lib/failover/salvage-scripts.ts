/**
 * The shell side of the WAL salvage, run in the postgres container through
 * exec, as the postgres user: where a pod's WAL ends, read bytes of its
 * segment files, write bytes into them. Parsing of what they print is pure.
 */
import { keyValues, parseWalRecord } from './probe.js';
import type { WalRecord } from './types.js';

const PREAMBLE = `
set -u
PGD=\${PGDATA:-/var/lib/postgresql/data/pgdata}
waldir=$PGD/pg_wal
[[ -d $waldir ]] || waldir=$PGD/pg_xlog
`;

/**
 * wal-end TLI|latest START: the last valid WAL record from START on
 * (pg_waldump follows the segment files until the first invalid record), plus
 * what tells whether PGDATA is a stopped former primary nobody has touched
 * yet. "latest" reads the newest timeline with segment files in pg_wal: a
 * primary's own (its control file may still name an older one, and a
 * standby's last restartpoint too).
 */
export const WAL_END_SCRIPT = `${PREAMBLE}
tli=$1 start=$2
# No control file: the volume was lost (an Ephemeral pod deleted, a claim
# replaced); nothing of the old primary is left to read, now or later.
[[ -f $PGD/global/pg_control ]] || { echo "gone=1"; echo "error=its data directory holds no database (its volume is gone)"; exit 0; }
if [[ $tli == latest ]]; then
  hex=$(ls "$waldir" 2>/dev/null | grep -E '^[0-9A-F]{24}$' | cut -c1-8 | sort | tail -n 1)
  [[ -n $hex ]] || { echo "error=no WAL segment files in $waldir"; exit 0; }
  tli=$((16#$hex))
fi
echo "tli=$tli"
echo "state=$(cat /tmp/kpg-state 2>/dev/null)"
pm=''
read -r pm <"$PGD/postmaster.pid" 2>/dev/null
if [[ $pm =~ ^[0-9]+$ && $(cat "/proc/$pm/comm" 2>/dev/null) == postgres ]]; then echo postmaster=1; else echo postmaster=0; fi
if [[ -f $PGD/standby.signal || -f $PGD/recovery.conf ]]; then echo signal=1; else echo signal=0; fi
ctl=$(LC_ALL=C pg_controldata "$PGD" 2>/dev/null) || { echo "error=pg_controldata cannot read $PGD"; exit 0; }
echo "cluster_state=$(sed -n 's/^Database cluster state: *//p' <<<"$ctl")"
echo "segsize=$(sed -n 's/^Bytes per WAL segment: *//p' <<<"$ctl")"
echo "blcksz=$(sed -n 's/^WAL block size: *//p' <<<"$ctl")"
dump=pg_waldump
command -v pg_waldump >/dev/null 2>&1 || dump=pg_xlogdump
err=$(mktemp)
last=$("$dump" -p "$waldir" -t "$tli" -s "$start" 2>"$err" | tail -n 1)
[[ -n $last ]] && echo "walrec=$tli|$last"
echo "dump_error=$(tail -n 1 "$err" | tr -d '\\r')"
rm -f "$err"
exit 0
`;

/** read FILE OFFSET LENGTH ...: the bytes, back to back, on stdout. */
export const READ_SCRIPT = `${PREAMBLE}
set -e
while (($#)); do
  f=$waldir/$1
  [[ -f $f ]] || { echo "no WAL segment file $1" >&2; exit 3; }
  dd if="$f" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=65536 status=none
  shift 3
done
`;

/**
 * write SEGSIZE FILE OFFSET LENGTH ...: stdin's bytes, in order, into those
 * places (in place, fsynced); a segment file that does not exist yet is
 * created at its full size, as PostgreSQL expects.
 */
export const WRITE_SCRIPT = `${PREAMBLE}
set -e
umask 077
segsize=$1
shift
tmp=$(mktemp /tmp/kpg-salvage.XXXXXX)
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
pos=0
while (($#)); do
  f=$waldir/$1
  new=0
  [[ -e $f ]] || new=1
  dd if="$tmp" of="$f" iflag=skip_bytes,count_bytes oflag=seek_bytes skip="$pos" seek="$2" count="$3" bs=65536 conv=notrunc,fsync status=none
  ((new)) && truncate -s "$segsize" "$f" && sync "$f"
  pos=$((pos + $3))
  shift 3
done
sync "$waldir"
echo "written=$pos"
`;

export interface WalEnd {
  postmaster: boolean;
  standbySignal: boolean;
  /** PGDATA holds no database: the volume was lost, nothing will ever be read. */
  gone?: boolean;
  startState?: string;
  clusterState?: string;
  segSize?: bigint;
  blockSize?: bigint;
  /** The last valid record from the start LSN on. */
  last?: WalRecord;
  /** pg_waldump's last complaint (how the WAL ends, or why it could not be read). */
  dumpError?: string;
  /** The timeline read. */
  timeline?: number;
  /** The script could not read PGDATA. */
  error?: string;
}

export function parseWalEnd(stdout: string): WalEnd {
  const kv = keyValues(stdout);
  const big = (k: string): bigint | undefined => {
    const v = kv.get(k);
    return v && /^\d+$/.test(v) ? BigInt(v) : undefined;
  };
  const last = parseWalRecord(kv.get('walrec') ?? '');
  const out: WalEnd = {
    postmaster: kv.get('postmaster') === '1',
    standbySignal: kv.get('signal') === '1',
    ...(kv.get('gone') === '1' ? { gone: true } : {}),
  };
  const fields: [keyof WalEnd, string | number | bigint | WalRecord | undefined][] = [
    ['startState', kv.get('state') || undefined],
    ['clusterState', kv.get('cluster_state') || undefined],
    ['segSize', big('segsize')],
    ['blockSize', big('blcksz')],
    ['last', last],
    ['dumpError', kv.get('dump_error') || undefined],
    ['timeline', /^\d+$/.test(kv.get('tli') ?? '') ? Number(kv.get('tli')) : undefined],
    ['error', kv.get('error') || undefined],
  ];
  for (const [k, v] of fields) if (v !== undefined) Object.assign(out, { [k]: v });
  return out;
}

/** pg_waldump found no complete record after the start: the WAL ends there. */
export function endsBeforeNextRecord(dumpError: string | undefined): boolean {
  return /could not find a valid record after/i.test(dumpError ?? '');
}
