/** The types get and describe take before a name (kubectl's, KubeDB's). */
import { describe, expect, it } from 'vitest';
import { isTypeList } from '../../../src/lib/cli/type-words.js';

describe('isTypeList', () => {
  it('knows pg, postgres, all and comma lists of them; anything else is a name', () => {
    for (const w of ['pg', 'postgres', 'postgres.kubedb.com', 'all', 'pg,all'])
      expect(isTypeList(w, 'get')).toBe(true);
    for (const w of [undefined, '', 'ha-postgres', 'snap'])
      expect(isTypeList(w, 'get')).toBe(false);
  });

  it('refuses a list with a type it does not know, naming it (exit 2)', () => {
    expect(() => isTypeList('pg,widgets', 'describe')).toThrow(
      'kpg describe knows no resource type "widgets"',
    );
  });
});
