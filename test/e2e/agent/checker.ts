// The split-brain checker (issue 10, "Done when"): a postgres:15 client pod in
// the test namespace that, every 100 ms, asks every pod of the cluster over
// its pod IP whether it accepts a write — `pg_is_in_recovery()` is false AND
// a one-row insert into kpg_checker commits — and logs each answer with the
// server's commit time to /tmp/probes. One persistent session per pod (a
// connection per probe would fork 30 backends a second on 2 shared cores);
// a session that gives no answer within 1 s is killed and a new one opened
// (connect_timeout 2 s, statement_timeout 500 ms). The test keeps the pod
// list in /tmp/targets from the API: at the start and whenever an IP changes.
//
// A verdict fails when two pods accepted a write in the same 100 ms slot, and
// (for tests without a switch back) when a pod accepted a write after another
// pod had accepted one following its own: the old primary must stop taking
// writes before the new one takes any.
import { apply, exec, getJson, kubectlOk, waitFor } from '../../cluster/kube.js';
import { avoidingNode } from '../failover/writer.js';

export const CHECKER_SCRIPT = `
set -u
: >/tmp/probes
base="user=\${POSTGRES_USER:-postgres} dbname=postgres connect_timeout=2 keepalives_idle=1 keepalives_interval=1 keepalives_count=2 tcp_user_timeout=1000 application_name=kpg-checker options=-cstatement_timeout=500"
until psql "host=$KPG_HOST $base" -XAtq -c 'create table if not exists kpg_checker (pod text not null, at timestamptz not null default clock_timestamp())' >/dev/null 2>&1; do sleep 0.2; done
echo ready >/tmp/ready
# No fork per probe (30 a second): NOW without a subshell, naps with the
# builtin read on a pipe nobody writes to instead of /bin/sleep.
now_us() { local t=$EPOCHREALTIME; NOW=$((10#\${t%.*} * 1000000 + 10#\${t#*.})); }
exec {NAP}<> <(:)
nap() { read -r -t "$1" -u "$NAP" _; }
probe() {
  local name=$1 ip=$2 seq=0 line res at t0 next left secs pid='' w r
  # Never "kill 0": that is this whole process group, the checker included.
  trap '[[ -z $pid ]] || kill -9 "$pid" 2>/dev/null; exit 0' TERM
  # A write to a session that died must fail, not kill this loop.
  trap '' PIPE
  now_us; next=$NOW
  while :; do
    coproc PSQL { exec psql "host=$ip $base" -XAtq 2>>"/tmp/errors-$name"; }
    # Bash unsets PSQL and PSQL_PID, and closes its ends, once psql exits
    # (the server went away): this loop keeps its own copies.
    pid=\${PSQL_PID:-}
    if ! exec {w}>&"\${PSQL[1]:-x}" {r}<&"\${PSQL[0]:-x}" 2>/dev/null; then
      echo "$EPOCHREALTIME $name $ip E -" >>/tmp/probes
      nap 0.1
      continue
    fi
    while :; do
      seq=$((seq + 1))
      t0=$EPOCHREALTIME
      res=E at=-
      printf "select 'R' where pg_is_in_recovery();\\ninsert into kpg_checker(pod) values ('%s') returning 'W|' || extract(epoch from clock_timestamp())::numeric(20,3);\\nselect 'END %d';\\n" "$name" "$seq" 1>&"$w" 2>/dev/null || { echo "$t0 $name $ip E -" >>/tmp/probes; break; }
      ok=0
      while IFS= read -r -t 1 line <&"$r"; do
        case $line in
          "END $seq") ok=1; break ;;
          R) res=R ;;
          W\\|*) res=W at=\${line#W|} ;;
        esac
      done
      echo "$t0 $name $ip $res $at" >>/tmp/probes
      ((ok)) || break
      next=$((next + 100000))
      now_us; left=$((next - NOW))
      if ((left > 0)); then printf -v secs '0.%06d' "$left"; nap "$secs"; else next=$NOW; fi
    done
    if [[ -n $pid ]]; then
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
    exec {w}>&- {r}<&-
    nap 0.1
    now_us; next=$NOW
  done
}
declare -A running=()
while :; do
  declare -A want=()
  if [[ -r /tmp/targets ]]; then
    while read -r name ip; do [[ -n $ip ]] && want["$name $ip"]=1; done </tmp/targets
  fi
  for k in "\${!want[@]}"; do
    if [[ -z \${running[$k]:-} ]] || ! kill -0 "\${running[$k]}" 2>/dev/null; then
      probe $k &
      running[$k]=$!
    fi
  done
  for k in "\${!running[@]}"; do
    [[ -n \${want[$k]:-} ]] || { kill "\${running[$k]}" 2>/dev/null; unset "running[$k]"; }
  done
  unset want
  nap 0.2
done
`;

function checkerPod(name: string, cluster: string, avoidNode?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'kpg-checker' } },
    spec: {
      ...avoidingNode(avoidNode),
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
      containers: [
        {
          name: 'checker',
          image: 'postgres:15',
          command: ['bash', '-c', CHECKER_SCRIPT],
          env: [
            { name: 'KPG_HOST', value: cluster },
            {
              name: 'POSTGRES_USER',
              valueFrom: { secretKeyRef: { name: `${cluster}-auth`, key: 'POSTGRES_USER' } },
            },
            {
              name: 'PGPASSWORD',
              valueFrom: { secretKeyRef: { name: `${cluster}-auth`, key: 'POSTGRES_PASSWORD' } },
            },
          ],
        },
      ],
    },
  };
}

/** One probe: when it was sent (client clock), the pod, and what it answered. */
export interface Probe {
  sentAt: number;
  pod: string;
  ip: string;
  /** W: accepted the write; R: in recovery; E: no answer, error or timeout. */
  result: 'W' | 'R' | 'E';
  /** W only: the server's commit time, epoch seconds (one host, one clock). */
  at?: number;
}

/**
 * A pod thawed after a freeze may finish a statement already in flight in
 * the moment before its watchdog fences it: every process of the pod runs
 * again at once, and the backend needs no more than the watchdog does (the
 * README says so; a software fence cannot close it, a hardware watchdog
 * would). Its writes within this long after the thaw are counted apart.
 */
export const THAW_WINDOW_MS = 500;

/** A pod thawed at `atS` (epoch seconds), with the IP it had then. */
export interface Thaw {
  pod: string;
  ip: string;
  atS: number;
}

/** Whether a write by `id` (`name@ip`) at `at` falls in one of the thaw windows. */
export function inThawWindow(thaws: Thaw[], id: string, at: number): Thaw | undefined {
  return thaws.find(
    (t) => id === `${t.pod}@${t.ip}` && at >= t.atS && at <= t.atS + THAW_WINDOW_MS / 1000,
  );
}

export interface Verdict {
  probes: number;
  /** Writes a thawed pod accepted within THAW_WINDOW_MS of its thaw: the last one's distance from it (ms). */
  thawed: { pod: string; count: number; lastMs: number }[];
  /** Accepted writes per pod. */
  writes: Record<string, number>;
  /** 100 ms slots in which two pods (`name@ip`) accepted a write. */
  sameSlot: { slot: number; pods: string[] }[];
  /** The pods (`name@ip`) in the order they accepted writes, one entry per run of writes. */
  runs: { pod: string; first: number; last: number; count: number }[];
  /** The longest time between two answers of one pod (ms), per pod: whether it probed every 100 ms. */
  longestProbeGapMs: Record<string, number>;
}

export function parseProbes(text: string): Probe[] {
  const out: Probe[] = [];
  for (const l of text.split('\n')) {
    const [sent, pod, ip, result, at] = l.trim().split(' ');
    if (!sent || !pod || !ip || (result !== 'W' && result !== 'R' && result !== 'E')) continue;
    out.push({
      sentAt: Number(sent),
      pod,
      ip,
      result,
      ...(result === 'W' && at ? { at: Number(at) } : {}),
    });
  }
  return out;
}

/** The writes outside every thaw window, and a count of those inside. */
function apartFromThaws(ws: Probe[], thaws: Thaw[]): { ws: Probe[]; thawed: Verdict['thawed'] } {
  const thawed = new Map<string, Verdict['thawed'][number]>();
  const rest = ws.filter((p) => {
    const id = `${p.pod}@${p.ip}`;
    const t = inThawWindow(thaws, id, p.at ?? 0);
    if (!t) return true;
    const e = thawed.get(id) ?? { pod: id, count: 0, lastMs: 0 };
    e.count++;
    e.lastMs = Math.max(e.lastMs, Math.round(((p.at ?? 0) - t.atS) * 1000));
    thawed.set(id, e);
    return false;
  });
  return { ws: rest, thawed: [...thawed.values()] };
}

export function verdict(probes: Probe[], thaws: Thaw[] = []): Verdict {
  const writes: Record<string, number> = {};
  const slots = new Map<number, Set<string>>();
  const { ws, thawed } = apartFromThaws(
    probes
      .filter((p) => p.result === 'W' && p.at !== undefined)
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0)),
    thaws,
  );
  for (const p of ws) {
    writes[p.pod] = (writes[p.pod] ?? 0) + 1;
    const slot = Math.floor((p.at ?? 0) * 10);
    const s = slots.get(slot) ?? new Set<string>();
    s.add(`${p.pod}@${p.ip}`);
    slots.set(slot, s);
  }
  const sameSlot = [...slots]
    .filter(([, s]) => s.size > 1)
    .map(([slot, s]) => ({ slot: slot / 10, pods: [...s].sort() }));
  const runs: Verdict['runs'] = [];
  for (const p of ws) {
    const id = `${p.pod}@${p.ip}`;
    const last = runs[runs.length - 1];
    if (last && last.pod === id) {
      last.last = p.at ?? 0;
      last.count++;
    } else runs.push({ pod: id, first: p.at ?? 0, last: p.at ?? 0, count: 1 });
  }
  const longestProbeGapMs: Record<string, number> = {};
  const byPod = new Map<string, number[]>();
  for (const p of probes) {
    const id = `${p.pod}@${p.ip}`;
    const ts = byPod.get(id) ?? [];
    ts.push(p.sentAt);
    byPod.set(id, ts);
  }
  for (const [pod, ts] of byPod) {
    ts.sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < ts.length; i++) gap = Math.max(gap, (ts[i] ?? 0) - (ts[i - 1] ?? 0));
    longestProbeGapMs[pod] = Math.round(gap * 1000);
  }
  return {
    probes: probes.length,
    thawed,
    writes,
    sameSlot,
    runs,
    longestProbeGapMs,
  };
}

/** Problems in a verdict: two writable pods in one slot, or a pod writable again after another. */
export function splitBrain(v: Verdict): string[] {
  const problems = v.sameSlot.map((s) => `${s.pods.join(' and ')} accepted writes at ${s.slot}`);
  const seen = new Set<string>();
  for (const r of v.runs) {
    if (seen.has(r.pod))
      problems.push(`${r.pod} accepted ${r.count} write(s) from ${r.first} after another pod had`);
    seen.add(r.pod);
  }
  return problems;
}

/**
 * For a cluster whose primary changes several times (and pods may serve
 * again later): within each step's window (from its fault to the next), the
 * old primary accepted no write after the new one accepted its first.
 */
export function stepProblems(
  v: Verdict,
  steps: { from: string; to: string; atS: number }[],
): string[] {
  const out: string[] = [];
  steps.forEach((s, i) => {
    const end = steps[i + 1]?.atS ?? Infinity;
    const inWindow = v.runs.filter((r) => r.last >= s.atS && r.first < end);
    const firstTo = Math.min(
      ...inWindow.filter((r) => r.pod.startsWith(`${s.to}@`)).map((r) => Math.max(r.first, s.atS)),
    );
    for (const r of inWindow) {
      if (r.pod.startsWith(`${s.from}@`) && r.last > firstTo)
        out.push(
          `step ${i + 1}: ${r.pod} accepted a write at ${r.last}, after ${s.to} took its first at ${firstTo}`,
        );
    }
  });
  return out;
}

interface PodIps {
  items: { metadata: { name: string }; status?: { podIP?: string } }[];
}

export class Checker {
  private targets = '';
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly ns: string,
    readonly cluster: string,
    readonly name: string,
  ) {}

  static async start(
    ns: string,
    cluster: string,
    name = 'checker',
    avoidNode?: string,
  ): Promise<Checker> {
    const c = new Checker(ns, cluster, name);
    await apply(ns, JSON.stringify(checkerPod(name, cluster, avoidNode)));
    await kubectlOk(['-n', ns, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    await waitFor(
      async () => (await exec(ns, name, ['test', '-e', '/tmp/ready'])).code === 0,
      120_000,
      { what: 'the checker to create its table', intervalMs: 500 },
    );
    await c.refresh();
    c.timer = setInterval(() => Checker.tick(c), 1000);
    c.timer.unref();
    return c;
  }

  private static tick(c: Checker): void {
    if (c.refreshing) return;
    c.refreshing = c
      .refresh()
      .catch(() => undefined)
      .finally(() => {
        c.refreshing = undefined;
      });
  }

  /** Pod IPs no longer in the API, and when they left: probed 30 s more (a process the kubelet has not killed yet). */
  private gone = new Map<string, { name: string; since: number }>();
  private current = new Map<string, string>();

  /** Reads the pods' IPs from the API; rewrites /tmp/targets when they changed. */
  private async refresh(): Promise<void> {
    const list = await getJson<PodIps>([
      '-n',
      this.ns,
      'pods',
      '-l',
      `kubedb.com/name=${this.cluster}`,
    ]);
    const now = Date.now();
    const next = new Map<string, string>();
    for (const p of list.items) if (p.status?.podIP) next.set(p.status.podIP, p.metadata.name);
    for (const [ip, name] of this.current)
      if (!next.has(ip)) this.gone.set(ip, { name, since: now });
    for (const [ip, g] of this.gone)
      if (next.has(ip) || now - g.since > 30_000) this.gone.delete(ip);
    this.current = next;
    const lines = [
      ...[...next].map(([ip, name]) => `${name} ${ip}`),
      ...[...this.gone].map(([ip, g]) => `${g.name} ${ip}`),
    ]
      .sort()
      .join('\n');
    if (lines === this.targets) return;
    const r = await exec(this.ns, this.name, [
      'bash',
      '-c',
      'printf "%s\\n" "$1" >/tmp/targets.new && mv /tmp/targets.new /tmp/targets',
      '-',
      lines,
    ]);
    if (r.code === 0) this.targets = lines;
  }

  async probes(): Promise<Probe[]> {
    const r = await exec(this.ns, this.name, ['cat', '/tmp/probes'], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`cannot read the checker's log: ${r.stderr}`);
    return parseProbes(r.stdout);
  }

  /** Waits until `pod` accepted a write (a probe answered W) after `since` (epoch seconds). */
  async waitWritable(pod: string, since = 0, timeoutMs = 180_000): Promise<number> {
    let seen = '';
    try {
      return await waitFor(
        async () => {
          const ps = await this.probes();
          const counts: Record<string, number> = {};
          for (const p of ps)
            counts[`${p.pod}@${p.ip} ${p.result}`] =
              (counts[`${p.pod}@${p.ip} ${p.result}`] ?? 0) + 1;
          seen = JSON.stringify(counts);
          return ps.find((p) => p.pod === pod && p.result === 'W' && (p.at ?? 0) >= since)?.at;
        },
        timeoutMs,
        { what: `the checker to see ${pod} accept a write`, intervalMs: 1000 },
      );
    } catch (e) {
      const errors = await exec(
        this.ns,
        this.name,
        ['bash', '-c', 'tail -n 3 /tmp/errors-* 2>&1; cat /tmp/targets'],
        {
          timeoutMs: 20_000,
        },
      ).catch(() => undefined);
      throw new Error(`${(e as Error).message}; probes so far: ${seen}; ${errors?.stdout ?? ''}`);
    }
  }

  /** Stops refreshing and the pod; returns the verdict over every probe (`thaws`: see THAW_WINDOW_MS). */
  async stop(thaws: Thaw[] = []): Promise<Verdict> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    const v = verdict(await this.probes(), thaws);
    await kubectlOk([
      '-n',
      this.ns,
      'delete',
      'pod',
      this.name,
      '--grace-period=0',
      '--force',
      '--wait=false',
    ]);
    return v;
  }
}

/** One line for the test's log. */
export function describeVerdict(v: Verdict): string {
  return `checker: ${v.probes} probes; writes ${JSON.stringify(v.writes)}; runs ${v.runs
    .map((r) => `${r.pod}×${r.count}`)
    .join(' → ')}; longest probe gap ${JSON.stringify(v.longestProbeGapMs)} ms${v.thawed
    .map((t) => `; ${t.pod} thawed: ${t.count} write(s), the last ${t.lastMs} ms after the thaw`)
    .join('')}`;
}
