// Deleting a StatefulSet pod stops its process before the replacement starts,
// and the replacement finds the data on its PersistentVolume.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podState } from '../../cluster/faults.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  exec,
  kubectl,
  kubectlOk,
  podReady,
  sleep,
  waitFor,
} from '../../cluster/kube.js';
import { headlessService, list, pgStatefulSet } from '../../cluster/manifests.js';

let ns = '';

/**
 * Start time of a process in ms since the epoch. /proc/<pid>/stat gives it in
 * clock ticks since boot; /proc/uptime read now anchors it to the wall clock
 * (btime in /proc/stat is whole seconds, too coarse for this).
 */
function processStartMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startSec = Number(fields[19]) / 100; // field 22 overall; USER_HZ is 100 on Linux
  const now = Date.now();
  const uptimeSec = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return now - (uptimeSec - startSec) * 1000;
}

/** The timestamp of the first postgres log line matching re ('%m' prefix: "2026-01-02 03:04:05.678 UTC"). */
function logTime(log: string, re: RegExp): number {
  const line = log.split('\n').find((l) => re.test(l)) ?? '';
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC/.exec(line);
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : NaN;
}

/** The process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const psql = (sql: string) =>
  exec(ns, 'keep-0', ['psql', '-h', '127.0.0.1', '-U', 'postgres', '-Atc', sql], {
    timeoutMs: 20_000,
  });

describe('pod deletion', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-del');
    await apply(ns, list(headlessService('keep'), pgStatefulSet('keep', { replicas: 1 })));
    await waitFor(() => podReady(ns, 'keep-0'), 180_000, { what: 'keep-0 Ready' });
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('stops the old process before the replacement starts and keeps the data', async () => {
    const w = await psql("create table t(v text); insert into t values ('written before delete')");
    expect(w.code, w.stderr).toBe(0);
    const oldUid = await kubectlOk([
      '-n',
      ns,
      'get',
      'pod',
      'keep-0',
      '-o',
      'jsonpath={.metadata.uid}',
    ]);
    const oldPid = podState(ns, 'keep-0').containers['postgres']?.pid ?? 0;
    expect(oldPid).toBeGreaterThan(1);
    expect(alive(oldPid)).toBe(true);

    // watch the old postmaster from the host while the pod is deleted
    let oldGoneAt = 0;
    const watcher = (async () => {
      while (alive(oldPid)) await sleep(5);
      oldGoneAt = Date.now();
    })();
    // follow the old container's log until it ends
    const oldLogs = kubectl(['-n', ns, 'logs', 'keep-0', '-f'], { timeoutMs: 60_000 });
    await sleep(1_000);
    const del = await kubectl(['-n', ns, 'delete', 'pod', 'keep-0', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
    await watcher;

    // the replacement: same name, new uid
    await waitFor(
      async () => {
        const uid = await kubectl([
          '-n',
          ns,
          'get',
          'pod',
          'keep-0',
          '-o',
          'jsonpath={.metadata.uid}',
        ]);
        return uid.code === 0 && uid.stdout && uid.stdout !== oldUid;
      },
      60_000,
      { what: 'replacement pod' },
    );
    await waitFor(() => podReady(ns, 'keep-0'), 120_000, { what: 'replacement Ready' });
    const st = podState(ns, 'keep-0');
    expect(st.uid).not.toBe(oldUid);
    const newPid = st.containers['postgres']?.pid ?? 0;
    const newStartedAt = processStartMs(newPid);
    console.log(
      `old postmaster ${oldPid} gone at ${new Date(oldGoneAt).toISOString()}, ` +
        `new container ${newPid} started at ${new Date(newStartedAt).toISOString()} (${newStartedAt - oldGoneAt} ms later)`,
    );
    expect(newStartedAt).toBeGreaterThanOrEqual(oldGoneAt - 10); // /proc start time has 10 ms resolution

    // the old server shut down cleanly, and before the new one started (by the postgres logs)
    const logs = (await oldLogs).stdout;
    expect(logs).toMatch(/received (fast|smart) shutdown request/);
    const oldShutdown = logTime(logs, /database system is shut down/);
    const newLogs = await kubectlOk(['-n', ns, 'logs', 'keep-0']);
    const newStart = logTime(newLogs, /starting PostgreSQL/);
    console.log(
      `log: old "database system is shut down" ${new Date(oldShutdown).toISOString()}, ` +
        `new "starting PostgreSQL" ${new Date(newStart).toISOString()}`,
    );
    expect(newStart).toBeGreaterThan(oldShutdown);

    const r = await psql('select v from t');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('written before delete');
  });
});
