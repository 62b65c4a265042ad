/** Rendering with the in-pod agent (kpg.io/agent: "true"), and without it. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentBundleFor } from '../../../src/lib/cluster/agent-bundle.js';
import { InvalidInputError } from '../../../src/lib/errors.js';
import type { PostgresCluster } from '../../../src/lib/manifest/types.js';
import { renderCluster, type KubeObject } from '../../../src/lib/render/index.js';
import { SECRET_VALUES, cluster } from './fixture.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BUNDLE = '// kpg-agent placeholder\nconsole.log("agent");\n';
const LE = {
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
  maximumLagBeforeFailover: 33554432,
};
const opted = (over: Partial<PostgresCluster> = {}) =>
  cluster({ annotations: { 'kpg.io/agent': 'true' }, leaderElection: LE, ...over });

/** bundle null: none given. */
function render(c: PostgresCluster, agentBundle: string | null = BUNDLE) {
  return renderCluster(c, {
    namespace: 'default',
    secretValues: SECRET_VALUES,
    ...(agentBundle !== null ? { agentBundle } : {}),
  });
}
function find(objects: KubeObject[], kind: string, name?: string): Any {
  const o = objects.find(
    (x) => x.kind === kind && (name === undefined || x.metadata.name === name),
  );
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o as Any;
}
const podSpec = (c: PostgresCluster) =>
  find(render(c).objects, 'StatefulSet').spec.template.spec as Any;
const envOf = (container: Any) =>
  Object.fromEntries(
    (container.env as Any[]).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
  );
const WATCHDOG = readFileSync(join(import.meta.dirname, '../../../src/lib/ha/watchdog.sh'), 'utf8');

describe('kpg.io/agent: "false"', () => {
  it('renders no agent, whatever the bundle', () => {
    const c = cluster({ annotations: { 'kpg.io/agent': 'false' } });
    const withBundle = render(c);
    expect(withBundle).toEqual(render(c, null));
    const spec = find(withBundle.objects, 'StatefulSet').spec.template.spec;
    expect(spec.initContainers).toBeUndefined();
    expect(spec.serviceAccountName).toBe('ha-postgres');
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(find(withBundle.objects, 'ConfigMap', 'ha-postgres-config').data['watchdog.sh']).toBe(
      undefined,
    );
  });
});

describe('without the annotation', () => {
  it('renders the agent, as "true" does: it is the default', () => {
    const plain = render(cluster({ annotations: {}, leaderElection: LE }));
    expect(plain).toEqual(render(opted()));
    expect(() => render(cluster({ annotations: {} }), null)).toThrow(InvalidInputError);
  });
});

describe('with kpg.io/agent: "true"', () => {
  it('adds the bundle ConfigMap and a kpg-specific ServiceAccount, Role and RoleBinding', () => {
    const r = render(opted());
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Secret/ha-postgres-auth',
      'Secret/ha-postgres-ca',
      'Secret/ha-postgres-tls',
      'ServiceAccount/ha-postgres.kpg-agent',
      'Role/ha-postgres.kpg-agent',
      'RoleBinding/ha-postgres.kpg-agent',
      'ConfigMap/ha-postgres-config',
      'ConfigMap/ha-postgres-kpg-agent',
      'Service/ha-postgres',
      'Service/ha-postgres-replicas',
      'Service/ha-postgres-pods',
      'StatefulSet/ha-postgres',
      'PodDisruptionBudget/ha-postgres',
      'NetworkPolicy/ha-postgres',
    ]);
    const cm = find(r.objects, 'ConfigMap', 'ha-postgres-kpg-agent');
    expect(cm.data).toEqual({ 'kpg-agent.cjs': BUNDLE });
    expect(cm.metadata.labels['app.kubernetes.io/managed-by']).toBe('kpg');
    expect(find(r.objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(find(r.objects, 'RoleBinding')).toMatchObject({
      roleRef: { kind: 'Role', name: 'ha-postgres.kpg-agent' },
      subjects: [{ kind: 'ServiceAccount', name: 'ha-postgres.kpg-agent', namespace: 'demo' }],
    });
  });

  it("grants only the agent's needs, by name where the API allows, nothing on Secrets", () => {
    const rules = find(render(opted({ replicas: 4 })).objects, 'Role').rules as Any[];
    expect(rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['ha-postgres-primary'],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['ha-postgres-kpg'],
        verbs: ['get', 'update', 'patch'],
      },
      {
        apiGroups: [''],
        resources: ['pods'],
        resourceNames: ['ha-postgres-0', 'ha-postgres-1', 'ha-postgres-2', 'ha-postgres-3'],
        verbs: ['get', 'patch'],
      },
      {
        apiGroups: ['apps'],
        resources: ['statefulsets'],
        resourceNames: ['ha-postgres'],
        verbs: ['get'],
      },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    for (const r of rules) {
      expect(r.resources).not.toContain('secrets');
      expect(r.verbs).not.toContain('*');
      expect(r.verbs).not.toContain('list');
      // Only create, which the API cannot narrow, goes without names.
      if (!r.resourceNames) expect(r.verbs).toEqual(['create']);
    }
  });

  it('runs the agent as a native sidecar with its configuration', () => {
    const spec = podSpec(opted());
    expect(spec.serviceAccountName).toBe('ha-postgres.kpg-agent');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.initContainers).toHaveLength(1);
    const agent = spec.initContainers[0];
    expect(agent).toMatchObject({
      name: 'kpg-agent',
      image: 'node:22-slim',
      restartPolicy: 'Always',
      command: ['node', '/opt/kpg/kpg-agent.cjs'],
      ports: [{ name: 'agent', containerPort: 8008, protocol: 'TCP' }],
      startupProbe: { httpGet: { path: '/healthz', port: 8008 } },
      livenessProbe: { httpGet: { path: '/healthz', port: 8008 } },
      securityContext: {
        runAsUser: 999,
        runAsGroup: 999,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
      },
    });
    expect(envOf(agent)).toEqual({
      KPG_CLUSTER: 'ha-postgres',
      POD_NAMESPACE: 'metadata.namespace',
      POD_NAME: 'metadata.name',
      POD_UID: 'metadata.uid',
      POD_IP: 'status.podIP',
      KPG_PG_MAJOR: '15',
      KPG_STREAMING_MODE: 'asynchronous',
      KPG_LEASE_DURATION_SECONDS: '15',
      KPG_RENEW_DEADLINE_SECONDS: '10',
      KPG_RETRY_PERIOD_SECONDS: '2',
      KPG_MAXIMUM_LAG_BEFORE_FAILOVER: '33554432',
      KPG_HA_DIR: '/run/kpg',
      KPG_PG_SOCKET_DIR: '/var/run/postgresql',
      KPG_PG_USER: undefined,
      KPG_TRIGGER_FILE: '/run/kpg/promote',
      KPG_AGENT_PORT: '8008',
    });
    // The superuser's name from the cluster's Secret (a user's own may name another); no other key of it.
    expect(agent.env.filter((e: Any) => e.valueFrom?.secretKeyRef)).toEqual([
      {
        name: 'KPG_PG_USER',
        valueFrom: { secretKeyRef: { name: 'ha-postgres-auth', key: 'POSTGRES_USER' } },
      },
    ]);
    expect(agent.volumeMounts).toEqual([
      { name: 'kpg-agent', mountPath: '/opt/kpg', readOnly: true },
      { name: 'kpg-ha', mountPath: '/run/kpg' },
      { name: 'run', mountPath: '/var/run/postgresql' },
      {
        name: 'kpg-api-token',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
      },
    ]);
  });

  it('passes the streaming mode and the image override; agent defaults without leaderElection', () => {
    const agent = podSpec(
      opted({
        streamingMode: 'synchronous',
        leaderElection: undefined,
        annotations: { 'kpg.io/agent': 'true', 'kpg.io/agent-image': 'node:20-slim' },
      }),
    ).initContainers[0];
    expect(agent.image).toBe('node:20-slim');
    const env = envOf(agent);
    expect(env.KPG_STREAMING_MODE).toBe('synchronous');
    expect(env.KPG_LEASE_DURATION_SECONDS).toBeUndefined();
  });

  it("mounts the token into the agent's container only, and the shared directories in both", () => {
    const spec = podSpec(opted());
    const pg = spec.containers[0];
    const vols = Object.fromEntries((spec.volumes as Any[]).map((v) => [v.name, v]));
    expect(vols['kpg-ha']).toEqual({
      name: 'kpg-ha',
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
    expect(vols['kpg-agent'].configMap).toEqual({
      name: 'ha-postgres-kpg-agent',
      items: [{ key: 'kpg-agent.cjs', path: 'kpg-agent.cjs' }],
    });
    const sources = vols['kpg-api-token'].projected.sources as Any[];
    expect(sources[0]).toEqual({ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } });
    expect(sources[1]?.configMap.name).toBe('kube-root-ca.crt');
    const pgMounts = (pg.volumeMounts as Any[]).map((m) => m.name);
    expect(pgMounts).not.toContain('kpg-api-token');
    expect(pgMounts).not.toContain('kpg-agent');
    expect(pgMounts).toEqual(expect.arrayContaining(['kpg-ha', 'run']));
    expect(pg.volumeMounts).toContainEqual({ name: 'kpg-ha', mountPath: '/run/kpg' });
    const pgEnv = envOf(pg);
    expect(pg.command).toEqual(['bash', '/scripts/agent-start.sh']);
    expect(pgEnv).toMatchObject({
      KPG_HA_DIR: '/run/kpg',
      KPG_STATE: '/run/kpg/start-state',
      KPG_TRIGGER: '/run/kpg/promote',
    });
    expect(pg.lifecycle.preStop.exec.command[2]).toMatch(
      /^: >"\$KPG_HA_DIR\/shutting-down"; pg_ctl -D "\$PGDATA" -m fast/,
    );
  });

  it("drops the user's env entries that would override start.sh's agent mode", () => {
    const pg = podSpec(
      opted({
        podTemplate: {
          labels: {},
          annotations: {},
          env: [
            { name: 'KPG_HA_DIR', value: '/elsewhere' },
            { name: 'TZ', value: 'UTC' },
          ],
        },
      }),
    ).containers[0];
    expect((pg.env as Any[]).filter((e) => e.name === 'KPG_HA_DIR')).toEqual([
      { name: 'KPG_HA_DIR', value: '/run/kpg' },
    ]);
    expect(envOf(pg).TZ).toBe('UTC');
  });

  it('delivers agent-start.sh and watchdog.sh with the scripts, and rolls the pods when the bundle changes', () => {
    const r = render(opted());
    const config = find(r.objects, 'ConfigMap', 'ha-postgres-config');
    expect(config.data['watchdog.sh']).toBe(WATCHDOG);
    const scripts = podSpec(opted()).volumes.find((v: Any) => v.name === 'scripts') as Any;
    expect(scripts.configMap.items.map((i: Any) => i.key)).toEqual([
      'start.sh',
      'ready.sh',
      'live.sh',
      'kube.sh',
      'agent-start.sh',
      'warm-standby.sh',
      'watchdog.sh',
    ]);
    expect(config.data['agent-start.sh']).toContain('agent_start');
    const annotations = (b: string) =>
      find(render(opted(), b).objects, 'StatefulSet').spec.template.metadata.annotations;
    expect(annotations(BUNDLE)['kpg.io/agent-hash']).toMatch(/^[0-9a-f]{16}$/);
    expect(annotations(BUNDLE)['kpg.io/agent-hash']).not.toBe(
      annotations(`${BUNDLE};`)['kpg.io/agent-hash'],
    );
    expect(annotations(BUNDLE)['kpg.io/config-hash']).toBe(
      annotations(`${BUNDLE};`)['kpg.io/config-hash'],
    );
  });

  it('refuses to render without a bundle, or with one too big for a ConfigMap', () => {
    expect(() => render(opted(), null)).toThrow(InvalidInputError);
    expect(() => render(opted(), null)).toThrow(/kpg.io\/agent.*no agent bundle/);
    expect(() => render(opted(), 'x'.repeat(1024 * 1024))).toThrow(/more than a ConfigMap holds/);
  });
});

describe('agentBundleFor', () => {
  it('reads nothing when no cluster opts in', () => {
    expect(agentBundleFor([cluster()], '/nonexistent/kpg-agent.cjs')).toBeUndefined();
  });

  it('reads the bundle, and says clearly when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpg-bundle-'));
    try {
      const path = join(dir, 'kpg-agent.cjs');
      expect(() => agentBundleFor([cluster(), opted()], path)).toThrow(
        /postgres "ha-postgres" runs the in-pod agent.*cannot be read \(ENOENT\)/,
      );
      writeFileSync(path, BUNDLE);
      expect(agentBundleFor([opted()], path)).toBe(BUNDLE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kpg apply of an opted-in cluster', () => {
  it('plans with the bundle: scaling up re-renders the Role for the new pod names', async () => {
    const { planApply } = await import('../../../src/lib/cluster/apply-plan.js');
    const old = opted({ replicas: 2 });
    const next = opted({ replicas: 3 });
    const input = { old, next, namespace: 'default', primary: 'ha-postgres-0' };
    expect(() => planApply(input)).toThrow(/bundle/);
    const plan = planApply({ ...input, render: { agentBundle: BUNDLE } });
    expect(plan.refusals).toEqual([]);
    expect(plan.scale?.to).toBe(3);
    const role = find(render(next).objects, 'Role');
    const pods = (role.rules as Any[]).find((r) => r.resources.includes('pods'));
    expect(pods?.resourceNames).toEqual(['ha-postgres-0', 'ha-postgres-1', 'ha-postgres-2']);
  });
});
