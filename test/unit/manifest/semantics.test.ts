/** What a valid manifest becomes: defaults, deprecated fields mapped, versions read from the YAML text. */
import { describe, expect, it } from 'vitest';
import { loadManifests, validateText } from '../../../src/lib/manifest/index.js';
import { closest, editDistance } from '../../../src/lib/manifest/suggest.js';
import { parseVersion } from '../../../src/lib/manifest/version.js';
import { isQuantity, quantityValue } from '../../../src/lib/manifest/quantity.js';
import { fixture } from './helpers.js';

const doc = (spec: string, meta = '  name: pg\n') =>
  `apiVersion: kubedb.com/v1alpha1\nkind: Postgres\nmetadata:\n${meta}spec:\n${spec}`;

describe('resources', () => {
  it('warns where the memory request is missing, silent once one is set', () => {
    const warned = (spec: string) =>
      validateText(doc(`  version: "15"\n${spec}`), 'r.yaml')
        .problems.filter((p) => p.message.startsWith('sets no memory request'))
        .map((p) => p.path);
    expect(
      warned('  podTemplate:\n    spec:\n      resources:\n        requests:\n          cpu: 1\n'),
    ).toEqual(['spec.podTemplate.spec.resources']);
    expect(warned('  podTemplate:\n    metadata:\n      labels: { a: b }\n')).toEqual([
      'spec.podTemplate',
    ]);
    expect(
      warned(
        '  podTemplate:\n    spec:\n      resources:\n        requests:\n          memory: 1Gi\n',
      ),
    ).toEqual([]);
    expect(
      warned(
        '  podTemplate:\n    spec:\n      resources:\n        limits:\n          memory: 1Gi\n',
      ),
    ).toEqual([]);
  });
});

describe('defaults', () => {
  it('fills every default of a minimal manifest', () => {
    const r = validateText(doc('  version: "15"\n'), 'min.yaml');
    expect(r.ok).toBe(true);
    const c = r.clusters[0]!;
    expect(c).toMatchObject({
      name: 'pg',
      version: '15',
      major: '15',
      image: 'postgres:15',
      replicas: 1,
      standbyMode: 'warm',
      streamingMode: 'asynchronous',
      storageType: 'Durable',
      storage: { accessModes: ['ReadWriteOnce'], size: '1Gi' },
      podTemplate: { labels: {}, annotations: {} },
      serviceTemplate: { type: 'ClusterIP', labels: {}, annotations: {} },
      updateStrategy: { type: 'RollingUpdate' },
      terminationPolicy: 'Pause',
      from: { source: 'min.yaml', index: 0 },
    });
    expect(c.namespace).toBeUndefined();
    expect(c.storage?.storageClassName).toBeUndefined();
    expect(r.problems).toEqual([
      // No memory request: said, never filled in.
      expect.objectContaining({
        severity: 'warning',
        code: 'default',
        path: 'spec',
        message: expect.stringMatching(
          /^sets no memory request for PostgreSQL: .* evicts such pods first/,
        ),
      }),
      expect.objectContaining({
        severity: 'note',
        code: 'default',
        path: 'spec.storage',
        line: 5,
        column: 1,
      }),
    ]);
    expect(c.podTemplate.resources).toBeUndefined();
  });

  it('Ephemeral storage has no volume and a note', () => {
    const r = validateText(doc('  version: "15"\n  storageType: Ephemeral\n'), 'e.yaml');
    expect(r.clusters[0]!.storage).toBeUndefined();
    expect(r.problems.map((p) => `${p.severity} ${p.path}`)).toEqual([
      'warning spec',
      'note spec.storageType',
    ]);
  });

  it('keeps an explicit empty storageClassName (a PV without class)', () => {
    const r = validateText(
      doc(
        '  version: "15"\n  storage:\n    storageClassName: ""\n    resources:\n      requests:\n        storage: 5Gi\n',
      ),
      's.yaml',
    );
    expect(r.clusters[0]!.storage).toEqual({
      storageClassName: '',
      accessModes: ['ReadWriteOnce'],
      size: '5Gi',
    });
  });
});

describe('versions', () => {
  it.each([
    ['9.6', '9.6'],
    ['"9.6"', '9.6'],
    ['"9.6-v1"', '9.6'],
    ['"9.6.7-v3"', '9.6'],
    ['10', '10'],
    ['10.10', '10'],
    ['"10.2-v5"', '10'],
    ['"11.1-v2"', '11'],
    ['"15"', '15'],
    ['18', '18'],
  ])('version: %s → major %s', (yaml, major) => {
    const r = validateText(doc(`  version: ${yaml}\n`), 'v.yaml');
    expect(r.ok).toBe(true);
    expect(r.clusters[0]!.major).toBe(major);
    expect(r.clusters[0]!.version).toBe(yaml.replace(/"/g, ''));
  });

  it('keeps the YAML text of a float: 10.10 is not 10.1', () => {
    const r = validateText(doc('  version: 10.10\n'), 'v.yaml');
    expect(r.clusters[0]!.version).toBe('10.10');
  });

  it.each(['9.5', '9', '8.4', '19', '"1.0"', '"latest"', '"pvt-9.6"', '1e1'])(
    'version: %s is refused with the supported list',
    (yaml) => {
      const r = validateText(doc(`  version: ${yaml}\n`), 'v.yaml');
      expect(r.ok).toBe(false);
      const err = r.problems.find((p) => p.severity === 'error');
      expect(err).toMatchObject({ path: 'spec.version', code: 'version', line: 6, column: 12 });
      expect(err!.message).toContain('9.6, 10, 11, 12, 13, 14, 15, 16, 17 and 18');
    },
  );

  it('parseVersion', () => {
    expect(parseVersion('9.6.7-v3')).toEqual({ ok: true, version: '9.6.7-v3', major: '9.6' });
    expect(parseVersion('9.7').ok).toBe(false);
  });
});

describe('modes', () => {
  it('standbyMode and streamingMode in any case', () => {
    const r = validateText(
      doc('  version: "15"\n  replicas: 2\n  standbyMode: HOT\n  streamingMode: Synchronous\n'),
      'm.yaml',
    );
    expect(r.clusters[0]).toMatchObject({ standbyMode: 'hot', streamingMode: 'synchronous' });
  });

  it('standby alias agreeing with standbyMode is only a warning', () => {
    const r = validateText(doc('  version: "15"\n  standbyMode: hot\n  standby: Hot\n'), 'm.yaml');
    expect(r.ok).toBe(true);
    expect(r.problems.filter((p) => p.severity === 'warning').map((p) => p.path)).toEqual([
      'spec',
      'spec.standby',
    ]);
  });

  it('synchronous with one replica warns', () => {
    const r = validateText(doc('  version: "15"\n  streamingMode: synchronous\n'), 'm.yaml');
    expect(r.ok).toBe(true);
    expect(r.problems).toContainEqual(
      expect.objectContaining({ severity: 'warning', path: 'spec.streamingMode' }),
    );
  });
});

describe('deprecated fields', () => {
  it('maps KubeDB 0.8 top-level pod fields and doNotPause, with warnings', async () => {
    const r = await loadManifests([fixture('valid', 'legacy-fields.yaml')]);
    expect(r.ok).toBe(true);
    const c = r.clusters[0]!;
    expect(c.terminationPolicy).toBe('DoNotTerminate');
    expect(c.standbyMode).toBe('hot');
    expect(c.version).toBe('10.10');
    expect(c.podTemplate).toMatchObject({
      nodeSelector: { disktype: 'ssd' },
      resources: { requests: { memory: '64Mi' } },
      schedulerName: 'my-scheduler',
      tolerations: [{ operator: 'Exists' }],
      imagePullSecrets: [{ name: 'myregistrykey' }],
      affinity: { nodeAffinity: {} },
    });
    const warnings = r.problems.filter((p) => p.severity === 'warning').map((p) => p.path);
    expect(warnings).toEqual([
      'spec.standby',
      'spec.doNotPause',
      'spec.nodeSelector',
      'spec.resources',
      'spec.schedulerName',
      'spec.tolerations',
      'spec.imagePullSecrets',
      'spec.affinity',
    ]);
  });

  it('doNotPause: true agrees with terminationPolicy DoNotTerminate', () => {
    const r = validateText(
      doc('  version: "15"\n  doNotPause: true\n  terminationPolicy: DoNotTerminate\n'),
      'd.yaml',
    );
    expect(r.ok).toBe(true);
  });
});

describe('the full-featured manifest', () => {
  it('becomes the expected cluster', async () => {
    const r = await loadManifests([fixture('valid', 'full-featured.yaml')]);
    expect(r.ok).toBe(true);
    const c = r.clusters[0]!;
    expect(c).toMatchObject({
      name: 'full-postgres',
      namespace: 'demo',
      labels: { 'app.kubernetes.io/part-of': 'shop' },
      annotations: { 'example.com/owner': 'team-db' },
      major: '11',
      image: 'postgres:11',
      replicas: 3,
      standbyMode: 'hot',
      streamingMode: 'synchronous',
      storage: { storageClassName: 'fast', accessModes: ['ReadWriteOncePod'], size: '10Gi' },
      databaseSecretName: 'full-postgres-auth',
      initScriptConfigMap: 'pg-init-script',
      configConfigMap: 'pg-custom-config',
      serviceTemplate: { type: 'LoadBalancer', annotations: { passMe: 'ToService' }, labels: {} },
      updateStrategy: { type: 'OnDelete' },
      terminationPolicy: 'WipeOut',
      monitor: { agent: 'prometheus.io/builtin' },
    });
    expect(c.podTemplate).toMatchObject({
      labels: { tier: 'db' },
      annotations: { passMe: 'ToDatabasePod' },
      controller: { labels: {}, annotations: { passMe: 'ToStatefulSet' } },
      schedulerName: 'my-scheduler',
      priorityClassName: 'high',
      env: [{ name: 'POSTGRES_DB', value: 'shop' }],
    });
    expect(c.raw).toMatchObject({ kind: 'Postgres', metadata: { name: 'full-postgres' } });
    // Only the note about monitor.
    expect(r.problems.map((p) => `${p.severity} ${p.path}`)).toEqual(['note spec.monitor']);
  });
});

describe('multiple documents', () => {
  it('skips empty documents and keeps indexes', async () => {
    const r = await loadManifests([fixture('valid', 'multi.yaml')]);
    expect(r.ok).toBe(true);
    expect(r.clusters.map((c) => [c.name, c.from.index])).toEqual([
      ['one', 1],
      ['two', 3],
    ]);
    expect(r.documents).toEqual([
      { source: fixture('valid', 'multi.yaml'), index: 1, name: 'one', valid: true },
      {
        source: fixture('valid', 'multi.yaml'),
        index: 3,
        name: 'two',
        namespace: 'other',
        valid: true,
      },
    ]);
  });

  it('reports every problem of every document, and returns no cluster if one is bad', () => {
    const text = `${doc('  version: "15"\n  replica: 2\n')}\n---\n${doc('  version: "15"\n', '  name: good\n')}---\n${doc('  version: 7\n  storageType: Floppy\n', '  name: Bad\n')}`;
    const r = validateText(text, 'all.yaml');
    expect(r.ok).toBe(false);
    expect(r.clusters).toEqual([]);
    expect(r.documents.map((d) => d.valid)).toEqual([false, true, false]);
    expect(
      r.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.line}:${p.column} ${p.path}`),
    ).toEqual([
      '7:3 spec.replica',
      '20:9 metadata.name',
      '22:12 spec.version',
      '23:16 spec.storageType',
    ]);
  });

  it('an empty input is an error', () => {
    const r = validateText('# nothing\n---\n', 'empty.yaml');
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({ source: 'empty.yaml', code: 'no-documents', severity: 'error' }),
    ]);
  });

  it('ignores status and server-set metadata with notes', () => {
    const r = validateText(
      doc(
        '  version: "15"\n  storageType: Ephemeral\nstatus:\n  phase: Running\n',
        '  name: pg\n  uid: 123\n  resourceVersion: "42"\n',
      ),
      's.yaml',
    );
    expect(r.ok).toBe(true);
    expect(r.problems.filter((p) => p.code === 'ignored').map((p) => p.path)).toEqual([
      'metadata.uid',
      'metadata.resourceVersion',
      'status',
    ]);
  });
});

describe('labels and annotations', () => {
  it('merges podTemplate.labels with podTemplate.metadata.labels', () => {
    const r = validateText(
      doc(
        '  version: "15"\n  podTemplate:\n    labels:\n      a: x\n    metadata:\n      labels:\n        b: y\n',
      ),
      'l.yaml',
    );
    expect(r.clusters[0]!.podTemplate.labels).toEqual({ a: 'x', b: 'y' });
  });

  it('refuses the two spellings disagreeing', () => {
    const r = validateText(
      doc(
        '  version: "15"\n  podTemplate:\n    labels:\n      a: x\n    metadata:\n      labels:\n        a: y\n',
      ),
      'l.yaml',
    );
    expect(r.ok).toBe(false);
    expect(r.problems.find((p) => p.severity === 'error')).toMatchObject({
      path: 'spec.podTemplate.labels.a',
      code: 'conflict',
      line: 9,
      column: 7,
    });
  });
});

describe('suggestions', () => {
  it('edit distance', () => {
    expect(editDistance('replica', 'replicas')).toBe(1);
    expect(editDistance('replicsa', 'replicas')).toBe(1);
    expect(closest('replica', ['replicas', 'version'])).toBe('replicas');
    expect(closest('storageclass', ['storageClassName', 'storage'])).toBeUndefined();
    expect(closest('xyz', ['replicas'])).toBeUndefined();
    expect(closest('Durable', ['durable'])).toBe('durable');
  });
});

describe('quantities', () => {
  it.each(['1Gi', '500Mi', '250m', '1', '1.5G', '1e3', '.5Ki', '+1k'])('%s is a quantity', (q) =>
    expect(isQuantity(q)).toBe(true),
  );
  it.each(['1GB', 'Gi', '1 Gi', '1.2.3', '-', '1Gib', ''])('%s is not', (q) =>
    expect(isQuantity(q)).toBe(false),
  );
  it('values', () => {
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('500M')).toBe(5e8);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue(5)).toBe(5);
  });
});
