/** `kpg describe` as text: kubectl-describe-like sections from a ClusterStatus. Pure. */
import { archiveLines } from '../backup/archive-status.js';
import {
  colorHealth,
  formatAge,
  formatBytes,
  formatSeconds,
  formatTable,
  type FormatOptions,
} from './format.js';
import type { ClusterStatus } from './status.js';
import { selectorString } from '../render/labels.js';
import { tlsConnectLines } from './tls-status.js';

const indent = (text: string, n = 2) =>
  text
    .split('\n')
    .map((l) => (l ? ' '.repeat(n) + l : l))
    .join('\n');

function kv(pairs: [string, string | number | undefined][]): string {
  const rows = pairs.filter(
    (p): p is [string, string | number] => p[1] !== undefined && p[1] !== '',
  );
  const w = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}`).join('\n');
}

function specSection(s: ClusterStatus): string {
  if (!s.spec) return "Spec:\n  <no record: the cluster's record is missing or unreadable>";
  const p = s.spec;
  return `Spec (as applied, generation ${s.record?.generation ?? '?'}):\n${indent(
    kv([
      ['Version', `${p.version} (PostgreSQL ${p.major})`],
      ['Replicas', p.replicas],
      ['Standby', p.standbyMode],
      ['Streaming', p.streamingMode],
      [
        'Storage',
        p.storageType === 'Ephemeral'
          ? 'Ephemeral'
          : `${p.storageSize ?? '?'} (${p.storageClass ?? 'default class'})`,
      ],
      ['Termination', p.terminationPolicy],
    ]),
  )}`;
}

function stsSection(s: ClusterStatus, o: FormatOptions): string {
  const t = s.statefulSet;
  if (!t) return 'StatefulSet:\n  <not found>';
  return `StatefulSet:\n${indent(
    kv([
      ['Name', t.name],
      [
        'Replicas',
        `${t.currentReplicas} current / ${t.replicas} desired / ${t.readyReplicas} ready / ${t.updatedReplicas} updated`,
      ],
      ['Image', t.image],
      [
        'Created',
        t.createdAt ? `${t.createdAt} (${formatAge(t.createdAt, o.now)} ago)` : undefined,
      ],
    ]),
  )}`;
}

/** The LSN column: what the lag is measured from, and a checkpoint said as such. */
function positionText(i: ClusterStatus['instances'][number]): string {
  const p =
    i.position ??
    (i.postgres?.lsn
      ? { lsn: i.postgres.lsn, source: 'server' }
      : i.controlData?.lsn
        ? { lsn: i.controlData.lsn, source: 'pg_controldata' }
        : undefined);
  if (!p) return '-';
  return p.source === 'pg_controldata' ? `${p.lsn} (checkpoint)` : p.lsn;
}

function instancesSection(s: ClusterStatus, o: FormatOptions): string {
  if (s.instances.length === 0) return 'Instances:\n  <no pods>';
  const rows = s.instances.map((i) => {
    const pg = i.postgres;
    const cd = i.controlData;
    const role = i.role ?? '<unlabelled>';
    const serving = pg
      ? pg.inRecovery
        ? 'standby'
        : 'primary'
      : cd
        ? 'standby (warm)'
        : i.error
          ? 'unknown'
          : '-';
    return [
      i.pod,
      role,
      serving,
      i.ready ? 'true' : 'false',
      i.node ?? '-',
      String(pg?.timeline ?? cd?.timeline ?? '-'),
      positionText(i),
      role === 'primary' && !pg?.inRecovery ? '-' : formatBytes(i.lagBytes),
      role === 'primary' && !pg?.inRecovery ? '-' : formatSeconds(i.lagSeconds),
      String(i.restarts),
      formatAge(i.createdAt, o.now),
    ];
  });
  const table = formatTable(
    [
      'POD',
      'ROLE',
      'SERVING',
      'READY',
      'NODE',
      'TIMELINE',
      'LSN',
      'LAG',
      'LAG TIME',
      'RESTARTS',
      'AGE',
    ],
    rows,
  );
  const notes = [
    ...s.instances.filter((i) => i.error).map((i) => `${i.pod}: ${i.error}`),
    ...s.instances
      .filter((i) => i.noFailover)
      .map((i) => `${i.pod}: never promoted (annotated kpg.io/nofailover: "true")`),
  ];
  return `Instances:\n${indent(table)}${notes.length ? `\n${indent(notes.join('\n'))}` : ''}`;
}

function replicationSection(s: ClusterStatus): string {
  const r = s.replication;
  if (!r) return 'Replication:\n  <unknown: no primary answered>';
  const head = `Replication (pg_stat_replication on ${r.primary}, current LSN ${r.currentLsn ?? '?'}):`;
  if (r.standbys.length === 0) return `${head}\n  <no standby connected>`;
  const rows = r.standbys.map((x) => [
    x.standby,
    x.state,
    x.sentLsn ?? '-',
    x.writeLsn ?? '-',
    x.flushLsn ?? '-',
    x.replayLsn ?? '-',
    formatSeconds(x.writeLag),
    formatSeconds(x.flushLag),
    formatSeconds(x.replayLag),
    x.syncState ?? '-',
  ]);
  return `${head}\n${indent(
    formatTable(
      [
        'STANDBY',
        'STATE',
        'SENT',
        'WRITE',
        'FLUSH',
        'REPLAY',
        'WRITE LAG',
        'FLUSH LAG',
        'REPLAY LAG',
        'SYNC',
      ],
      rows,
    ),
  )}`;
}

/** The primary's slots: how much WAL each keeps back, and whether it was lost (its standby re-clones). */
function slotsSection(s: ClusterStatus): string | undefined {
  const r = s.replication;
  if (!r?.slots?.length) return undefined;
  const rows = r.slots.map((x) => [
    x.name,
    x.active ? 'yes' : 'no',
    x.restartLsn ?? '-',
    formatBytes(x.retainedBytes),
    x.walStatus ?? '-',
  ]);
  return `Slots (on ${r.primary}):\n${indent(
    formatTable(['SLOT', 'ACTIVE', 'RESTART LSN', 'RETAINED', 'WAL STATUS'], rows),
  )}`;
}

function servicesSection(s: ClusterStatus): string {
  if (s.services.length === 0) return 'Services:\n  <none>';
  const blocks = s.services.map((v) => {
    const eps = v.endpoints.map((e) => `${e.pod ?? '?'} ${e.ip}${e.ready ? '' : ' (not ready)'}`);
    return kv([
      ['Name', v.name],
      ['Type', v.type],
      ['IP', v.clusterIP],
      ['Port', v.ports.join(', ')],
      ['Selector', selectorString(v.selector)],
      ['Endpoints', eps.length ? eps.join(', ') : '<none>'],
    ]);
  });
  return `Services:\n${blocks.map((b) => indent(b)).join('\n\n')}`;
}

function secretSection(s: ClusterStatus): string {
  if (!s.secret) return 'Secret:\n  <not found>';
  const keys = s.secret.keys.map((k) => `${k.key}:`.padEnd(24) + `${k.bytes} bytes`).join('\n');
  return `Secret:\n${indent(
    kv([
      ['Name', s.secret.name],
      ['Type', s.secret.type],
    ]),
  )}\n  Data:\n${indent(keys || '<empty>', 4)}`;
}

function archiveSection(s: ClusterStatus): string | undefined {
  if (s.archive) return `Archive:\n${indent(archiveLines(s.archive).join('\n'))}`;
  if (s.spec?.archive)
    return `Archive:\n  Location:       ${s.spec.archive}\n  Status:         unknown: no primary serves writes`;
  return undefined;
}

function tlsSection(s: ClusterStatus): string | undefined {
  const t = s.tls;
  if (!t) return undefined;
  if (!t.enabled)
    return 'TLS:\n  off (the manifest\'s annotation kpg.io/tls: "false"): connections and replication are not encrypted';
  const names = t.names ?? [];
  const lines = kv([
    ['Certificate', t.secret],
    ['Valid until', t.notAfter],
    [
      'Names',
      names.length > 6 ? `${names.slice(0, 6).join(', ')}, … (${names.length})` : names.join(', '),
    ],
    ['Problem', t.problem],
  ]);
  const connect = tlsConnectLines(s.name, s.namespace, s.secret?.user ?? 'postgres');
  return `TLS:\n${indent(lines)}\n  Connect (the server's name checked against the cluster's CA):\n${indent(connect.join('\n'), 4)}`;
}

function eventsSection(s: ClusterStatus, o: FormatOptions): string {
  if (s.events.length === 0) return 'Events:\n  <none>';
  const rows = s.events.map((e) => [
    formatAge(e.lastSeen, o.now),
    e.type ?? '',
    e.reason ?? '',
    e.object,
    `${e.message ?? ''}${e.count > 1 ? ` (x${e.count})` : ''}`,
  ]);
  return `Events:\n${indent(formatTable(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows))}`;
}

function historySection(s: ClusterStatus, o: FormatOptions): string {
  const r = s.record;
  const h = r?.history ?? [];
  const lines: string[] = [];
  if (h.length === 0) lines.push('  <no role change>');
  else {
    const rows = h.map((e) => [
      e.time,
      formatAge(e.time, o.now),
      e.reason,
      e.oldPrimary,
      e.newPrimary,
      String(e.timeline),
      e.lsn ?? '-',
    ]);
    lines.push(
      indent(
        formatTable(
          ['TIME', 'AGE', 'REASON', 'OLD PRIMARY', 'NEW PRIMARY', 'TIMELINE', 'LSN'],
          rows,
        ),
      ),
    );
  }
  if (r?.operation) {
    const op = r.operation;
    lines.push(
      `  Unfinished operation: ${op.kind} ${op.id} from ${op.oldPrimary} to ${op.newPrimary}, started ${op.startedAt} by ${op.holder}; ` +
        `completed steps: ${op.completedSteps.join(', ') || 'none'}`,
    );
  }
  return `Failover history:\n${lines.join('\n')}`;
}

function agentsSection(s: ClusterStatus, o: FormatOptions): string | undefined {
  const a = s.agents;
  if (!a) return undefined;
  const l = a.lease;
  const head = kv([
    [
      'Lease',
      `${s.name}-primary held by ${l.holder ?? 'nobody (released)'}${l.renewTime ? `, renewed ${formatAge(l.renewTime, o.now)} ago` : ''}${l.leaseDurationSeconds !== undefined ? ` (lease ${l.leaseDurationSeconds}s)` : ''}, ${l.transitions} transition(s)`,
    ],
    ['Handed over to', l.handoverTo],
    ['Switchover asked', l.switchoverTo],
    ['Last switchover refused', l.switchoverRefused],
  ]);
  const rows = a.pods.map((p) => [
    p.pod,
    p.role ?? '-',
    p.error ? 'unknown' : `${p.decision ?? '-'}${p.step && p.step !== 'none' ? ` ${p.step}` : ''}`,
    p.error ?? p.reason ?? '',
  ]);
  const last = [...(s.record?.history ?? [])]
    .reverse()
    .find((e) => e.reason.startsWith('automatic'));
  const took =
    last?.durationMs !== undefined ? `, took ${(last.durationMs / 1000).toFixed(1)}s` : '';
  const why = last?.cause ? `\n    why: ${last.cause}` : '';
  const lastLine = last
    ? `  Last automatic change: ${last.reason} ${last.oldPrimary} → ${last.newPrimary}, ${formatAge(last.time, o.now)} ago (timeline ${last.timeline})${took}${why}`
    : '  Last automatic change: none';
  return `Agents:\n${indent(head)}\n${indent(formatTable(['POD', 'POSTGRES', 'DECISION', 'WHY'], rows))}\n${lastLine}`;
}

export function describeText(s: ClusterStatus, o: FormatOptions): string {
  const head = kv([
    ['Name', s.name],
    ['Namespace', s.namespace],
    ['Created', s.createdAt ? `${s.createdAt} (${formatAge(s.createdAt, o.now)} ago)` : undefined],
    ['Health', colorHealth(s.health, o.color)],
    [
      'Primary',
      s.record ? `${s.record.primary} (recorded), timeline ${s.record.timeline}` : '<no record>',
    ],
    [
      'Paused',
      s.record?.paused
        ? `since ${s.record.paused} (${formatAge(s.record.paused, o.now)}): the agents neither fail over nor fence; kpg resume ${s.name} ends it`
        : undefined,
    ],
  ]);
  const problems = s.problems.length
    ? `\nProblems:\n${s.problems.map((p) => `  - ${p}`).join('\n')}`
    : '';
  const warnings = s.warnings?.length
    ? `\nWarnings:\n${s.warnings.map((w) => `  - ${w}`).join('\n')}`
    : '';
  const sections = [
    head + problems + warnings,
    specSection(s),
    stsSection(s, o),
    instancesSection(s, o),
    replicationSection(s),
    slotsSection(s),
    servicesSection(s),
    secretSection(s),
    tlsSection(s),
    archiveSection(s),
    agentsSection(s, o),
    historySection(s, o),
    eventsSection(s, o),
  ].filter((x): x is string => x !== undefined);
  if (s.errors.length)
    sections.push(`Errors while collecting:\n${s.errors.map((e) => `  - ${e}`).join('\n')}`);
  return sections.join('\n\n');
}
