import { createHash } from 'node:crypto';
import type { PostgresCluster } from '../manifest/types.js';
import {
  CONFIG_HASH_ANNOTATION,
  baseLabels,
  objectNames,
  podLabels,
  selectorLabels,
} from './labels.js';
import { PG_PORT, Paths } from './paths.js';
import { TlsPaths, tlsEnabled, tlsSecretNames } from './tls.js';
import {
  AGENT_HASH_ANNOTATION,
  AGENT_PRESTOP,
  POSTGRES_AGENT_ENV_NAMES,
  agentAccountName,
  agentContainer,
  agentEnabled,
  agentVolumes,
  postgresAgentEnv,
  postgresAgentMounts,
} from './agent.js';
import { AGENT_SCRIPT_NAMES, STORAGE_SCRIPT_NAMES } from './scripts.js';
import {
  STORAGE_ENV_NAMES,
  postgresStorageEnv,
  postgresStorageMounts,
  storageContainer,
  storageEnabled,
  storageVolumes,
} from './storage.js';
import { SecretKeys, authSecretName } from './secret.js';
import type { KubeObject } from './types.js';

const POSTGRES_UID = 999;

type Obj = Record<string, unknown>;

/** Ephemeral storage (or, defensively, Durable without a storage spec): an emptyDir. */
const ephemeral = (c: PostgresCluster) => c.storageType === 'Ephemeral' || !c.storage;

/** Environment variables kpg sets; podTemplate env entries with these names are dropped. */
export const RESERVED_ENV = [
  SecretKeys.user,
  SecretKeys.password,
  SecretKeys.replicationUser,
  SecretKeys.replicationPassword,
  'POD_NAME',
  'POD_NAMESPACE',
  'POD_IP',
  'KPG_CLUSTER',
  'KPG_PG_MAJOR',
  'PGDATA',
  'KPG_TLS_DIR',
] as const;

export function secretEnv(c: PostgresCluster): Obj[] {
  const secret = authSecretName(c);
  // A user's own Secret must hold POSTGRES_PASSWORD; the rest is optional
  // (start.sh defaults the user to postgres and replicates as the superuser).
  const own = c.databaseSecretName !== undefined;
  const ref = (key: string, optional: boolean) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional: true } : {}) } },
  });
  return [
    ref(SecretKeys.user, own),
    ref(SecretKeys.password, false),
    ref(SecretKeys.replicationUser, own),
    ref(SecretKeys.replicationPassword, own),
  ];
}

function env(c: PostgresCluster, agent: boolean): Obj[] {
  const field = (name: string, fieldPath: string) => ({
    name,
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
  });
  const reserved = new Set<string>([
    ...RESERVED_ENV,
    ...(agent ? POSTGRES_AGENT_ENV_NAMES : []),
    ...STORAGE_ENV_NAMES,
  ]);
  const user = (c.podTemplate.env ?? []).filter((e) => !reserved.has(String(e['name'])));
  return [
    ...secretEnv(c),
    field('POD_NAME', 'metadata.name'),
    field('POD_NAMESPACE', 'metadata.namespace'),
    field('POD_IP', 'status.podIP'),
    { name: 'KPG_CLUSTER', value: c.name },
    { name: 'KPG_PG_MAJOR', value: c.major },
    { name: 'PGDATA', value: Paths.pgdata },
    ...(tlsEnabled(c) ? [{ name: 'KPG_TLS_DIR', value: TlsPaths.dir }] : []),
    ...(agent ? postgresAgentEnv() : []),
    ...postgresStorageEnv(c),
    ...user,
  ];
}

function volumes(c: PostgresCluster, ns: string, agent: boolean): Obj[] {
  const config = objectNames(c.name).config;
  const out: Obj[] = [
    {
      name: 'config',
      configMap: {
        name: config,
        items: [
          { key: 'postgresql.conf', path: 'postgresql.conf' },
          { key: 'pg_hba.conf', path: 'pg_hba.conf' },
        ],
      },
    },
    {
      name: 'scripts',
      configMap: {
        name: config,
        defaultMode: 0o755,
        items: [
          ...['start.sh', 'ready.sh', 'live.sh', 'kube.sh'],
          ...(agent ? AGENT_SCRIPT_NAMES : []),
          ...(storageEnabled(c) ? STORAGE_SCRIPT_NAMES : []),
        ].map((k) => ({ key: k, path: k })),
      },
    },
    // The pod's private /tmp (passfile, state, promote trigger): never shared
    // with another pod, and kept across container restarts of this pod.
    { name: 'tmp', emptyDir: {} },
    { name: 'run', emptyDir: {} },
  ];
  if (ephemeral(c)) out.push({ name: 'data', emptyDir: {} });
  if (tlsEnabled(c)) {
    // Readable by the postgres user only (fsGroup); start.sh copies the key to a 0600 file.
    out.push({
      name: 'tls',
      secret: { secretName: tlsSecretNames(c.name).server, defaultMode: 0o440 },
    });
  }
  if (c.configConfigMap)
    out.push({ name: 'custom-config', configMap: { name: c.configConfigMap } });
  if (c.initScriptConfigMap) {
    out.push({ name: 'init-scripts', configMap: { name: c.initScriptConfigMap } });
  }
  if (agent) out.push(...agentVolumes(c));
  out.push(...storageVolumes(c, ns));
  return out;
}

function volumeMounts(c: PostgresCluster, agent: boolean): Obj[] {
  return [
    { name: 'data', mountPath: Paths.dataMount },
    { name: 'config', mountPath: Paths.configDir, readOnly: true },
    { name: 'scripts', mountPath: Paths.scriptsDir, readOnly: true },
    { name: 'tmp', mountPath: Paths.tmp },
    { name: 'run', mountPath: Paths.socketDir },
    ...(tlsEnabled(c) ? [{ name: 'tls', mountPath: TlsPaths.dir, readOnly: true }] : []),
    ...(c.configConfigMap
      ? [{ name: 'custom-config', mountPath: Paths.customDir, readOnly: true }]
      : []),
    ...(c.initScriptConfigMap
      ? [{ name: 'init-scripts', mountPath: Paths.initScriptsDir, readOnly: true }]
      : []),
    ...(agent ? postgresAgentMounts() : []),
    ...postgresStorageMounts(c),
  ];
}

const script = (name: string, ...args: string[]) => ({
  exec: { command: ['bash', `${Paths.scriptsDir}/${name}`, ...args] },
});

/**
 * Startup: up to an hour for the postmaster to come up (waiting for the
 * primary, base backup); liveness: the postmaster is alive, never failing
 * during initdb, base backup or pg_rewind; readiness: serving the pod's role.
 */
function probes(): Obj {
  return {
    // Short periods: after a restart the pod is out of the primary Service
    // until the startup and then the readiness probe pass, so each period
    // adds directly to the write outage a client sees.
    startupProbe: {
      ...script('live.sh', '--startup'),
      periodSeconds: 2,
      timeoutSeconds: 10,
      failureThreshold: 1800,
    },
    livenessProbe: {
      ...script('live.sh'),
      periodSeconds: 10,
      timeoutSeconds: 10,
      failureThreshold: 6,
    },
    readinessProbe: {
      ...script('ready.sh'),
      periodSeconds: 2,
      timeoutSeconds: 5,
      failureThreshold: 3,
      successThreshold: 1,
    },
  };
}

/**
 * The user's affinity, else: prefer one pod of the cluster per node, and per
 * zone where the nodes carry the zone label (a term no node matches changes
 * nothing). Preferred, not required: a required rule leaves pods Pending on a
 * cluster with fewer nodes than replicas and during a drain; `kpg describe`
 * warns instead when members share a node.
 */
function affinity(c: PostgresCluster): Obj {
  if (c.podTemplate.affinity) return c.podTemplate.affinity;
  const term = (weight: number, topologyKey: string) => ({
    weight,
    podAffinityTerm: { labelSelector: { matchLabels: selectorLabels(c) }, topologyKey },
  });
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        term(100, 'kubernetes.io/hostname'),
        term(50, 'topology.kubernetes.io/zone'),
      ],
    },
  };
}

function container(c: PostgresCluster, agent: boolean): Obj {
  return {
    name: 'postgres',
    image: c.image,
    // No reliance on the image's entrypoint: start.sh does all of it
    // (agent-start.sh, which sources it, with the in-pod agent).
    command: ['bash', `${Paths.scriptsDir}/${agent ? 'agent-start.sh' : 'start.sh'}`],
    env: env(c, agent),
    ports: [{ name: 'api', containerPort: PG_PORT, protocol: 'TCP' }],
    volumeMounts: volumeMounts(c, agent),
    ...probes(),
    // A fast shutdown (SIGTERM alone is PostgreSQL's "smart" one, which waits
    // for every client) so the pod stops cleanly within the grace period and
    // a former primary can be rewound.
    lifecycle: {
      preStop: {
        exec: {
          command: [
            'bash',
            '-c',
            agent
              ? AGENT_PRESTOP
              : 'pg_ctl -D "$PGDATA" -m fast -w -t 25 stop >/dev/null 2>&1 || true',
          ],
        },
      },
    },
    ...(c.podTemplate.resources ? { resources: c.podTemplate.resources } : {}),
    securityContext: RESTRICTED_CONTAINER,
  };
}

/**
 * What Pod Security's `restricted` level asks of every container (the
 * agent's too): no privilege escalation, no capabilities, a read-only root
 * filesystem (every path written is a volume: PGDATA, the socket directory,
 * /tmp, the agent's shared directory).
 */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
} as const;

function podSpec(c: PostgresCluster, ns: string): Obj {
  const t = c.podTemplate;
  const agent = agentEnabled(c);
  // The storage sidecar first: a restore needs it before postgres starts.
  const sidecars = [
    storageContainer(c, ns, RESTRICTED_CONTAINER),
    agent ? agentContainer(c) : undefined,
  ].filter((x): x is Obj => x !== undefined);
  return {
    serviceAccountName: agent ? agentAccountName(c.name) : objectNames(c.name).main,
    // With the agent the token is mounted into its container only (agentVolumes).
    automountServiceAccountToken: !agent,
    terminationGracePeriodSeconds: 30,
    // Pod Security `restricted`: a namespace that enforces it admits these pods.
    securityContext: {
      runAsUser: POSTGRES_UID,
      runAsGroup: POSTGRES_UID,
      fsGroup: POSTGRES_UID,
      // A large volume is not walked on every start when its owner is right already.
      fsGroupChangePolicy: 'OnRootMismatch',
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // No NAME_PORT_5432_TCP… variables for every Service in the namespace.
    enableServiceLinks: false,
    ...(sidecars.length > 0 ? { initContainers: sidecars } : {}),
    containers: [container(c, agent)],
    volumes: volumes(c, ns, agent),
    affinity: affinity(c),
    ...(t.nodeSelector ? { nodeSelector: t.nodeSelector } : {}),
    ...(t.tolerations ? { tolerations: t.tolerations } : {}),
    ...(t.imagePullSecrets ? { imagePullSecrets: t.imagePullSecrets } : {}),
    ...(t.schedulerName ? { schedulerName: t.schedulerName } : {}),
    ...(t.priorityClassName ? { priorityClassName: t.priorityClassName } : {}),
  };
}

function volumeClaimTemplates(c: PostgresCluster): Obj[] {
  if (ephemeral(c) || !c.storage) return [];
  const s = c.storage;
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', labels: baseLabels(c) },
      spec: {
        accessModes: [...s.accessModes],
        ...(s.storageClassName !== undefined ? { storageClassName: s.storageClassName } : {}),
        resources: { requests: { storage: s.size } },
      },
    },
  ];
}

/** podTemplate.controller.annotations, for the StatefulSet itself. */
function controllerAnnotations(c: PostgresCluster): Record<string, string> | undefined {
  const a = c.podTemplate.controller?.annotations ?? {};
  return Object.keys(a).length > 0 ? { ...a } : undefined;
}

/** Short hash of the rendered configuration: the pods roll when it changes. */
export function configHash(config: KubeObject): string {
  return shortHash(JSON.stringify(config['data']));
}

/** The 16 hex digits kpg puts on pod templates (config and agent bundle hashes). */
export const shortHash = (text: string) =>
  createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * StatefulSet NAME. Parallel pod management: a standby must not wait for a
 * lower ordinal, which after a failover may no longer be the primary.
 */
export function renderStatefulSet(
  c: PostgresCluster,
  namespace: string,
  config: KubeObject,
  agentBundle?: string,
): KubeObject {
  const claims = volumeClaimTemplates(c);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: objectNames(c.name).main,
      namespace,
      labels: { ...(c.podTemplate.controller?.labels ?? {}), ...baseLabels(c) },
      ...(controllerAnnotations(c) ? { annotations: controllerAnnotations(c) } : {}),
    },
    spec: {
      serviceName: objectNames(c.name).podsService,
      replicas: c.replicas,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: c.updateStrategy.type },
      selector: { matchLabels: selectorLabels(c) },
      template: {
        metadata: {
          labels: podLabels(c),
          annotations: {
            ...c.podTemplate.annotations,
            [CONFIG_HASH_ANNOTATION]: configHash(config),
            // A new agent runs only in a new container: roll the pods when the bundle changes.
            ...(agentBundle !== undefined
              ? { [AGENT_HASH_ANNOTATION]: shortHash(agentBundle) }
              : {}),
          },
        },
        spec: podSpec(c, namespace),
      },
      ...(claims.length > 0 ? { volumeClaimTemplates: claims } : {}),
    },
  };
}
