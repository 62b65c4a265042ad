// Loading the kubeconfig the way kubectl does.
//
// client-node's KubeConfig.loadFromDefault differs from kubectl in ways that
// matter to us, so we merge the files ourselves and only use client-node to
// parse each one (and later to authenticate):
//   - a KUBECONFIG entry that does not exist is skipped (client-node throws);
//   - the first file to define a cluster/user/context name wins (client-node
//     throws "Duplicate cluster");
//   - current-context is the first non-empty one (client-node takes the last);
//   - nothing found means an error, not a silent http://localhost:8080;
//   - a token read from token-file is trimmed (a trailing newline would make an
//     invalid Authorization header);
//   - an http:// server works without insecure-skip-tls-verify (client-node
//     refuses it; TLS settings are meaningless there).
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Cluster, Context, KubeConfig, User } from '@kubernetes/client-node';
import { KubeconfigError } from './errors.js';

export interface KubeconfigOptions {
  /** --kubeconfig: a single file, used alone. */
  kubeconfig?: string;
  /** --context: overrides current-context. */
  context?: string;
  /** --namespace: overrides the context's namespace. */
  namespace?: string;
  /** Environment to read KUBECONFIG / KUBERNETES_SERVICE_* from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Home directory holding .kube/config (default os.homedir()). */
  homeDir?: string;
  /** Prefix for the in-cluster service account files (tests). */
  inClusterRoot?: string;
}

export interface LoadedKubeconfig {
  kc: KubeConfig;
  contextName: string;
  namespace: string;
  server: string;
  /** The files merged, in order, or ['in-cluster']. */
  sources: string[];
}

/** The parts of client-node kpg uses. */
export type ClientNode = Pick<
  typeof import('@kubernetes/client-node'),
  'KubeConfig' | 'Exec' | 'PortForward'
>;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

// Built beside dist/lib/kube/ by scripts/build-client-node.mjs.
const BUNDLE = new URL('../../vendor/client-node.js', import.meta.url);

/**
 * Lazily loads client-node: the bundle of the parts kpg uses, or (running
 * from src, where there is none) the package, whose index takes most of a
 * second of CPU to import.
 */
export async function loadClientNode(): Promise<ClientNode> {
  try {
    return (await import(BUNDLE.href)) as ClientNode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return import('@kubernetes/client-node');
  }
}

export async function loadKubeconfig(opts: KubeconfigOptions = {}): Promise<LoadedKubeconfig> {
  const k8s = await loadClientNode();
  return loadKubeconfigWith(k8s, opts);
}

export function loadKubeconfigWith(k8s: ClientNode, opts: KubeconfigOptions): LoadedKubeconfig {
  const env = opts.env ?? process.env;
  const files = kubeconfigFiles(opts, env);
  if (files.length === 0) {
    const inCluster = loadInCluster(k8s, env, opts.inClusterRoot ?? '');
    if (inCluster) return select(inCluster, ['in-cluster'], opts);
    throw new KubeconfigError(
      'no kubeconfig found and not running inside a cluster',
      'pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config',
    );
  }
  const parsed = files.map((f) => parseFile(k8s, f));
  return select(mergeFirstWins(k8s, parsed), files, opts);
}

/** The kubeconfig files to merge, in precedence order (existing ones only). */
export function kubeconfigFiles(opts: KubeconfigOptions, env: NodeJS.ProcessEnv): string[] {
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) {
      throw new KubeconfigError(
        `kubeconfig file ${opts.kubeconfig} does not exist`,
        'check the --kubeconfig path',
      );
    }
    return [opts.kubeconfig];
  }
  const list = env.KUBECONFIG;
  if (list) {
    const entries = [...new Set(list.split(delimiter).filter((f) => f.length > 0))];
    const present = entries.filter((f) => existsSync(f));
    if (entries.length > 0 && present.length === 0) {
      throw new KubeconfigError(
        `none of the files named by KUBECONFIG exist (${entries.join(delimiter)})`,
        'fix KUBECONFIG or pass --kubeconfig FILE',
      );
    }
    return present;
  }
  const home = opts.homeDir ?? homedir();
  const def = join(home, '.kube', 'config');
  return existsSync(def) ? [def] : [];
}

function parseFile(k8s: ClientNode, file: string): KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    // js-yaml errors quote the offending text, which may be a token: keep only the reason and line.
    const e = err as { reason?: string; mark?: { line?: number }; message?: string; code?: string };
    const detail =
      e.reason !== undefined
        ? `${e.reason}${e.mark?.line !== undefined ? ` at line ${e.mark.line + 1}` : ''}`
        : e.code === 'ENOENT'
          ? `a file it names does not exist (${(err as Error).message.replace(/^.*?'(.*)'.*$/, '$1')})`
          : (e.message ?? String(err)).split('\n')[0];
    throw new KubeconfigError(
      `cannot load kubeconfig ${file}: ${detail}`,
      'fix the file or point --kubeconfig elsewhere',
    );
  }
  return kc;
}

/** Merges parsed kubeconfigs: the first definition of each name wins, as in kubectl. */
export function mergeFirstWins(k8s: ClientNode, configs: KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let current = '';
  for (const kc of configs) {
    for (const c of kc.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of kc.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of kc.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!current && kc.getCurrentContext()) current = kc.getCurrentContext();
  }
  const merged = new k8s.KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()].map(fixCluster),
    users: [...users.values()].map(fixUser),
    contexts: [...contexts.values()],
    currentContext: current,
  });
  return merged;
}

function fixCluster(c: Cluster): Cluster {
  return c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c;
}

function fixUser(u: User): User {
  return typeof u.token === 'string' ? { ...u, token: u.token.trim() } : u;
}

/** What client-node's loadFromCluster does, but reading the env we were given. */
function loadInCluster(
  k8s: ClientNode,
  env: NodeJS.ProcessEnv,
  root: string,
): KubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const dir = `${root}${SA_DIR}`;
  if (!host || !existsSync(`${dir}/token`)) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const h = isIPv6(host) ? `[${host}]` : host;
  const nsFile = `${dir}/namespace`;
  const namespace = existsSync(nsFile)
    ? readFileSync(nsFile, 'utf8').trim() || undefined
    : undefined;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'in-cluster',
        server: `${scheme}://${h}:${port}`,
        caFile: `${dir}/ca.crt`,
        skipTLSVerify: false,
      },
    ],
    users: [
      {
        name: 'in-cluster',
        authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } },
      },
    ],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', namespace }],
    currentContext: 'in-cluster',
  });
  return kc;
}

function select(kc: KubeConfig, sources: string[], opts: KubeconfigOptions): LoadedKubeconfig {
  const names = kc.getContexts().map((c) => c.name);
  const available =
    names.length > 0 ? ` (available: ${names.join(', ')})` : ' (the kubeconfig defines none)';
  const contextName = opts.context ?? kc.getCurrentContext();
  if (!contextName) {
    throw new KubeconfigError(
      `the kubeconfig has no current-context${available}`,
      'pass --context NAME',
    );
  }
  const ctx = kc.getContextObject(contextName);
  if (!ctx) {
    throw new KubeconfigError(
      `context "${contextName}" is not in the kubeconfig${available}`,
      'pass --context with one of those',
    );
  }
  kc.setCurrentContext(contextName);
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeconfigError(
      `context "${contextName}" names cluster "${ctx.cluster}", which the kubeconfig does not define`,
      'fix the kubeconfig',
    );
  }
  if (ctx.user && !kc.getCurrentUser()) {
    throw new KubeconfigError(
      `context "${contextName}" names user "${ctx.user}", which the kubeconfig does not define`,
      'fix the kubeconfig',
    );
  }
  const namespace = opts.namespace || ctx.namespace || 'default';
  return { kc, contextName, namespace, server: cluster.server, sources };
}
