/** Shared helpers for the manifest tests: fixture paths and expectations written in the fixtures. */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(ROOT, 'test/fixtures');
export const fixture = (...parts: string[]): string => join(FIXTURES, ...parts);

export function listFixtures(dir: string): string[] {
  return readdirSync(fixture(dir))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();
}

export interface Expected {
  line: number;
  column: number;
  path: string;
  code: string;
  message: string;
}

function parseSpec(line: number | undefined, spec: string): Expected {
  const m = /^(?:(\d+):)?(\d+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(spec.trim());
  if (!m) throw new Error(`bad expectation: ${spec}`);
  return {
    line: m[1] !== undefined ? Number(m[1]) : line!,
    column: Number(m[2]),
    path: m[3] === '-' ? '' : m[3]!,
    code: m[4]!,
    message: m[5]!,
  };
}

/**
 * Expectations written in a fixture: `#< COL PATH CODE MESSAGE` at the end of
 * the line the problem points at, `# expect: LINE:COL PATH CODE MESSAGE` lines,
 * or a sidecar `FILE.expect` for JSON. PATH `-` means the empty path.
 */
export function expectations(file: string): Expected[] {
  if (existsSync(`${file}.expect`)) {
    return readFileSync(`${file}.expect`, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => parseSpec(undefined, l));
  }
  const out: Expected[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const inline = text.indexOf(' #< ');
      if (inline !== -1) out.push(parseSpec(i + 1, text.slice(inline + 4)));
      const header = /^# expect: (.*)$/.exec(text);
      if (header) out.push(parseSpec(undefined, header[1]!));
    });
  return out;
}

/** Where the seeds live when the shared reference directory is beside the repository. */
export const SHARED_REFERENCE = resolve(ROOT, '../shared/reference');
