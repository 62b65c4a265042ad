/** Turns ajv errors into problems with plain sentences and did-you-mean hints. */
import type { ErrorObject } from 'ajv';
import { type PathSegment, parsePointer } from './locate.js';
import { ProblemCode } from './problem.js';
import { didYouMean } from './suggest.js';

/** A schema problem before it gets a source and a position. */
export interface SchemaIssue {
  path: PathSegment[];
  /** Point at the field's key (unknown or unsupported fields, missing children) or its value. */
  at: 'key' | 'value';
  message: string;
  code: string;
}

type Schema = Record<string, unknown> | undefined;

/** Instance paths checked in code instead (better messages). */
const HANDLED_ELSEWHERE = new Set(['/spec/version', '/apiVersion', '/kind']);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return value.length > 40 ? `"${value.slice(0, 37)}..."` : JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

const typeNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function typeMessage(e: ErrorObject): string {
  const wanted = String((e.params as { type: string | string[] }).type)
    .split(',')
    .map((t) => typeNames[t] ?? t)
    .join(' or ');
  return `must be ${wanted}, not ${describe(e.data)}`;
}

function enumMessage(e: ErrorObject): string {
  const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
  const got = describe(e.data);
  const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
  return `must be one of ${allowed.join(', ')}, not ${got}${hint}`;
}

function additionalMessage(e: ErrorObject, field: string): string {
  const props = Object.keys(((e.parentSchema as Schema)?.properties ?? {}) as object);
  return `unknown field "${field}"${didYouMean(field, props)}`;
}

function limitMessage(e: ErrorObject): string {
  const limit = (e.params as { limit: number }).limit;
  switch (e.keyword) {
    case 'minimum':
      return `must be at least ${limit}, not ${String(e.data)}`;
    case 'maximum':
      return `must be at most ${limit}, not ${String(e.data)}`;
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long`;
    case 'maxLength':
      return `must be at most ${limit} characters long, not ${String(e.data).length}`;
    case 'minItems':
      return limit === 1 ? 'must not be an empty list' : `must list at least ${limit} items`;
    default:
      return `must not list more than ${limit} items`;
  }
}

function patternMessage(e: ErrorObject): string {
  const custom = (e.parentSchema as Schema)?.patternErrorMessage;
  return `${typeof custom === 'string' ? custom : 'has an invalid format'}, not ${describe(e.data)}`;
}

function messageFor(e: ErrorObject): { message: string; code: string } {
  switch (e.keyword) {
    case 'type':
      return { message: typeMessage(e), code: ProblemCode.Type };
    case 'enum':
      return { message: enumMessage(e), code: ProblemCode.Value };
    case 'const':
      return {
        message: `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`,
        code: ProblemCode.Value,
      };
    case 'pattern':
      return { message: patternMessage(e), code: ProblemCode.Value };
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return { message: limitMessage(e), code: ProblemCode.Value };
    case 'uniqueItems': {
      const { j } = e.params as { i: number; j: number };
      const dup = Array.isArray(e.data) ? describe(e.data[j]) : 'an item';
      return { message: `must not list ${dup} twice`, code: ProblemCode.Value };
    }
    case 'not': {
      const custom = (e.parentSchema as Schema)?.errorMessage;
      return {
        message: typeof custom === 'string' ? custom : 'is not supported by kpg',
        code: ProblemCode.Unsupported,
      };
    }
    default:
      return { message: e.message ?? 'is invalid', code: ProblemCode.Value };
  }
}

function toIssue(e: ErrorObject): SchemaIssue | undefined {
  const path = parsePointer(e.instancePath);
  if (e.keyword === 'propertyNames') return undefined; // reported through its sub-error
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return {
      path,
      at: 'key',
      message: `missing required field "${missing}"`,
      code: ProblemCode.Required,
    };
  }
  if (e.keyword === 'additionalProperties') {
    const field = (e.params as { additionalProperty: string }).additionalProperty;
    return {
      path: [...path, field],
      at: 'key',
      message: additionalMessage(e, field),
      code: ProblemCode.UnknownField,
    };
  }
  const { message, code } = messageFor(e);
  if (e.propertyName !== undefined) {
    const key = e.propertyName;
    return {
      path: [...path, key],
      at: 'key',
      message: `the key ${message.replace(/, not .*$/, '')}`,
      code,
    };
  }
  return { path, at: e.keyword === 'not' ? 'key' : 'value', message, code };
}

/** ajv errors → issues, dropping duplicates and paths checked in code. */
export function schemaIssues(errors: ErrorObject[] | null | undefined): SchemaIssue[] {
  const seen = new Set<string>();
  const out: SchemaIssue[] = [];
  for (const e of errors ?? []) {
    if (HANDLED_ELSEWHERE.has(e.instancePath)) continue;
    const issue = toIssue(e);
    if (!issue) continue;
    const key = `${JSON.stringify(issue.path)}|${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}
