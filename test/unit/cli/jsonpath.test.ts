/** kubectl's -o jsonpath and -o custom-columns on kpg's documents. */
import { describe, expect, it } from 'vitest';
import { customColumns, JsonPathError, jsonPath } from '../../../src/lib/cli/jsonpath.js';

const list = {
  items: [
    { name: 'a', ready: 3, replicas: 3, primary: 'a-0', status: 'Running', tags: { env: 'prod' } },
    { name: 'b', ready: 1, replicas: 3, primary: 'b-1', status: 'Degraded' },
  ],
};

describe('jsonPath', () => {
  it('prints fields, joins several results with a space, and objects as JSON', () => {
    expect(jsonPath('{.items[0].name}', list)).toBe('a');
    expect(jsonPath('{.items[*].name}', list)).toBe('a b');
    expect(jsonPath('{.items[0].tags}', list)).toBe('{"env":"prod"}');
    expect(jsonPath('{..primary}', list)).toBe('a-0 b-1');
    expect(jsonPath("{.items[0]['primary']}", list)).toBe('a-0');
    expect(jsonPath('{$.items[-1].name}', list)).toBe('b');
    expect(jsonPath('{.items[0:1].name}', list)).toBe('a');
    expect(jsonPath('name={.items[1].name}!', list)).toBe('name=b!');
  });

  it('ranges, string literals with escapes, and filters', () => {
    expect(jsonPath('{range .items[*]}{.name}{"\\t"}{.status}{"\\n"}{end}', list)).toBe(
      'a\tRunning\nb\tDegraded\n',
    );
    expect(jsonPath('{.items[?(@.status=="Degraded")].name}', list)).toBe('b');
    expect(jsonPath('{.items[?(@.ready < 3)].primary}', list)).toBe('b-1');
    expect(jsonPath('{.items[?(@.tags)].name}', list)).toBe('a');
  });

  it('prints nothing for a missing key, as kubectl does by default', () => {
    expect(jsonPath('{.items[0].nope}', list)).toBe('');
    expect(jsonPath('{.items[7].name}', list)).toBe('');
  });

  it('refuses a template it cannot parse, naming the part', () => {
    expect(() => jsonPath('{.items[}', list)).toThrow(JsonPathError);
    expect(() => jsonPath('{range .items[*]}{.name}', list)).toThrow('{range} without an {end}');
    expect(() => jsonPath('{end}', list)).toThrow('{end} without a {range}');
    expect(() => jsonPath('{.a', list)).toThrow('unclosed');
    expect(() => jsonPath('{.items[?(@.status==Running)]}', list)).toThrow('quote a string');
  });
});

describe('customColumns', () => {
  it('one row per item, <none> where nothing is found, with or without braces', () => {
    expect(customColumns('NAME:.name,PRIMARY:{.primary},ENV:.tags.env', list)).toEqual([
      ['NAME', 'PRIMARY', 'ENV'],
      ['a', 'a-0', 'prod'],
      ['b', 'b-1', '<none>'],
    ]);
    expect(customColumns('NAME:.name', list.items[0])).toEqual([['NAME'], ['a']]);
  });

  it('refuses a column that is not HEADER:PATH', () => {
    expect(() => customColumns('NAME', list)).toThrow('is not HEADER:PATH');
  });
});
