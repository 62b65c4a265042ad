// Manifests the cluster e2e tests share: plain PostgreSQL pods as a user
// would write them for the postgres:15 image (no operator, no kpg code).

export const PG_IMAGE = 'postgres:15';

/**
 * The machine's Node.js as an image: the local cluster runs `node:<major>`
 * with the host's Node.js of that major and refuses any other, so a kpg
 * cluster here names its agent's image (kpg's default is a newer LTS).
 */
export const NODE_IMAGE = `node:${process.versions.node.split('.')[0]}-slim`;

/**
 * A Postgres manifest (YAML, top-level `metadata:` without annotations)
 * with the in-pod agent (the default, said explicitly) on the machine's Node.js.
 */
export function withLocalAgent(yaml: string): string {
  const out = yaml.replace(
    /^metadata:\n/m,
    `metadata:\n  annotations:\n    kpg.io/agent: "true"\n    kpg.io/agent-image: ${NODE_IMAGE}\n`,
  );
  if (out === yaml) throw new Error('no top-level metadata: to annotate');
  return out;
}

export const PG_UID = 999;

/**
 * The container script: initdb on first start (trust auth, any address),
 * then exec postgres listening on every address with its socket in /tmp.
 */
export const PG_SCRIPT = [
  'set -e',
  'export PGDATA=/var/lib/postgresql/data/pgdata',
  'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
  '  initdb -D "$PGDATA" -U postgres --auth=trust >/dev/null',
  '  echo "host all all 0.0.0.0/0 trust" >> "$PGDATA/pg_hba.conf"',
  'fi',
  `exec postgres -D "$PGDATA" -c listen_addresses='*' -k /tmp`,
].join('\n');

/** Ready only when postgres answers on 127.0.0.1 and, if gated, the gate file exists. */
export function pgReadiness(gateFile?: string): object {
  const check = 'pg_isready -q -h 127.0.0.1 -p 5432';
  return {
    exec: { command: ['bash', '-c', gateFile ? `test -f ${gateFile} && ${check}` : check] },
    periodSeconds: 1,
    timeoutSeconds: 2,
    failureThreshold: 1,
    successThreshold: 1,
  };
}

export function pgContainer(opts: { gateFile?: string; dataVolume?: string } = {}): object {
  return {
    name: 'postgres',
    image: PG_IMAGE,
    command: ['bash', '-c', PG_SCRIPT],
    ports: [{ name: 'pg', containerPort: 5432 }],
    readinessProbe: pgReadiness(opts.gateFile),
    volumeMounts: [{ name: opts.dataVolume ?? 'data', mountPath: '/var/lib/postgresql/data' }],
  };
}

export const pgSecurityContext = { runAsUser: PG_UID, runAsGroup: PG_UID, fsGroup: PG_UID };

/** A StatefulSet of postgres pods with a PVC template on StorageClass standard. */
export function pgStatefulSet(
  name: string,
  opts: { replicas: number; gateFile?: string; spread?: boolean; labels?: Record<string, string> },
): object {
  const labels = { app: name, ...(opts.labels ?? {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      serviceName: name,
      replicas: opts.replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 10,
          securityContext: pgSecurityContext,
          ...(opts.spread
            ? {
                affinity: {
                  podAntiAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        labelSelector: { matchLabels: { app: name } },
                        topologyKey: 'kubernetes.io/hostname',
                      },
                    ],
                  },
                },
              }
            : {}),
          containers: [pgContainer(opts.gateFile ? { gateFile: opts.gateFile } : {})],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'standard',
            resources: { requests: { storage: '1Gi' } },
          },
        },
      ],
    },
  };
}

/** A headless Service for a StatefulSet (stable pod DNS names). */
export function headlessService(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'pg', port: 5432 }] },
  };
}

/** A ClusterIP Service on port 5432 for the given selector. */
export function pgService(name: string, selector: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector, ports: [{ name: 'pg', port: 5432, targetPort: 5432 }] },
  };
}

/** A bare postgres pod with an emptyDir data volume. */
export function pgPod(name: string, labels: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 5,
      securityContext: pgSecurityContext,
      containers: [pgContainer()],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}

/** A client pod (postgres image, so psql is there) that just sleeps. */
export function clientPod(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { role: 'client' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      securityContext: pgSecurityContext,
      containers: [
        { name: 'client', image: PG_IMAGE, command: ['bash', '-c', 'exec sleep infinity'] },
      ],
    },
  };
}

/** kubectl apply input for several objects. */
export function list(...items: object[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** The same, naming only the agent's image: the agent on by default, as a user would leave it. */
export function withLocalAgentImage(yaml: string): string {
  const out = yaml.replace(
    /^metadata:\n/m,
    `metadata:\n  annotations:\n    kpg.io/agent-image: ${NODE_IMAGE}\n`,
  );
  if (out === yaml) throw new Error('no top-level metadata: to annotate');
  return out;
}
