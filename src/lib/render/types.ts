/** Kubernetes objects as plain JSON-able data, the way the API and `kubectl apply` see them. */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Passwords to use instead of fresh random ones (tests, or re-rendering a known Secret). */
export interface SecretValues {
  postgresPassword?: string;
  replicationPassword?: string;
}

/** A cluster's CA and server certificate, PEM (src/lib/tls issues them). */
export interface TlsMaterial {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

export interface RenderOptions {
  /** Namespace for a cluster whose manifest names none. */
  namespace: string;
  secretValues?: SecretValues;
  /**
   * The in-pod agent's bundle (dist/agent/kpg-agent.cjs), needed only for
   * every cluster but those annotated `kpg.io/agent: "false"`; rendering them without it fails.
   */
  agentBundle?: string;
  /**
   * The certificates for the cluster's TLS Secrets. Needed only to create
   * them; without, the Secrets are rendered with no data (plans, diffs).
   */
  tls?: TlsMaterial;
}

export interface RenderResult {
  /**
   * Applied with server-side apply on every create/apply. Objects annotated
   * `kpg.io/create-only: "true"` (the generated Secret) hold values that must
   * not change once created: create them only when absent (see isCreateOnly).
   */
  objects: KubeObject[];
  /** The cluster's record (ConfigMap NAME-kpg): created only when absent, never overwritten. */
  record: KubeObject;
}
