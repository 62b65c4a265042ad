/** `kpg validate`: in-process with a fake terminal, and as a real process for exit codes. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Config, Errors, Flags } from '@oclif/core';
import { beforeAll, describe, expect, it } from 'vitest';
import Validate, { type ValidateJson } from '../../../src/commands/validate.js';
import { BaseCommand } from '../../../src/lib/cli/base.js';
import { memoryTerminal } from '../../../src/lib/cli/terminal.js';
import { NotFoundError } from '../../../src/lib/errors.js';
import { fixture, ROOT } from './helpers.js';

let config: Config;
beforeAll(async () => {
  config = await Config.load(ROOT);
});

async function run(argv: string[], opts: Parameters<typeof memoryTerminal>[0] = {}) {
  const term = memoryTerminal(opts);
  const cmd = new Validate(argv, config);
  cmd.terminal = term;
  let exit = 0;
  try {
    await cmd.execute();
  } catch (err) {
    if (!(err instanceof Errors.ExitError)) throw err;
    exit = err.oclif.exit ?? 1;
  }
  return { exit, out: term.out(), err: term.err() };
}

const HA = fixture('seeds', '001-ha-postgres.yaml');
const BAD = fixture('invalid', '01-unknown-field-replica.yaml');

describe('kpg validate (in process)', () => {
  it('says a valid manifest is valid, exit 0', async () => {
    const r = await run(['-f', HA]);
    expect(r.exit).toBe(0);
    expect(r.out).toBe('postgres "ha-postgres" is valid\n');
    // The seed sets no resources: a warning, not an error.
    expect(r.err).toBe(
      `${HA}:6:1: warning: spec: sets no memory request for PostgreSQL: the scheduler reserves none, and the kubelet evicts such pods first when a node runs short of memory; set spec.podTemplate.spec.resources.requests (for example memory: 1Gi, cpu: 500m)\n`,
    );
  });

  it('prints warnings and notes on stderr and still exits 0', async () => {
    const r = await run(['-f', fixture('seeds', '000-warm-postgres.yaml')]);
    expect(r.exit).toBe(0);
    expect(r.out).toBe('postgres "warm-postgres" is valid\n');
    expect(r.err).toContain(
      `${fixture('seeds', '000-warm-postgres.yaml')}:9:3: warning: spec.standby: is the old name of spec.standbyMode`,
    );
    expect(r.err).toContain(': note: spec.storage: not set: each replica gets a 1Gi volume');
  });

  it('prints problems compiler-style and exits 1', async () => {
    const r = await run(['-f', BAD]);
    expect(r.exit).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `${BAD}:6:1: warning: spec: sets no memory request for PostgreSQL: the scheduler reserves none, and the kubelet evicts such pods first when a node runs short of memory; set spec.podTemplate.spec.resources.requests (for example memory: 1Gi, cpu: 500m)\n` +
        `${BAD}:6:1: note: spec.storage: not set: each replica gets a 1Gi volume from the cluster's default StorageClass\n` +
        `${BAD}:8:3: error: spec.replica: unknown field "replica" (did you mean "replicas"?)\n` +
        '1 error, 1 warning, 1 note in 1 document\n',
    );
    expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('-o json prints the stable machine-readable result', async () => {
    const r = await run(['-f', BAD, '-f', HA, '-o', 'json']);
    expect(r.exit).toBe(1);
    const json = JSON.parse(r.out) as ValidateJson;
    expect(Object.keys(json)).toEqual(['valid', 'documents', 'problems']);
    expect(json.valid).toBe(false);
    expect(json.documents).toEqual([
      { source: BAD, index: 0, name: 'pg', namespace: 'demo', valid: false },
      { source: HA, index: 0, name: 'ha-postgres', namespace: 'demo', valid: true },
    ]);
    expect(json.problems[2]).toEqual({
      source: BAD,
      line: 8,
      column: 3,
      path: 'spec.replica',
      severity: 'error',
      code: 'unknown-field',
      message: 'unknown field "replica" (did you mean "replicas"?)',
    });
    expect(r.err).toBe('');
  });

  it('reads standard input with -f -', async () => {
    const r = await run(['-f', '-'], { stdin: Readable.from([readFileSync(HA)]) });
    expect(r.out).toBe('postgres "ha-postgres" is valid\n');
  });

  it('colours only for a terminal, and never with NO_COLOR or --no-color', async () => {
    const esc = '\u001b[';
    expect((await run(['-f', BAD], { isTTY: true })).err).toContain(esc);
    expect((await run(['-f', BAD], { isTTY: true, env: { NO_COLOR: '1' } })).err).not.toContain(
      esc,
    );
    expect((await run(['-f', BAD, '--no-color'], { isTTY: true })).err).not.toContain(esc);
    expect((await run(['-f', BAD])).err).not.toContain(esc);
    expect((await run(['-f', BAD, '--color'])).err).toContain(esc);
  });

  it('usage errors exit 2', async () => {
    await expect(run([])).rejects.toMatchObject({ oclif: { exit: 2 } });
    await expect(run(['-f', HA, '-o', 'xml'])).rejects.toMatchObject({ oclif: { exit: 2 } });
  });
});

describe.concurrent('kpg validate (real process)', () => {
  const exec = promisify(execFile);
  // bin/dev.js runs the TypeScript sources, so no build is needed.
  const kpg = (args: string[]) =>
    exec(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/dev.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it('exit 0 and the valid line', async () => {
    const r = await kpg(['validate', '-f', 'test/fixtures/seeds/001-ha-postgres.yaml']);
    expect(r).toMatchObject({ code: 0, stdout: 'postgres "ha-postgres" is valid\n' });
  });

  it('exit 1 with problems and no stack trace', async () => {
    const r = await kpg(['validate', '-f', 'test/fixtures/invalid/19-archiver.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'test/fixtures/invalid/19-archiver.yaml:13:7: error: spec.archiver.storage.gcs: is a second backend beside s3: give one storage backend',
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('exit 2 on a usage error', async () => {
    const r = await kpg(['validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Missing required flag filename');
  });

  it('--help shows the examples', async () => {
    const r = await kpg(['validate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kpg validate -f examples/ha-postgres.yaml');
    expect(r.stdout).toContain('-o, --output');
  });
});

describe('BaseCommand error handling', () => {
  class Boom extends BaseCommand<typeof Boom> {
    static override flags = { kind: Flags.string({ default: 'kpg' }) };
    async run(): Promise<void> {
      if (this.flags.kind === 'kpg')
        throw new NotFoundError('postgres "pg" not found in namespace demo', {
          suggestions: ['kpg get postgres -n demo'],
        });
      throw new TypeError('cannot read x of undefined');
    }
  }
  async function boom(argv: string[]) {
    const term = memoryTerminal();
    const cmd = new Boom(argv, config);
    cmd.terminal = term;
    const err = (await cmd.execute().then(
      () => undefined,
      (e: unknown) => e,
    )) as Errors.ExitError;
    return { exit: err.oclif.exit, out: term.out(), err: term.err() };
  }

  it('a KpgError: its message, suggestions and exit code, no stack', async () => {
    expect(await boom([])).toEqual({
      exit: 5,
      out: '',
      err: 'error: postgres "pg" not found in namespace demo\n  kpg get postgres -n demo\n',
    });
  });

  it('--debug adds the stack', async () => {
    expect((await boom(['--debug'])).err).toMatch(
      /NotFoundError: postgres "pg" not found[\s\S]*\n\s+at /,
    );
  });

  it('-o json: the error as JSON on stdout', async () => {
    const r = await boom(['-o', 'json']);
    expect(JSON.parse(r.out)).toEqual({
      error: {
        message: 'postgres "pg" not found in namespace demo',
        kind: 'NotFoundError',
        exitCode: 5,
      },
    });
  });

  it('an unexpected error: exit 70 and a hint', async () => {
    expect(await boom(['--kind', 'bug'])).toEqual({
      exit: 70,
      out: '',
      err: 'error: internal error: cannot read x of undefined\n  (run again with --debug for details)\n',
    });
  });
});
