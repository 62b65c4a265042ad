/** -o for get and describe: fixed formats, jsonpath= and custom-columns=, checked before any request. */
import { describe, expect, it } from 'vitest';
import { parseOutput, renderOutput } from '../../../src/lib/cli/output.js';
import { UsageError } from '../../../src/lib/errors.js';

describe('parseOutput', () => {
  it('takes the fixed formats and kubectl’s template formats', () => {
    expect(parseOutput('wide', ['table', 'wide'])).toEqual({ kind: 'plain', format: 'wide' });
    expect(parseOutput('jsonpath={.name}', ['table'])).toEqual({
      kind: 'jsonpath',
      template: '{.name}',
    });
    expect(parseOutput('custom-columns=N:.name', ['table'])).toEqual({
      kind: 'custom-columns',
      spec: 'N:.name',
    });
  });

  it('refuses an unknown format or a bad template as a usage error (exit 2)', () => {
    expect(() => parseOutput('xml', ['table', 'json'])).toThrow(UsageError);
    expect(() => parseOutput('xml', ['table', 'json'])).toThrow(
      'unknown output format "xml": use one of table, json, jsonpath=…, custom-columns=…',
    );
    expect(() => parseOutput('jsonpath={range .items[*]}', ['table'])).toThrow(
      '-o jsonpath: {range} without an {end}',
    );
    expect(() => parseOutput('custom-columns=NAME', ['table'])).toThrow(UsageError);
  });

  it('renders a template, or the columns through the given table', () => {
    const doc = { items: [{ name: 'a' }, { name: 'b' }] };
    expect(renderOutput({ kind: 'jsonpath', template: '{.items[*].name}' }, doc, String)).toBe(
      'a b',
    );
    const table = (rows: string[][]) => rows.map((r) => r.join('|')).join('\n');
    expect(renderOutput({ kind: 'custom-columns', spec: 'N:.name' }, doc, table)).toBe('N\na\nb');
  });
});
