// Images other than postgres run as their real image would: node:<major> runs
// the machine's Node.js when the major matches and fails like a failed pull
// otherwise, as do versity/versitygw and rclone/rclone tags of another
// version (50-s3.test.ts runs the ones that match); no container finds tools
// its image lacks; native sidecars start before, restart independently of,
// and stop after the main containers.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killPod, podState } from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  getJson,
  kubectl,
  kubectlOk,
  waitFor,
} from '../../cluster/kube.js';
import { list, PG_IMAGE, pgSecurityContext } from '../../cluster/manifests.js';

let ns = '';
const nodeMajor = process.versions.node.split('.')[0] ?? '';
const otherMajor = String(Number(nodeMajor) - 2);

interface ContainerStatus {
  name: string;
  restartCount: number;
  started?: boolean;
  state: {
    running?: { startedAt: string };
    waiting?: { reason: string; message?: string };
    terminated?: { exitCode: number };
  };
}
interface PodJson {
  status: {
    phase: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

const pod = (name: string, spec: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { terminationGracePeriodSeconds: 5, ...spec },
});

async function status(name: string): Promise<PodJson['status']> {
  return (await getJson<PodJson>(['-n', ns, 'pod', name])).status;
}

describe('images and native sidecars', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-img');
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it(`node:${nodeMajor} runs a script mounted from a ConfigMap`, async () => {
    const script = `console.log("hello from " + process.version + " as uid " + process.getuid());`;
    await apply(
      ns,
      list(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'js' },
          data: { 'hello.js': script },
        },
        pod('node-ok', {
          restartPolicy: 'Never',
          securityContext: { runAsUser: 999, runAsGroup: 999 },
          containers: [
            {
              name: 'node',
              image: `node:${nodeMajor}-slim`,
              command: ['node', '/scripts/hello.js'],
              volumeMounts: [{ name: 'js', mountPath: '/scripts' }],
            },
          ],
          volumes: [{ name: 'js', configMap: { name: 'js' } }],
        }),
      ),
    );
    await waitFor(async () => (await status('node-ok')).phase === 'Succeeded', 60_000, {
      what: 'the node pod to finish',
    });
    const logs = await kubectlOk(['-n', ns, 'logs', 'node-ok']);
    expect(logs.trim()).toBe(`hello from ${process.version} as uid 999`);
  });

  it(`node:${otherMajor} fails with an image-pull reason`, async () => {
    await apply(
      ns,
      JSON.stringify(
        pod('node-old', { containers: [{ name: 'node', image: `node:${otherMajor}` }] }),
      ),
    );
    // ContainerCreating comes first: wait for the pull's own reason.
    const waiting = await waitFor(
      async () => {
        const w = (await status('node-old')).containerStatuses?.[0]?.state.waiting;
        return w && /ImagePull/.test(w.reason) ? w : undefined;
      },
      30_000,
      { what: 'an image-pull waiting reason' },
    );
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting.reason);
    expect(waiting.message).toMatch(new RegExp(`node ${otherMajor} is not installed`));
    await kubectl(['-n', ns, 'delete', 'pod', 'node-old', '--wait=false']);
  });

  it('versity/versitygw and rclone/rclone of another version fail with an image-pull reason', async () => {
    const refused = {
      'vgw-other': [
        'versity/versitygw:v9.9.9',
        /versitygw v9\.9\.9 is not available on this local node \(versity\/versitygw:v1\.8\.0 runs here\)/,
      ],
      'rclone-other': [
        'rclone/rclone:9.9',
        /rclone 9\.9 is not installed on this local node \(rclone\/rclone:1\.60 runs here, rclone 1\.60\.\d+\)/,
      ],
    } as const;
    await apply(
      ns,
      list(
        ...Object.entries(refused).map(([name, [image]]) =>
          pod(name, { containers: [{ name: 'c', image }] }),
        ),
      ),
    );
    for (const [name, [, message]] of Object.entries(refused)) {
      const waiting = await waitFor(
        async () => {
          const w = (await status(name)).containerStatuses?.[0]?.state.waiting;
          return w && /ImagePull/.test(w.reason) ? w : undefined;
        },
        30_000,
        { what: `an image-pull waiting reason for ${name}` },
      );
      expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting.reason);
      expect(waiting.message).toMatch(message);
      await kubectl(['-n', ns, 'delete', 'pod', name, '--wait=false']);
    }
  });

  it('a postgres container cannot run node, rclone or versitygw, a node container cannot run psql', async () => {
    await apply(
      ns,
      list(
        pod('pg-tools', {
          terminationGracePeriodSeconds: 1,
          securityContext: pgSecurityContext,
          containers: [{ name: 'pg', image: PG_IMAGE, command: ['sleep', 'infinity'] }],
        }),
        pod('node-tools', {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'node',
              image: `node:${nodeMajor}`,
              command: ['node', '-e', 'setInterval(() => {}, 1000)'],
            },
          ],
        }),
      ),
    );
    await waitFor(
      async () =>
        (await status('pg-tools')).phase === 'Running' &&
        (await status('node-tools')).phase === 'Running',
      60_000,
      { what: 'both tool pods running' },
    );
    const inPg = await exec(ns, 'pg-tools', [
      'bash',
      '-c',
      'command -v node npm rclone versitygw; node -v',
    ]);
    expect(inPg.code).not.toBe(0);
    expect(inPg.stdout).toBe('');
    expect((await exec(ns, 'pg-tools', ['psql', '--version'])).stdout).toMatch(/PostgreSQL\) 15/);
    const inNode = await exec(ns, 'node-tools', [
      'bash',
      '-c',
      'command -v psql pg_isready postgres rclone versitygw; psql --version',
    ]);
    expect(inNode.code).not.toBe(0);
    expect(inNode.stdout).toBe('');
    expect((await exec(ns, 'node-tools', ['node', '-v'])).stdout.trim()).toBe(process.version);
  });

  it('a native sidecar starts before the main container, restarts alone, and stops after it', async () => {
    // The containers log to a hostPath directory, which outlives the pod.
    const dir = mkdtempSync(join(tmpdir(), 'kpg-sidecar-'));
    chmodSync(dir, 0o777);
    try {
      const logger = (name: string, wait: string) =>
        [
          `trap 'echo "${name} stop $(date +%s%N)" >> /shared/log; exit 0' TERM`,
          wait,
          `echo "${name} start $(date +%s%N)" >> /shared/log`,
          'while :; do sleep 0.1; done',
        ].join('\n');
      await apply(
        ns,
        JSON.stringify(
          pod('sidecar', {
            terminationGracePeriodSeconds: 10,
            initContainers: [
              {
                name: 'side',
                image: PG_IMAGE,
                restartPolicy: 'Always',
                command: ['bash', '-c', logger('side', ':')],
                volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
              },
            ],
            containers: [
              {
                name: 'main',
                image: PG_IMAGE,
                command: ['bash', '-c', logger('main', 'sleep 0.5')],
                volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
              },
            ],
            volumes: [{ name: 'shared', hostPath: { path: dir, type: 'Directory' } }],
          }),
        ),
      );
      const log = () =>
        readFileSync(join(dir, 'log'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' '));
      await waitFor(() => log().some(([n, e]) => n === 'main' && e === 'start'), 60_000, {
        what: 'the main container to start',
      });
      expect(log().map(([n, e]) => `${n} ${e}`)).toEqual(['side start', 'main start']);

      killPod(ns, 'sidecar', 'side');
      await waitFor(
        async () => {
          const st = await status('sidecar');
          const side = st.initContainerStatuses?.[0];
          return side?.restartCount === 1 && side.state.running !== undefined;
        },
        60_000,
        { what: 'the sidecar to restart' },
      );
      const st = await status('sidecar');
      expect(st.containerStatuses?.[0]?.restartCount).toBe(0);
      expect(podState(ns, 'sidecar').containers['main']?.running).toBe(true);

      await kubectlOk(['-n', ns, 'delete', 'pod', 'sidecar', '--wait=true', '--timeout=60s']);
      const events = log().map(([n, e]) => `${n} ${e}`);
      // side started twice (the SIGKILL left no stop line), then main stopped before side.
      expect(events).toEqual(['side start', 'main start', 'side start', 'main stop', 'side stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
