/**
 * Fixture-driven acceptance: every seed manifest is valid, every KubeDB
 * example gets the outcome listed below, every invalid fixture is refused
 * with the line, column, path and message written in it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toValidateJson } from '../../../src/commands/validate.js';
import { formatProblems, loadManifests } from '../../../src/lib/manifest/index.js';
import { expectations, fixture, listFixtures, SHARED_REFERENCE } from './helpers.js';

const errorsOf = (r: Awaited<ReturnType<typeof loadManifests>>) =>
  r.problems.filter((p) => p.severity === 'error');

describe('seed manifests', () => {
  const seeds = listFixtures('seeds');

  it('are all extracted (four YAML blocks in seeds 000 and 001)', () => {
    expect(seeds).toEqual([
      '000-hot-postgres.yaml',
      '000-warm-postgres.yaml',
      '001-ha-postgres.yaml',
      '001-hot-postgres.yaml',
    ]);
  });

  it.each(seeds)('%s is valid', async (f) => {
    const r = await loadManifests([fixture('seeds', f)]);
    expect(errorsOf(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.clusters).toHaveLength(1);
  });

  it('maps the seed spelling spec.standby onto standbyMode with a warning', async () => {
    const r = await loadManifests([fixture('seeds', '000-hot-postgres.yaml')]);
    expect(r.clusters[0]).toMatchObject({
      name: 'hot-postgres',
      namespace: 'demo',
      standbyMode: 'hot',
      replicas: 3,
      major: '9.6',
      version: '9.6',
    });
    expect(r.problems).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        path: 'spec.standby',
        line: 9,
        column: 3,
        code: 'deprecated',
      }),
    );
  });

  const seedDir = join(SHARED_REFERENCE, 'seeds');
  it.skipIf(!existsSync(seedDir))('still match the YAML blocks of the seeds', () => {
    const blocks = ['000_1a045b1a297b02d9.txt', '001_c3c37673ea3e8f25.txt'].flatMap((f) =>
      [...readFileSync(join(seedDir, f), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
        (m) => m[1],
      ),
    );
    const fixtures = [
      '000-warm-postgres.yaml',
      '000-hot-postgres.yaml',
      '001-ha-postgres.yaml',
      '001-hot-postgres.yaml',
    ].map((f) => readFileSync(fixture('seeds', f), 'utf8'));
    expect(fixtures).toEqual(blocks);
  });
});

/**
 * KubeDB's own examples (cli repository, releases 0.8.0-beta.2 to 0.12.0):
 * `valid`, or the error paths kpg refuses them with.
 */
const OPERATOR = 'unsupported';
const KUBEDB_EXAMPLES: Record<string, 'valid' | Record<string, string>> = {
  '0.10.0--clustering__ha-postgres.yaml': 'valid',
  '0.10.0--clustering__hot-postgres.yaml': 'valid',
  '0.10.0--custom-config__pg-custom-config.yaml': 'valid',
  '0.10.0--custom-version__timescale-postgres.yaml': { 'spec.version': 'version' },
  '0.10.0--initialization__pitr__pg-original.yaml': 'valid',
  '0.10.0--initialization__pitr__pitr-1.yaml': 'valid',
  '0.10.0--initialization__pitr__pitr-2.yaml': 'valid',
  '0.10.0--initialization__recovered-postgres.yaml': { 'spec.init.snapshotSource': OPERATOR },
  '0.10.0--initialization__replay-postgres.yaml': 'valid',
  '0.10.0--initialization__script-postgres.yaml': 'valid',
  '0.10.0--monitoring__builtin-prom-postgres.yaml': 'valid',
  '0.10.0--monitoring__coreos-prom-postgres.yaml': 'valid',
  '0.10.0--pg-overview.yaml': { 'spec.backupSchedule': 'conflict' },
  '0.10.0--private-registry__pvt-reg-postgres.yaml': { 'spec.version': 'version' },
  '0.10.0--private-registry__pvt-sheduledbackup.yaml': 'valid',
  '0.10.0--quickstart__infant-postgres.yaml': 'valid',
  '0.10.0--quickstart__quick-postgres.yaml': 'valid',
  '0.10.0--snapshot__custom-backup-1.yaml': 'valid',
  '0.10.0--snapshot__custom-backup-2.yaml': 'valid',
  '0.10.0--snapshot__custom-backup-3.yaml': 'valid',
  '0.10.0--snapshot__custom-backup-4.yml': {
    'spec.backupSchedule.podTemplate.spec.args': OPERATOR,
  },
  '0.10.0--snapshot__scheduled-pg.yaml': 'valid',
  '0.10.0--snapshot__wal-postgres.yaml': 'valid',
  '0.11.0--initialization__replay-postgres-azure.yaml': 'valid',
  '0.11.0--initialization__replay-postgres-gcs.yaml': 'valid',
  '0.11.0--initialization__replay-postgres-s3.yaml': 'valid',
  '0.11.0--initialization__replay-postgres-swift.yaml': 'valid',
  '0.11.0--snapshot__wal-postgres-azure.yaml': 'valid',
  '0.11.0--snapshot__wal-postgres-gcs.yaml': 'valid',
  '0.11.0--snapshot__wal-postgres-s3.yaml': 'valid',
  '0.11.0--snapshot__wal-postgres-swift.yaml': 'valid',
  '0.12.0--initialization__recovered-postgres.yaml': { 'spec.init.snapshotSource': OPERATOR },
  '0.12.0--initialization__replay-postgres-azure.yaml': 'valid',
  '0.12.0--initialization__replay-postgres-gcs.yaml': 'valid',
  '0.12.0--initialization__replay-postgres-local.yaml': 'valid',
  '0.12.0--initialization__replay-postgres-minio.yaml': 'valid',
  '0.12.0--initialization__replay-postgres-s3.yaml': 'valid',
  '0.12.0--initialization__replay-postgres-swift.yaml': 'valid',
  '0.12.0--initialization__script-postgres.yaml': 'valid',
  '0.12.0--snapshot__custom-backup-1.yaml': 'valid',
  '0.12.0--snapshot__custom-backup-2.yaml': 'valid',
  '0.12.0--snapshot__custom-backup-3.yaml': 'valid',
  '0.12.0--snapshot__custom-backup-4.yml': {
    'spec.backupSchedule.podTemplate.spec.args': OPERATOR,
  },
  '0.12.0--snapshot__scheduled-pg.yaml': 'valid',
  '0.12.0--snapshot__wal-postgres-azure.yaml': 'valid',
  '0.12.0--snapshot__wal-postgres-gcs.yaml': 'valid',
  // A PersistentVolumeClaim document precedes the Postgres one.
  '0.12.0--snapshot__wal-postgres-local.yaml': { kind: 'kind' },
  '0.12.0--snapshot__wal-postgres-minio.yaml': 'valid',
  '0.12.0--snapshot__wal-postgres-s3.yaml': 'valid',
  '0.12.0--snapshot__wal-postgres-swift.yaml': 'valid',
  '0.8.0--clustering__ha-postgres.yaml': 'valid',
  '0.8.0--clustering__hot-postgres.yaml': 'valid',
  '0.8.0--initialization__recovered-postgres.yaml': { 'spec.init.snapshotSource': OPERATOR },
  '0.8.0--initialization__replay-postgres.yaml': 'valid',
  '0.8.0--initialization__script-postgres.yaml': { 'spec.init.scriptSource.gitRepo': OPERATOR },
  '0.8.0--monitoring__builtin-prom-postgres.yaml': 'valid',
  '0.8.0--monitoring__coreos-prom-postgres.yaml': 'valid',
  '0.8.0--private-registry__pvt-reg-postgres.yaml': 'valid',
  '0.8.0--quickstart__infant-postgres.yaml': 'valid',
  '0.8.0--quickstart__quick-postgres.yaml': 'valid',
  '0.8.0--snapshot__scheduled-pg.yaml': 'valid',
  '0.8.0--snapshot__wal-postgres.yaml': 'valid',
  '0.8.0-beta.2--clustering__ha-postgres.yaml': 'valid',
  '0.8.0-beta.2--clustering__hot-postgres.yaml': 'valid',
  '0.8.0-beta.2--initialization__recovered-postgres.yaml': { 'spec.init.snapshotSource': OPERATOR },
  '0.8.0-beta.2--initialization__replay-postgres.yaml': 'valid',
  '0.8.0-beta.2--initialization__script-postgres.yaml': {
    'spec.init.scriptSource.gitRepo': OPERATOR,
  },
  '0.8.0-beta.2--monitoring__builtin-prom-postgres.yaml': 'valid',
  '0.8.0-beta.2--monitoring__coreos-prom-postgres.yaml': 'valid',
  '0.8.0-beta.2--private-registry__pvt-reg-postgres.yaml': 'valid',
  '0.8.0-beta.2--quickstart__infant-postgres.yaml': 'valid',
  '0.8.0-beta.2--quickstart__quick-postgres.yaml': 'valid',
  '0.8.0-beta.2--snapshot__scheduled-pg.yaml': 'valid',
  '0.8.0-beta.2--snapshot__wal-postgres.yaml': 'valid',
  '0.9.0--clustering__ha-postgres.yaml': 'valid',
  '0.9.0--clustering__hot-postgres.yaml': 'valid',
  '0.9.0--custom-config__pg-custom-config.yaml': 'valid',
  '0.9.0--custom-version__timescale-postgres.yaml': { 'spec.version': 'version' },
  '0.9.0--initialization__recovered-postgres.yaml': { 'spec.init.snapshotSource': OPERATOR },
  '0.9.0--initialization__replay-postgres.yaml': 'valid',
  '0.9.0--initialization__script-postgres.yaml': 'valid',
  '0.9.0--monitoring__builtin-prom-postgres.yaml': 'valid',
  '0.9.0--monitoring__coreos-prom-postgres.yaml': 'valid',
  // 0.9's docs spelled `annotation`; the API field was always `annotations`.
  '0.9.0--pg-overview.yaml': {
    'spec.backupSchedule': 'conflict',
    'spec.podTemplate.annotation': 'unknown-field',
    'spec.podTemplate.controller.annotation': 'unknown-field',
    'spec.serviceTemplate.annotation': 'unknown-field',
  },
  '0.9.0--private-registry__pvt-reg-postgres.yaml': { 'spec.version': 'version' },
  '0.9.0--private-registry__pvt-sheduledbackup.yaml': 'valid',
  '0.9.0--quickstart__infant-postgres.yaml': 'valid',
  '0.9.0--quickstart__quick-postgres.yaml': 'valid',
  '0.9.0--snapshot__scheduled-pg.yaml': 'valid',
  '0.9.0--snapshot__wal-postgres.yaml': 'valid',
};

describe('KubeDB example manifests', () => {
  it('the table lists every example fixture', () => {
    expect(Object.keys(KUBEDB_EXAMPLES).sort()).toEqual(listFixtures('kubedb-examples'));
  });

  const sharedExamples = join(SHARED_REFERENCE, 'kubedb-examples');
  it.skipIf(!existsSync(sharedExamples))('the fixtures are the shared reference files', () => {
    for (const f of listFixtures('kubedb-examples')) {
      expect(readFileSync(fixture('kubedb-examples', f), 'utf8'), f).toBe(
        readFileSync(join(sharedExamples, f), 'utf8'),
      );
    }
  });

  it.each(Object.entries(KUBEDB_EXAMPLES))('%s', async (f, outcome) => {
    const r = await loadManifests([fixture('kubedb-examples', f)]);
    if (outcome === 'valid') {
      expect(errorsOf(r)).toEqual([]);
      expect(r.clusters.length).toBe(1);
      return;
    }
    expect(r.ok).toBe(false);
    expect(r.clusters).toEqual([]);
    const got = Object.fromEntries(errorsOf(r).map((p) => [p.path, p.code]));
    expect(got).toEqual(outcome);
    for (const p of errorsOf(r)) {
      expect(p.line).toBeGreaterThan(0);
      // The message names why; the path names the field.
      if (p.code === OPERATOR) expect(p.message).toMatch(/not supported/);
    }
  });
});

describe('invalid manifests', () => {
  const files = listFixtures('invalid');

  it('there are at least 30', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  it.each(files)('%s is refused where it says', async (f) => {
    const file = fixture('invalid', f);
    const wanted = expectations(file);
    expect(wanted.length).toBeGreaterThan(0);
    const r = await loadManifests([file]);
    expect(r.ok).toBe(false);
    expect(r.clusters).toEqual([]);

    const text = formatProblems(r.problems, { color: false });
    const json = toValidateJson(r);
    expect(json.valid).toBe(false);
    for (const w of wanted) {
      const hit = r.problems.find(
        (p) => p.line === w.line && p.column === w.column && p.path === w.path && p.code === w.code,
      );
      expect(hit, `${f}: ${JSON.stringify(w)}\n${text}`).toBeDefined();
      expect(hit!.message).toContain(w.message);
      expect(hit!.severity).toBe('error');
      // Text: compiler-style line.
      const prefix = `${file}:${w.line}:${w.column}: error: ${w.path ? `${w.path}: ` : ''}`;
      expect(
        text.split('\n').some((l) => l.startsWith(prefix) && l.includes(w.message)),
        `${prefix}\n${text}`,
      ).toBe(true);
      // JSON: the same facts.
      expect(json.problems).toContainEqual(
        expect.objectContaining({
          source: file,
          line: w.line,
          column: w.column,
          path: w.path,
          code: w.code,
          severity: 'error',
        }),
      );
    }
  });
});

describe('valid manifests of our own', () => {
  it.each(listFixtures('valid'))('%s is valid', async (f) => {
    const r = await loadManifests([fixture('valid', f)]);
    expect(errorsOf(r)).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
