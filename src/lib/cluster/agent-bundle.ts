/**
 * The in-pod agent's bundle as the commands hand it to rendering: the file
 * `npm run build` writes (scripts/build-agent.mjs), found from this module's
 * place in the package (dist/lib/cluster, or src/lib/cluster when run from
 * source: the same depth below the package root).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../errors.js';
import type { PostgresCluster } from '../manifest/types.js';
import { agentEnabled } from '../render/index.js';

export const AGENT_BUNDLE_PATH = fileURLToPath(
  new URL('../../../dist/agent/kpg-agent.cjs', import.meta.url),
);

/** The bundle when one of the clusters asks for the agent; undefined (and no file read) otherwise. */
export function agentBundleFor(
  clusters: readonly Pick<PostgresCluster, 'name' | 'annotations'>[],
  path = AGENT_BUNDLE_PATH,
): string | undefined {
  const wanting = clusters.filter((c) => agentEnabled(c));
  if (wanting.length === 0) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InvalidInputError(
      `postgres "${wanting[0]?.name}" runs the in-pod agent (kpg.io/agent is not "false"), but its bundle ${path} cannot be read (${code}); nothing was created`,
      { suggestions: ['build it: npm run build (scripts/build-agent.mjs writes it)'] },
    );
  }
}
