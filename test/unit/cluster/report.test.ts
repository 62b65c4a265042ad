import { describe, expect, it } from 'vitest';
import { redactObject, secretValues } from '../../../src/lib/cluster/report.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kpg report: what leaves the cluster', () => {
  it('a Secret keeps its keys, each value replaced by its size; managedFields go', () => {
    const s = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pg-auth', managedFields: [{ manager: 'kpg' }] },
      data: { POSTGRES_PASSWORD: b64('s3cret-value'), POSTGRES_USER: b64('postgres') },
      stringData: { X: 'y' },
    };
    const r = redactObject(s, 'pg-kpg-agent');
    expect(r.data).toEqual({
      POSTGRES_PASSWORD: '<12 bytes, removed by kpg report>',
      POSTGRES_USER: '<8 bytes, removed by kpg report>',
    });
    expect(r.stringData).toBeUndefined();
    expect(r.metadata?.managedFields).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain(b64('s3cret-value'));
  });

  it('the agent bundle ConfigMap is left out by size; other ConfigMaps stay as they are', () => {
    const bundle = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'pg-kpg-agent' },
      data: { 'kpg-agent.cjs': 'x'.repeat(100) },
    };
    expect(redactObject(bundle, 'pg-kpg-agent').data).toEqual({
      'kpg-agent.cjs': '<100 bytes, the agent bundle, left out>',
    });
    const record = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'pg-kpg' },
      data: { primary: 'pg-0' },
    };
    expect(redactObject(record, 'pg-kpg-agent').data).toEqual({ primary: 'pg-0' });
  });

  it('the values cut out of every text: passwords and private keys, not user names', () => {
    const secrets: Parameters<typeof secretValues>[0] = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'a' },
        data: {
          POSTGRES_PASSWORD: b64('p1'),
          REPLICATION_PASSWORD: b64('p2'),
          POSTGRES_USER: b64('postgres'),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 't' },
        data: { 'tls.key': b64('KEY'), 'tls.crt': b64('CERT') },
      },
    ];
    expect(secretValues(secrets).sort()).toEqual(['KEY', 'p1', 'p2']);
    const pem =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\nAwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
    const key = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'k' },
      data: { 'tls.key': b64(pem) },
    };
    expect(secretValues([key])).toEqual(['MIGHAgEAMBMGByqGSM49AgEGCCqGSM49', 'AwEHBG0wawIBAQQg']);
  });
});
