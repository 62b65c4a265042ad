/**
 * The in-pod agent (issue 10), in every cluster's pods unless the manifest
 * opts out with the annotation `kpg.io/agent: "false"`: its native sidecar,
 * the ConfigMap that delivers its bundle, and the narrowed RBAC it runs with. Pure; the bundle's text is
 * an input (RenderOptions.agentBundle), read by the command.
 *
 * The contract with the agent (env, files in KPG_HA_DIR, peer port) is
 * src/agent/README.md; the postgres container's side is scripts/agent-start.sh.
 */
import { InvalidInputError } from '../errors.js';
import type { PostgresCluster } from '../manifest/types.js';
import { baseLabels, objectNames } from './labels.js';
import { Paths } from './paths.js';
import { SecretKeys, authSecretName } from './secret.js';
import { slotWalKeepMb } from './slots.js';
import { versionTraits } from './version.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, unknown>;

export const AGENT_ANNOTATION = 'kpg.io/agent';
export const AGENT_IMAGE_ANNOTATION = 'kpg.io/agent-image';
/** A Node.js LTS still supported (Node 20 is past its end of life); the bundle targets node20 and later. */
export const DEFAULT_AGENT_IMAGE = 'node:22-slim';
export const AGENT_PORT = 8008;
/** The agent's container (a native sidecar, among the pod's initContainers). */
export const AGENT_CONTAINER = 'kpg-agent';
/** Hash of the bundle on the pod template of clusters with the agent. */
export const AGENT_HASH_ANNOTATION = 'kpg.io/agent-hash';
/** Key of the bundle in its ConfigMap, and its file name in the container. */
export const AGENT_BUNDLE_KEY = 'kpg-agent.cjs';
/** A ConfigMap holds at most 1 MiB in all; leave room for its metadata. */
export const AGENT_BUNDLE_MAX_BYTES = 1000 * 1024;

export const AgentPaths = {
  /** The emptyDir shared by the agent and the postgres container (deadline, role, start-state...). */
  haDir: '/run/kpg',
  bundleDir: '/opt/kpg',
  bundle: `/opt/kpg/${AGENT_BUNDLE_KEY}`,
  /** Where client libraries (and the agent's default KPG_SERVICEACCOUNT_DIR) look for the token. */
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
} as const;

export function agentEnabled(c: Pick<PostgresCluster, 'annotations'>): boolean {
  return c.annotations[AGENT_ANNOTATION] !== 'false';
}

export function agentImage(c: Pick<PostgresCluster, 'annotations'>): string {
  return c.annotations[AGENT_IMAGE_ANNOTATION] || DEFAULT_AGENT_IMAGE;
}

/**
 * The ServiceAccount, Role and RoleBinding of a cluster with the agent. A dot
 * cannot appear in a cluster's name (a DNS-1123 label), so this name never
 * meets another cluster's objects, nor the namespace's `default` account.
 */
export function agentAccountName(name: string): string {
  return `${name}.kpg-agent`;
}

export function agentBundleName(name: string): string {
  return `${name}-kpg-agent`;
}

/** The bundle must be given and fit in a ConfigMap; says which cluster needs it. */
export function checkAgentBundle(
  c: Pick<PostgresCluster, 'name'>,
  bundle: string | undefined,
): string {
  if (bundle === undefined || bundle === '') {
    throw new InvalidInputError(
      `postgres "${c.name}" runs the in-pod agent (${AGENT_ANNOTATION} is not "false"), but no agent bundle was given to render it`,
      { suggestions: ['build it with npm run build (it writes dist/agent/kpg-agent.cjs)'] },
    );
  }
  const size = Buffer.byteLength(bundle, 'utf8');
  if (size > AGENT_BUNDLE_MAX_BYTES) {
    throw new InvalidInputError(
      `the agent bundle is ${size} bytes: more than a ConfigMap holds (${AGENT_BUNDLE_MAX_BYTES})`,
    );
  }
  return bundle;
}

/** ConfigMap NAME-kpg-agent: the agent's one JavaScript file. */
export function renderAgentBundle(
  c: PostgresCluster,
  namespace: string,
  bundle: string,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: agentBundleName(c.name), namespace, labels: baseLabels(c) },
    data: { [AGENT_BUNDLE_KEY]: bundle },
  };
}

/**
 * RBAC of a cluster with the agent: only what the agents do, by name wherever the
 * API allows it, and nothing on Secrets. start.sh no longer calls the API in
 * this mode (the agent labels the pods and tells start.sh its role), so the
 * postgres container gets no token at all.
 */
export function renderAgentRbac(c: PostgresCluster, namespace: string): KubeObject[] {
  const names = objectNames(c.name);
  const account = agentAccountName(c.name);
  const pods = Array.from({ length: c.replicas }, (_, i) => `${c.name}-${i}`);
  const metadata = () => ({ name: account, namespace, labels: baseLabels(c) });
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(),
      // Mounted explicitly, into the agent's container only.
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: metadata(),
      rules: [
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [`${c.name}-primary`],
          verbs: ['get', 'update', 'patch'],
        },
        // The first agent creates the Lease. The API cannot limit create by
        // resourceNames (the name is not known to the authorizer before the
        // object exists), so this allows creating any Lease in the namespace;
        // it cannot touch an existing one.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: [names.record],
          verbs: ['get', 'update', 'patch'],
        },
        // Its own cluster's pods only (role labels, peers' IPs). Scaling
        // re-renders this list; list and watch are not needed: the agent
        // reads each pod by name.
        { apiGroups: [''], resources: ['pods'], resourceNames: pods, verbs: ['get', 'patch'] },
        // The replica count, to know its peers.
        {
          apiGroups: ['apps'],
          resources: ['statefulsets'],
          resourceNames: [names.main],
          verbs: ['get'],
        },
        // Events are created under generated names, so create cannot be narrowed either.
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    },
  ];
}

const field = (name: string, fieldPath: string) => ({
  name,
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
});

/** The agent's environment, as src/agent/config.ts reads it. */
function agentEnv(c: PostgresCluster): Obj[] {
  const le = c.leaderElection;
  return [
    { name: 'KPG_CLUSTER', value: c.name },
    field('POD_NAMESPACE', 'metadata.namespace'),
    field('POD_NAME', 'metadata.name'),
    field('POD_UID', 'metadata.uid'),
    field('POD_IP', 'status.podIP'),
    { name: 'KPG_PG_MAJOR', value: c.major },
    { name: 'KPG_STREAMING_MODE', value: c.streamingMode },
    // Absent only in clusters built by hand: the agent's defaults then.
    ...(le
      ? [
          { name: 'KPG_LEASE_DURATION_SECONDS', value: String(le.leaseDurationSeconds) },
          { name: 'KPG_RENEW_DEADLINE_SECONDS', value: String(le.renewDeadlineSeconds) },
          { name: 'KPG_RETRY_PERIOD_SECONDS', value: String(le.retryPeriodSeconds) },
          { name: 'KPG_MAXIMUM_LAG_BEFORE_FAILOVER', value: String(le.maximumLagBeforeFailover) },
        ]
      : []),
    { name: 'KPG_HA_DIR', value: AgentPaths.haDir },
    { name: 'KPG_PG_SOCKET_DIR', value: Paths.socketDir },
    // The superuser's name (never its password): a user's own Secret may name
    // another than postgres, and then no role postgres exists. The kubelet
    // resolves it; the agent's ServiceAccount reads no Secret.
    {
      name: 'KPG_PG_USER',
      valueFrom: {
        secretKeyRef: {
          name: authSecretName(c),
          key: SecretKeys.user,
          ...(c.databaseSecretName !== undefined ? { optional: true } : {}),
        },
      },
    },
    { name: 'KPG_TRIGGER_FILE', value: agentTriggerFile },
    { name: 'KPG_AGENT_PORT', value: String(AGENT_PORT) },
    // postgres bounds its slots from 13 (max_slot_wal_keep_size); before, the agent does.
    ...(versionTraits(c.major).walKeepSize
      ? []
      : [{ name: 'KPG_SLOT_WAL_KEEP_MB', value: String(slotWalKeepMb(c)) }]),
  ];
}

/** Below PostgreSQL 12 the agent promotes by this file; recovery.conf's trigger_file names it. */
export const agentTriggerFile = `${AgentPaths.haDir}/promote`;

const healthz = { httpGet: { path: '/healthz', port: AGENT_PORT, scheme: 'HTTP' } };

/**
 * The agent as a native sidecar: it starts before postgres (which waits for
 * its `role` file) and is stopped only after postgres has exited, so a
 * stopping primary's agent can still hand the lease over.
 */
export function agentContainer(c: PostgresCluster): Obj {
  return {
    name: AGENT_CONTAINER,
    image: agentImage(c),
    restartPolicy: 'Always',
    command: ['node', AgentPaths.bundle],
    env: agentEnv(c),
    ports: [{ name: 'agent', containerPort: AGENT_PORT, protocol: 'TCP' }],
    volumeMounts: [
      { name: 'kpg-agent', mountPath: AgentPaths.bundleDir, readOnly: true },
      { name: 'kpg-ha', mountPath: AgentPaths.haDir },
      { name: 'run', mountPath: Paths.socketDir },
      { name: 'kpg-api-token', mountPath: AgentPaths.serviceAccountDir, readOnly: true },
    ],
    // Postgres starts once the agent serves (its start gate needs the agent anyway).
    startupProbe: { ...healthz, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 120 },
    livenessProbe: { ...healthz, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    securityContext: {
      // As postgres (uid 999): the socket and the shared files are its.
      runAsUser: 999,
      runAsGroup: 999,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    },
  };
}

/** The pod's extra volumes: the bundle, the shared emptyDir, the agent's token. */
export function agentVolumes(c: PostgresCluster): Obj[] {
  return [
    {
      name: 'kpg-agent',
      configMap: {
        name: agentBundleName(c.name),
        items: [{ key: AGENT_BUNDLE_KEY, path: AGENT_BUNDLE_KEY }],
      },
    },
    // A few bytes, read every 100 ms by the watchdog: memory.
    { name: 'kpg-ha', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    // What the ServiceAccount admission would mount in every container,
    // mounted by hand so that only the agent's container has it.
    {
      name: 'kpg-api-token',
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
      },
    },
  ];
}

/** The postgres container's additions for agent-start.sh: the shared directory and files in it. */
export function postgresAgentEnv(): Obj[] {
  return [
    { name: 'KPG_HA_DIR', value: AgentPaths.haDir },
    // The agent reads start.sh's progress here (live.sh too, from the same variable).
    { name: 'KPG_STATE', value: `${AgentPaths.haDir}/start-state` },
    { name: 'KPG_TRIGGER', value: agentTriggerFile },
  ];
}

export const POSTGRES_AGENT_ENV_NAMES = ['KPG_HA_DIR', 'KPG_STATE', 'KPG_TRIGGER'];

export function postgresAgentMounts(): Obj[] {
  return [{ name: 'kpg-ha', mountPath: AgentPaths.haDir }];
}

/**
 * preStop in agent mode: tell the agent the pod is stopping (it then hands
 * the lease over once the shutdown checkpoint is written), the same fast
 * shutdown as without the agent, then write that checkpoint from the hook:
 * the SIGTERM that follows the hook may cut the container's script short.
 */
export const AGENT_PRESTOP =
  ': >"$KPG_HA_DIR/shutting-down"; pg_ctl -D "$PGDATA" -m fast -w -t 25 stop >/dev/null 2>&1; ' +
  'bash /scripts/agent-start.sh prestop-checkpoint >/dev/null 2>&1 || true';
