/** What `kpg describe` says of a cluster's TLS: on or off, the certificate's names and end. Pure. */
import { X509Certificate } from 'node:crypto';
import { tlsSecretNames } from '../render/tls.js';
import { stsEnv, type K8sStatefulSet } from './objects.js';
import type { TlsStatus } from './status.js';

/** Warn this long before the server certificate ends: nothing renews it on its own. */
export const EXPIRY_WARNING_DAYS = 30;

export function tlsStatusOf(
  name: string,
  sts: K8sStatefulSet | undefined,
  secret: { data?: Record<string, string> } | undefined,
  now: Date,
): TlsStatus {
  if (sts && !stsEnv(sts, 'KPG_TLS_DIR')) return { enabled: false };
  const secretName = tlsSecretNames(name).server;
  const pem = secret?.data?.['tls.crt'];
  if (!pem)
    return {
      enabled: true,
      secret: secretName,
      problem: `Secret ${secretName} not found or without tls.crt`,
    };
  try {
    const cert = new X509Certificate(Buffer.from(pem, 'base64'));
    const notAfter = new Date(cert.validTo);
    const names = (cert.subjectAltName ?? '')
      .split(', ')
      .filter((n) => n.startsWith('DNS:') || n.startsWith('IP Address:'))
      .map((n) => n.replace(/^DNS:|^IP Address:/, ''));
    const days = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
    return {
      enabled: true,
      secret: secretName,
      notAfter: notAfter.toISOString(),
      names,
      ...(days < EXPIRY_WARNING_DAYS
        ? {
            problem:
              days < 0
                ? `the server certificate in ${secretName} expired on ${notAfter.toISOString()}: standbys and clients that verify it cannot connect`
                : `the server certificate in ${secretName} ends in ${days} day(s), on ${notAfter.toISOString()}`,
          }
        : {}),
    };
  } catch (err) {
    return {
      enabled: true,
      secret: secretName,
      problem: `tls.crt in ${secretName} is not a certificate: ${(err as Error).message}`,
    };
  }
}

/** Lines of the describe section: how to connect with the server's name checked. */
export function tlsConnectLines(name: string, namespace: string, user: string): string[] {
  const secret = tlsSecretNames(name).server;
  return [
    `kubectl get secret ${secret} -n ${namespace} -o jsonpath='{.data.ca\\.crt}' | base64 -d > ${name}-ca.crt`,
    `psql "host=${name}.${namespace}.svc user=${user} dbname=postgres sslmode=verify-full sslrootcert=${name}-ca.crt"`,
    `through kpg port-forward ${name}: psql "host=localhost port=5432 user=${user} dbname=postgres sslmode=verify-full sslrootcert=${name}-ca.crt"`,
  ];
}
