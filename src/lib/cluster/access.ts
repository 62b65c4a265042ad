/**
 * Permissions a command needs, checked up front with SelfSubjectAccessReviews
 * so that a missing verb refuses the whole command before anything changes
 * (no half-created or half-deleted cluster).
 */
import { ForbiddenError } from '../errors.js';
import { type AccessCheck, type AccessDenial, type Kube, resourceName } from '../kube/index.js';

export const accessCheck = (
  verb: string,
  group: string,
  resource: string,
  subresource?: string,
): AccessCheck =>
  subresource ? { verb, group, resource, subresource } : { verb, group, resource };

/** API group and resource of each kind kpg renders. */
export const RESOURCES: Record<string, [group: string, resource: string]> = {
  ServiceAccount: ['', 'serviceaccounts'],
  Role: ['rbac.authorization.k8s.io', 'roles'],
  RoleBinding: ['rbac.authorization.k8s.io', 'rolebindings'],
  ConfigMap: ['', 'configmaps'],
  Service: ['', 'services'],
  StatefulSet: ['apps', 'statefulsets'],
  PodDisruptionBudget: ['policy', 'poddisruptionbudgets'],
  Secret: ['', 'secrets'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  CronJob: ['batch', 'cronjobs'],
};

/** Throws ForbiddenError (exit 4) naming every verb and resource missing. */
export async function requireAccess(
  kube: Kube,
  namespace: string,
  checks: AccessCheck[],
): Promise<void> {
  const denied: AccessDenial[] = await kube.checkAccess(namespace, checks);
  if (denied.length === 0) return;
  const what = denied.map((d) => `\`${d.verb}\` \`${resourceName(d)}\``).join(', ');
  throw new ForbiddenError(
    `forbidden: kpg needs permission to ${what} in namespace \`${namespace}\`; nothing was changed`,
    {
      suggestions: [
        `ask a cluster admin to grant it (see examples/rbac/role.yaml); check with: kubectl auth can-i ${denied[0]!.verb} ${resourceName(denied[0]!)} -n ${namespace}`,
      ],
    },
  );
}
