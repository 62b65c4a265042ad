import { describe, expect, it } from 'vitest';
import { findBlockers, redactLog, type BlockerInput } from '../../../src/lib/cluster/blockers.js';
import type { K8sEvent, K8sPod } from '../../../src/lib/cluster/objects.js';

const NOW = '2026-12-02T10:00:05Z';
const base = (over: Partial<BlockerInput> = {}): BlockerInput => ({
  name: 'p',
  pods: [],
  pvcs: [],
  events: [],
  since: '2026-12-02T10:00:00.400Z',
  ...over,
});
const event = (
  kind: string,
  name: string,
  reason: string,
  message: string,
  at = NOW,
): K8sEvent => ({
  type: 'Warning',
  involvedObject: { kind, name },
  reason,
  message,
  lastTimestamp: at,
});
const pod = (name: string, status: K8sPod['status'] = {}): K8sPod => ({
  metadata: { name },
  status: { phase: 'Pending', ...status },
});

describe('findBlockers', () => {
  const psa =
    'create Pod p-0 in StatefulSet p failed error: pods "p-0" is forbidden: violates PodSecurity "restricted:latest": unrestricted capabilities';

  it('a FailedCreate for a pod that does not exist is fatal, with Kubernetes’ message', () => {
    const [b, ...rest] = findBlockers(
      base({ events: [event('StatefulSet', 'p', 'FailedCreate', psa)] }),
    );
    expect(rest).toEqual([]);
    expect(b).toMatchObject({
      object: 'statefulset/p',
      reason: 'FailedCreate',
      fatal: true,
      message: psa,
    });
    expect(b?.advice).toMatch(/Pod Security/);
  });

  it('a FailedCreate is history once the pod exists, or when older than the wait', () => {
    const ev = event('StatefulSet', 'p', 'FailedCreate', psa);
    expect(findBlockers(base({ events: [ev], pods: [pod('p-0')] }))).toEqual([]);
    expect(
      findBlockers(base({ events: [{ ...ev, lastTimestamp: '2026-12-02T09:59:59Z' }] })),
    ).toEqual([]);
    // The same second as the start counts (event times have whole seconds).
    expect(
      findBlockers(base({ events: [{ ...ev, lastTimestamp: '2026-12-02T10:00:00Z' }] })),
    ).toHaveLength(1);
  });

  it('quota and webhook refusals say where to look', () => {
    const quota = findBlockers(
      base({
        events: [
          event(
            'StatefulSet',
            'p',
            'FailedCreate',
            'create Pod p-1 in StatefulSet p failed error: pods "p-1" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1',
          ),
        ],
      }),
    );
    expect(quota[0]?.advice).toMatch(/ResourceQuota/);
    const hook = findBlockers(
      base({
        events: [
          event(
            'StatefulSet',
            'p',
            'FailedCreate',
            'create Pod p-0 in StatefulSet p failed error: admission webhook "x" denied the request',
          ),
        ],
      }),
    );
    expect(hook[0]?.advice).toMatch(/webhook/);
  });

  it('an unschedulable pod may clear: shown, not fatal', () => {
    const msg = '0/3 nodes are available: 3 Insufficient cpu.';
    const [b] = findBlockers(
      base({
        pods: [
          pod('p-0', {
            conditions: [
              { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg },
            ],
          }),
        ],
      }),
    );
    expect(b).toMatchObject({
      object: 'pod/p-0',
      reason: 'Unschedulable',
      message: msg,
      fatal: false,
    });
  });

  it('a claim without a StorageClass is fatal and replaces the scheduler’s "unbound claim"', () => {
    const [b, ...rest] = findBlockers(
      base({
        pvcs: [{ metadata: { name: 'data-p-0' }, status: { phase: 'Pending' } }],
        events: [
          event(
            'PersistentVolumeClaim',
            'data-p-0',
            'ProvisioningFailed',
            'storageclass.storage.k8s.io "nope" not found',
          ),
        ],
        pods: [
          pod('p-0', {
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message: 'pod has unbound immediate PersistentVolumeClaims',
              },
            ],
          }),
        ],
      }),
    );
    expect(rest).toEqual([]);
    expect(b).toMatchObject({
      object: 'persistentvolumeclaim/data-p-0',
      reason: 'ProvisioningFailed',
      fatal: true,
    });
    const none = findBlockers(
      base({
        pvcs: [{ metadata: { name: 'data-p-0' }, status: { phase: 'Pending' } }],
        events: [
          // As the volume controller sends it: a Normal event.
          {
            ...event(
              'PersistentVolumeClaim',
              'data-p-0',
              'FailedBinding',
              'no persistent volumes available for this claim and no storage class is set',
            ),
            type: 'Normal',
          },
        ],
      }),
    );
    expect(none[0]).toMatchObject({ fatal: true });
    expect(none[0]?.advice).toMatch(/default StorageClass/);
    const busy = findBlockers(
      base({
        pvcs: [{ metadata: { name: 'data-p-0' }, status: { phase: 'Pending' } }],
        events: [
          event(
            'PersistentVolumeClaim',
            'data-p-0',
            'ProvisioningFailed',
            'rpc error: code = ResourceExhausted desc = try again',
          ),
        ],
      }),
    );
    expect(busy[0]).toMatchObject({ fatal: false });
    const bound = findBlockers(
      base({
        pvcs: [{ metadata: { name: 'data-p-0' }, status: { phase: 'Bound' } }],
        events: [
          event(
            'PersistentVolumeClaim',
            'data-p-0',
            'ProvisioningFailed',
            'storageclass.storage.k8s.io "nope" not found',
          ),
        ],
      }),
    );
    expect(bound).toEqual([]);
  });

  const waiting = (reason: string, message: string, lastExit?: number): K8sPod['status'] => ({
    containerStatuses: [
      {
        name: 'postgres',
        restartCount: 1,
        state: { waiting: { reason, message } },
        ...(lastExit !== undefined
          ? { lastState: { terminated: { exitCode: lastExit, reason: 'Error' } } }
          : {}),
      },
    ],
  });

  it('an image that is not there is fatal; a pull that may work later is not', () => {
    const gone = findBlockers(
      base({
        pods: [
          pod('p-0', waiting('ErrImagePull', 'postgres 9.6 is not installed on this local node')),
        ],
      }),
    );
    expect(gone[0]).toMatchObject({ kind: 'image-pull', fatal: true });
    expect(gone[0]?.message).toMatch(/container postgres: postgres 9.6 is not installed/);
    const flaky = findBlockers(
      base({ pods: [pod('p-0', waiting('ImagePullBackOff', 'dial tcp: i/o timeout'))] }),
    );
    expect(flaky[0]).toMatchObject({ fatal: false });
    // The agent's image: the advice names the annotation that chooses it.
    const agent = findBlockers(
      base({
        pods: [
          pod('p-0', {
            initContainerStatuses: [
              {
                name: 'kpg-agent',
                restartCount: 0,
                state: {
                  waiting: { reason: 'ErrImagePull', message: 'node 18 is not installed' },
                },
              },
            ],
          }),
        ],
      }),
    );
    expect(agent[0]).toMatchObject({ kind: 'image-pull', fatal: true });
    expect(agent[0]?.advice).toMatch(/kpg\.io\/agent-image/);
  });

  it('a Secret the node does not see yet (CreateContainerConfigError) is shown, not fatal', () => {
    const [b] = findBlockers(
      base({
        pods: [pod('p-0', waiting('CreateContainerConfigError', 'secret "p-auth" not found'))],
      }),
    );
    expect(b).toMatchObject({ reason: 'CreateContainerConfigError', fatal: false });
    expect(b?.message).toBe('container postgres: secret "p-auth" not found');
  });

  it('a crash loop is fatal, with its log; a fenced or stopped container is not', () => {
    const input = base({
      pods: [
        pod('p-0', waiting('CrashLoopBackOff', 'back-off 10s restarting failed container', 1)),
      ],
      logs: { 'p-0/postgres': ['FATAL:  unrecognized configuration parameter "nope"'] },
    });
    const [b] = findBlockers(input);
    expect(b).toMatchObject({
      kind: 'crash-loop',
      fatal: true,
      log: ['FATAL:  unrecognized configuration parameter "nope"'],
    });
    expect(b?.message).toMatch(/exited 1 \(Error\)/);
    for (const code of [0, 3, 143])
      expect(
        findBlockers(base({ pods: [pod('p-0', waiting('CrashLoopBackOff', 'x', code))] })),
      ).toEqual([]);
  });

  it('restarted after a crash and not ready yet: shown, not fatal', () => {
    const [b] = findBlockers(
      base({
        pods: [
          pod('p-0', {
            containerStatuses: [
              {
                name: 'postgres',
                restartCount: 2,
                ready: false,
                state: { running: {} },
                lastState: { terminated: { exitCode: 1, reason: 'Error' } },
              },
            ],
          }),
        ],
      }),
    );
    expect(b).toMatchObject({
      reason: 'Error',
      fatal: false,
      message: 'container postgres exited 1 (Error), restarted 2 times',
    });
  });

  it("the start script's refusal is named a refusal", () => {
    const [b] = findBlockers(
      base({
        pods: [pod('p-0', waiting('CrashLoopBackOff', 'back-off', 1))],
        logs: {
          'p-0/postgres': [
            'kpg: cannot read the cluster record p-kpg (see above) and PGDATA is empty: not guessing a role',
          ],
        },
      }),
    );
    expect(b).toMatchObject({ kind: 'refused', fatal: true });
  });

  it("an agent's refusal (its Event) is shown, not fatal: another member may act", () => {
    const msg =
      "this pod's data directory is empty, but the cluster was bootstrapped: it will not initdb over the cluster's data";
    const [b] = findBlockers(
      base({
        pods: [pod('p-0', { phase: 'Running' })],
        events: [event('Pod', 'p-0', 'FailoverRefused', msg)],
      }),
    );
    expect(b).toMatchObject({
      object: 'pod/p-0',
      kind: 'refused',
      reason: 'FailoverRefused',
      message: msg,
      fatal: false,
    });
  });

  it('onlyPods keeps to the pods asked about; fatal ones come first', () => {
    const input = base({
      pods: [
        pod('p-0', {
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'x' },
          ],
        }),
        pod('p-1', waiting('ErrImagePull', 'manifest unknown')),
      ],
    });
    expect(findBlockers(input).map((b) => [b.object, b.fatal])).toEqual([
      ['pod/p-1', true],
      ['pod/p-0', false],
    ]);
    expect(findBlockers({ ...input, onlyPods: ['p-0'] }).map((b) => b.object)).toEqual(['pod/p-0']);
  });
});

describe('redactLog', () => {
  it('cuts out what looks like a password and every known secret value', () => {
    expect(
      redactLog(
        ['PGPASSWORD=hunter22 psql', "password = 'x y'", 'connect with s3cr3t-value', 'plain'],
        ['s3cr3t-value'],
      ),
    ).toEqual([
      'PGPASSWORD=<redacted> psql',
      'password = <redacted>',
      'connect with <redacted>',
      'plain',
    ]);
  });
});
