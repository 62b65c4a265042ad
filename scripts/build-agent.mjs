// Bundles src/agent into one CommonJS file for Node 20 and later, delivered
// to the pods in a ConfigMap (which must stay under 1 MiB).
//   node scripts/build-agent.mjs [--outfile PATH]   (default dist/agent/kpg-agent.cjs)
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--outfile');
const outfile = i !== -1 ? process.argv[i + 1] : join(root, 'dist/agent/kpg-agent.cjs');

await build({
  entryPoints: [join(root, 'src/agent/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: node runs a .cjs file as such with no package.json beside it.
  format: 'cjs',
  // pg loads pg-native only when asked for (pg.native); the agent never does.
  external: ['pg-native'],
  // Whitespace and syntax only: names stay, so a stack trace in a pod's log still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  banner: {
    js: '// kpg-agent, built from src/agent of kpg (Apache-2.0); bundles pg and its dependencies (MIT).',
  },
  logLevel: 'warning',
});
process.stdout.write(`wrote ${outfile} (${statSync(outfile).size} bytes)\n`);
