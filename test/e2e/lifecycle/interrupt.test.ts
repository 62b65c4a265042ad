// Issue 12, item 17: Ctrl-C in create, apply and delete, pressed in a real
// terminal (tmux). Each stops at a step boundary, says what was done and how
// to go on, and exits 130; apply never leaves the StatefulSet OnDelete, and
// running the same command again finishes the job.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  getJson,
  kubeconfigPath,
  sleep,
} from '../../cluster/kube.js';
import { withLocalAgentImage } from '../../cluster/manifests.js';
import { bin, kpg, waitFor } from './helpers.js';

const SESSION = `kpg-interrupt-${process.pid}`;
const NAME = 'intr';
let ns = '';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-J', '-t', SESSION, '-S', '-400');

/** Runs `kpg ARGS` in a fresh tmux window, as a person would at a terminal. */
function start(args: string): void {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // none yet
  }
  const cmd = `KUBECONFIG=${kubeconfigPath} NO_COLOR=1 ${process.execPath} ${bin} ${args}; echo "KPG-EXIT=$?"; sleep 600`;
  tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '60', cmd);
}

function until(text: string | RegExp, timeoutMs = 120_000): Promise<string> {
  return waitFor(
    () => {
      const s = screen();
      return (typeof text === 'string' ? s.includes(text) : text.test(s)) ? s : '';
    },
    timeoutMs,
    { what: `"${String(text)}" on the screen`, intervalMs: 200 },
  );
}

function manifest(team?: string): string {
  const file = join(tmpdir(), `kpg-interrupt-${ns}-${team ?? 'none'}.yaml`);
  writeFileSync(
    file,
    withLocalAgentImage(`apiVersion: kubedb.com/v1alpha1
kind: Postgres
metadata:
  name: ${NAME}
  namespace: ${ns}
spec:
  version: "15"
  replicas: 2
  standbyMode: Hot
  storage:
    storageClassName: standard
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 128Mi
${team ? `  podTemplate:\n    metadata:\n      labels:\n        team: ${team}\n` : ''}`),
  );
  return file;
}

async function healthy(): Promise<void> {
  await waitFor(
    async () => (await kpg(['describe', 'pg', NAME, '-n', ns, '--exit-code'])).code === 0,
    240_000,
    { what: `${NAME} healthy`, intervalMs: 2000 },
  );
}

beforeAll(async () => {
  ns = await createNamespace('interrupt');
});
afterAll(async () => {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // gone with its shell
  }
  if (ns) await deleteNamespace(ns);
});

describe('Ctrl-C', () => {
  it('create: while it waits, it says the cluster comes up on its own; create again finishes', async () => {
    start(`create -f ${manifest()}`);
    await until(`postgres "${NAME}" created`);
    tmux('send-keys', '-t', SESSION, 'C-c');
    const s = await until(/KPG-EXIT=\d+/);
    expect(s).toContain('KPG-EXIT=130');
    expect(s).toContain(
      `interrupted while waiting: postgres "${NAME}" is created and comes up on its own`,
    );
    expect(s).toContain(`kpg describe ${NAME} -n ${ns} shows how far it got`);
    expect(s).not.toMatch(/\n\s+at /);
    // It does come up without kpg.
    await healthy();
  });

  it('apply: stops at once, and the StatefulSet is not left OnDelete', async () => {
    start(`apply -f ${manifest('db')} --yes`);
    await until(`pod ${NAME}-1 (standby): restarting`);
    tmux('send-keys', '-t', SESSION, 'C-c');
    const s = await until(/KPG-EXIT=\d+/, 300_000);
    expect(s).toContain('interrupted: stopping now (a pod restarting comes back by itself)');
    expect(s).toContain('KPG-EXIT=130');
    expect(s).toMatch(
      new RegExp(
        `interrupted: postgres "${NAME}" is partly applied .*updateStrategy is RollingUpdate again`,
      ),
    );
    expect(s).not.toContain(`pod ${NAME}-0 (primary): restarting`);
    const sts = await getJson<{ spec: { updateStrategy: { type: string } } }>([
      '-n',
      ns,
      'statefulset',
      NAME,
    ]);
    expect(sts.spec.updateStrategy.type).toBe('RollingUpdate');
    // Its controller restarts the primary itself (the agents hand over);
    // once the cluster is healthy again, the same apply finishes the job.
    await healthy();
    const again = await kpg(['apply', '-f', manifest('db'), '--yes']);
    expect(again.code, again.stderr).toBe(0);
    const pod0 = await getJson<{ metadata: { labels: Record<string, string> } }>([
      '-n',
      ns,
      'pod',
      `${NAME}-0`,
    ]);
    expect(pod0.metadata.labels['team']).toBe('db');
  });

  it('delete: says what was deleted; delete again finishes', async () => {
    start(`delete pg ${NAME} -n ${ns} --yes`);
    // Interrupted while it waits for the pods to be gone (their grace period).
    await until('waiting for the removed objects to be gone');
    tmux('send-keys', '-t', SESSION, 'C-c');
    const s = await until(/KPG-EXIT=\d+/);
    expect(s).toContain('KPG-EXIT=130');
    expect(s).toMatch(new RegExp(`interrupted: postgres "${NAME}": .*deleted`));
    expect(s).toContain(`the same kpg delete ${NAME} -n ${ns} finishes it`);
    await sleep(500);
    const again = await kpg(['delete', 'pg', NAME, '-n', ns, '--yes']);
    expect([0, 5]).toContain(again.code);
    const left = await getJson<{ items: unknown[] }>(['-n', ns, 'statefulsets']);
    expect(left.items).toEqual([]);
  });
});
