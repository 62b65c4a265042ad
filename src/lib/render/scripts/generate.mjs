// Regenerates ../scripts.ts from the shell scripts in this folder (and src/lib/ha/watchdog.sh):
//   node src/lib/render/scripts/generate.mjs
// The scripts live here as real .sh files (bash -n, editors, diffs); the
// build only compiles TypeScript, so their text ships inside scripts.ts.
// test/unit/render/scripts.test.ts fails when the two disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = ['start.sh', 'ready.sh', 'live.sh', 'kube.sh'];
const body = names
  .map((n) => `  ${JSON.stringify(n)}: ${JSON.stringify(readFileSync(join(here, n), 'utf8'))},`)
  .join('\n');
// Delivered only to clusters with the in-pod agent: agent-start.sh and warm-standby.sh (here) and
// the watchdog, which lives with the decision module it belongs to (src/lib/ha).
const agentFiles = [
  ['agent-start.sh', join(here, 'agent-start.sh')],
  ['warm-standby.sh', join(here, 'warm-standby.sh')],
  ['watchdog.sh', join(here, '../../ha/watchdog.sh')],
];
const agentBody = agentFiles
  .map(([n, f]) => `  ${JSON.stringify(n)}: ${JSON.stringify(readFileSync(f, 'utf8'))},`)
  .join('\n');
// Delivered only to clusters that archive or restore (spec.archiver, spec.init.postgresWAL).
const storageNames = ['storage.sh', 'wal.sh', 'basebackup.sh'];
const storageBody = storageNames
  .map((n) => `  ${JSON.stringify(n)}: ${JSON.stringify(readFileSync(join(here, n), 'utf8'))},`)
  .join('\n');
const out = `// Generated from src/lib/render/scripts/*.sh by \`node src/lib/render/scripts/generate.mjs\`.
// Do not edit: edit the .sh file and run the generator.

export const SCRIPT_NAMES = ${JSON.stringify(names)} as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export const SCRIPTS: Record<ScriptName, string> = {
${body}
};

export const AGENT_SCRIPT_NAMES = ${JSON.stringify(agentFiles.map(([n]) => n))} as const;
export type AgentScriptName = (typeof AGENT_SCRIPT_NAMES)[number];

/** Only for clusters with the in-pod agent: agent-start.sh and warm-standby.sh (this folder), src/lib/ha/watchdog.sh. */
export const AGENT_SCRIPTS: Record<AgentScriptName, string> = {
${agentBody}
};

export const STORAGE_SCRIPT_NAMES = ${JSON.stringify(storageNames)} as const;
export type StorageScriptName = (typeof STORAGE_SCRIPT_NAMES)[number];

/** Only for clusters with spec.archiver or spec.init.postgresWAL: the storage sidecar's script and the postgres side of it. */
export const STORAGE_SCRIPTS: Record<StorageScriptName, string> = {
${storageBody}
};
`;
writeFileSync(join(here, '..', 'scripts.ts'), out);
