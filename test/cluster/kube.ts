// Helpers for tests that talk to the local cluster (test/cluster/cluster.sh)
// through the cluster's own kubectl and admin kubeconfig.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { directKubectl } from './kube-get.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const clusterDir = join(repoRoot, '.cluster');
export const kubeconfigPath = join(clusterDir, 'kubeconfig');
export const kubectlPath = join(clusterDir, 'bin', 'kubectl');
export const clusterScript = join(repoRoot, 'test', 'cluster', 'cluster.sh');

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when killed (timeout or signal). */
  code: number;
  /** Wall time in milliseconds. */
  ms: number;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Kill the process (SIGKILL) after this many ms; default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each chunk of stdout as it comes (a test timing what the process says). */
  onStdout?: (chunk: string) => void;
  /** The same for stderr. */
  onStderr?: (chunk: string) => void;
}

/** Runs a program without a shell; never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ stdout, stderr, code: code ?? -1, ms: Date.now() - started });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * `kubectl --kubeconfig .cluster/kubeconfig ARGS`; a plain `get -o json` (or
 * a simple jsonpath) of one resource is answered in this process (kube-get.ts).
 */
export async function kubectl(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (opts.input === undefined && !opts.onStdout && !opts.onStderr) {
    const started = Date.now();
    const direct = await directKubectl(kubeconfigPath, args);
    if (direct) return { ...direct, ms: Date.now() - started };
  }
  return run(kubectlPath, ['--kubeconfig', kubeconfigPath, ...args], opts);
}

/** Like kubectl() but throws (with stderr) unless the exit code is 0; returns stdout. */
export async function kubectlOk(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await kubectl(args, opts);
  if (r.code !== 0) {
    throw new Error(
      `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return r.stdout;
}

/** kubectl get -o json, parsed. */
export async function getJson<T = unknown>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectlOk(['get', ...args, '-o', 'json'])) as T;
}

/** kubectl apply -f - in a namespace. */
export async function apply(namespace: string, manifest: string): Promise<string> {
  return kubectlOk(['-n', namespace, 'apply', '-f', '-'], { input: manifest });
}

/** kubectl exec POD [-c CONTAINER] -- CMD... */
export function exec(
  namespace: string,
  pod: string,
  cmd: readonly string[],
  opts: RunOptions & { container?: string } = {},
): Promise<RunResult> {
  const c = opts.container ? ['-c', opts.container] : [];
  return kubectl(['-n', namespace, 'exec', pod, ...c, '--', ...cmd], opts);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns a truthy value (which is returned) or throws
 * after timeoutMs with the last error or falsy result in the message.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  opts: { intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}: ${detail}`,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

let nsCounter = 0;
/** Every namespace createNamespace made in this process: a failed e2e test's logs are cut to them. */
export const createdNamespaces: string[] = [];
/** Creates a fresh namespace named <prefix>-<random> and returns its name. */
export async function createNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${Date.now().toString(36).slice(-5)}${(nsCounter++).toString(36)}`;
  createdNamespaces.push(ns);
  await kubectlOk(['create', 'namespace', ns]);
  await waitFor(
    async () => Boolean(await getJson(['-n', ns, 'serviceaccount', 'default'])),
    30_000,
    {
      what: `default ServiceAccount in ${ns}`,
    },
  );
  return ns;
}

/** Deletes a namespace and waits until it is gone. */
export async function deleteNamespace(ns: string, timeoutMs = 120_000): Promise<void> {
  await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  // A test's teardown: its pods go at once (the terminating namespace takes
  // no replacement). A graceful stop of every pod of a cluster (each
  // primary's agent waiting out its handover timeout for a standby that is
  // stopping too) cost ~30 s per file, alone on the cluster for serial files.
  const force = ['delete', 'pods', '--all', '--grace-period=0', '--force', '--wait=false'];
  await kubectl(['-n', ns, ...force]);
  const gone = ['get', 'namespace', ns, '-o', 'jsonpath={.metadata.name}'];
  await waitFor(async () => (await kubectl(gone)).code !== 0, timeoutMs, {
    what: `namespace ${ns} to be deleted`,
    intervalMs: 500,
  });
}

/** Pod names in a namespace matching a label selector, sorted. */
export async function podNames(namespace: string, selector: string): Promise<string[]> {
  const out = await kubectlOk(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'name']);
  return out
    .split('\n')
    .map((l) => l.trim().replace(/^pod\//, ''))
    .filter(Boolean)
    .sort();
}

/** True when the pod's Ready condition is True. */
export async function podReady(namespace: string, pod: string): Promise<boolean> {
  const r = await kubectl([
    '-n',
    namespace,
    'get',
    'pod',
    pod,
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return r.code === 0 && r.stdout.trim() === 'True';
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePromise(port));
    });
  });
}

export interface PortForward {
  localPort: number;
  output: () => string;
  close: () => Promise<void>;
}

/** kubectl port-forward pod/POD LOCAL:REMOTE on 127.0.0.1; resolves once it is forwarding. */
export async function portForward(
  namespace: string,
  pod: string,
  remotePort: number,
): Promise<PortForward> {
  const localPort = await freePort();
  const child = spawn(
    kubectlPath,
    [
      '--kubeconfig',
      kubeconfigPath,
      '-n',
      namespace,
      'port-forward',
      '--address',
      '127.0.0.1',
      `pod/${pod}`,
      `${localPort}:${remotePort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`port-forward exited: ${out}`);
        return out.includes('Forwarding from');
      },
      30_000,
      { what: `port-forward to ${namespace}/${pod}:${remotePort}` },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { localPort, output: () => out, close };
}

/** bash test/cluster/cluster.sh <args>. */
export function clusterSh(args: readonly string[], timeoutMs = 600_000): Promise<RunResult> {
  return run('bash', [clusterScript, ...args], { timeoutMs });
}
