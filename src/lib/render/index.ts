/**
 * Rendering: a validated PostgresCluster becomes the Kubernetes objects that
 * run it without an operator. Pure functions; the same output feeds
 * `kpg create` and `kpg create --dry-run=client -o yaml`.
 */
import type { PostgresCluster } from '../manifest/types.js';
import { agentEnabled, checkAgentBundle, renderAgentBundle, renderAgentRbac } from './agent.js';
import { renderConfigMap } from './config.js';
import { CREATE_ONLY_ANNOTATION } from './labels.js';
import { renderPdb } from './pdb.js';
import { renderRbac } from './rbac.js';
import { renderRecord } from './record.js';
import { renderSecret } from './secret.js';
import { renderServices } from './services.js';
import { renderStatefulSet } from './statefulset.js';
import { renderBackupCronJob } from './backup-job.js';
import { renderNetworkPolicy } from './network-policy.js';
import { renderTlsSecrets } from './tls.js';
import type { KubeObject, RenderOptions, RenderResult } from './types.js';

export type {
  KubeObject,
  ObjectMeta,
  RenderOptions,
  RenderResult,
  SecretValues,
  TlsMaterial,
} from './types.js';
export { TLS_ANNOTATION, tlsEnabled, tlsSecretNames, serverNames } from './tls.js';
export { NETWORK_POLICY_ANNOTATION } from './network-policy.js';
export { objectNames, ROLE_LABEL, RECORD_LABEL, CREATE_ONLY_ANNOTATION } from './labels.js';
export { redactSecrets, toYamlStream, toJsonList } from './output.js';
export {
  AGENT_ANNOTATION,
  AGENT_IMAGE_ANNOTATION,
  DEFAULT_AGENT_IMAGE,
  agentEnabled,
} from './agent.js';

/** Namespace the cluster's objects go to: the manifest's, else the command's. */
export function clusterNamespace(
  c: PostgresCluster,
  opts: Pick<RenderOptions, 'namespace'>,
): string {
  return c.namespace ?? opts.namespace;
}

/**
 * All objects of one cluster, in the order they can be applied: credentials
 * and permissions, configuration, Services, then the StatefulSet and its PDB.
 * The record is separate: create it (before the StatefulSet) only when absent.
 */
export function renderCluster(c: PostgresCluster, opts: RenderOptions): RenderResult {
  const ns = clusterNamespace(c, opts);
  const config = renderConfigMap(c, ns);
  const agent = agentEnabled(c);
  const bundle = agent ? checkAgentBundle(c, opts.agentBundle) : undefined;
  const objects: (KubeObject | undefined)[] = [
    renderSecret(c, ns, opts.secretValues),
    ...renderTlsSecrets(c, ns, opts.tls),
    ...(agent ? renderAgentRbac(c, ns) : renderRbac(c, ns)),
    config,
    bundle !== undefined ? renderAgentBundle(c, ns, bundle) : undefined,
    ...renderServices(c, ns),
    renderStatefulSet(c, ns, config, bundle),
    renderBackupCronJob(c, ns),
    renderPdb(c, ns),
    renderNetworkPolicy(c, ns),
  ];
  return {
    objects: objects.filter((o): o is KubeObject => o !== undefined),
    record: renderRecord(c, ns),
  };
}

/** True for objects to create only when absent, never to re-apply (the generated Secret). */
export function isCreateOnly(o: KubeObject): boolean {
  return o.metadata.annotations?.[CREATE_ONLY_ANNOTATION] === 'true';
}

/**
 * Objects and record in one list, in creation order: the record goes before
 * the StatefulSet so the pods find it at their first start.
 */
export function allObjects(r: RenderResult): KubeObject[] {
  const i = r.objects.findIndex((o) => o.kind === 'StatefulSet');
  const at = i < 0 ? r.objects.length : i;
  return [...r.objects.slice(0, at), r.record, ...r.objects.slice(at)];
}
