/**
 * The resource types commands take before a name, as kubectl and KubeDB's
 * CLI do: `pg`/`postgres`, `drmn`/`dormantdatabase` (what Pause leaves of a
 * cluster), `snap`/`snapshot`, `all`, and comma lists of them.
 */
import { UsageError } from '../errors.js';

export type ResourceType = 'postgres' | 'dormant' | 'snapshot';

const WORDS: Record<string, ResourceType[]> = {
  postgres: ['postgres'],
  postgreses: ['postgres'],
  pg: ['postgres'],
  'postgres.kubedb.com': ['postgres'],
  drmn: ['dormant'],
  dormantdatabase: ['dormant'],
  dormantdatabases: ['dormant'],
  'dormantdatabase.kubedb.com': ['dormant'],
  snap: ['snapshot'],
  snapshot: ['snapshot'],
  snapshots: ['snapshot'],
  'snapshot.kubedb.com': ['snapshot'],
  all: ['postgres'],
};

/**
 * The types `word` names, or undefined when it names none (a cluster's
 * name). A list that mixes known types with an unknown word, or names a type
 * the command does not take, is refused (exit 2), naming the word.
 */
export function parseTypes(
  word: string | undefined,
  command: string,
  accepted: readonly ResourceType[] = ['postgres'],
): Set<ResourceType> | undefined {
  if (!word) return undefined;
  const words = word.split(',');
  if (!words.some((w) => w in WORDS)) return undefined;
  const out = new Set<ResourceType>();
  for (const w of words) {
    const types = WORDS[w];
    if (!types) throw new UsageError(`kpg ${command} knows no resource type "${w}"`);
    for (const t of types) {
      if (!accepted.includes(t))
        throw new UsageError(`kpg ${command} does not take the type "${w}"`, {
          suggestions: [`kpg ${command} takes: ${accepted.join(', ')}`],
        });
      out.add(t);
    }
  }
  return out;
}

/** Whether `word` names types (of postgres only) rather than a cluster. */
export function isTypeList(word: string | undefined, command: string): boolean {
  return parseTypes(word, command) !== undefined;
}
