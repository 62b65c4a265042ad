/**
 * The resource types `get` and `describe` take before a name, as kubectl and
 * KubeDB's CLI do: `pg`, `postgres`, `all`, and comma lists of them.
 */
import { UsageError } from '../errors.js';

const TYPE_WORDS = new Set(['postgres', 'postgreses', 'pg', 'postgres.kubedb.com', 'all']);

/**
 * Whether `word` names types rather than a cluster. A list that mixes known
 * types with an unknown word is refused (exit 2), naming the word; a single
 * unknown word is a cluster's name.
 */
export function isTypeList(word: string | undefined, command: string): boolean {
  if (!word) return false;
  const words = word.split(',');
  if (!words.some((w) => TYPE_WORDS.has(w))) return false;
  const unknown = words.find((w) => !TYPE_WORDS.has(w));
  if (unknown) throw new UsageError(`kpg ${command} knows no resource type "${unknown}"`);
  return true;
}
