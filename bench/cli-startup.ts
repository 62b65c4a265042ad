/**
 * Benchmark for what every `kpg` run pays before its first request (not a
 * timed test; the machine is noisy).
 *   npm run build && npx tsx bench/cli-startup.ts [--runs N]
 * In a fresh `node` per sample, interleaved so all see the same load:
 * 1. `node -e 0`;
 * 2. importing @kubernetes/client-node (its index loads every generated API);
 * 3. importing dist/vendor/client-node.js (the bundle of the parts kpg uses,
 *    scripts/build-client-node.mjs), which is what kpg loads;
 * 4. `node bin/run.js version --client` (the CLI without a request).
 * Each sample is the child's own CPU time (user + system, from getrusage),
 * the measure of what it costs a machine running many kpg at once; the median
 * of N is printed, with the ratio to `node -e 0`. Figures: bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const BUNDLE = join(ROOT, 'dist/vendor/client-node.js');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// The child reports its own CPU time after its work, so the parent's spawn is not counted.
const REPORT = `const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000));`;

function cpuMs(args: string[]): number {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
  return Number(r.stdout.trim().split('\n').pop());
}

const cases: Record<string, string[]> = {
  'node -e 0': ['--input-type=module', '-e', REPORT],
  'import @kubernetes/client-node': [
    '--input-type=module',
    '-e',
    `await import('@kubernetes/client-node'); ${REPORT}`,
  ],
  'import dist/vendor/client-node.js': [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(BUNDLE)}); ${REPORT}`,
  ],
  'kpg version --client': [
    '--input-type=module',
    '-e',
    `process.argv.push(${JSON.stringify(join(ROOT, 'bin/run.js'))}, 'version', '--client'); process.on('exit', () => { ${REPORT.replace('process.stdout.write', 'process.stderr.write')} }); await import(${JSON.stringify(join(ROOT, 'bin/run.js'))});`,
  ],
};

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(cases).map((k) => [k, []]),
);
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) {
    if (name === 'kpg version --client') {
      const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`kpg version --client: ${r.stderr}`);
      samples[name]!.push(Number(r.stderr.trim().split('\n').pop()));
    } else samples[name]!.push(cpuMs(args));
  }
}
const base = median(samples['node -e 0']!);
process.stdout.write(`CPU time (user + system) of a fresh node, median of ${RUNS}:\n`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  process.stdout.write(
    `  ${name.padEnd(36)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(1)}× node -e 0\n`,
  );
}
