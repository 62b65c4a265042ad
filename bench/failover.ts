/**
 * Benchmark for kpg failover on the local cluster (not a timed test; the machine is noisy).
 *   npm run build && npx tsx bench/failover.ts [--runs N] [--only switchover,sigkill,kept-down,unsent]
 * For each scenario, N runs (default 5) on one fresh 3-pod cluster (postgres 15, hot
 * standbys, asynchronous), with the in-cluster writer (test/e2e/failover/writer.ts)
 * committing a numbered row every few ms through the primary Service:
 *   switchover    kpg failover NAME --yes, primary healthy            (goal: pause < 2 s)
 *   sigkill       SIGKILL the primary, kpg failover at once           (goal: pause < 5 s)
 *   kept-down     SIGKILL twice (the second lands in the restart back-off), then kpg failover
 *   unsent        the standbys cut off the network while 100 rows commit, then kept-down:
 *                 the old primary surely holds acknowledged WAL nobody received, which kpg
 *                 copies from its volume (WAL salvage) before it promotes
 *   pod-deleted   kubectl delete pod of the primary and no kpg command: the StatefulSet
 *                 recreates it and it comes back as primary on its volume (the seed's
 *                 walkthrough); "command" is the delete until writes resume
 * With --agents: the in-pod agent's automatic failover instead (bench/agent-failover.ts).
 * The write pause is the longest gap between two consecutive acknowledged commits from
 * just before the event until 30 more commits after the command; also reported: the
 * command's wall time, and which path kpg took. Medians; every run is printed.
 * Method and figures: bench/README.md.
 */
import {
  cleanup,
  CLUSTER,
  createCluster,
  killPrimary,
  killWithStandbysCutOff,
  kpg,
  missingRows,
  parseJson,
  waitHealthy,
} from '../test/e2e/failover/harness.js';
import { longestGap, Writer } from '../test/e2e/failover/writer.js';
import { kubectlOk } from '../test/cluster/kube.js';
import { AGENT_SCENARIOS, runAgentScenarios, type AgentScenario } from './agent-failover.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg > 0 ? (process.argv[onlyArg + 1] ?? '').split(',') : undefined;

type Scenario = 'switchover' | 'sigkill' | 'kept-down' | 'unsent' | 'pod-deleted';
const SCENARIOS: Scenario[] = ['switchover', 'sigkill', 'kept-down', 'unsent', 'pod-deleted'];

interface Sample {
  pauseMs: number;
  commandMs: number;
  kind: string;
  /** Bytes of WAL copied from the old primary's volume (asynchronous failover). */
  salvagedBytes: number;
  notes: string[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function event(
  ns: string,
  writer: Writer,
  primary: string,
  scenario: Scenario,
): Promise<void> {
  if (scenario === 'switchover') return;
  if (scenario !== 'unsent') return killPrimary(ns, primary, scenario === 'kept-down');
  await killWithStandbysCutOff(ns, primary, () => writer.waitMore(100));
}

async function once(ns: string, writer: Writer, scenario: Scenario): Promise<Sample> {
  const primary = await waitHealthy(ns);
  await writer.waitMore(20);
  const t0 = Date.now() / 1000;
  if (scenario === 'pod-deleted') {
    const started = Date.now();
    await kubectlOk(['-n', ns, 'delete', 'pod', primary, '--wait=false']);
    await writer.waitMore(30, 180_000);
    const pauseMs = longestGap(await writer.acked(), t0);
    return {
      pauseMs,
      commandMs: Date.now() - started,
      kind: 'restart',
      salvagedBytes: 0,
      notes: [],
    };
  }
  await event(ns, writer, primary, scenario);
  const started = Date.now();
  const r = await kpg(['failover', CLUSTER, '-n', ns, '--yes', '-o', 'json']);
  const commandMs = Date.now() - started;
  if (r.code !== 0) throw new Error(`kpg failover exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  const out = parseJson(r);
  await writer.waitMore(30);
  const pauseMs = longestGap(await writer.acked(), t0);
  const notes =
    out.notRejoined.length > 0 ? [`not rejoined in time: ${out.notRejoined.join(', ')}`] : [];
  const salvagedBytes = out.walSalvage?.copiedBytes ?? 0;
  return { pauseMs, commandMs, kind: out.kind, salvagedBytes, notes };
}

async function main(): Promise<void> {
  const results: Record<string, Sample[]> = {};
  const scenarios = SCENARIOS.filter((x) => !ONLY || ONLY.includes(x));
  for (const scenario of scenarios) {
    const ns = await createCluster(`bench-${scenario}`);
    try {
      await waitHealthy(ns);
      const writer = await Writer.start(ns, CLUSTER);
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) {
        const s = await once(ns, writer, scenario);
        samples.push(s);
        console.log(
          `${scenario} #${i + 1}: pause ${s.pauseMs} ms, command ${s.commandMs} ms (${s.kind}, WAL copied ${s.salvagedBytes} B)${s.notes.length ? ` ${s.notes.join('; ')}` : ''}`,
        );
      }
      const acks = await writer.stop();
      const missing = await missingRows(ns, acks);
      console.log(
        `${scenario}: ${acks.length} acknowledged rows, missing: ${JSON.stringify(missing)}`,
      );
      results[scenario] = samples;
    } finally {
      await cleanup(ns);
    }
  }
  console.log(
    '\n| scenario | runs | median write pause | median command time | paths taken | WAL copied per run (B) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [scenario, samples] of Object.entries(results)) {
    const kinds = [...new Set(samples.map((s) => s.kind))].map(
      (k) => `${k} ×${samples.filter((s) => s.kind === k).length}`,
    );
    console.log(
      `| ${scenario} | ${samples.length} | ${median(samples.map((s) => s.pauseMs))} ms | ${median(samples.map((s) => s.commandMs))} ms | ${kinds.join(', ')} | ${samples.map((s) => s.salvagedBytes).join(', ')} |`,
    );
  }
}

async function agents(): Promise<void> {
  const scenarios = AGENT_SCENARIOS.filter((x) => !ONLY || ONLY.includes(x));
  const results = await runAgentScenarios(
    scenarios as AgentScenario[],
    RUNS,
    process.argv.includes('--warm'),
  );
  console.log(
    '\n| scenario | runs | median time to a new labelled primary | median write pause | acknowledged rows lost |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const [scenario, r] of Object.entries(results)) {
    console.log(
      `| ${scenario} | ${r.samples.length} | ${median(r.samples.map((s) => s.labelledMs))} ms | ${median(r.samples.map((s) => s.pauseMs))} ms | ${r.missing} of ${r.rows} |`,
    );
  }
}

await (process.argv.includes('--agents') ? agents() : main());
