// Bundles the three parts of @kubernetes/client-node that kpg uses (KubeConfig,
// Exec, PortForward) into dist/vendor/client-node.js. The package's index
// imports every generated API and model class, which costs most of a second
// of CPU on each `kpg` run; the tree-shaken bundle loads in about a third of
// that (bench/cli-startup.sh measures it). src/lib/kube/config.ts loads the
// bundle, and the package itself where there is none (tests run from src).
//   node scripts/build-client-node.mjs [--outfile PATH]
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--outfile');
const outfile = i !== -1 ? process.argv[i + 1] : join(root, 'dist/vendor/client-node.js');

await build({
  stdin: {
    contents: "export { KubeConfig, Exec, PortForward } from '@kubernetes/client-node';",
    resolveDir: root,
    loader: 'js',
  },
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Some of its dependencies are CommonJS and call require() at run time.
  banner: {
    js: "import { createRequire as kpgCreateRequire } from 'node:module'; const require = kpgCreateRequire(import.meta.url);",
  },
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
process.stdout.write(`wrote ${outfile} (${statSync(outfile).size} bytes)\n`);
