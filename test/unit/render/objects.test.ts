import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  allObjects,
  isCreateOnly,
  renderCluster,
  toJsonList,
  toYamlStream,
  type KubeObject,
} from '../../../src/lib/render/index.js';
import type { PostgresCluster } from '../../../src/lib/manifest/types.js';
import { SECRET_VALUES, cluster } from './fixture.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function render(over: Partial<PostgresCluster> = {}) {
  return renderCluster(cluster(over), { namespace: 'default', secretValues: SECRET_VALUES });
}
function find(objects: KubeObject[], kind: string, name?: string): Any {
  const o = objects.find(
    (x) => x.kind === kind && (name === undefined || x.metadata.name === name),
  );
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o as Any;
}
const sts = (over: Partial<PostgresCluster> = {}) => find(render(over).objects, 'StatefulSet');
const pod = (over: Partial<PostgresCluster> = {}) => sts(over).spec.template;
const container = (over: Partial<PostgresCluster> = {}) => pod(over).spec.containers[0];

const KUBEDB = { 'kubedb.com/kind': 'Postgres', 'kubedb.com/name': 'ha-postgres' };
const COMMON = {
  ...KUBEDB,
  'app.kubernetes.io/name': 'postgres',
  'app.kubernetes.io/instance': 'ha-postgres',
  'app.kubernetes.io/managed-by': 'kpg',
  'app.kubernetes.io/component': 'database',
};

describe('renderCluster', () => {
  it('renders the objects of the design, in creation order', () => {
    const r = render();
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Secret/ha-postgres-auth',
      'Secret/ha-postgres-ca',
      'Secret/ha-postgres-tls',
      'ServiceAccount/ha-postgres',
      'Role/ha-postgres',
      'RoleBinding/ha-postgres',
      'ConfigMap/ha-postgres-config',
      'Service/ha-postgres',
      'Service/ha-postgres-replicas',
      'Service/ha-postgres-pods',
      'StatefulSet/ha-postgres',
      'PodDisruptionBudget/ha-postgres',
      'NetworkPolicy/ha-postgres',
    ]);
    expect(`${r.record.kind}/${r.record.metadata.name}`).toBe('ConfigMap/ha-postgres-kpg');
    const kinds = allObjects(r).map((o) => o.metadata.name + ':' + o.kind);
    expect(kinds.indexOf('ha-postgres-kpg:ConfigMap')).toBeLessThan(
      kinds.indexOf('ha-postgres:StatefulSet'),
    );
  });

  it('uses the manifest namespace, else the command one', () => {
    expect(render().objects.every((o) => o.metadata.namespace === 'demo')).toBe(true);
    const r = renderCluster(cluster({ namespace: undefined }), { namespace: 'other' });
    expect([...r.objects, r.record].every((o) => o.metadata.namespace === 'other')).toBe(true);
    expect(find(r.objects, 'RoleBinding').subjects[0].namespace).toBe('other');
  });

  it('labels every object for kubedb and app.kubernetes.io, with the manifest labels', () => {
    const r = render({ labels: { team: 'db', 'kubedb.com/role': 'primary' } });
    for (const o of [...r.objects, r.record]) {
      expect(o.metadata.labels).toMatchObject({ ...COMMON, team: 'db' });
      expect(o.metadata.labels?.['kubedb.com/role']).toBeUndefined();
    }
    expect(r.record.metadata.labels?.['kpg.io/record']).toBe('true');
  });

  it('renders the record', () => {
    const rec = render().record as Any;
    expect(rec.data).toMatchObject({
      primary: 'ha-postgres-0',
      timeline: '1',
      history: '[]',
      generation: '1',
    });
    expect(JSON.parse(rec.data.history)).toEqual([]);
    expect(rec.data.spec).toContain('kind: Postgres');
    expect(rec.data.spec).toContain('name: ha-postgres');
  });
});

describe('Services', () => {
  it('selects exactly as the KubeDB guide', () => {
    const objs = render().objects;
    expect(find(objs, 'Service', 'ha-postgres').spec.selector).toEqual({
      ...KUBEDB,
      'kubedb.com/role': 'primary',
    });
    expect(find(objs, 'Service', 'ha-postgres-replicas').spec.selector).toEqual(KUBEDB);
    for (const n of ['ha-postgres', 'ha-postgres-replicas', 'ha-postgres-pods']) {
      expect(find(objs, 'Service', n).spec.ports).toEqual([
        { name: 'api', port: 5432, targetPort: 5432, protocol: 'TCP' },
      ]);
    }
  });

  it('takes type, annotations and labels from serviceTemplate, not for the headless one', () => {
    const objs = render({
      serviceTemplate: {
        type: 'NodePort',
        annotations: { passMe: 'ToService' },
        labels: { tier: 'x' },
      },
    }).objects;
    for (const n of ['ha-postgres', 'ha-postgres-replicas']) {
      const s = find(objs, 'Service', n);
      expect(s.spec.type).toBe('NodePort');
      expect(s.metadata.annotations).toEqual({ passMe: 'ToService' });
      expect(s.metadata.labels.tier).toBe('x');
    }
    const pods = find(objs, 'Service', 'ha-postgres-pods');
    expect(pods.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: KUBEDB,
    });
    expect(pods.spec.type).toBeUndefined();
    expect(pods.metadata.annotations).toBeUndefined();
  });
});

describe('StatefulSet', () => {
  it('runs the pods in parallel behind the headless Service', () => {
    const s = sts({ replicas: 5, updateStrategy: { type: 'OnDelete' } });
    expect(s.spec).toMatchObject({
      serviceName: 'ha-postgres-pods',
      podManagementPolicy: 'Parallel',
      replicas: 5,
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: KUBEDB },
    });
  });

  it('labels pods without a role; podTemplate labels and annotations added', () => {
    const p = pod({
      podTemplate: {
        labels: { app: 'x', 'kubedb.com/role': 'primary' },
        annotations: { passMe: 'ToDatabasePod' },
      },
    });
    expect(p.metadata.labels).toEqual({ app: 'x', ...COMMON });
    expect(p.metadata.annotations.passMe).toBe('ToDatabasePod');
    expect(p.metadata.annotations['kpg.io/config-hash']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rolls the pods when the configuration changes', () => {
    const hash = (o: Partial<PostgresCluster>) => pod(o).metadata.annotations['kpg.io/config-hash'];
    expect(hash({})).toBe(hash({}));
    expect(hash({ standbyMode: 'hot' })).not.toBe(hash({ standbyMode: 'warm' }));
  });

  it('runs start.sh as postgres (999) with the service account', () => {
    const p = pod().spec;
    expect(p.serviceAccountName).toBe('ha-postgres');
    expect(p.terminationGracePeriodSeconds).toBe(30);
    expect(p.securityContext).toEqual({
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      fsGroupChangePolicy: 'OnRootMismatch',
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(p.enableServiceLinks).toBe(false);
    const c = p.containers[0];
    expect(p.containers).toHaveLength(1);
    expect(c.name).toBe('postgres');
    expect(c.image).toBe('postgres:15');
    expect(c.command).toEqual(['bash', '/scripts/start.sh']);
    expect(c.args).toBeUndefined();
    // Pod Security `restricted`, for every container.
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
  });

  it('passes credentials by secretKeyRef and the pod identity by fieldRef', () => {
    const env: Any[] = container({
      podTemplate: {
        labels: {},
        annotations: {},
        env: [
          { name: 'POSTGRES_DB', value: 'pgdb' },
          { name: 'PGDATA', value: '/x' },
        ],
      },
    }).env;
    const byName: Record<string, Any> = Object.fromEntries(env.map((e) => [e.name, e]));
    for (const k of [
      'POSTGRES_USER',
      'POSTGRES_PASSWORD',
      'REPLICATION_USER',
      'REPLICATION_PASSWORD',
    ]) {
      expect(byName[k]!.valueFrom.secretKeyRef).toEqual({ name: 'ha-postgres-auth', key: k });
    }
    expect(byName['POD_NAME']!.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(byName['POD_NAMESPACE']!.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(byName['POD_IP']!.valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect(byName['KPG_CLUSTER']!.value).toBe('ha-postgres');
    expect(byName['KPG_PG_MAJOR']!.value).toBe('15');
    expect(byName['PGDATA']!.value).toBe('/var/lib/postgresql/data/pgdata');
    expect(byName['POSTGRES_DB']!.value).toBe('pgdb');
    expect(env.filter((e) => e.name === 'PGDATA')).toHaveLength(1);
  });

  it('references an existing Secret, its optional keys optional', () => {
    const r = render({ databaseSecretName: 'p1-auth' });
    expect(r.objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([
      'ha-postgres-ca',
      'ha-postgres-tls',
    ]);
    const env: Any[] = find(r.objects, 'StatefulSet').spec.template.spec.containers[0].env;
    const ref = (k: string) => env.find((e) => e.name === k)!.valueFrom.secretKeyRef;
    expect(ref('POSTGRES_PASSWORD')).toEqual({ name: 'p1-auth', key: 'POSTGRES_PASSWORD' });
    expect(ref('POSTGRES_USER')).toEqual({ name: 'p1-auth', key: 'POSTGRES_USER', optional: true });
    expect(ref('REPLICATION_PASSWORD')).toEqual({
      name: 'p1-auth',
      key: 'REPLICATION_PASSWORD',
      optional: true,
    });
  });

  it('mounts data, config, scripts, and the optional config source and init scripts', () => {
    const mounts = (o: Partial<PostgresCluster>) =>
      Object.fromEntries((container(o).volumeMounts as Any[]).map((m) => [m.name, m.mountPath]));
    expect(mounts({})).toEqual({
      data: '/var/lib/postgresql/data',
      config: '/etc/kpg/config',
      scripts: '/scripts',
      tmp: '/tmp',
      run: '/var/run/postgresql',
      tls: '/etc/kpg/tls',
    });
    expect(
      mounts({ configConfigMap: 'pg-custom-config', initScriptConfigMap: 'pg-init-script' }),
    ).toMatchObject({
      'custom-config': '/etc/kpg/custom',
      'init-scripts': '/docker-entrypoint-initdb.d',
    });
    const vols: Any[] = pod({
      configConfigMap: 'pg-custom-config',
      initScriptConfigMap: 'pg-init-script',
    }).spec.volumes;
    const vol = (n: string): Any => vols.find((v) => v.name === n)!;
    expect(vol('scripts').configMap).toMatchObject({
      name: 'ha-postgres-config',
      defaultMode: 0o755,
    });
    expect(vol('config').configMap.name).toBe('ha-postgres-config');
    expect(vol('custom-config').configMap.name).toBe('pg-custom-config');
    expect(vol('init-scripts').configMap.name).toBe('pg-init-script');
    expect(vol('tmp').emptyDir).toEqual({});
    // The server certificate only, never the CA's key; readable by the postgres group.
    expect(vol('tls').secret).toEqual({ secretName: 'ha-postgres-tls', defaultMode: 0o440 });
    const env = container({}).env as Any[];
    expect(env.find((e) => e.name === 'KPG_TLS_DIR')?.value).toBe('/etc/kpg/tls');
    const off = { annotations: { 'kpg.io/agent': 'false', 'kpg.io/tls': 'false' } };
    expect(Object.keys(mounts(off))).not.toContain('tls');
    expect((container(off).env as Any[]).some((e) => e.name === 'KPG_TLS_DIR')).toBe(false);
  });

  it('claims durable storage by template, the class omitted when absent', () => {
    const s = sts();
    expect(s.spec.template.spec.volumes.some((v: Any) => v.name === 'data')).toBe(false);
    expect(s.spec.volumeClaimTemplates).toEqual([
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', labels: COMMON },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'standard',
          resources: { requests: { storage: '1Gi' } },
        },
      },
    ]);
    const noClass = sts({ storage: { accessModes: ['ReadWriteOnce'], size: '50Mi' } });
    expect('storageClassName' in noClass.spec.volumeClaimTemplates[0].spec).toBe(false);
  });

  it('uses an emptyDir for Ephemeral storage', () => {
    const s = sts({ storageType: 'Ephemeral', storage: undefined });
    expect(s.spec.volumeClaimTemplates).toBeUndefined();
    expect(s.spec.template.spec.volumes.find((v: Any) => v.name === 'data')).toEqual({
      name: 'data',
      emptyDir: {},
    });
  });

  it('probes with the scripts; startup has a long budget', () => {
    const c = container();
    expect(c.readinessProbe.exec.command).toEqual(['bash', '/scripts/ready.sh']);
    expect(c.livenessProbe.exec.command).toEqual(['bash', '/scripts/live.sh']);
    expect(c.startupProbe.exec.command).toEqual(['bash', '/scripts/live.sh', '--startup']);
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(
      1800,
    );
    expect(c.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(3);
    expect(c.lifecycle.preStop.exec.command.join(' ')).toContain('-m fast');
  });

  it('spreads pods over nodes, then zones, by default; keeps the user affinity otherwise', () => {
    const def = pod().spec.affinity;
    expect(def.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchLabels: KUBEDB },
          topologyKey: 'kubernetes.io/hostname',
        },
      },
      {
        weight: 50,
        podAffinityTerm: {
          labelSelector: { matchLabels: KUBEDB },
          topologyKey: 'topology.kubernetes.io/zone',
        },
      },
    ]);
    expect(def.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    const mine = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    };
    expect(
      pod({ podTemplate: { labels: {}, annotations: {}, affinity: mine } }).spec.affinity,
    ).toEqual(mine);
  });

  it('passes podTemplate scheduling, resources and pull secrets through', () => {
    const p = pod({
      podTemplate: {
        labels: {},
        annotations: {},
        nodeSelector: { disktype: 'ssd' },
        tolerations: [{ key: 'k', operator: 'Exists' }],
        imagePullSecrets: [{ name: 'myregistrykey' }],
        schedulerName: 'my-scheduler',
        priorityClassName: 'high',
        resources: { requests: { memory: '64Mi' } },
        controller: { labels: { c: '1' }, annotations: { passMe: 'ToStatefulSet' } },
      },
    });
    expect(p.spec).toMatchObject({
      nodeSelector: { disktype: 'ssd' },
      tolerations: [{ key: 'k', operator: 'Exists' }],
      imagePullSecrets: [{ name: 'myregistrykey' }],
      schedulerName: 'my-scheduler',
      priorityClassName: 'high',
    });
    expect(p.spec.containers[0].resources).toEqual({ requests: { memory: '64Mi' } });
    const s = sts({
      podTemplate: {
        labels: {},
        annotations: {},
        controller: { labels: { c: '1' }, annotations: { passMe: 'ToStatefulSet' } },
      },
    });
    expect(s.metadata.annotations).toEqual({ passMe: 'ToStatefulSet' });
    expect(s.metadata.labels.c).toBe('1');
  });
});

describe('Secret', () => {
  it('generates random, distinct, URL-safe passwords of 24+ characters', () => {
    const values = () => {
      const s = find(renderCluster(cluster(), { namespace: 'x' }).objects, 'Secret');
      return Object.fromEntries(
        Object.entries(s.data as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString(),
        ]),
      );
    };
    const a = values();
    const b = values();
    expect(a['POSTGRES_USER']).toBe('postgres');
    expect(a['REPLICATION_USER']).toBe('replicator');
    for (const pw of [a['POSTGRES_PASSWORD'], a['REPLICATION_PASSWORD'], b['POSTGRES_PASSWORD']]) {
      expect(pw).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    }
    expect(a['POSTGRES_PASSWORD']).not.toBe(a['REPLICATION_PASSWORD']);
    expect(a['POSTGRES_PASSWORD']).not.toBe(b['POSTGRES_PASSWORD']);
    expect(find(renderCluster(cluster(), { namespace: 'x' }).objects, 'Secret').type).toBe(
      'Opaque',
    );
  });

  it('is create-only; nothing else is', () => {
    const r = render();
    expect(r.objects.filter(isCreateOnly).map((o) => o.metadata.name)).toEqual([
      'ha-postgres-auth',
      'ha-postgres-ca',
      'ha-postgres-tls',
    ]);
  });

  it('keeps the passwords out of every other object', () => {
    const r = renderCluster(cluster({ configConfigMap: 'c', initScriptConfigMap: 'i' }), {
      namespace: 'x',
    });
    const secret = find(r.objects, 'Secret');
    const pws = ['POSTGRES_PASSWORD', 'REPLICATION_PASSWORD'].map((k) =>
      Buffer.from(secret.data[k], 'base64').toString(),
    );
    const others = [...r.objects.filter((o) => o.kind !== 'Secret'), r.record];
    for (const o of others) {
      const text = JSON.stringify(o) + toYamlStream([o]);
      for (const pw of pws) {
        expect(text).not.toContain(pw);
        expect(text).not.toContain(Buffer.from(pw).toString('base64'));
      }
    }
  });
});

describe('RBAC', () => {
  it('lets the pods read their record, note the bootstrap in it and label their own pods, nothing more', () => {
    const objs = render().objects;
    expect(find(objs, 'ServiceAccount').metadata.name).toBe('ha-postgres');
    expect(find(objs, 'Role').rules).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['ha-postgres-kpg'],
        verbs: ['get', 'patch'],
      },
      {
        apiGroups: [''],
        resources: ['pods'],
        resourceNames: ['ha-postgres-0', 'ha-postgres-1', 'ha-postgres-2'],
        verbs: ['get', 'patch'],
      },
    ]);
    expect(find(objs, 'RoleBinding')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ha-postgres' },
      subjects: [{ kind: 'ServiceAccount', name: 'ha-postgres', namespace: 'demo' }],
    });
  });
});

describe('PodDisruptionBudget', () => {
  it('allows one pod down when there are several, none for a single pod', () => {
    expect(find(render().objects, 'PodDisruptionBudget').spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: KUBEDB },
    });
    expect(render({ replicas: 1 }).objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(
      false,
    );
  });
});

describe('output', () => {
  it('YAML stream parses back to the same objects, without aliases', () => {
    const objs = allObjects(render());
    const text = toYamlStream(objs);
    expect(text).not.toMatch(/[&*]a\d/);
    const docs = parseAllDocuments(text);
    expect(docs.map((d) => d.toJS())).toEqual(JSON.parse(JSON.stringify(objs)));
  });

  it('JSON is a v1 List', () => {
    const list = JSON.parse(toJsonList(allObjects(render())));
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toHaveLength(14);
  });
});
