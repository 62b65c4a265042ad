// A standalone server (replicas: 1) made by the interactive wizard, driven in
// a real terminal (tmux); the wizard's refusal without a terminal.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubeconfigPath, sleep } from '../../cluster/kube.js';
import { NODE_IMAGE } from '../../cluster/manifests.js';
import { bin, kpg, podLabels, podSql, waitFor } from './helpers.js';

const SESSION = `kpg-wizard-${process.pid}`;
let ns = '';
const dir = mkdtempSync(join(tmpdir(), 'kpg-wizard-'));

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION, '-S', '-200');

async function until(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    () => {
      const s = screen();
      return (typeof text === 'string' ? s.includes(text) : text.test(s)) ? s : '';
    },
    timeoutMs,
    { what: `"${String(text)}" on the wizard's screen`, intervalMs: 200 },
  );
}

async function answer(prompt: string, ...keys: string[]): Promise<void> {
  await until(prompt);
  for (const k of keys) {
    tmux('send-keys', '-t', SESSION, k);
    await sleep(100);
  }
}

beforeAll(async () => {
  ns = await createNamespace('kpg-wizard');
});
afterAll(async () => {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // Already gone: the session ends with the test's shell.
  }
  rmSync(dir, { recursive: true, force: true });
  if (ns) await deleteNamespace(ns);
});

describe('kpg create without -f', () => {
  it('without a terminal: a clear error, exit 2, nothing created', async () => {
    const r = await kpg(['create', '-n', ns]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no manifest given: pass -f FILE');
  });

  it('on a terminal: the wizard asks, shows and saves the manifest, then creates a standalone server', async () => {
    const saved = join(dir, 'solo.yaml');
    const cmd = `KUBECONFIG=${kubeconfigPath} ${process.execPath} ${bin} create -n ${ns}; echo "KPG-EXIT=$?"; sleep 600`;
    // 120×40, where the progress once left a copy of its task list per redraw (issue 16, item 13).
    tmux('new-session', '-d', '-s', SESSION, '-x', '120', '-y', '40', cmd);
    await answer('Cluster name', 'C-u', 'solo', 'Enter');
    await answer('Namespace', 'Enter');
    await answer('PostgreSQL version', 'Enter');
    await answer('Servers', '1', 'Enter');
    await answer('Standby mode', 'Enter');
    await answer('Streaming mode', 'Enter');
    await answer('Storage class', 'Enter');
    await answer('Volume size', 'C-u', '256Mi', 'Enter');
    await answer('Failover', 'Enter');
    // The local cluster runs the machine's Node.js only.
    await answer("The agent's Node.js image", 'C-u', NODE_IMAGE, 'Enter');
    await answer('Save the manifest', saved, 'Enter');
    await answer('Create postgres "solo"', 'Enter');
    const final = await until(/KPG-EXIT=\d+/, 300_000);
    expect(final).toContain('KPG-EXIT=0');
    expect(final).toContain('kind: Postgres');
    expect(final).toContain('postgres "solo" created');
    expect(final).toMatch(/postgres "solo" is ready: primary solo-0 accepts writes \(/);
    // On a terminal the progress is a task list with durations.
    expect(final).toMatch(/✔ primary solo-0 accepts writes \d/);
    // Each step once on the screen: the task list was redrawn over itself, never below.
    for (const step of [
      '1 pod started',
      'primary solo-0 accepts writes',
      'all pods Ready and labelled',
    ])
      expect(
        final.split('\n').filter((l) => l.includes(step) && !l.includes('is ready:')),
        step,
      ).toHaveLength(1);
    expect(existsSync(saved)).toBe(true);
    expect(readFileSync(saved, 'utf8')).toMatch(
      /name: solo[\s\S]*replicas: 1[\s\S]*storage: 256Mi/,
    );
  });

  it('the standalone server is the primary and takes writes', async () => {
    expect(await podLabels(ns, 'solo')).toEqual({ 'solo-0': 'primary' });
    const r = await podSql(
      ns,
      'solo-0',
      'create table t(v int); insert into t values (1); select pg_is_in_recovery()',
    );
    expect(r.stdout.trim()).toMatch(/\nf$/);
    const d = await kpg(['describe', 'solo', '-n', ns, '--exit-code']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('<no standby connected>');
    const g = await kpg(['get', 'solo', '-n', ns]);
    expect(g.stdout).toMatch(/solo +15 +1\/1 +solo-0 +Running/);
  });

  it('the saved manifest is refused by create now that the cluster exists (exit 6)', async () => {
    const r = await kpg(['create', '-f', join(dir, 'solo.yaml')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`kpg apply -f ${join(dir, 'solo.yaml')}`);
  });
});

// Issue 16, item 5: kpg psql, as a person uses it (tmux) and in a pipe.
describe('kpg psql', () => {
  const PSQL = `kpg-psql-${process.pid}`;
  afterAll(() => {
    try {
      tmux('kill-session', '-t', PSQL);
    } catch {
      // Already gone.
    }
  });

  it('in a pipe: plain input and output, psql’s exit code', async () => {
    const r = await kpg(['psql', 'solo', '-n', ns], {
      input: 'select 40 + 2 as answer;\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/answer\s*\n-+\n\s*42\n/);
    const failed = await kpg([
      'psql',
      'solo',
      '-n',
      ns,
      '--',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      'select nope',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('column "nope" does not exist');
    // No password on any command line: none is needed over the pod's own socket.
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/password/i);
  });

  it('-- passes arguments to psql; -d picks the database; --replica with no standby is exit 5', async () => {
    const r = await kpg([
      'psql',
      'solo',
      '-n',
      ns,
      '-d',
      'template1',
      '--',
      '-XAtc',
      'select current_database()',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('template1');
    const none = await kpg(['psql', 'solo', '-n', ns, '--replica', '--', '-c', 'select 1']);
    expect(none.code).toBe(5);
    expect(none.stderr).toContain(`no ready pod of ${ns}/solo is labelled replica`);
  });

  it('on a terminal: the psql prompt, a query, \\q; exit 0', async () => {
    const cmd = `KUBECONFIG=${kubeconfigPath} ${process.execPath} ${bin} psql solo -n ${ns}; echo "KPG-EXIT=$?"; sleep 600`;
    tmux('new-session', '-d', '-s', PSQL, '-x', '160', '-y', '40', cmd);
    const psqlScreen = () => tmux('capture-pane', '-p', '-t', PSQL, '-S', '-200');
    const see = (text: string | RegExp, timeoutMs = 30_000) =>
      waitFor(
        () => {
          const t = psqlScreen();
          return (typeof text === 'string' ? t.includes(text) : text.test(t)) ? t : '';
        },
        timeoutMs,
        { what: `"${String(text)}" on psql's screen`, intervalMs: 200 },
      );
    await see('postgres=#');
    tmux('send-keys', '-t', PSQL, 'select 6 * 7 as answer \\g', 'Enter');
    await see(/answer\s*\n-+\n\s*42\n\(1 row\)/);
    tmux('send-keys', '-t', PSQL, '\\q', 'Enter');
    expect(await see(/KPG-EXIT=\d+/)).toContain('KPG-EXIT=0');
  });
});
