// Kubeconfig loading: precedence, kubectl-style merging, context and namespace defaults.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterUnreachableError } from '../../../src/lib/errors.js';
import {
  KubeconfigError,
  createKube,
  loadKubeconfig,
  type KubeconfigOptions,
} from '../../../src/lib/kube/index.js';
import { startFakeApi, sendJson } from './fake-api.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpg-kc-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  name: string;
  server?: string;
  namespace?: string;
  ca?: string;
}

function write(
  file: string,
  o: { entries: Entry[]; current?: string; extraUser?: string },
): string {
  const path = join(dir, file);
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (const e of o.entries) {
    lines.push(
      `- name: ${e.name}`,
      '  cluster:',
      `    server: ${e.server ?? `https://${e.name}.example:6443`}`,
    );
    if (e.ca) lines.push(`    certificate-authority: ${e.ca}`);
  }
  lines.push('users:');
  for (const e of o.entries) lines.push(`- name: ${e.name}`, '  user:', `    token: t-${e.name}`);
  lines.push('contexts:');
  for (const e of o.entries) {
    lines.push(`- name: ${e.name}`, '  context:', `    cluster: ${e.name}`, `    user: ${e.name}`);
    if (e.namespace) lines.push(`    namespace: ${e.namespace}`);
  }
  if (o.current) lines.push(`current-context: ${o.current}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const load = (o: KubeconfigOptions) =>
  loadKubeconfig({ homeDir: join(dir, 'home'), env: {}, ...o });

describe('kubeconfig precedence', () => {
  it('uses --kubeconfig alone, ignoring KUBECONFIG', async () => {
    const a = write('a', { entries: [{ name: 'a' }], current: 'a' });
    const b = write('b', { entries: [{ name: 'b' }], current: 'b' });
    const r = await load({ kubeconfig: a, env: { KUBECONFIG: b } });
    expect(r.contextName).toBe('a');
    expect(r.sources).toEqual([a]);
  });

  it('merges KUBECONFIG like kubectl: first definition and first current-context win, missing files skipped', async () => {
    const a = write('a', {
      entries: [{ name: 'shared', server: 'https://first:6443' }, { name: 'only-a' }],
    });
    const b = write('b', {
      entries: [
        { name: 'shared', server: 'https://second:6443' },
        { name: 'only-b', namespace: 'bns' },
      ],
      current: 'only-b',
    });
    const c = write('c', { entries: [{ name: 'only-c' }], current: 'only-c' });
    const missing = join(dir, 'missing');
    const r = await load({ env: { KUBECONFIG: [a, missing, '', b, c].join(delimiter) } });
    expect(r.sources).toEqual([a, b, c]);
    expect(r.contextName).toBe('only-b');
    expect(r.namespace).toBe('bns');
    expect(r.server).toBe('https://only-b.example:6443');
    expect(r.kc.getContexts().map((x) => x.name)).toEqual(['shared', 'only-a', 'only-b', 'only-c']);
    const shared = await load({ env: { KUBECONFIG: [a, b].join(delimiter) }, context: 'shared' });
    expect(shared.server).toBe('https://first:6443');
    expect(shared.kc.getCurrentUser()?.token).toBe('t-shared');
  });

  it('fails clearly when every KUBECONFIG entry is missing', async () => {
    await expect(load({ env: { KUBECONFIG: join(dir, 'nope') } })).rejects.toThrow(
      /none of the files named by KUBECONFIG exist/,
    );
  });

  it('falls back to ~/.kube/config, then in-cluster, then fails', async () => {
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    const err = await load({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err).toBeInstanceOf(ClusterUnreachableError);
    expect((err as KubeconfigError).message).toBe(
      'no kubeconfig found and not running inside a cluster',
    );
    expect((err as KubeconfigError).suggestions[0]).toContain('--kubeconfig');

    const sa = join(dir, 'root', 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'tok');
    writeFileSync(join(sa, 'namespace'), 'pg-system\n');
    const inCluster = await load({
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      inClusterRoot: join(dir, 'root'),
    });
    expect(inCluster).toMatchObject({
      server: 'https://10.96.0.1:443',
      namespace: 'pg-system',
      sources: ['in-cluster'],
    });

    write(join('home', '.kube', 'config'), { entries: [{ name: 'home' }], current: 'home' });
    expect((await load({})).contextName).toBe('home');
  });
});

describe('context and namespace', () => {
  it('selects --context, else current-context; the namespace defaults to the context, then default', async () => {
    const f = write('f', {
      entries: [{ name: 'one', namespace: 'ns1' }, { name: 'two' }],
      current: 'one',
    });
    expect(await load({ kubeconfig: f })).toMatchObject({ contextName: 'one', namespace: 'ns1' });
    expect(await load({ kubeconfig: f, context: 'two' })).toMatchObject({
      contextName: 'two',
      namespace: 'default',
    });
    expect(await load({ kubeconfig: f, context: 'two', namespace: 'x' })).toMatchObject({
      namespace: 'x',
    });
    expect((await load({ kubeconfig: f, context: 'two' })).kc.getCurrentContext()).toBe('two');
  });

  it('names the available contexts when one is unknown or none is current', async () => {
    const f = write('f', { entries: [{ name: 'one' }, { name: 'two' }] });
    await expect(load({ kubeconfig: f })).rejects.toThrow(
      'the kubeconfig has no current-context (available: one, two)',
    );
    await expect(load({ kubeconfig: f, context: 'three' })).rejects.toThrow(
      'context "three" is not in the kubeconfig (available: one, two)',
    );
  });

  it('resolves relative file paths against the kubeconfig directory', async () => {
    const f = write('f', { entries: [{ name: 'one', ca: 'pki/ca.crt' }], current: 'one' });
    expect((await load({ kubeconfig: f })).kc.getCurrentCluster()?.caFile).toBe(
      join(dir, 'pki', 'ca.crt'),
    );
  });

  it('reports a broken file without quoting its contents', async () => {
    const f = join(dir, 'broken');
    writeFileSync(f, 'users:\n- name: u\n  user:\n    token: SUPERSECRET\n   bad: [\n');
    const err = (await load({ kubeconfig: f }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(KubeconfigError);
    expect(err.message).toMatch(/^cannot load kubeconfig .*broken: .* at line \d+$/);
    expect(err.message).not.toContain('SUPERSECRET');
  });
});

describe('credentials on the wire', () => {
  it('trims a token-file and allows an http:// server without insecure-skip-tls-verify', async () => {
    const api = await startFakeApi((_req, res) => sendJson(res, 200, { metadata: { name: 'c' } }));
    try {
      writeFileSync(join(dir, 'token'), 'file-token\n');
      const f = join(dir, 'kc');
      writeFileSync(
        f,
        [
          'apiVersion: v1',
          'clusters: [{name: c, cluster: {server: "' + api.server + '"}}]',
          `users: [{name: u, user: {token-file: "${join(dir, 'token')}"}}]`,
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      const kube = await createKube({ kubeconfig: f });
      expect(kube.namespace).toBe('default');
      await kube.get('ConfigMap', undefined, 'c');
      expect(api.requests[0]!.headers.authorization).toBe('Bearer file-token');
      expect(api.requests[0]!.url.pathname).toBe('/api/v1/namespaces/default/configmaps/c');
    } finally {
      await api.close();
    }
  });
});
