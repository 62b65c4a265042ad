/**
 * The probe: one bash script run in a pod's postgres container (kubectl-exec
 * style, through the API), printing key=value lines that parseProbe() turns
 * into a MemberState. psql talks to the local Unix socket (trusted); a warm
 * standby refuses connections, so its WAL position comes from pg_waldump.
 *
 *   probe [--waldump] [--reach IP]
 */
import { parseLsn } from './lsn.js';
import type { MemberState, ReplicationPeer, WalRecord } from './types.js';

export const PROBE_SCRIPT = `
set -u
PGD=\${PGDATA:-/var/lib/postgresql/data/pgdata}
U=\${POSTGRES_USER:-postgres}
want_dump=0 reach=''
while (($#)); do
  case $1 in --waldump) want_dump=1 ;; --reach) reach=$2; shift ;; esac
  shift
done
# The reach check may take its whole 2 s (a frozen or cut-off primary accepts
# nothing and refuses nothing), so it runs beside the rest, not after it.
if [[ -n $reach ]]; then
  exec 3< <(pg_isready -q -h "$reach" -p 5432 -t 2; echo "$?")
fi
echo "state=$(cat /tmp/kpg-state 2>/dev/null)"
pm=''
read -r pm <"$PGD/postmaster.pid" 2>/dev/null
if [[ $pm =~ ^[0-9]+$ && $(cat "/proc/$pm/comm" 2>/dev/null) == postgres ]]; then echo postmaster=1; else echo postmaster=0; fi
if [[ -f $PGD/standby.signal || -f $PGD/recovery.conf ]]; then echo signal=1; else echo signal=0; fi
ctl=$(LC_ALL=C pg_controldata "$PGD" 2>/dev/null)
echo "cluster_state=$(sed -n 's/^Database cluster state: *//p' <<<"$ctl")"
major=\${KPG_PG_MAJOR:-15}
if [[ \${major%%.*} -lt 10 ]]; then cur=pg_current_xlog_location rcv=pg_last_xlog_receive_location rpl=pg_last_xlog_replay_location wfn=pg_xlogfile_name; else cur=pg_current_wal_lsn rcv=pg_last_wal_receive_lsn rpl=pg_last_wal_replay_lsn wfn=pg_walfile_name; fi
Q="select pg_is_in_recovery(),
  case when pg_is_in_recovery() then '' else $cur()::text end,
  coalesce($rcv()::text, ''), coalesce($rpl()::text, ''),
  case when pg_is_in_recovery() then coalesce((select max(received_tli) from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))
       else ('x' || substr($wfn($cur()), 1, 8))::bit(32)::int end,
  coalesce((select max(status) from pg_stat_wal_receiver), ''),
  coalesce((select string_agg(application_name || ':' || state || ':' || coalesce(flush_lsn::text, '') || ':' || coalesce(replay_lsn::text, ''), ',') from pg_stat_replication), '')"
out=$(timeout 5 psql -XAtq -F'|' -h /var/run/postgresql -U "$U" -d postgres -c "$Q" 2>/dev/null) && echo "sql=$out" || echo "sql="
if [[ $want_dump == 1 || -z $out ]] && [[ -n $ctl ]]; then
  waldir=$PGD/pg_wal
  [[ -d $waldir ]] || waldir=$PGD/pg_xlog
  dump=pg_waldump
  command -v pg_waldump >/dev/null 2>&1 || dump=pg_xlogdump
  segsize=$(sed -n 's/^Bytes per WAL segment: *//p' <<<"$ctl")
  for f in $(ls "$waldir" 2>/dev/null | grep -E '^[0-9A-F]{24}$' | sort -r | head -n 6); do
    start=$(printf '%X/%X' $((16#\${f:8:8})) $((16#\${f:16:8} * segsize)))
    last=$("$dump" -p "$waldir" -t $((16#\${f:0:8})) -s "$start" 2>/dev/null | tail -n 1)
    if [[ -n $last ]]; then echo "walrec=$((16#\${f:0:8}))|$last"; break; fi
  done
fi
if [[ -n $reach ]]; then
  # 0 accepts, 1 rejects (it answers: reachable), 2 no response, 3 no attempt.
  read -r rc <&3
  [[ $rc == 0 || $rc == 1 ]] && echo reach=1 || echo reach=0
fi
exit 0
`;

type ProbeFields = Pick<
  MemberState,
  | 'startState'
  | 'postmaster'
  | 'standbySignal'
  | 'clusterState'
  | 'accepts'
  | 'inRecovery'
  | 'currentLsn'
  | 'receiveLsn'
  | 'replayLsn'
  | 'timeline'
  | 'walReceiver'
  | 'peers'
  | 'lastRecord'
  | 'reachesPrimary'
>;

/** `key=value` lines, as the in-pod scripts print them (other lines are ignored). */
export function keyValues(stdout: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return kv;
}

/** Parses the probe's output (unknown lines are ignored). */
export function parseProbe(stdout: string): ProbeFields {
  const kv = keyValues(stdout);
  const out: ProbeFields = {
    postmaster: kv.get('postmaster') === '1',
    standbySignal: kv.get('signal') === '1',
    accepts: false,
  };
  const state = kv.get('state');
  if (state) out.startState = state;
  const cs = kv.get('cluster_state');
  if (cs) out.clusterState = cs;
  Object.assign(out, parseSql(kv.get('sql') ?? ''));
  const rec = parseWalRecord(kv.get('walrec') ?? '');
  if (rec) {
    out.lastRecord = rec;
    // A standby without SQL (warm): its WAL on disk is what it has received.
    if (!out.accepts && out.standbySignal) {
      out.receiveLsn = rec.end;
      out.timeline = rec.timeline;
    }
  }
  const reach = kv.get('reach');
  if (reach !== undefined) out.reachesPrimary = reach === '1';
  return out;
}

function parseSql(line: string): Partial<ProbeFields> {
  const f = line.split('|');
  if (f.length < 7) return {};
  const [rec, cur, rcv, rpl, tli, wr, peers] = f;
  const out: Partial<ProbeFields> = { accepts: true, inRecovery: rec === 't' };
  const c = parseLsn(cur);
  if (c !== undefined) out.currentLsn = c;
  const r = parseLsn(rcv);
  if (r !== undefined) out.receiveLsn = r;
  const p = parseLsn(rpl);
  if (p !== undefined) out.replayLsn = p;
  const t = Number.parseInt(tli ?? '', 10);
  if (Number.isFinite(t)) out.timeline = t;
  out.walReceiver = wr ?? '';
  out.peers = parsePeers(peers ?? '');
  return out;
}

function parsePeers(text: string): ReplicationPeer[] {
  if (!text) return [];
  return text.split(',').map((item) => {
    const [name = '', state = '', flush, replay] = item.split(':');
    const peer: ReplicationPeer = { name, state };
    const fl = parseLsn(flush);
    if (fl !== undefined) peer.flushLsn = fl;
    const rp = parseLsn(replay);
    if (rp !== undefined) peer.replayLsn = rp;
    return peer;
  });
}

const WALDUMP_RE =
  /len \(rec\/tot\):\s*\d+\/\s*(\d+),.*?lsn: ([0-9A-Fa-f]+\/[0-9A-Fa-f]+),.*?desc: (\S+)/;

/** "TLI|<pg_waldump line>" → the record; undefined when it does not parse. */
export function parseWalRecord(text: string): WalRecord | undefined {
  const bar = text.indexOf('|');
  if (bar < 0) return undefined;
  const timeline = Number.parseInt(text.slice(0, bar), 10);
  const m = WALDUMP_RE.exec(text.slice(bar + 1));
  const lsn = parseLsn(m?.[2]);
  if (!m?.[1] || !m[3] || lsn === undefined || !Number.isFinite(timeline)) return undefined;
  return { lsn, end: lsn + BigInt(m[1]), kind: m[3], timeline };
}
