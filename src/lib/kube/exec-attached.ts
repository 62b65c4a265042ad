// A command in a container with the caller's own streams attached, as
// `kubectl exec -i [-t]` does: input streamed as typed (or piped), output as
// it comes, the terminal's size followed (client-node sends resizes when
// stdout is a TTY), and the command's exit code returned. For `kpg psql`.
import type { Readable, Writable } from 'node:stream';
import type { Kube } from './client.js';
import { ExecError, KubeAbortedError } from './errors.js';
import { ApiWebSocket, exitCodeFromStatus, V5, type ExecTarget, type Ws } from './exec.js';
import { errorFromNetwork, type KubeStatus } from './failures.js';

export interface AttachedIo {
  stdin: Readable;
  stdout: Writable;
  /** Absent with a TTY: the terminal merges both into stdout. */
  stderr?: Writable;
  tty: boolean;
  signal?: AbortSignal;
}

export async function execAttached(kube: Kube, t: ExecTarget, io: AttachedIo): Promise<number> {
  let status: KubeStatus | undefined;
  const handler = new ApiWebSocket(
    kube,
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: t.namespace, name: t.pod },
    { ...(io.signal ? { signal: io.signal } : {}) },
  );
  const exec = new kube.clientNode.Exec(kube.kubeConfig, handler as never);
  const ws = (await exec.exec(
    t.namespace,
    t.pod,
    t.container,
    t.command,
    io.stdout,
    io.tty ? null : (io.stderr ?? null),
    io.stdin,
    io.tty,
    (s) => {
      status = s as KubeStatus;
    },
  )) as unknown as Ws;
  const what = `exec ${t.command[0] ?? ''} in pod ${t.namespace}/${t.pod}`;
  if (!io.tty && ws.protocol !== V5) {
    ws.terminate();
    throw new ExecError(
      `${what}: piped input needs the ${V5} protocol, but the API server offered ${ws.protocol || 'none'}`,
      'use Kubernetes 1.30 or newer',
    );
  }
  return new Promise<number>((resolve, reject) => {
    const onAbort = (): void => {
      ws.terminate();
      reject(new KubeAbortedError(`${what} was cancelled`));
    };
    io.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('error', (e) => reject(errorFromNetwork(e, kube.transport.ctx)));
    ws.on('close', () => {
      io.signal?.removeEventListener('abort', onAbort);
      if (!status) {
        reject(
          new ExecError(`${what}: the stream closed before the command's exit status arrived`),
        );
        return;
      }
      try {
        resolve(exitCodeFromStatus(status));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
