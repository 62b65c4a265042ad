/**
 * The certificates of a cluster's TLS Secrets, for `kpg create`. Issuing
 * loads the X.509 library, so it is imported here, only when needed.
 */
import type { PostgresCluster } from '../manifest/types.js';
import { serverNames, tlsEnabled } from '../render/tls.js';
import type { TlsMaterial } from '../render/types.js';

/** Fresh certificates for a cluster, or undefined when it runs without TLS. */
export async function issueTls(
  c: PostgresCluster,
  namespace: string,
): Promise<TlsMaterial | undefined> {
  if (!tlsEnabled(c)) return undefined;
  const { issueClusterCertificates } = await import('../tls/issue.js');
  return issueClusterCertificates({
    cluster: c.name,
    namespace,
    dnsNames: serverNames(c.name, namespace),
    ips: ['127.0.0.1', '::1'],
  });
}
