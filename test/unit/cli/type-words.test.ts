/** The types get and describe take before a name (kubectl's, KubeDB's). */
import { describe, expect, it } from 'vitest';
import { isTypeList, parseTypes } from '../../../src/lib/cli/type-words.js';

describe('isTypeList', () => {
  it('knows pg, postgres, all and comma lists of them; anything else is a name', () => {
    for (const w of ['pg', 'postgres', 'postgres.kubedb.com', 'all', 'pg,all'])
      expect(isTypeList(w, 'get')).toBe(true);
    for (const w of [undefined, '', 'ha-postgres']) expect(isTypeList(w, 'get')).toBe(false);
  });

  it('refuses a list with a type it does not know, naming it (exit 2)', () => {
    expect(() => isTypeList('pg,widgets', 'describe')).toThrow(
      'kpg describe knows no resource type "widgets"',
    );
  });
});

describe('parseTypes', () => {
  const all = ['postgres', 'dormant', 'snapshot'] as const;
  it("KubeDB's short names and comma lists, as delete takes them", () => {
    expect(parseTypes('pg,drmn,snap', 'delete', all)).toEqual(
      new Set(['postgres', 'dormant', 'snapshot']),
    );
    expect(parseTypes('dormantdatabase', 'delete', all)).toEqual(new Set(['dormant']));
    expect(parseTypes('ha-postgres', 'delete', all)).toBeUndefined();
  });

  it('a type the command does not take is a usage error, not a cluster name', () => {
    expect(() => parseTypes('snap', 'get')).toThrow('kpg get does not take the type "snap"');
    expect(() => parseTypes('pg,drmn', 'describe')).toThrow(/does not take the type "drmn"/);
  });
});
