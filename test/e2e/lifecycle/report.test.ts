// Issue 16, item 10: kpg report writes a .tar.gz a colleague can read: the
// cluster's objects (no Secret value), describe, events, every container's
// log, and nowhere a password, not even one the server itself logged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, getJson } from '../../cluster/kube.js';
import { createEphemeral, kpg, podSql } from './helpers.js';

const NAME = 'rep';
let ns = '';
const dir = mkdtempSync(join(tmpdir(), 'kpg-report-test-'));

beforeAll(async () => {
  ns = await createNamespace('kpg-report');
  await createEphemeral(ns, NAME, 2);
}, 360_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (ns) await deleteNamespace(ns);
});

/** Every file under `root`, relative. */
function walk(root: string, at = ''): string[] {
  return readdirSync(join(root, at)).flatMap((f) =>
    statSync(join(root, at, f)).isDirectory() ? walk(root, join(at, f)) : [join(at, f)],
  );
}

describe('kpg report', () => {
  it('holds objects, describe, events and logs, and no password anywhere', async () => {
    const secret = await getJson<{ data: Record<string, string> }>([
      '-n',
      ns,
      'secret',
      `${NAME}-auth`,
    ]);
    const password = Buffer.from(secret.data['POSTGRES_PASSWORD'] ?? '', 'base64').toString();
    const tlsKey = (
      await getJson<{ data: Record<string, string> }>(['-n', ns, 'secret', `${NAME}-tls`])
    ).data['tls.key'];
    // The server logs it: ERROR: invalid input syntax for type integer: "<password>".
    await podSql(ns, `${NAME}-0`, `select '${password}'::int`);

    const file = join(dir, 'r.tar.gz');
    const r = await kpg(['report', NAME, '-n', ns, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${file} \\(\\d+ files, \\d+ KiB\\)`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const out = join(dir, 'x');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xzf', file, '-C', out]);
    const [top] = readdirSync(out);
    expect(top).toMatch(new RegExp(`^kpg-report-${NAME}-\\d{8}T\\d{6}Z$`));
    const files = walk(join(out, top!));
    for (const f of [
      'README.txt',
      'describe.json',
      'describe.txt',
      'events.yaml',
      `objects/StatefulSet-${NAME}.yaml`,
      `objects/Secret-${NAME}-auth.yaml`,
      `objects/ConfigMap-${NAME}-kpg.yaml`,
      `objects/Pod-${NAME}-0.yaml`,
      `logs/${NAME}-0/postgres.log`,
      `logs/${NAME}-1/kpg-agent.log`,
    ])
      expect(files).toContain(f);
    const text = (f: string) => readFileSync(join(out, top!, f), 'utf8');
    const all = files.map(text).join('\n');
    expect(all).not.toContain(password);
    expect(all).not.toContain(
      Buffer.from(tlsKey ?? '', 'base64')
        .toString()
        .split('\n')[1],
    );
    expect(text(`logs/${NAME}-0/postgres.log`)).toMatch(
      /invalid input syntax for type integer: "<redacted>"/,
    );
    expect(text(`objects/Secret-${NAME}-auth.yaml`)).toMatch(
      /POSTGRES_PASSWORD: <32 bytes, removed by kpg report>/,
    );
    expect(JSON.parse(text('describe.json')).name).toBe(NAME);
  });

  it('a cluster that does not exist: exit 5, no file', async () => {
    const r = await kpg(['report', 'nope', '-n', ns, '-o', join(dir, 'n.tar.gz')]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/postgres "nope" not found/);
    expect(readdirSync(dir)).not.toContain('n.tar.gz');
  });
});
