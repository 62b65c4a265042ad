import { randomBytes } from 'node:crypto';
import type { PostgresCluster } from '../manifest/types.js';
import { CREATE_ONLY_ANNOTATION, baseLabels, objectNames } from './labels.js';
import type { KubeObject, SecretValues } from './types.js';

export const SUPERUSER = 'postgres';
export const REPLICATION_USER = 'replicator';

/** Secret keys the pods read (secretKeyRef); the same names KubeDB uses. */
export const SecretKeys = {
  user: 'POSTGRES_USER',
  password: 'POSTGRES_PASSWORD',
  replicationUser: 'REPLICATION_USER',
  replicationPassword: 'REPLICATION_PASSWORD',
} as const;

/** 24 random bytes as URL-safe base64: 32 characters, no padding, safe in URLs and conninfo. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Name of the Secret the pods read: the user's own, or the one kpg generates. */
export function authSecretName(c: Pick<PostgresCluster, 'name' | 'databaseSecretName'>): string {
  return c.databaseSecretName ?? objectNames(c.name).authSecret;
}

/**
 * The generated Secret NAME-auth, or undefined when the manifest names its own
 * (`spec.databaseSecret.secretName`). Its passwords change on every render, so
 * it is marked create-only: applying it over an existing one would break the
 * running cluster's logins.
 */
export function renderSecret(
  c: PostgresCluster,
  namespace: string,
  values: SecretValues = {},
): KubeObject | undefined {
  if (c.databaseSecretName) return undefined;
  const data: Record<string, string> = {
    [SecretKeys.user]: SUPERUSER,
    [SecretKeys.password]: values.postgresPassword ?? generatePassword(),
    [SecretKeys.replicationUser]: REPLICATION_USER,
    [SecretKeys.replicationPassword]: values.replicationPassword ?? generatePassword(),
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: objectNames(c.name).authSecret,
      namespace,
      labels: baseLabels(c),
      annotations: { [CREATE_ONLY_ANNOTATION]: 'true' },
    },
    type: 'Opaque',
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
    ),
  };
}
