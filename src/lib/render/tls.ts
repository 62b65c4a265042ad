/**
 * TLS for every cluster unless the manifest opts out with the annotation
 * `kpg.io/tls: "false"`: a CA of the cluster's own (Secret NAME-ca, which no
 * pod mounts) and a server certificate it signed (Secret NAME-tls: tls.crt,
 * tls.key, ca.crt, mounted by the postgres container). Type Opaque, not
 * kubernetes.io/tls: `kpg create --dry-run=client` prints them without their
 * data, which the API server refuses for that type. Both are
 * create-only: re-issuing them on every apply would break the clients that
 * trust the CA. The certificates themselves are made by src/lib/tls (async,
 * an X.509 library); rendering takes them as input.
 */
import type { PostgresCluster } from '../manifest/types.js';
import { CREATE_ONLY_ANNOTATION, baseLabels, objectNames } from './labels.js';
import type { KubeObject, TlsMaterial } from './types.js';

export const TLS_ANNOTATION = 'kpg.io/tls';

/** Where the postgres container finds the server certificate (the NAME-tls Secret). */
export const TlsPaths = {
  dir: '/etc/kpg/tls',
  cert: '/etc/kpg/tls/tls.crt',
  ca: '/etc/kpg/tls/ca.crt',
  /**
   * PostgreSQL refuses a key file that others can read, and a Secret volume's
   * files belong to root: start.sh copies the key here (the pod's /tmp, 0600).
   */
  key: '/tmp/kpg/tls.key',
} as const;

export function tlsEnabled(c: Pick<PostgresCluster, 'annotations'>): boolean {
  return c.annotations[TLS_ANNOTATION] !== 'false';
}

export function tlsSecretNames(name: string): { ca: string; server: string } {
  return { ca: `${name}-ca`, server: `${name}-tls` };
}

/**
 * The names clients and standbys reach the cluster by: each Service by its
 * short, namespaced and full name, every pod through the headless Service,
 * and localhost for `kpg port-forward` and `kubectl port-forward`.
 */
export function serverNames(name: string, namespace: string): string[] {
  const names = objectNames(name);
  const services = [names.primaryService, names.replicasService, names.podsService];
  const forms = (s: string) => [
    s,
    `${s}.${namespace}`,
    `${s}.${namespace}.svc`,
    `${s}.${namespace}.svc.cluster.local`,
  ];
  return [
    ...services.flatMap(forms),
    ...forms(names.podsService)
      .slice(1)
      .map((s) => `*.${s}`),
    'localhost',
  ];
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** The two Secrets, or none when TLS is off. Without material (plans, diffs) their data is left out. */
export function renderTlsSecrets(
  c: PostgresCluster,
  namespace: string,
  material: TlsMaterial | undefined,
): KubeObject[] {
  if (!tlsEnabled(c)) return [];
  const names = tlsSecretNames(c.name);
  const secret = (name: string, type: string, data: Record<string, string> | undefined) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: baseLabels(c),
      annotations: { [CREATE_ONLY_ANNOTATION]: 'true' },
    },
    type,
    ...(data
      ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }
      : {}),
  });
  return [
    secret(
      names.ca,
      'Opaque',
      material && { 'tls.crt': material.caCert, 'tls.key': material.caKey },
    ),
    secret(
      names.server,
      'Opaque',
      material && {
        'tls.crt': material.serverCert,
        'tls.key': material.serverKey,
        'ca.crt': material.caCert,
      },
    ),
  ];
}
