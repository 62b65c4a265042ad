/**
 * Compiles the JSON Schema with ajv. Used at build time to write the
 * precompiled ("standalone") validator into schemas/, by its drift test, and
 * by the benchmark to compare against it. Commands never import this module:
 * they load the precompiled validator (see validator.ts), which starts faster.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, Options } from 'ajv';

export const SCHEMA_FILE = 'postgres.kubedb.com_v1alpha1.json';
export const VALIDATOR_FILE = 'postgres.kubedb.com_v1alpha1.validate.generated.js';

export type ValidateFunction = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Annotation keywords editors understand; ajv must know them in strict mode. */
export const EDITOR_KEYWORDS = [
  'patternErrorMessage',
  'deprecationMessage',
  'errorMessage',
  'markdownDescription',
];

export const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  // Errors carry their schema, so messages can use patternErrorMessage and errorMessage.
  verbose: true,
};

export function schemaUrl(file = SCHEMA_FILE): URL {
  return new URL(`../../../schemas/${file}`, import.meta.url);
}

export function readSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(schemaUrl(), 'utf8')) as Record<string, unknown>;
}

/** Compiles the schema at run time (the slow path the precompiled validator avoids). */
export async function compileValidator(): Promise<ValidateFunction> {
  const { Ajv } = await import('ajv');
  const ajv = new Ajv(AJV_OPTIONS);
  ajv.addVocabulary(EDITOR_KEYWORDS);
  return ajv.compile(readSchema()) as ValidateFunction;
}

/** ESM source of the precompiled validator. */
export async function generateValidatorSource(): Promise<string> {
  const { Ajv } = await import('ajv');
  type Standalone = (ajv: unknown, validate: unknown) => string;
  const mod = (await import('ajv/dist/standalone/index.js')) as unknown as {
    default: Standalone | { default: Standalone };
  };
  // CommonJS interop: Node gives module.exports as default, tsx and bundlers unwrap it.
  const standalone = typeof mod.default === 'function' ? mod.default : mod.default.default;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajv.addVocabulary(EDITOR_KEYWORDS);
  const validate = ajv.compile(readSchema());
  const code = standalone(ajv, validate);
  // ajv's ESM output still calls require() for its runtime helpers (equal, ucs2length).
  const prelude =
    'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);';
  const header = `// Generated from schemas/${SCHEMA_FILE} by \`npx tsx schemas/generate-validator.ts\`. Do not edit.\n/* eslint-disable */\n`;
  return `${header}${prelude}\n${code.replace(/^"use strict";/, '')}\n`;
}
