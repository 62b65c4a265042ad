import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** bash -c SCRIPT with ENV added; never throws, resolves with the exit code (-1: timed out). */
export async function bash(script: string, env: Record<string, string> = {}): Promise<Out> {
  try {
    const r = await run('bash', ['-c', script], {
      env: { ...process.env, ...env },
      timeout: 15_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}
