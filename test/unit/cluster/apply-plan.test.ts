import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ask,
  confirmOrRefuse,
  decideConfirmation,
  isInteractive,
} from '../../../src/lib/cli/confirm.js';
import { memoryTerminal } from '../../../src/lib/cli/terminal.js';
import {
  formatApplyPlan,
  hasChanges,
  ordinalOf,
  planApply,
  type PlanInput,
} from '../../../src/lib/cluster/apply-plan.js';
import { validateText, type PostgresCluster } from '../../../src/lib/manifest/index.js';

interface Opts {
  version?: string;
  replicas?: number;
  storageClass?: string;
  size?: string;
  extraSpec?: string;
  labels?: string;
}

/** A cluster from a manifest, the way kpg validates it. */
function cluster(o: Opts = {}): PostgresCluster {
  const text = `apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: pg
  annotations: {kpg.io/agent: "false"}
${o.labels ? `  labels:\n${o.labels}\n` : ''}spec:
  version: "${o.version ?? '15'}"
  replicas: ${o.replicas ?? 3}
  storage:
    storageClassName: ${o.storageClass ?? 'standard'}
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: ${o.size ?? '1Gi'}
${o.extraSpec ?? ''}`;
  const r = validateText(text, 'test.yaml');
  if (!r.ok || !r.clusters[0]) throw new Error(JSON.stringify(r.problems));
  return r.clusters[0];
}

const input = (
  old: PostgresCluster,
  next: PostgresCluster,
  extra: Partial<PlanInput> = {},
): PlanInput => ({
  old,
  next,
  namespace: 'demo',
  primary: 'pg-0',
  ...extra,
});

describe('planApply: nothing to do', () => {
  it('the same manifest is no change', () => {
    const plan = planApply(input(cluster(), cluster()));
    expect(hasChanges(plan)).toBe(false);
    expect(plan.refusals).toEqual([]);
    expect(formatApplyPlan(plan)).toContain('  no changes');
  });
});

describe('planApply: refused fields (nothing changes)', () => {
  const cases: [string, Opts, string, RegExp][] = [
    [
      'major version',
      { version: '16' },
      'spec.version',
      /major version upgrade \(PostgreSQL 15 → 16\)/,
    ],
    [
      'storage class',
      { storageClass: 'local-path' },
      'spec.storage.storageClassName',
      /StorageClass/,
    ],
    [
      'storage decrease',
      { size: '512Mi' },
      'spec.storage.resources.requests.storage',
      /cannot shrink/,
    ],
    [
      'storage increase',
      { size: '2Gi' },
      'spec.storage.resources.requests.storage',
      /cannot grow volumes yet/,
    ],
    [
      'databaseSecret',
      { extraSpec: '  databaseSecret:\n    secretName: mine\n' },
      'spec.databaseSecret',
      /passwords/,
    ],
    [
      'init scripts',
      { extraSpec: '  init:\n    scriptSource:\n      configMap:\n        name: s\n' },
      'spec.init',
      /once/,
    ],
  ];
  for (const [what, opts, path, reason] of cases) {
    it(`refuses a change of ${what}`, () => {
      const plan = planApply(input(cluster(), cluster(opts)));
      expect(plan.refusals.map((r) => r.path)).toContain(path);
      expect(plan.refusals.find((r) => r.path === path)?.reason).toMatch(reason);
      expect(plan.restart).toBeUndefined();
      expect(plan.scale).toBeUndefined();
      expect(formatApplyPlan(plan).join('\n')).toMatch(/refused/);
    });
  }

  it('refuses storageType Durable → Ephemeral', () => {
    const eph = validateText(
      'apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata: {name: pg}\nspec:\n  version: "15"\n  replicas: 3\n  storageType: Ephemeral\n',
      'e.yaml',
    ).clusters[0]!;
    const plan = planApply(input(cluster(), eph));
    expect(plan.refusals.map((r) => r.path)).toContain('spec.storageType');
  });

  it('refuses a different name', () => {
    const other = { ...cluster(), name: 'other' };
    expect(planApply(input(cluster(), other)).refusals.map((r) => r.path)).toContain(
      'metadata.name',
    );
  });

  it('refuses a different namespace', () => {
    const a = { ...cluster(), namespace: 'a' };
    const b = { ...cluster(), namespace: 'b' };
    expect(planApply(input(a, b)).refusals.map((r) => r.path)).toContain('metadata.namespace');
  });

  it('refuses a restart of an Ephemeral primary (its data is in an emptyDir)', () => {
    const text = (cpu: string) =>
      `apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata: {name: pg, annotations: {kpg.io/agent: "false"}}\nspec:\n  version: "15"\n  replicas: 3\n  storageType: Ephemeral\n  podTemplate:\n    spec:\n      resources:\n        requests: {cpu: ${cpu}}\n`;
    const plan = planApply(
      input(
        validateText(text('100m'), 'a').clusters[0]!,
        validateText(text('200m'), 'b').clusters[0]!,
      ),
    );
    expect(plan.refusals[0]?.reason).toMatch(/emptyDir/);
  });
});

describe('planApply: allowed changes', () => {
  it('terminationPolicy only touches the record', () => {
    const plan = planApply(
      input(cluster(), cluster({ extraSpec: '  terminationPolicy: WipeOut\n' })),
    );
    expect(plan.changes).toEqual([
      { path: 'spec.terminationPolicy', from: 'Pause', to: 'WipeOut', effect: 'record' },
    ]);
    expect(plan.restart).toBeUndefined();
    expect(plan.destructive).toBe(false);
  });

  it('serviceTemplate re-applies objects without a restart', () => {
    const plan = planApply(
      input(
        cluster(),
        cluster({ extraSpec: '  serviceTemplate:\n    spec:\n      type: NodePort\n' }),
      ),
    );
    expect(plan.changes.map((c) => [c.path, c.effect])).toEqual([
      ['spec.serviceTemplate', 'objects'],
    ]);
    expect(plan.restart).toBeUndefined();
  });

  it('podTemplate resources roll standbys first, the primary last', () => {
    const res = (cpu: string) =>
      `  podTemplate:\n    spec:\n      resources:\n        requests: {cpu: ${cpu}}\n`;
    const plan = planApply(
      input(cluster({ extraSpec: res('100m') }), cluster({ extraSpec: res('200m') })),
    );
    expect(plan.changes.map((c) => [c.path, c.effect])).toEqual([
      ['spec.podTemplate.spec.resources', 'restart'],
    ]);
    expect(plan.restart?.order).toEqual(['pg-2', 'pg-1', 'pg-0']);
    expect(plan.restart?.primaryFirst).toBe(false);
    expect(plan.destructive).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/brief outage/);
  });

  it('the primary restarts last wherever it is', () => {
    const lbl = (v: string) => `  podTemplate:\n    metadata:\n      labels: {team: ${v}}\n`;
    const plan = planApply(
      input(cluster({ extraSpec: lbl('a') }), cluster({ extraSpec: lbl('b') }), {
        primary: 'pg-1',
      }),
    );
    expect(plan.restart?.order).toEqual(['pg-2', 'pg-0', 'pg-1']);
  });

  it('standbyMode and configSource roll the pods', () => {
    for (const extra of [
      '  standbyMode: Warm\n',
      '  configSource:\n    configMap:\n      name: custom\n',
    ]) {
      const plan = planApply(
        input(
          cluster({ extraSpec: '  standbyMode: Hot\n' }),
          cluster({ extraSpec: extra.includes('Warm') ? extra : `  standbyMode: Hot\n${extra}` }),
        ),
      );
      expect(plan.restart?.order).toEqual(['pg-2', 'pg-1', 'pg-0']);
    }
  });

  it('manifest labels roll the pods and say PVC labels stay', () => {
    const plan = planApply(input(cluster(), cluster({ labels: '    team: db' })));
    expect(plan.changes.map((c) => c.path)).toEqual(['metadata.labels']);
    expect(plan.restart).toBeDefined();
    expect(plan.notes.join('\n')).toMatch(/PVCs keep their labels/);
  });
});

describe('planApply: scaling', () => {
  it('scale up adds the next ordinals as standbys', () => {
    const plan = planApply(input(cluster({ replicas: 3 }), cluster({ replicas: 5 })));
    expect(plan.scale).toEqual({
      from: 3,
      to: 5,
      added: ['pg-3', 'pg-4'],
      removed: [],
      keptClaims: [],
    });
    // max_wal_senders stays fixed at this size: nothing restarts.
    expect(plan.restart).toBeUndefined();
  });

  it('scale up past 14 replicas raises max_wal_senders: pods restart, standbys first', () => {
    const plan = planApply(input(cluster({ replicas: 14 }), cluster({ replicas: 16 })));
    expect(plan.scale?.added).toEqual(['pg-14', 'pg-15']);
    expect(plan.restart?.order[0]).toBe('pg-13');
    expect(plan.restart?.order.at(-1)).toBe('pg-0');
    expect(plan.restart?.why).toMatch(/max_wal_senders/);
  });

  it('scale up within the same configuration restarts nothing', () => {
    const plan = planApply(input(cluster({ replicas: 2 }), cluster({ replicas: 3 })));
    expect(plan.scale?.added).toEqual(['pg-2']);
    expect(plan.restart).toBeUndefined();
    expect(plan.destructive).toBe(false);
    expect(plan.removeObjects).toEqual([]);
  });

  it('scale down removes the highest ordinals and keeps their PVCs', () => {
    const plan = planApply(input(cluster({ replicas: 3 }), cluster({ replicas: 2 })));
    expect(plan.scale).toEqual({
      from: 3,
      to: 2,
      added: [],
      removed: ['pg-2'],
      keptClaims: ['data-pg-2'],
    });
    expect(plan.destructive).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/data-pg-2.*kept|kept \(data-pg-2\)/);
  });

  it('scale down where max_wal_senders decreases restarts the primary first', () => {
    const plan = planApply(input(cluster({ replicas: 16 }), cluster({ replicas: 14 })));
    expect(plan.scale?.removed).toEqual(['pg-14', 'pg-15']);
    expect(plan.restart?.order[0]).toBe('pg-0');
    expect(plan.restart?.order).toHaveLength(14);
    expect(plan.restart?.primaryFirst).toBe(true);
  });

  it('scale to 1 removes the PodDisruptionBudget', () => {
    const plan = planApply(input(cluster({ replicas: 2 }), cluster({ replicas: 1 })));
    expect(plan.removeObjects).toEqual([{ kind: 'PodDisruptionBudget', name: 'pg' }]);
  });

  it('refuses to remove the primary at a high ordinal and points to failover', () => {
    const plan = planApply(
      input(cluster({ replicas: 5 }), cluster({ replicas: 2 }), { primary: 'pg-3' }),
    );
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]?.reason).toMatch(/includes the primary pg-3/);
    expect(plan.refusals[0]?.suggestion).toBe(
      'move the primary to a pod that stays first: kpg failover pg --to pg-0, then apply again',
    );
    expect(plan.scale).toBeUndefined();
  });

  it('uses the live replicas when they differ from the record', () => {
    const plan = planApply(
      input(cluster({ replicas: 3 }), cluster({ replicas: 3 }), { liveReplicas: 2 }),
    );
    expect(plan.scale?.added).toEqual(['pg-2']);
  });

  it('ordinalOf reads only this StatefulSet’s pods', () => {
    expect(ordinalOf('pg', 'pg-12')).toBe(12);
    expect(ordinalOf('pg', 'pg-x-1')).toBeUndefined();
    expect(ordinalOf('pg', 'other-1')).toBeUndefined();
  });
});

describe('confirmation: --yes, --dry-run and the terminal', () => {
  it('decides from the flags and the terminal', () => {
    const base = { destructive: true, yes: false, dryRun: false, interactive: true };
    expect(decideConfirmation({ ...base, dryRun: true })).toBe('dry-run');
    expect(decideConfirmation({ ...base, destructive: false, interactive: false })).toBe('proceed');
    expect(decideConfirmation({ ...base, yes: true, interactive: false })).toBe('proceed');
    expect(decideConfirmation(base)).toBe('ask');
    expect(decideConfirmation({ ...base, interactive: false })).toBe('refuse');
  });

  it('needs both stdin and stderr to be terminals', () => {
    const t = memoryTerminal({
      isTTY: true,
      stdin: Object.assign(new PassThrough(), { isTTY: true }),
    });
    expect(isInteractive(t)).toBe(true);
    expect(isInteractive(memoryTerminal({ isTTY: true }))).toBe(false);
  });

  it('asks on the terminal: y goes ahead, anything else or end of input does not', async () => {
    for (const [answer, want] of [
      ['y\n', true],
      ['yes\n', true],
      ['n\n', false],
      ['\n', false],
      ['', false],
    ] as const) {
      const stdin = Object.assign(new PassThrough(), { isTTY: true });
      const t = memoryTerminal({ isTTY: true, stdin });
      const p = ask(t, 'Go?');
      stdin.end(answer);
      expect(await p).toBe(want);
      expect(t.err()).toBe('Go? [y/N] ');
    }
  });

  it('refuses without a terminal and without --yes (exit 2), changing nothing', async () => {
    const t = memoryTerminal();
    await expect(
      confirmOrRefuse(
        t,
        { destructive: true, yes: false, dryRun: false, interactive: false },
        'Go?',
      ),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no terminal/) });
    expect(t.err()).toBe('');
  });
});

describe('planApply: the in-pod agent', () => {
  const withAgent = (annotations: string) =>
    validateText(
      `apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n  name: pg\n${annotations}spec:\n  version: "15"\n  replicas: 3\n`,
      'a.yaml',
    ).clusters[0]!;
  const off = withAgent('  annotations: {kpg.io/agent: "false"}\n');
  const on = withAgent('');

  it('refuses turning it on or off, nothing changed', () => {
    for (const [old, next] of [
      [off, on],
      [on, off],
    ] as const) {
      const plan = planApply(input(old, next, { render: { agentBundle: '//' } }));
      expect(plan.refusals).toEqual([
        expect.objectContaining({ path: 'metadata.annotations["kpg.io/agent"]' }),
      ]);
      expect(plan.restart).toBeUndefined();
    }
  });

  it('judges by what the pods run, not by the record (a cluster from before the default)', () => {
    const plan = planApply(input(on, on, { liveAgent: false, render: { agentBundle: '//' } }));
    expect(plan.refusals[0]?.reason).toMatch(/run without the in-pod agent/);
    expect(
      planApply(input(on, on, { liveAgent: true, render: { agentBundle: '//' } })).refusals,
    ).toEqual([]);
  });
});

describe('planApply: TLS', () => {
  const manifest = (annotations: string) =>
    validateText(
      `apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n  name: pg\n  annotations: {kpg.io/agent: "false"${annotations}}\nspec:\n  version: "15"\n  replicas: 3\n`,
      'a.yaml',
    ).clusters[0]!;
  const off = manifest(', kpg.io/tls: "false"');
  const on = manifest('');

  it('refuses turning it on or off on running pods, and says how: recreate', () => {
    for (const [old, next] of [
      [off, on],
      [on, off],
    ] as const) {
      const plan = planApply(input(old, next));
      expect(plan.refusals).toEqual([
        expect.objectContaining({
          path: 'metadata.annotations["kpg.io/tls"]',
          suggestion: expect.stringMatching(/recreate/),
        }),
      ]);
      expect(plan.restart).toBeUndefined();
    }
  });

  it('judges by what the pods run: a cluster made before TLS was the default', () => {
    expect(planApply(input(on, on, { liveTls: false })).refusals[0]?.reason).toMatch(
      /run without TLS/,
    );
    expect(planApply(input(on, on, { liveTls: true })).refusals).toEqual([]);
  });

  it('turning the NetworkPolicy off removes it, and never a create-only Secret', () => {
    const noPolicy = manifest(', kpg.io/network-policy: "false"');
    const plan = planApply(input(on, noPolicy));
    expect(plan.refusals).toEqual([]);
    expect(plan.removeObjects).toEqual([{ kind: 'NetworkPolicy', name: 'pg' }]);
    expect(plan.restart).toBeUndefined();
  });
});

describe('planApply: backups', () => {
  const archiver = `  archiver:
    storage:
      storageSecretName: s3-secret
      s3:
        bucket: kubedb
`;
  const schedule = `  backupSchedule:
    cronExpression: "@daily"
    storageSecretName: s3-secret
    s3:
      bucket: kubedb
`;
  it('adding spec.archiver rolls the pods (archive_mode and the storage sidecar)', () => {
    const plan = planApply(input(cluster(), cluster({ extraSpec: archiver })));
    expect(plan.refusals).toEqual([]);
    expect(plan.changes.map((c) => [c.path, c.effect])).toContainEqual([
      'spec.archiver',
      'restart',
    ]);
    expect(plan.restart).toBeDefined();
  });

  it('dropping spec.backupSchedule removes its CronJob', () => {
    const plan = planApply(
      input(cluster({ extraSpec: archiver + schedule }), cluster({ extraSpec: archiver })),
    );
    expect(plan.changes.map((c) => [c.path, c.effect])).toContainEqual([
      'spec.backupSchedule',
      'objects',
    ]);
    expect(plan.removeObjects).toContainEqual({ kind: 'CronJob', name: 'pg-backup' });
  });

  it('spec.init.postgresWAL cannot change: a cluster is restored once', () => {
    const wal = `  init:
    postgresWAL:
      storageSecretName: s3-secret
      s3:
        bucket: kubedb
        prefix: kubedb/demo/old/archive
`;
    const plan = planApply(input(cluster(), cluster({ extraSpec: wal })));
    expect(plan.refusals.map((r) => r.path)).toEqual(['spec.init.postgresWAL']);
  });
});
