/**
 * Benchmark for manifest validation (not a timed test; the machine is noisy).
 *   npx tsx bench/validate.ts [--runs N]
 * 1. Validating 1,000 documents in one process (goal < 1 s).
 * 2. Loading the precompiled validator vs compiling the schema with ajv, each in a fresh process.
 * 3. Cold start of `node bin/run.js validate -f examples/ha-postgres.yaml` (goal < 0.5 s),
 *    as a median of N runs and as a ratio to `node -e 0` measured in the same run.
 * Method and figures: bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateText } from '../src/lib/manifest/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

function exampleText(): { file: string; text: string } {
  const file = existsSync(join(ROOT, 'examples/ha-postgres.yaml'))
    ? 'examples/ha-postgres.yaml'
    : 'test/fixtures/seeds/001-ha-postgres.yaml';
  return { file, text: readFileSync(join(ROOT, file), 'utf8') };
}

function benchInProcess(): void {
  const { text } = exampleText();
  const docs = Array.from({ length: 1000 }, (_, i) =>
    text.replace(/name: ha-postgres/, `name: ha-postgres-${i}`),
  );
  const stream = docs.join('\n---\n');
  // Warm up (JIT), then measure.
  for (let w = 0; w < 3; w++) validateText(stream, 'warmup.yaml');
  const oneStream: number[] = [];
  const separate: number[] = [];
  for (let r = 0; r < 7; r++) {
    let t = performance.now();
    const res = validateText(stream, 'bench.yaml');
    oneStream.push(performance.now() - t);
    if (!res.ok || res.clusters.length !== 1000)
      throw new Error(`expected 1000 valid clusters, got ${res.clusters.length}`);
    t = performance.now();
    for (const [i, d] of docs.entries()) validateText(d, `doc-${i}.yaml`);
    separate.push(performance.now() - t);
  }
  console.log('1. 1,000 documents in one process (median of 7, after three warm-up runs)');
  console.log(
    `   one 1,000-document stream: ${ms(median(oneStream))}  (${(median(oneStream) / 1000).toFixed(3)} ms/document)`,
  );
  console.log(`   1,000 separate texts:      ${ms(median(separate))}`);
}

/** Runs a tiny module in a fresh node and returns the ms it reports. */
function childMs(code: string): number {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

function benchValidatorLoad(): void {
  const pre = `const t=performance.now(); await import('./schemas/postgres.kubedb.com_v1alpha1.validate.generated.js'); console.log(performance.now()-t)`;
  const compile = `const t=performance.now(); const {Ajv}=await import('ajv'); const fs=await import('node:fs');
    const a=new Ajv({allErrors:true,strict:true,allowUnionTypes:true,verbose:true});
    a.addVocabulary(['patternErrorMessage','deprecationMessage','errorMessage','markdownDescription']);
    a.compile(JSON.parse(fs.readFileSync('schemas/postgres.kubedb.com_v1alpha1.json','utf8'))); console.log(performance.now()-t)`;
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(childMs(pre));
    b.push(childMs(compile));
  }
  console.log(`2. Getting a ready validator in a fresh process (median of ${RUNS})`);
  console.log(`   precompiled (ajv standalone): ${ms(median(a))}`);
  console.log(
    `   import ajv + compile schema:  ${ms(median(b))}  (${(median(b) / median(a)).toFixed(1)}x slower)`,
  );
}

function wall(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const elapsed = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return elapsed;
}

function benchColdStart(): void {
  if (!existsSync(join(ROOT, 'dist/commands/validate.js'))) {
    console.log('3. Cold start: skipped (run `npm run build` first)');
    return;
  }
  const { file } = exampleText();
  const kpg: number[] = [];
  const bare: number[] = [];
  wall(['bin/run.js', 'validate', '-f', file]); // fill the file system cache
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so both see the same machine load.
    bare.push(wall(['-e', '0']));
    kpg.push(wall(['bin/run.js', 'validate', '-f', file]));
  }
  const k = median(kpg);
  const n = median(bare);
  console.log(`3. Cold start (median of ${RUNS}, interleaved)`);
  console.log(`   node -e 0:                                  ${ms(n)}`);
  console.log(
    `   node bin/run.js validate -f ${file}: ${ms(k)}  (${(k / n).toFixed(1)}x node -e 0; kpg's own share ${ms(k - n)})`,
  );
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
benchInProcess();
benchValidatorLoad();
benchColdStart();
