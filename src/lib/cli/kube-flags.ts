/**
 * kubectl-style common flags shared by every command that talks to a cluster
 * (create, get, describe, apply, delete...):
 *
 *   --kubeconfig FILE      a single kubeconfig file (else KUBECONFIG, else ~/.kube/config)
 *   --context NAME         a context of the kubeconfig (else its current-context)
 *   -n, --namespace NS     the namespace (else the context's, else "default")
 *   -A, --all-namespaces   every namespace (list-style commands)
 *   -l, --selector SEL     a label selector (list-style commands)
 *   --request-timeout D    the longest one API request may take, retries included
 *
 * Spread what you need into a command's `flags`:
 *
 *   static override flags = { ...kubeFlags, ...listFlags, name: Flags.string() };
 *
 * then build the client with `kubeFromFlags(this.flags, this.terminal.env)`.
 */
import { Flags } from '@oclif/core';
import { InvalidInputError } from '../errors.js';
import { parseDuration } from './duration.js';
import { createKube, type Kube, type KubeOptions } from '../kube/index.js';

/** Flags that pick the cluster and namespace. */
export const kubeFlags = {
  kubeconfig: Flags.string({
    summary: 'Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).',
    helpGroup: 'KUBERNETES',
  }),
  context: Flags.string({
    summary: 'The kubeconfig context to use (default: its current-context).',
    helpGroup: 'KUBERNETES',
  }),
  namespace: Flags.string({
    char: 'n',
    summary: 'Namespace (default: the context\'s namespace, else "default").',
    helpGroup: 'KUBERNETES',
  }),
  'request-timeout': Flags.string({
    summary:
      'The longest one request to the API server may take, retries included (e.g. 10s, 1m; 0: up to 24h).',
    default: '30s',
    helpGroup: 'KUBERNETES',
  }),
};

/** -n is a DNS-1123 label, as every namespace is: `-n ..` must not turn into a path. */
export function checkNamespace(ns: string): string {
  if (ns.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) {
    throw new InvalidInputError(
      `--namespace ${JSON.stringify(ns)} is not a namespace name: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit`,
    );
  }
  return ns;
}

/** Milliseconds of --request-timeout ("0" is kubectl's "no limit", capped at a day). */
export function requestTimeoutMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bounds = { minMs: 0, maxMs: 24 * 3_600_000 };
  const ms = parseDuration(text, '--request-timeout', bounds);
  if (ms === 0) return bounds.maxMs;
  if (ms < 100) {
    throw new InvalidInputError(
      `--request-timeout ${JSON.stringify(text)} is too short: use 0 (no limit) or at least 100ms`,
    );
  }
  return ms;
}

/** Flags of commands that list: every namespace, and a label selector. */
export const listFlags = {
  'all-namespaces': Flags.boolean({
    char: 'A',
    summary: 'List across all namespaces (ignores --namespace).',
    helpGroup: 'KUBERNETES',
  }),
  selector: Flags.string({
    char: 'l',
    summary: 'Label selector to filter on, e.g. -l env=prod,team!=ops.',
    helpGroup: 'KUBERNETES',
  }),
};

/** -o text|json|yaml, for commands that report one outcome (pause, resume). */
export const textOutputFlag = {
  output: Flags.string({
    char: 'o',
    summary: 'Output format.',
    options: ['text', 'json', 'yaml'],
    default: 'text',
    helpGroup: 'GLOBAL',
  }),
};

/** The parsed values of kubeFlags (and optionally listFlags). */
export interface KubeFlagValues {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  'all-namespaces'?: boolean;
  selector?: string;
  'request-timeout'?: string;
}

/** The KubeOptions the flags ask for (KUBECONFIG comes from `env`). */
export function kubeOptions(
  flags: KubeFlagValues,
  env: Record<string, string | undefined> = process.env,
): KubeOptions {
  const timeout = requestTimeoutMs(flags['request-timeout']);
  if (flags.namespace !== undefined) checkNamespace(flags.namespace);
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    namespace: flags.namespace,
    env: env as NodeJS.ProcessEnv,
    // One attempt may use the whole budget; retries get what is left.
    ...(timeout !== undefined ? { retry: { deadlineMs: timeout, attemptTimeoutMs: timeout } } : {}),
  };
}

/** Loads the kubeconfig as the flags say and returns the client. */
export function kubeFromFlags(
  flags: KubeFlagValues,
  env: Record<string, string | undefined> = process.env,
  extra: Partial<KubeOptions> = {},
): Promise<Kube> {
  return createKube({ ...kubeOptions(flags, env), ...extra });
}

/**
 * Where a list-style command looks: every namespace with -A, else -n, else the
 * context's namespace (`kube.namespace` already applies that precedence).
 */
export function listScope(
  flags: KubeFlagValues,
  kube: Pick<Kube, 'namespace'>,
): { allNamespaces: boolean; namespace: string } {
  return { allNamespaces: flags['all-namespaces'] === true, namespace: kube.namespace };
}

/** Joins our own label selector with the user's -l (comma = AND, as in kubectl). */
export function joinSelectors(...parts: (string | undefined)[]): string | undefined {
  const s = parts.map((p) => p?.trim()).filter((p): p is string => !!p);
  return s.length > 0 ? s.join(',') : undefined;
}
