/**
 * Which clusters a `kpg delete` names, kubectl's way: names and -f, or a label
 * selector / --all (which -A widens to every namespace) — never both, and -A
 * never alone, so a bare `kpg delete -A` cannot mean "everything".
 */
import { UsageError } from '../errors.js';
import type { DeletePlan } from './delete-plan.js';
import { removesData } from './delete-plan.js';

export interface DeleteScopeInput {
  names: string[];
  files: string[];
  selector?: string;
  all: boolean;
  allNamespaces: boolean;
}

export type DeleteScope =
  { by: 'name' } | { by: 'selector'; selector?: string; allNamespaces: boolean };

export function deleteScope(i: DeleteScopeInput): DeleteScope {
  const listing = i.selector !== undefined || i.all;
  if (listing && (i.names.length > 0 || i.files.length > 0)) {
    throw new UsageError('names or -f cannot be given together with -l/--selector or --all', {
      suggestions: ['kpg delete NAME...', 'kpg delete -l env=test', 'kpg delete --all -n NS'],
    });
  }
  if (i.selector !== undefined && i.all) {
    throw new UsageError('give -l/--selector or --all, not both');
  }
  if (i.selector !== undefined && i.selector.trim() === '') {
    throw new UsageError('-l/--selector is empty; use --all to delete every cluster');
  }
  if (listing) return { by: 'selector', selector: i.selector, allNamespaces: i.allNamespaces };
  if (i.allNamespaces) {
    throw new UsageError('-A/--all-namespaces needs -l/--selector or --all', {
      suggestions: ['kpg delete -A -l env=test', 'kpg delete -A --all'],
    });
  }
  if (i.names.length === 0 && i.files.length === 0) {
    throw new UsageError('name the clusters to delete, or give -f FILE, -l SELECTOR or --all', {
      suggestions: ['kpg delete NAME [NAME...]'],
    });
  }
  return { by: 'name' };
}

/** Why the whole delete is refused: every cluster whose policy forbids it. Nothing is removed then. */
export function refusalOf(plans: DeletePlan[]): string | undefined {
  const refused = plans.filter((p) => p.refusal);
  if (refused.length === 0) return undefined;
  if (plans.length === 1) return refused[0]!.refusal;
  const names = refused.map((p) => `${p.namespace}/${p.name}`).join(', ');
  return `${names} ${refused.length === 1 ? 'has' : 'have'} terminationPolicy DoNotTerminate; nothing was deleted`;
}

/** The one question asked on a terminal before the plans (each removing something) are carried out. */
export function deleteQuestion(acting: DeletePlan[]): string {
  if (acting.length === 1) {
    const p = acting[0]!;
    return removesData(p)
      ? `Delete postgres "${p.name}" AND ITS DATA (${p.wipe ?? p.policy})?`
      : `Delete postgres "${p.name}" (${p.policy}: the data is kept)?`;
  }
  const withData = acting.filter(removesData).map((p) => p.name);
  const names = acting.map((p) => `"${p.name}"`).join(', ');
  return withData.length > 0
    ? `Delete ${acting.length} postgres clusters (${names}), ${withData.length} of them WITH THEIR DATA?`
    : `Delete ${acting.length} postgres clusters (${names}; their data is kept)?`;
}
