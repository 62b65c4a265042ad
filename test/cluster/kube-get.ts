// `kubectl get … -o json` answered in the test process: the tests poll the
// cluster several times a second, and each kubectl is a process costing about
// 0.13 s of CPU on a 2-core machine that the clusters under test need. A
// keep-alive HTTPS client with the admin kubeconfig's certificate reads the
// same objects. Only plain reads are served here (a namespace, a label
// selector, one resource of the table below, by name or as a list); anything
// else goes to kubectl as before.
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';

/** kubectl's names for a resource → its API path and whether it is namespaced. */
const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {};
function add(names: string[], prefix: string, plural: string, namespaced = true): void {
  for (const n of names) RESOURCES[n] = { prefix, plural, namespaced };
}
add(['pod', 'pods', 'po'], '/api/v1', 'pods');
add(['configmap', 'configmaps', 'cm'], '/api/v1', 'configmaps');
add(['secret', 'secrets'], '/api/v1', 'secrets');
add(['service', 'services', 'svc'], '/api/v1', 'services');
add(['event', 'events', 'ev'], '/api/v1', 'events');
add(
  ['pvc', 'persistentvolumeclaim', 'persistentvolumeclaims'],
  '/api/v1',
  'persistentvolumeclaims',
);
add(['quota', 'resourcequota', 'resourcequotas'], '/api/v1', 'resourcequotas');
add(['serviceaccount', 'serviceaccounts', 'sa'], '/api/v1', 'serviceaccounts');
add(['node', 'nodes', 'no'], '/api/v1', 'nodes', false);
add(['namespace', 'namespaces', 'ns'], '/api/v1', 'namespaces', false);
add(['statefulset', 'statefulsets', 'sts'], '/apis/apps/v1', 'statefulsets');
add(['lease', 'leases'], '/apis/coordination.k8s.io/v1', 'leases');
add(
  ['pdb', 'poddisruptionbudget', 'poddisruptionbudgets'],
  '/apis/policy/v1',
  'poddisruptionbudgets',
);
add(['endpointslice', 'endpointslices'], '/apis/discovery.k8s.io/v1', 'endpointslices');
add(['role', 'roles'], '/apis/rbac.authorization.k8s.io/v1', 'roles');
add(['rolebinding', 'rolebindings'], '/apis/rbac.authorization.k8s.io/v1', 'rolebindings');

export interface GetRequest {
  path: string;
  /** A list (no name given): kubectl wraps it as kind List with typed items. */
  list: boolean;
}

/**
 * The API path of `kubectl get ARGS -o json`, or undefined when ARGS ask for
 * more than a plain read (several resources, field selectors, other flags).
 */
export function getPath(args: readonly string[]): GetRequest | undefined {
  let ns: string | undefined;
  let selector: string | undefined;
  let all = false;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-n' || a === '--namespace') ns = args[++i];
    else if (a.startsWith('--namespace=')) ns = a.slice('--namespace='.length);
    else if (a === '-l' || a === '--selector') selector = args[++i];
    else if (a === '-A' || a === '--all-namespaces') all = true;
    else if (a.startsWith('-')) return undefined;
    else words.push(a);
  }
  const [first, name, ...rest] = words.flatMap((w) => w.split('/'));
  if (!first || rest.length || first.includes(',') || (name && selector)) return undefined;
  const r = RESOURCES[first];
  if (!r) return undefined;
  if (r.namespaced && !ns && !all) return undefined; // kubectl's default namespace: leave it to kubectl
  const base =
    r.namespaced && !all ? `${r.prefix}/namespaces/${ns}/${r.plural}` : `${r.prefix}/${r.plural}`;
  if (name) return { path: `${base}/${encodeURIComponent(name)}`, list: false };
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  return { path: base + q, list: true };
}

interface Credentials {
  server: URL;
  ca: string;
  cert: string;
  key: string;
  agent: Agent;
  mtimeMs: number;
}
let creds: Credentials | undefined;

interface KubeconfigFile {
  clusters?: { cluster?: Record<string, string> }[];
  users?: { user?: Record<string, string> }[];
}

/** The admin kubeconfig's server and certificates (read again when the file changes: a cluster restart). */
function credentials(kubeconfig: string): Credentials | undefined {
  const mtimeMs = statSync(kubeconfig).mtimeMs;
  if (creds?.mtimeMs === mtimeMs) return creds;
  creds?.agent.destroy();
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigFile;
  const c = kc.clusters?.[0]?.cluster ?? {};
  const u = kc.users?.[0]?.user ?? {};
  const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : '');
  const ca = b64(c['certificate-authority-data']);
  const cert = b64(u['client-certificate-data']);
  const key = b64(u['client-key-data']);
  if (!c['server'] || !ca || !cert || !key) return (creds = undefined);
  creds = {
    server: new URL(c['server']),
    ca,
    cert,
    key,
    agent: new Agent({ keepAlive: true, maxSockets: 8 }),
    mtimeMs,
  };
  return creds;
}

/**
 * GETs the path; resolves with kubectl's JSON (a List for a list) or rejects
 * with kubectl's wording ("Error from server (NotFound): …"). Undefined when
 * the kubeconfig has no client certificate.
 */
export async function directGet(
  kubeconfig: string,
  req: GetRequest,
  timeoutMs = 60_000,
): Promise<unknown> {
  const k = credentials(kubeconfig);
  if (!k) return undefined;
  const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const r = request(
      {
        host: k.server.hostname,
        port: k.server.port,
        path: req.path,
        method: 'GET',
        ca: k.ca,
        cert: k.cert,
        key: k.key,
        agent: k.agent,
        headers: { accept: 'application/json' },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`GET ${req.path}: no answer in ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end();
  });
  const obj = JSON.parse(body.text) as {
    kind?: string;
    apiVersion?: string;
    reason?: string;
    message?: string;
    items?: Record<string, unknown>[];
  };
  if (body.status < 200 || body.status > 299)
    throw new Error(
      `Error from server (${obj.reason ?? body.status}): ${obj.message ?? body.text}`,
    );
  if (!req.list) return obj;
  const kind = (obj.kind ?? '').replace(/List$/, '');
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: (obj.items ?? []).map((i) => ({ apiVersion: obj.apiVersion, kind, ...i })),
    metadata: { resourceVersion: '' },
  };
}

/** `-o json`, or `-o jsonpath={.a.b}` (a plain dotted path), else undefined. */
function outputOf(o: string | undefined): ((v: unknown) => string) | undefined {
  if (o === 'json') return (v) => `${JSON.stringify(v, null, 4)}\n`;
  const m = /^jsonpath=\{((?:\.[A-Za-z0-9_-]+)+)\}$/.exec(o ?? '');
  if (!m?.[1]) return undefined;
  const keys = m[1].slice(1).split('.');
  return (v) => {
    let cur: unknown = v;
    for (const k of keys) cur = (cur as Record<string, unknown> | undefined)?.[k];
    if (cur === undefined || cur === null) return '';
    return typeof cur === 'object' ? JSON.stringify(cur) : String(cur as string | number);
  };
}

/**
 * `kubectl ARGS` for a plain `get … -o json|jsonpath={.a.b}` of one resource,
 * answered in this process with kubectl's output and exit code; undefined for
 * anything else (and for a list asked for a jsonpath, which kubectl ranges).
 */
export async function directKubectl(
  kubeconfig: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string; code: number } | undefined> {
  const rest = [...args];
  const verb = rest.indexOf('get');
  if (verb < 0 || rest.lastIndexOf('get') !== verb) return undefined;
  rest.splice(verb, 1);
  const o = rest.findIndex((a) => a === '-o' || a === '--output');
  if (o < 0) return undefined;
  const json = rest[o + 1] === 'json';
  const format = outputOf(rest[o + 1]);
  rest.splice(o, 2);
  const req = format && getPath(rest);
  if (!format || !req || (req.list && !json)) return undefined;
  try {
    const v = await directGet(kubeconfig, req);
    if (v === undefined) return undefined;
    return { stdout: format(v), stderr: '', code: 0 };
  } catch (e) {
    return { stdout: '', stderr: `${(e as Error).message}\n`, code: 1 };
  }
}
