/** Telling that the lease's holder was a process of this machine that has exited. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  holderProvablyGone,
  pidGone,
  thisProcess,
} from '../../../src/lib/failover/holder-process.js';

/** The pid of a process that has just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  expect(r.status).toBe(0);
  return r.pid!;
}

describe('holder process', () => {
  it('names this process by boot id, pid namespace and pid', () => {
    expect(thisProcess()).toMatch(/^[0-9a-f-]{36}\/pid:\[\d+\]\/\d+$/);
    expect(thisProcess()?.endsWith(`/${process.pid}`)).toBe(true);
  });

  it('kill -0 tells a running pid from an exited one', () => {
    expect(pidGone(process.pid)).toBe(false);
    expect(pidGone(deadPid())).toBe(true);
  });

  it('is sure only for an exited process of the same boot and pid namespace', () => {
    const me = thisProcess()!;
    const here = me.slice(0, me.lastIndexOf('/'));
    const dead = deadPid();
    expect(holderProvablyGone(`${here}/${dead}`)).toBe(true);
    // Alive, this very process, another boot, another pid namespace, garbage: not sure.
    expect(holderProvablyGone(`${here}/${process.ppid}`)).toBe(false);
    expect(holderProvablyGone(me)).toBe(false);
    expect(holderProvablyGone(`00000000-0000-0000-0000-000000000000/pid:[1]/${dead}`)).toBe(false);
    expect(holderProvablyGone(`${here.replace(/\[\d+\]/, '[1]')}/${dead}`)).toBe(false);
    for (const t of [undefined, '', 'x', `${here}/`, `${here}/-3`, `${here}/1.5`])
      expect(holderProvablyGone(t)).toBe(false);
  });

  it('proves nothing where the machine cannot be told', () => {
    expect(holderProvablyGone('a/b/12', undefined, () => true)).toBe(false);
    expect(holderProvablyGone('a/b/12', 'a/b', () => true)).toBe(true);
  });
});
