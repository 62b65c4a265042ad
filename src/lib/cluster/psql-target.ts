/**
 * Which pod `kpg psql` connects to: the one labelled primary, a ready
 * standby (--replica), or the pod named (--pod), which must be one of the
 * cluster's. Pure: the command lists the pods and calls this.
 */
import { NotFoundError, UsageError } from '../errors.js';

export interface PsqlPod {
  name: string;
  role?: string;
  ready: boolean;
}

export interface PsqlWant {
  cluster: string;
  namespace: string;
  replica?: boolean;
  pod?: string;
}

export function choosePsqlPod(pods: PsqlPod[], want: PsqlWant): string {
  const where = `${want.namespace}/${want.cluster}`;
  if (pods.length === 0) {
    throw new NotFoundError(
      `postgres "${want.cluster}" has no pods in namespace ${want.namespace}`,
      {
        suggestions: ['list the clusters: kpg get -A'],
      },
    );
  }
  if (want.pod !== undefined) {
    if (pods.some((p) => p.name === want.pod)) return want.pod;
    throw new UsageError(
      `${want.pod} is not a pod of ${where} (its pods: ${pods.map((p) => p.name).join(', ')})`,
    );
  }
  const role = want.replica ? 'replica' : 'primary';
  const ready = pods.filter((p) => p.role === role && p.ready);
  const first = ready.sort((a, b) => a.name.localeCompare(b.name))[0];
  if (role === 'primary' && ready.length > 1) {
    throw new UsageError(
      `${ready.length} pods of ${where} are labelled primary (${ready.map((p) => p.name).join(', ')}): name one with --pod`,
      { suggestions: [`kpg describe ${want.cluster} -n ${want.namespace} shows why`] },
    );
  }
  if (first) return first.name;
  throw new NotFoundError(`no ready pod of ${where} is labelled ${role}`, {
    suggestions: [
      `kpg describe ${want.cluster} -n ${want.namespace} shows why`,
      'or name a pod with --pod',
    ],
  });
}
