// An S3 server of a test's own, in the test's namespace, on the local
// cluster: versitygw (versity/versitygw:v1.8.0, its posix backend on an
// emptyDir) behind TLS with a certificate of the cluster's CA, and a client
// pod with rclone (rclone/rclone:1.60.1) that trusts that CA, for the tests
// to look into the buckets from inside the cluster as kpg's WAL archiving
// sidecar would. test/cluster/README.md ("S3") describes it.
//
//   const s3 = await deployS3(ns);
//   await s3.createBucket('wal');
//   expect(await s3.list('wal', 'ha-postgres/')).toContain(...);
//   await s3.storageSecret('s3-cred'); // KubeDB's keys, for a backup config
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apply,
  clusterDir,
  getJson,
  kubectl,
  run,
  waitFor,
  type RunResult,
} from '../cluster/kube.js';

export const VERSITYGW_IMAGE = 'versity/versitygw:v1.8.0';
export const RCLONE_IMAGE = 'rclone/rclone:1.60.1';
/** The port versitygw listens on, TLS only; the Service's port is the same (no kube-proxy here). */
export const S3_PORT = 9000;
/** The rclone remote the client pod's environment configures: `s3:<bucket>/<key>`. */
export const REMOTE = 's3';
/** Where the client pod has the cluster's CA certificate. */
export const CLIENT_CA_FILE = '/etc/s3-ca/ca.crt';

export interface S3Options {
  /** Root access key; default random per call. */
  accessKey?: string;
  /** Root secret key; default random per call. */
  secretKey?: string;
  /** How long to wait for both pods to be ready; default 120 s. */
  timeoutMs?: number;
}

export interface RcloneOptions {
  /** Extra environment for this one command (an `env` prefix: never put a real secret here). */
  env?: Record<string, string>;
  /** Environment variables of the pod to drop for this command (`env -u`). */
  unset?: string[];
  /** Written to rclone's stdin. */
  input?: string;
  timeoutMs?: number;
}

export interface StorageSecretOptions {
  /** Default: the server's root access key. */
  accessKey?: string;
  /** Default: the server's root secret key. */
  secretKey?: string;
}

export interface S3 {
  namespace: string;
  /** `https://s3.<ns>.svc:9000`, what a backup configuration names. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The CA that signed the server's certificate (the cluster's CA), PEM. */
  caPem: string;
  /** Region versitygw answers for (its default). */
  region: string;
  /** `rclone ARGS` in the client pod (remote `s3:` configured, CA verified); never throws. */
  rclone(args: readonly string[], opts?: RcloneOptions): Promise<RunResult>;
  createBucket(name: string): Promise<void>;
  /** Object keys under prefix (recursively), sorted. */
  list(bucket: string, prefix?: string): Promise<string[]>;
  /** An object's content. */
  read(bucket: string, key: string): Promise<Buffer>;
  write(bucket: string, key: string, data: string | Buffer): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  /**
   * A Secret `name` in the namespace with KubeDB's keys for S3 storage:
   * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and CA_CERT_DATA (the CA, PEM).
   */
  storageSecret(name: string, opts?: StorageSecretOptions): Promise<void>;
}

const randomKey = (bytes: number): string => randomBytes(bytes).toString('hex');

/**
 * A serving certificate for `s3` in ns, signed by the cluster's CA
 * (.cluster/pki, test/cluster/pki.sh), with openssl as pki.sh does; an EC
 * key, which is quick to make.
 */
async function serverCert(ns: string): Promise<{ crt: string; key: string; ca: string }> {
  const pki = join(clusterDir, 'pki');
  const dir = mkdtempSync(join(tmpdir(), 'kpg-s3-'));
  try {
    const names = ['s3', `s3.${ns}`, `s3.${ns}.svc`, `s3.${ns}.svc.cluster.local`];
    writeFileSync(
      join(dir, 'ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        // An EC key signs; it enciphers nothing.
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      ].join('\n'),
    );
    const ok = async (args: string[]): Promise<void> => {
      const r = await run('openssl', args, { cwd: dir });
      if (r.code !== 0) throw new Error(`openssl ${args[0]} exited ${r.code}: ${r.stderr.trim()}`);
    };
    await ok([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'tls.key',
      '-out',
      'tls.csr',
      '-subj',
      `/CN=s3.${ns}.svc`,
    ]);
    await ok([
      'x509',
      '-req',
      '-in',
      'tls.csr',
      '-CA',
      join(pki, 'ca.crt'),
      '-CAkey',
      join(pki, 'ca.key'),
      // No -CAcreateserial: nothing is written into .cluster/pki.
      '-set_serial',
      `0x${randomKey(16)}`,
      '-sha256',
      '-days',
      '30',
      '-extfile',
      'ext',
      '-out',
      'tls.crt',
    ]);
    return {
      crt: readFileSync(join(dir, 'tls.crt'), 'utf8'),
      key: readFileSync(join(dir, 'tls.key'), 'utf8'),
      ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PodJson {
  status: {
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      state: { waiting?: { reason: string; message?: string }; terminated?: { reason?: string } };
    }[];
  };
}

/** Waits until the pod is Ready; fails at once when a container cannot start (a refused image, a crash loop). */
async function podReadyOrFail(ns: string, pod: string, timeoutMs: number): Promise<void> {
  let failed: string | undefined;
  await waitFor(
    async () => {
      const st = (await getJson<PodJson>(['-n', ns, 'pod', pod])).status;
      for (const c of st.containerStatuses ?? []) {
        const w = c.state.waiting;
        if (w && /ImagePull|CrashLoopBackOff|CreateContainer|InvalidImageName/.test(w.reason)) {
          failed = `${ns}/${pod} container ${c.name}: ${w.reason}: ${w.message ?? ''}`;
          return true;
        }
      }
      return st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    timeoutMs,
    { what: `pod ${ns}/${pod} Ready`, intervalMs: 500 },
  );
  if (failed) throw new Error(failed);
}

/**
 * Deploys an S3 server `s3` (Pod and Service) and a client pod `s3-client`
 * in ns and waits until both are ready. The root keys are in the Secret
 * `s3-root` (ROOT_ACCESS_KEY, ROOT_SECRET_KEY), the serving certificate in
 * `s3-tls`, the CA in the ConfigMap `s3-ca`.
 */
export async function deployS3(ns: string, opts: S3Options = {}): Promise<S3> {
  const accessKey = opts.accessKey ?? `ak${randomKey(8)}`;
  const secretKey = opts.secretKey ?? randomKey(20);
  const region = 'us-east-1';
  const endpoint = `https://s3.${ns}.svc:${S3_PORT}`;
  const tls = await serverCert(ns);
  const labels = { app: 's3' };
  const fromRoot = (key: string) => ({ secretKeyRef: { name: 's3-root', key } });
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-root' },
      stringData: { ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': tls.crt, 'tls.key': tls.key, 'ca.crt': tls.ca },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 's3-ca' },
      data: { 'ca.crt': tls.ca },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's3' },
      spec: { selector: labels, ports: [{ name: 'https', port: S3_PORT, targetPort: S3_PORT }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 's3', labels },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'versitygw',
            image: VERSITYGW_IMAGE,
            // The image's entrypoint runs versitygw with these; the root
            // keys come from the environment (ROOT_ACCESS_KEY,
            // ROOT_SECRET_KEY), out of the command line.
            args: [
              '--port',
              `:${S3_PORT}`,
              '--cert',
              '/etc/s3-tls/tls.crt',
              '--key',
              '/etc/s3-tls/tls.key',
              '--health',
              '/health',
              'posix',
              '/data',
            ],
            env: [
              { name: 'ROOT_ACCESS_KEY', valueFrom: fromRoot('ROOT_ACCESS_KEY') },
              { name: 'ROOT_SECRET_KEY', valueFrom: fromRoot('ROOT_SECRET_KEY') },
            ],
            ports: [{ name: 'https', containerPort: S3_PORT }],
            readinessProbe: {
              httpGet: { path: '/health', port: S3_PORT, scheme: 'HTTPS' },
              periodSeconds: 1,
              failureThreshold: 3,
            },
            volumeMounts: [
              { name: 'data', mountPath: '/data' },
              { name: 'tls', mountPath: '/etc/s3-tls', readOnly: true },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'tls', secret: { secretName: 's3-tls' } },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 's3-client' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'rclone',
            image: RCLONE_IMAGE,
            command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
            // The remote `s3:` entirely from the environment.
            env: [
              { name: 'RCLONE_CONFIG_S3_TYPE', value: 's3' },
              { name: 'RCLONE_CONFIG_S3_PROVIDER', value: 'Other' },
              { name: 'RCLONE_CONFIG_S3_ENDPOINT', value: endpoint },
              { name: 'RCLONE_CONFIG_S3_REGION', value: region },
              { name: 'RCLONE_CONFIG_S3_FORCE_PATH_STYLE', value: 'true' },
              { name: 'RCLONE_CONFIG_S3_ACCESS_KEY_ID', valueFrom: fromRoot('ROOT_ACCESS_KEY') },
              {
                name: 'RCLONE_CONFIG_S3_SECRET_ACCESS_KEY',
                valueFrom: fromRoot('ROOT_SECRET_KEY'),
              },
              { name: 'RCLONE_CA_CERT', value: CLIENT_CA_FILE },
              // No config file (rclone would say it found none at every command).
              { name: 'RCLONE_CONFIG', value: '/dev/null' },
            ],
            volumeMounts: [{ name: 'ca', mountPath: '/etc/s3-ca', readOnly: true }],
          },
        ],
        volumes: [{ name: 'ca', configMap: { name: 's3-ca' } }],
      },
    },
  ];
  await apply(ns, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  await Promise.all([
    podReadyOrFail(ns, 's3', timeoutMs),
    podReadyOrFail(ns, 's3-client', timeoutMs),
  ]);

  // kubectl exec in the client pod; -i only when there is input.
  const inClient = (cmd: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    kubectl(
      ['-n', ns, 'exec', ...(o.input === undefined ? [] : ['-i']), 's3-client', '--', ...cmd],
      { timeoutMs: o.timeoutMs ?? 60_000, ...(o.input === undefined ? {} : { input: o.input }) },
    );
  const rclone = (args: readonly string[], o: RcloneOptions = {}): Promise<RunResult> => {
    const envArgs = [
      ...(o.unset ?? []).flatMap((k) => ['-u', k]),
      ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ];
    const cmd = envArgs.length ? ['env', ...envArgs, 'rclone', ...args] : ['rclone', ...args];
    return inClient(cmd, o);
  };
  const rcloneOk = async (args: readonly string[], o: RcloneOptions = {}): Promise<string> => {
    const r = await rclone(args, o);
    if (r.code !== 0) {
      throw new Error(`rclone ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    }
    return r.stdout;
  };
  const path = (bucket: string, key = ''): string => `${REMOTE}:${bucket}/${key}`;

  return {
    namespace: ns,
    endpoint,
    accessKey,
    secretKey,
    caPem: tls.ca,
    region,
    rclone,
    async createBucket(name) {
      await rcloneOk(['mkdir', `${REMOTE}:${name}`]);
    },
    async list(bucket, prefix = '') {
      // lsf lists below the path given, so list the bucket and filter: a
      // prefix need not end at a "/".
      const out = await rcloneOk(['lsf', '-R', '--files-only', path(bucket)]);
      return out
        .split('\n')
        .filter((k) => k && k.startsWith(prefix))
        .sort();
    },
    async read(bucket, key) {
      // `rclone cat` of a missing key lists an empty "directory" and
      // succeeds (S3 has none), so `lsjson --stat --files-only` (null for
      // it) first. The content comes through base64, as kubectl exec's
      // output is read as text, and through a file, not a pipe, whose
      // status would be base64's.
      const script = [
        's=$(rclone lsjson --stat --files-only "$1") || exit',
        'case $s in null*) echo "$1: object not found" >&2; exit 1 ;; esac',
        'rclone cat "$1" >/tmp/obj && base64 /tmp/obj; r=$?; rm -f /tmp/obj; exit $r',
      ].join('\n');
      const r = await inClient(['sh', '-c', script, 'sh', path(bucket, key)]);
      if (r.code !== 0) throw new Error(`rclone cat ${path(bucket, key)}: ${r.stderr.trim()}`);
      return Buffer.from(r.stdout.replace(/\s/g, ''), 'base64');
    },
    async write(bucket, key, data) {
      const script = 'base64 -d | rclone rcat "$1"';
      const r = await inClient(['sh', '-c', script, 'sh', path(bucket, key)], {
        input: Buffer.from(data).toString('base64'),
      });
      if (r.code !== 0) throw new Error(`rclone rcat ${path(bucket, key)}: ${r.stderr.trim()}`);
    },
    async remove(bucket, key) {
      await rcloneOk(['deletefile', path(bucket, key)]);
    },
    async storageSecret(name, o = {}) {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name },
        stringData: {
          AWS_ACCESS_KEY_ID: o.accessKey ?? accessKey,
          AWS_SECRET_ACCESS_KEY: o.secretKey ?? secretKey,
          CA_CERT_DATA: tls.ca,
        },
      };
      await apply(ns, JSON.stringify(secret));
    },
  };
}
