import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ANSWERS,
  manifestFromAnswers,
  storageClassChoices,
  validateField,
} from '../../../src/lib/cluster/wizard.js';
import { validateText } from '../../../src/lib/manifest/index.js';

describe('wizard answers → manifest', () => {
  it('produces a manifest the validator accepts, with every answer in it', () => {
    const text = manifestFromAnswers({
      name: 'orders',
      namespace: 'shop',
      version: '16',
      replicas: 3,
      standbyMode: 'Warm',
      streamingMode: 'Synchronous',
      storageClass: 'fast',
      size: '5Gi',
      failover: 'Automatic',
      agentImage: 'node:24-slim',
    });
    const r = validateText(text, 'wizard');
    expect(r.ok).toBe(true);
    const c = r.clusters[0]!;
    expect(c).toMatchObject({
      name: 'orders',
      namespace: 'shop',
      major: '16',
      replicas: 3,
      standbyMode: 'warm',
      streamingMode: 'synchronous',
    });
    expect(c.storage).toMatchObject({ storageClassName: 'fast', size: '5Gi' });
    expect(c.annotations).toEqual({ 'kpg.io/agent-image': 'node:24-slim' });
  });

  it('says how the cluster fails over only where it differs from the default', () => {
    expect(manifestFromAnswers(DEFAULT_ANSWERS)).not.toContain('annotations');
    const manual = validateText(
      manifestFromAnswers({ ...DEFAULT_ANSWERS, failover: 'Manual' }),
      'wizard',
    );
    expect(manual.clusters[0]?.annotations).toEqual({ 'kpg.io/agent': 'false' });
  });

  it('leaves storageClassName out for the default class', () => {
    const text = manifestFromAnswers(DEFAULT_ANSWERS);
    expect(text).not.toContain('storageClassName');
    expect(validateText(text, 'wizard').clusters[0]?.storage?.storageClassName).toBeUndefined();
  });

  it('validates each answer with the manifest validator', () => {
    expect(validateField({ ...DEFAULT_ANSWERS, name: 'Bad_Name' }, 'metadata.name')).toMatch(/.+/);
    expect(validateField({ ...DEFAULT_ANSWERS, name: 'good' }, 'metadata.name')).toBe(true);
    expect(validateField({ ...DEFAULT_ANSWERS, replicas: 0 }, 'spec.replicas')).not.toBe(true);
    expect(validateField({ ...DEFAULT_ANSWERS, size: 'lots' }, 'spec.storage')).not.toBe(true);
  });

  it('lists storage classes, marking the default', async () => {
    const kube = {
      list: async () => ({
        resourceVersion: '1',
        items: [
          {
            metadata: {
              name: 'standard',
              annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
            },
          },
          { metadata: { name: 'fast' } },
        ],
      }),
    };
    expect(await storageClassChoices(kube as never)).toEqual([
      { name: '(the cluster default)', value: '' },
      { name: 'standard (default)', value: 'standard' },
      { name: 'fast', value: 'fast' },
    ]);
  });
});
