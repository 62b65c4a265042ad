// The in-cluster writer: a postgres:15 client pod that inserts a numbered row
// through the primary Service every few ms and logs each acknowledged number
// (with the server's commit time and address) to /tmp/acked. One statement at a time: a
// number is logged only once psql printed its RETURNING row, i.e. after the
// commit (and, in synchronous mode, after a standby confirmed it). A session
// that gives no answer within 2 s is killed and a new one opened; numbers are
// session * 1e6 + i, so they never repeat.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import {
  apply,
  exec,
  kubeconfigPath,
  kubectlOk,
  kubectlPath,
  waitFor,
} from '../../cluster/kube.js';

export const WRITER_SCRIPT = `
set -u
: >/tmp/acked
conn="host=$KPG_HOST user=\${POSTGRES_USER:-postgres} dbname=postgres connect_timeout=2 keepalives_idle=1 keepalives_interval=1 keepalives_count=2 tcp_user_timeout=2000"
until psql "$conn" -XAtq -c 'create table if not exists kpg_writer (n bigint primary key, at timestamptz not null default clock_timestamp())' >/dev/null 2>&1; do sleep 0.2; done
echo ready >/tmp/ready
# Naps with the builtin read on a pipe nobody writes to: /bin/sleep after
# every insert was a fork and an exec each time, a good part of a core. 20 ms
# keeps the rate a loaded CI machine had with /bin/sleep 0.003 (about 40 rows
# a second; bash's timer has a 10 ms grain). Faster, the repeat test saw an
# asynchronous failover lose its unsent tail (see the closing note of 2026-12-02).
exec {NAP}<> <(:)
s=0
while :; do
  s=$((s + 1))
  coproc PSQL { exec psql "$conn" -XAtq -v ON_ERROR_STOP=1 2>>/tmp/errors; }
  i=0
  while :; do
    if [[ -e /tmp/stop ]]; then kill -9 "$PSQL_PID" 2>/dev/null; echo stopped >/tmp/stopped; exec sleep 100000; fi
    i=$((i + 1))
    n=$((s * 1000000 + i))
    printf 'insert into kpg_writer(n) values (%d) returning n, extract(epoch from clock_timestamp())::numeric(20,3), host(inet_server_addr());\\n' "$n" >&"\${PSQL[1]}" 2>/dev/null || break
    if IFS= read -r -t 2 line <&"\${PSQL[0]}"; then
      [[ $line == "$n|"* ]] || break
      printf '%s\\n' "$line" >>/tmp/acked
    else
      break
    fi
    read -r -t 0.02 -u "$NAP" _
  done
  kill -9 "$PSQL_PID" 2>/dev/null
  wait "$PSQL_PID" 2>/dev/null
  read -r -t 0.05 -u "$NAP" _
done
`;

/** Keeps a client pod off `node` (a test that loses or partitions that node). */
export function avoidingNode(node: string | undefined): object {
  if (!node) return {};
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'NotIn', values: [node] },
              ],
            },
          ],
        },
      },
    },
  };
}

export function writerPod(name: string, cluster: string, avoidNode?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'kpg-writer' } },
    spec: {
      ...avoidingNode(avoidNode),
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
      containers: [
        {
          name: 'writer',
          image: 'postgres:15',
          command: ['bash', '-c', WRITER_SCRIPT],
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

export interface Ack {
  n: number;
  /** Commit time, epoch seconds (server clock: one host, one clock). */
  at: number;
  /** The pod IP of the server that acknowledged it. */
  server: string;
}

export class Writer {
  /** Lines of /tmp/acked seen by the stream. */
  private streamed = 0;
  private follower: ChildProcess | undefined;

  constructor(
    readonly ns: string,
    readonly name: string,
  ) {}

  static async start(
    ns: string,
    cluster: string,
    name = 'writer',
    avoidNode?: string,
  ): Promise<Writer> {
    await apply(ns, JSON.stringify(writerPod(name, cluster, avoidNode)));
    const w = new Writer(ns, name);
    await kubectlOk(['-n', ns, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    w.follow();
    await w.waitFor((n) => n >= 20, 120_000, `writer ${ns}/${name} to commit rows`);
    return w;
  }

  /**
   * Streams /tmp/acked (one `kubectl exec tail -F` for the writer's life, not
   * a kubectl exec every 200 ms: several of those at once load the 2 cores
   * the tests share). If the stream ends, the waits read the file instead.
   */
  private follow(): void {
    const child = spawn(
      kubectlPath,
      [
        '--kubeconfig',
        kubeconfigPath,
        '-n',
        this.ns,
        'exec',
        this.name,
        '--',
        'tail',
        '-n',
        '+1',
        '-F',
        '/tmp/acked',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const c of d) if (c === '\n') this.streamed++;
    });
    child.on('close', () => {
      if (this.follower === child) this.follower = undefined;
    });
    child.on('error', () => undefined);
    // A test that fails before stop() must not be kept alive by the stream.
    child.unref();
    (child.stdout as Socket).unref();
    this.follower = child;
  }

  /** How many rows are acknowledged: the stream's count, or a read of the file once it ended. */
  private async count(): Promise<number> {
    return this.follower ? this.streamed : (await this.acked()).length;
  }

  private async waitFor(done: (n: number) => boolean, timeoutMs: number, what: string) {
    await waitFor(async () => done(await this.count()), timeoutMs, { what, intervalMs: 50 });
  }

  /** Every acknowledged row so far. */
  async acked(): Promise<Ack[]> {
    const r = await exec(this.ns, this.name, ['cat', '/tmp/acked'], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`cannot read the writer's log: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .map((l) => l.split('|'))
      .filter((f) => f.length === 3)
      .map(([n, at, server]) => ({ n: Number(n), at: Number(at), server: server ?? '' }));
  }

  /** Waits until `count` more rows are acknowledged after now. */
  async waitMore(count: number, timeoutMs = 60_000): Promise<void> {
    // The file, not the stream, says what "now" is: the stream may trail it.
    const base = (await this.acked()).length;
    await this.waitFor((n) => n >= base + count, timeoutMs, `${count} more acknowledged rows`);
  }

  /** Stops writing; returns every acknowledged row. */
  async stop(): Promise<Ack[]> {
    this.follower?.kill();
    this.follower = undefined;
    await exec(this.ns, this.name, ['touch', '/tmp/stop']);
    await waitFor(
      async () => (await exec(this.ns, this.name, ['test', '-e', '/tmp/stopped'])).code === 0,
      30_000,
      {
        what: 'the writer to stop',
      },
    );
    const acks = await this.acked();
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
    return acks;
  }
}

/** The longest pause between consecutive acknowledged commits, ms. */
export function longestGap(acks: Ack[], from?: number, to?: number): number {
  const all = acks.map((a) => a.at).sort((a, b) => a - b);
  // The last commit before `from` starts the first gap.
  const first = from === undefined ? 0 : Math.max(0, all.findIndex((t) => t >= from) - 1);
  const xs = all.slice(first).filter((t) => to === undefined || t <= to);
  let gap = 0;
  for (let i = 1; i < xs.length; i++) gap = Math.max(gap, ((xs[i] ?? 0) - (xs[i - 1] ?? 0)) * 1000);
  return Math.round(gap);
}
