// Which e2e files may run at the same time on the one shared local cluster.
// vitest.config.ts turns this into two projects: `e2e` (files in parallel, up
// to KPG_E2E_WORKERS at once) and then `e2e-serial` (one file at a time, alone
// on the cluster). test/cluster/README.md ("Tests") states the rule.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './kube.js';

/**
 * Files that must run alone although they call no cluster-wide helper, and
 * why. Paths relative to the repository root; a listed file need not exist yet.
 */
export const SERIAL_BY_HAND: Record<string, string> = {
  'test/e2e/agent/delete-primary.test.ts': 'asserts another pod is labelled primary within 3 s',
  'test/e2e/agent/drain.test.ts':
    'cordons and drains a node (every pod there labelled kubedb.com/name=ha-postgres, whoever its namespace)',
  'test/e2e/agent/warm.test.ts':
    'asserts another pod is labelled primary within 3 s (a handover to a warm standby)',
  'test/e2e/cluster/20-service.test.ts':
    'asserts a Service follows a relabel within 1 s: a busy cluster would fail it',
  'test/e2e/cluster/30-pod-delete.test.ts':
    'orders process start and exit times with 10 ms tolerance, seen by a 5 ms host poll',
  'test/e2e/cluster/35-isolation.test.ts':
    'asserts a recreated pod is reachable through its Service within 1 s of Ready',
  'test/e2e/cluster/45-node-faults.test.ts': 'partitions and loses whole nodes',
  'test/e2e/lifecycle/no-default-class.test.ts':
    "takes the default mark off StorageClass standard: another file's claim with no class would stay Pending",
  'test/e2e/cluster/zz-restart.test.ts': 'takes the whole cluster down and up again; runs last',
  // Killed twice, the primary is back after kpg-node's 10 s restart back-off:
  // kpg must have planned a failover by then, or it finds the primary up and
  // switches over. Beside other files on 2 cores it did not (measured).
  'test/e2e/failover/kill.test.ts': 'kpg must fail over within the 10 s restart back-off',
  'test/e2e/failover/repeat.test.ts': 'kpg must fail over within the 10 s restart back-off',
  'test/e2e/failover/warm.test.ts': 'kpg must fail over within the 10 s restart back-off',
};

/**
 * Helpers whose effect reaches every namespace: a file that calls one runs
 * serially wherever it is. (Pod-level faults, killPod, freezePod,
 * partitionPod, only touch the file's own pods.)
 */
export const CLUSTER_WIDE_HELPERS = [
  'stopApiServer', // the API server is gone for everyone
  'startApiServer',
  'slowApiServer', // kpg-node's path to the API server, for every pod
  'restoreApiServer',
  'forbidScheduling', // taints every node: no file's pod can be scheduled
  'loseNode', // a node and every pod on it, whoever's they are
  'restoreNode',
  'partitionNode',
  'healNode',
  'breakKubelet', // exec into every pod of that node hangs
  'fixKubelet',
  'clearFaults',
  'clusterSh', // cluster.sh down/up/apiserver-*
];

// Any mention counts, not only a call: a test may pass the helper around (a table of faults).
const helperUse = new RegExp(`\\b(${CLUSTER_WIDE_HELPERS.join('|')})\\b`);

function e2eFiles(dir = join(repoRoot, 'test', 'e2e')): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...e2eFiles(p));
    else if (e.name.endsWith('.test.ts')) out.push(relative(repoRoot, p));
  }
  return out.sort();
}

/** Why a file must run alone, or undefined when it may share the cluster. */
export function serialReason(file: string): string | undefined {
  const byHand = SERIAL_BY_HAND[file];
  if (byHand) return byHand;
  const m = helperUse.exec(readFileSync(join(repoRoot, file), 'utf8'));
  return m ? `uses ${m[1]}()` : undefined;
}

export interface E2eGroups {
  parallel: string[];
  serial: string[];
}

/** Every e2e file, split by serialReason. */
export function e2eGroups(): E2eGroups {
  const groups: E2eGroups = { parallel: [], serial: [] };
  for (const f of e2eFiles()) (serialReason(f) ? groups.serial : groups.parallel).push(f);
  return groups;
}

/**
 * Seconds each parallel file took when measured (test/summary-reporter.ts
 * prints them; a full CI rehearsal on this machine, 2026-12-02): the
 * sequencer starts the longest first when vitest has no cached durations (a
 * fresh CI machine), so the last files to finish are short ones. Only the
 * order matters. Unknown files count as DEFAULT_SECONDS.
 */
export const MEASURED_SECONDS: Record<string, number> = {
  'test/e2e/lifecycle/delete.test.ts': 862,
  'test/e2e/failover/resume-late.test.ts': 557,
  'test/e2e/failover/resume-early.test.ts': 556,
  'test/e2e/failover/faults.test.ts': 396,
  'test/e2e/lifecycle/blocked.test.ts': 353,
  'test/e2e/agent/slots.test.ts': 320,
  'test/e2e/agent/pg-kill.test.ts': 291,
  'test/e2e/failover/record-names.test.ts': 286,
  'test/e2e/agent/pause.test.ts': 271,
  'test/e2e/lifecycle/rbac.test.ts': 258,
  'test/e2e/agent/repeat.test.ts': 251,
  'test/e2e/lifecycle/get-describe.test.ts': 248,
  'test/e2e/lifecycle/apply.test.ts': 208,
  'test/e2e/lifecycle/create.test.ts': 205,
  'test/e2e/agent/apply-roll.test.ts': 170,
  'test/e2e/agent/switchover.test.ts': 168,
  'test/e2e/lifecycle/standalone.test.ts': 166,
  'test/e2e/agent/lag.test.ts': 152,
  'test/e2e/agent/partition.test.ts': 140,
  'test/e2e/agent/agent-kill.test.ts': 129,
  'test/e2e/agent/freeze-pod.test.ts': 125,
  'test/e2e/agent/port-forward.test.ts': 110,
  'test/e2e/lifecycle/interrupt.test.ts': 120,
  'test/e2e/agent/force-delete.test.ts': 118,
  'test/e2e/failover/lease.test.ts': 100,
  'test/e2e/agent/agent-freeze.test.ts': 98,
  'test/e2e/agent/lost-volume.test.ts': 89,
  'test/e2e/failover/switchover.test.ts': 69,
  'test/e2e/lifecycle/superuser.test.ts': 57,
  'test/e2e/lifecycle/tls.test.ts': 60,
  'test/e2e/lifecycle/report.test.ts': 40,
  'test/e2e/lifecycle/edit.test.ts': 45,
  'test/e2e/failover/ephemeral.test.ts': 45,
  'test/e2e/failover/resume-ask.test.ts': 40,
  'test/e2e/agent/ephemeral.test.ts': 40,
  'test/e2e/lifecycle/admission.test.ts': 60,
  'test/e2e/lifecycle/placement.test.ts': 25,
  'test/e2e/render/dry-run-server.test.ts': 56,
  'test/e2e/cluster/10-statefulset.test.ts': 53,
  'test/e2e/kube/client.test.ts': 46,
  'test/e2e/agent/rbac.test.ts': 46,
  'test/e2e/lifecycle/version.test.ts': 40,
  'test/e2e/cluster/36-images.test.ts': 16,
  'test/e2e/cluster/50-s3.test.ts': 25,
  'test/e2e/backup/pitr-s3.test.ts': 114,
  'test/e2e/backup/archive-failing.test.ts': 106,
  'test/e2e/backup/schedule.test.ts': 97,
  'test/e2e/backup/pitr-local.test.ts': 82,
  'test/e2e/backup/failover-gap.test.ts': 150,
  'test/e2e/plugin/pack.test.ts': 90,
  'test/e2e/plugin/kubectl-plugin.test.ts': 5,
  'test/e2e/cluster/00-control-plane.test.ts': 0,
};
export const DEFAULT_SECONDS = 60;
