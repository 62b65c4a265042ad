/**
 * What kpg failover needs, checked before it takes its Lease: a 403 half way
 * (after fencing, before promotion) is what these checks exist to prevent.
 * Names where a Role may grant by name (examples/rbac/role.yaml).
 */
import { accessCheck } from '../cluster/access.js';
import { objectNames } from '../render/index.js';
import type { AccessCheck } from '../kube/index.js';

export function failoverAccessChecks(cluster: string): AccessCheck[] {
  const named = (c: AccessCheck, name: string): AccessCheck => ({ ...c, name });
  const record = objectNames(cluster).record;
  return [
    named(accessCheck('get', '', 'configmaps'), record),
    named(accessCheck('update', '', 'configmaps'), record),
    named(accessCheck('get', 'coordination.k8s.io', 'leases'), `${cluster}-failover`),
    named(accessCheck('update', 'coordination.k8s.io', 'leases'), `${cluster}-failover`),
    accessCheck('create', 'coordination.k8s.io', 'leases'),
    named(accessCheck('get', 'apps', 'statefulsets'), cluster),
    accessCheck('list', '', 'pods'),
    accessCheck('get', '', 'pods'),
    accessCheck('patch', '', 'pods'),
    accessCheck('delete', '', 'pods'),
    accessCheck('create', '', 'pods', 'exec'),
  ];
}
