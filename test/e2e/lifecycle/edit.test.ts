// Issue 16, item 1: kpg edit opens the applied manifest in the user's
// editor and applies what was saved through apply's plan. As a person uses
// it (vi in tmux): a refused change reopens the editor with the reasons at
// the top; a good one is applied. As CI uses it (an editor command, no
// terminal): applied, or refused with exit 1 and the file kept.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubeconfigPath, run } from '../../cluster/kube.js';
import { TmuxSession } from '../tmux.js';
import { bin, createEphemeral, kubectlOk } from './helpers.js';

const NAME = 'edt';
let ns = '';
const tmux = new TmuxSession(`kpg-edit-${process.pid}`);

/** kpg edit with an editor command and no terminal, as CI runs it. */
const editWith = (editor: string, ...args: string[]) =>
  run(process.execPath, [bin, 'edit', 'pg', NAME, '-n', ns, ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath, NO_COLOR: '1', KPG_EDITOR: editor },
    timeoutMs: 120_000,
  });

const recordSpec = async () =>
  kubectlOk(['-n', ns, 'get', 'configmap', `${NAME}-kpg`, '-o', 'jsonpath={.data.spec}']);

beforeAll(async () => {
  ns = await createNamespace('kpg-edit');
  await createEphemeral(ns, NAME, 1);
}, 360_000);

afterAll(async () => {
  tmux.close();
  if (ns) await deleteNamespace(ns);
});

describe('kpg edit, as CI runs it (an editor command, no terminal)', () => {
  it('an unchanged file cancels; a changed one goes through apply', async () => {
    const same = await editWith('true');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('Edit cancelled, no changes made.');
    const r = await editWith(`sed -i 's/^spec:$/spec:\\n  terminationPolicy: WipeOut/'`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/record\s+spec\.terminationPolicy: .*→ WipeOut/);
    expect(r.stdout).toContain(`postgres "${NAME}" edited`);
    expect(await recordSpec()).toMatch(/terminationPolicy: WipeOut/);
  });

  it('a renamed cluster is refused: exit 1, nothing changed, the changes kept in a file', async () => {
    const before = await recordSpec();
    const r = await editWith(`sed -i 's/^  name: ${NAME}$/  name: other/'`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/metadata\.name cannot be changed with kpg edit/);
    const kept = /Your changes are in (\S+\.yaml)/.exec(r.stderr)?.[1];
    expect(kept && existsSync(kept)).toBe(true);
    expect(await recordSpec()).toBe(before);
  });
});

describe('kpg edit, as a person uses it (vi in a terminal)', () => {
  it('a refused change reopens the editor with the reason; quitting unchanged changes nothing', async () => {
    tmux.start(
      `EDITOR=vi KUBECONFIG=${kubeconfigPath} ${process.execPath} ${bin} edit pg ${NAME} -n ${ns}`,
    );
    await tmux.until('# Please edit the object below');
    // A new major version: apply refuses it, the editor comes back with why.
    tmux.keys(':%s/^  version: .*/  version: "16"/', 'Enter', ':wq', 'Enter');
    const reopened = await tmux.until(/# error: spec\.version/);
    expect(reopened).toContain('# Please edit the object below');
    tmux.keys(':q', 'Enter');
    const done = await tmux.until(/KPG-EXIT=\d+/);
    expect(done).toContain('KPG-EXIT=1');
    expect(done).toMatch(/the edit was refused/);
    expect(await recordSpec()).toMatch(/version: "?15"?/);
  });

  it('a good change is applied', async () => {
    tmux.start(
      `EDITOR=vi KUBECONFIG=${kubeconfigPath} ${process.execPath} ${bin} edit ${NAME} -n ${ns}`,
    );
    await tmux.until('# Please edit the object below');
    tmux.keys(':%s/terminationPolicy: WipeOut/terminationPolicy: Delete/', 'Enter', ':wq', 'Enter');
    const done = await tmux.until(/KPG-EXIT=\d+/);
    expect(done).toContain('KPG-EXIT=0');
    expect(done).toContain(`postgres "${NAME}" edited`);
    expect(await recordSpec()).toMatch(/terminationPolicy: Delete/);
  });
});
