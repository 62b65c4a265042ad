/**
 * kpg-agent: the in-pod agent's entry point (bundled into one file, run by
 * the node image as a native sidecar). Wires the real I/O into Agent and
 * runs a cycle every retry period. --help, --dry-run (check the
 * configuration and print it, touching nothing).
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseElector } from '../lib/ha/elector.js';
import { leaseName } from '../lib/ha/lease-record.js';
import { Agent } from './agent.js';
import { clusterApi } from './cluster-api.js';
import { ConfigError, parseConfig, type AgentConfig } from './config.js';
import { sharedFiles, uptimeClock } from './files.js';
import { inClusterHttp } from './kube.js';
import { Pace } from './pace.js';
import { peerClient, servePeers } from './peers.js';
import { localPostgres } from './postgres.js';
import { withWarmStandby } from './warm.js';
import { USAGE } from './usage.js';

const out = (s: string) => process.stdout.write(s);
const log = (line: string) => out(`kpg-agent: ${new Date().toISOString()} ${line}\n`);

function printable(c: AgentConfig): unknown {
  return JSON.parse(JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
}

async function run(config: AgentConfig): Promise<void> {
  const clock = uptimeClock();
  const files = sharedFiles(config.haDir);
  const http = inClusterHttp(config.api);
  const cluster = clusterApi(
    http,
    { namespace: config.namespace, cluster: config.cluster, self: config.self },
    clock.wall,
  );
  const elector = new LeaseElector({
    api: cluster.lease,
    clock,
    self: config.self,
    timing: config.timing,
    ref: { namespace: config.namespace, name: leaseName(config.cluster) },
  });
  const pg = withWarmStandby(
    localPostgres({ ...config.pg, timeoutMs: config.api.timeoutMs }, async () =>
      writeFileSync(config.triggerFile, ''),
    ),
    () => files.standbyState(),
    clock.now,
    { timeoutMs: config.api.timeoutMs, sleep },
  );
  const agent = new Agent({
    config,
    clock,
    elector,
    cluster,
    pg,
    peers: peerClient(config.port, Math.min(1000, config.timing.retryPeriodMs)),
    files,
    log,
    sleep: (ms) => sleep(ms),
  });
  const pace = new Pace(clock, config.timing.retryPeriodMs, (ms) => sleep(ms));
  const server = await servePeers(config.podIp, config.port, {
    report: () => agent.report(),
    confirm: async (cp) => {
      const answer = await agent.confirm(cp);
      // The primary releases the lease to a standby that confirmed: look for it often.
      if (answer.confirmed) pace.hurry(config.timing.leaseDurationMs);
      return answer;
    },
    failsafe: (req) => agent.failsafeAnswer(req),
  });
  // The wait ends early the moment the pod starts stopping (once, not while it stays so).
  let stoppingSeen = files.shuttingDown();
  const stoppingNow = () => {
    if (stoppingSeen) return false;
    stoppingSeen = files.shuttingDown();
    return stoppingSeen;
  };
  // As a native sidecar the agent is stopped after postgres: a handover in
  // progress still gets its handover timeout to finish.
  let stopBy: number | undefined;
  const stop = () => {
    if (stopBy !== undefined) return;
    stopBy = clock.now() + config.handoverTimeoutMs;
    log('stopping (after the handover, if one is due)');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  log(
    `pod ${config.self.pod} (${config.self.uid}) of ${config.namespace}/${config.cluster}: lease ${leaseName(config.cluster)}, every ${config.timing.retryPeriodMs}ms`,
  );
  for (;;) {
    const started = clock.now();
    try {
      await agent.cycle();
    } catch (err) {
      log(`cycle failed: ${(err as Error).stack ?? String(err)}`);
    }
    if (stopBy !== undefined) {
      const handoverDue = files.shuttingDown() && !agent.handoverSettled();
      if (!handoverDue || clock.now() >= stopBy) break;
    }
    await pace.wait(started, agent.handingOver(), stoppingNow);
  }
  server.close();
  await pg.close();
  log('stopped');
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(USAGE);
    return 0;
  }
  let config: AgentConfig;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`kpg-agent: ${err.message}\n`);
    return 1;
  }
  if (argv.includes('--dry-run')) {
    out(`${JSON.stringify({ dryRun: true, config: printable(config) }, null, 2)}\n`);
    return 0;
  }
  await run(config);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kpg-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(70);
  },
);
