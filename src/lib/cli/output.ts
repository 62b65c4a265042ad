/**
 * `-o` for commands that print documents (get, describe): the fixed formats
 * plus kubectl's `jsonpath=TEMPLATE` and `custom-columns=SPEC`. Parsed (template included) before anything is
 * read from the cluster, so a bad one is a usage error (exit 2) at once.
 */
import { UsageError } from '../errors.js';
import { customColumns, jsonPath, JsonPathError, parseTemplate } from './jsonpath.js';

export type Output =
  | { kind: 'plain'; format: string }
  | { kind: 'jsonpath'; template: string }
  | { kind: 'custom-columns'; spec: string };

export function parseOutput(value: string, formats: readonly string[]): Output {
  const m = value.match(/^(jsonpath|custom-columns)=(.*)$/s);
  if (!m) {
    if (formats.includes(value)) return { kind: 'plain', format: value };
    throw new UsageError(
      `unknown output format "${value}": use one of ${[...formats, 'jsonpath=…', 'custom-columns=…'].join(', ')}`,
    );
  }
  const [, kind, arg = ''] = m;
  try {
    if (kind === 'custom-columns') {
      customColumns(arg, {});
      return { kind: 'custom-columns', spec: arg };
    }
    parseTemplate(arg);
    return { kind: 'jsonpath', template: arg };
  } catch (err) {
    if (err instanceof JsonPathError) throw new UsageError(`-o ${kind}: ${err.message}`);
    throw err;
  }
}

/** The text a jsonpath or custom-columns output prints for `data` (`table` formats the columns). */
export function renderOutput(
  o: Exclude<Output, { kind: 'plain' }>,
  data: unknown,
  table: (rows: string[][]) => string,
): string {
  if (o.kind === 'custom-columns') return table(customColumns(o.spec, data));
  return jsonPath(o.template, data);
}
