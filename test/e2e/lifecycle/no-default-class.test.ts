// Issue 15: a cluster with no default StorageClass. The claims of a manifest
// that names no class stay Pending; `kpg create` stops (exit 12) within 15 s
// with the claim, Kubernetes' message and what to do, and `kpg describe` lists
// it under "Problems". It takes the default mark off the local cluster's
// StorageClass `standard` for its length, so it runs alone (SERIAL_BY_HAND).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace, kubectlOk } from '../../cluster/kube.js';
import {
  createJson,
  describeProblems,
  made,
  manifest,
  NAME,
  namespace,
  timedCreate,
} from './blocked-helpers.js';

const DEFAULT_MARK = 'storageclass.kubernetes.io/is-default-class';

beforeAll(async () => {
  await kubectlOk(['annotate', 'storageclass', 'standard', `${DEFAULT_MARK}=false`, '--overwrite']);
});
afterAll(async () => {
  await kubectlOk(['annotate', 'storageclass', 'standard', `${DEFAULT_MARK}=true`, '--overwrite']);
  await Promise.all(made.map((ns) => deleteNamespace(ns)));
});

describe('kpg create with no default StorageClass', () => {
  it('a claim with no class: exit 12 at once, the claim and the fix named', async () => {
    const ns = await namespace('blk-nodefault');
    const r = await timedCreate(manifest(ns, { storageClass: '' }));
    console.log(
      `${ns}: no default StorageClass: create stopped ${r.waitMs} ms after its objects were sent`,
    );
    expect(r.code, r.stderr).toBe(12);
    expect(r.waitMs).toBeLessThan(15_000);
    expect(r.stderr).toMatch(
      new RegExp(`persistentvolumeclaim/data-${NAME}-0 FailedBinding: .*no storage class is set`),
    );
    expect(r.stderr).toMatch(/the namespace has no default StorageClass/);
    expect(await describeProblems(ns)).toMatch(
      /data-blk-0 FailedBinding: .*no storage class is set/,
    );
  });

  it('-o json: the claim is the reason', async () => {
    const ns = await namespace('blk-nodefaultj');
    const { r, error } = await createJson(manifest(ns, { storageClass: '' }));
    expect(r.code).toBe(12);
    expect(error.reasons?.[0]).toMatchObject({
      object: `persistentvolumeclaim/data-${NAME}-0`,
      reason: 'FailedBinding',
      fatal: true,
    });
  });
});
