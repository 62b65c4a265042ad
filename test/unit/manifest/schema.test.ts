/** The published schema, its precompiled validator and the problem formatting. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compileValidator,
  generateValidatorSource,
  readSchema,
  schemaUrl,
  VALIDATOR_FILE,
} from '../../../src/lib/manifest/codegen.js';
import { formatProblems, type Problem, SCHEMA_PATH } from '../../../src/lib/manifest/index.js';
import { validatePostgres } from '../../../src/lib/manifest/validator.js';
import { ROOT } from './helpers.js';
import { join } from 'node:path';

describe('schema', () => {
  it('the precompiled validator is up to date (else: npx tsx schemas/generate-validator.ts)', async () => {
    expect(readFileSync(schemaUrl(VALIDATOR_FILE), 'utf8')).toBe(await generateValidatorSource());
  });

  it('is at the published path, draft-07, for editors', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, SCHEMA_PATH), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema).toEqual(readSchema());
  });

  it('compiled at run time, it agrees with the precompiled validator', async () => {
    const runtime = await compileValidator();
    const doc = {
      apiVersion: 'kubedb.com/v1alpha1',
      kind: 'Postgres',
      metadata: { name: 'x' },
      spec: { version: '15', replica: 1, archiver: {} },
    };
    expect(runtime(doc)).toBe(false);
    expect(validatePostgres(doc)).toBe(false);
    const strip = (errs: typeof runtime.errors) => errs?.map((e) => [e.instancePath, e.keyword]);
    expect(strip(validatePostgres.errors)).toEqual(strip(runtime.errors));
  });
});

describe('formatProblems', () => {
  const problems: Problem[] = [
    {
      source: 'a.yaml',
      line: 3,
      column: 5,
      path: 'spec.replica',
      message: 'unknown field "replica" (did you mean "replicas"?)',
      severity: 'error',
      code: 'unknown-field',
    },
    {
      source: 'b.yaml',
      path: '',
      message: 'is larger than 1 MiB',
      severity: 'error',
      code: 'too-large',
    },
    {
      source: 'c.yaml',
      line: 1,
      column: 1,
      path: 'spec.standby',
      message: 'x',
      severity: 'warning',
      code: 'deprecated',
    },
  ];
  it('plain', () => {
    expect(formatProblems(problems, { color: false })).toBe(
      'a.yaml:3:5: error: spec.replica: unknown field "replica" (did you mean "replicas"?)\n' +
        'b.yaml: error: is larger than 1 MiB\n' +
        'c.yaml:1:1: warning: spec.standby: x',
    );
  });
  it('coloured', () => {
    const out = formatProblems(problems.slice(0, 1), { color: true });
    expect(out).toContain('\u001b[31m');
    // eslint-disable-next-line no-control-regex
    expect(out.replace(/\u001b\[\d+m/g, '')).toBe(
      'a.yaml:3:5: error: spec.replica: unknown field "replica" (did you mean "replicas"?)',
    );
  });
  it('empty', () => expect(formatProblems([], { color: false })).toBe(''));
});
