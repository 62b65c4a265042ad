/**
 * Manifest input: read, parse and validate `kubedb.com/v1alpha1 Postgres`
 * manifests into PostgresCluster objects. Pure apart from reading inputs;
 * never prints. Commands format `problems` with formatProblems().
 */
import { validateDocument } from './document.js';
import { locate } from './locate.js';
import { checkControlCharacters, decodeText, parseText, type Position } from './parse.js';
import { type Problem, ProblemCode, hasErrors, sortProblems } from './problem.js';
import { readSources, type ReadOptions } from './sources.js';
import type { PostgresCluster } from './types.js';

export {
  countProblems,
  formatLocation,
  formatProblems,
  type Problem,
  ProblemCode,
  type Severity,
} from './problem.js';
export {
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_BYTES,
  MAX_REDIRECTS,
  STDIN_SOURCE,
} from './sources.js';
export { SUPPORTED_MAJORS, SUPPORTED_LIST } from './version.js';
export { API_VERSION, KIND, MAX_NAME_LENGTH } from './document.js';
export type * from './types.js';

/** The schema file editors use, relative to the repository root. */
export const SCHEMA_PATH = 'schemas/postgres.kubedb.com_v1alpha1.json';

/** One non-empty document of the input, valid or not. */
export interface DocumentRef {
  source: string;
  /** 0-based position in its source, counting empty documents. */
  index: number;
  /** From metadata, when readable. */
  name?: string;
  namespace?: string;
  valid: boolean;
}

export interface LoadResult {
  /** Valid clusters, in input order. Empty unless `ok`: one bad document stops the whole input. */
  clusters: PostgresCluster[];
  /** Every document seen (empty ones skipped), valid or not. */
  documents: DocumentRef[];
  /** Errors, warnings and notes: sources in input order, then by line and column. */
  problems: Problem[];
  /** No errors anywhere. */
  ok: boolean;
}

export interface LoadOptions extends ReadOptions {
  /** Per-source size cap in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Deadline for fetching one URL, body included (default 10 s). */
  fetchTimeoutMs?: number;
}

/** Where each cluster's metadata.name is, for duplicate-name errors across sources. */
const namePositions = new WeakMap<PostgresCluster, Position>();

interface SourceResult {
  clusters: PostgresCluster[];
  documents: DocumentRef[];
  problems: Problem[];
}

function validateSource(text: string, source: string): SourceResult {
  const clean = checkControlCharacters(text, source);
  if ('problem' in clean) return { clusters: [], documents: [], problems: [clean.problem] };
  const parsed = parseText(clean.text, source);
  const problems = [...parsed.problems];
  const clusters: PostgresCluster[] = [];
  const documents: DocumentRef[] = [];
  for (const doc of parsed.documents) {
    if (doc.value === undefined) {
      documents.push({ source, index: doc.index, valid: false });
      continue;
    }
    const res = validateDocument(doc, source, parsed.lineCounter);
    problems.push(...res.problems);
    const ref: DocumentRef = { source, index: doc.index, valid: !hasErrors(res.problems) };
    if (res.name !== undefined) ref.name = res.name;
    if (res.namespace !== undefined) ref.namespace = res.namespace;
    documents.push(ref);
    if (res.cluster) {
      clusters.push(res.cluster);
      namePositions.set(res.cluster, locate(doc.doc, parsed.lineCounter, ['metadata', 'name']));
    }
  }
  return { clusters, documents, problems: sortProblems(problems) };
}

/** Two documents naming the same cluster: the second would overwrite the first. */
function duplicateNames(
  clusters: PostgresCluster[],
): { cluster: PostgresCluster; problem: Problem }[] {
  const seen = new Map<string, PostgresCluster>();
  const out: { cluster: PostgresCluster; problem: Problem }[] = [];
  for (const c of clusters) {
    const key = `${c.namespace ?? ''}/${c.name}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, c);
      continue;
    }
    const problem: Problem = {
      source: c.from.source,
      ...namePositions.get(c),
      path: 'metadata.name',
      message: `postgres "${c.name}" is also defined in ${first.from.source} (document ${first.from.index + 1}); names must be unique`,
      severity: 'error',
      code: ProblemCode.DuplicateName,
    };
    out.push({ cluster: c, problem });
  }
  return out;
}

function finish(results: SourceResult[], emptySource: string): LoadResult {
  const problems = results.flatMap((r) => r.problems);
  const documents = results.flatMap((r) => r.documents);
  const clusters = results.flatMap((r) => r.clusters);
  if (documents.length === 0 && !hasErrors(problems)) {
    problems.push({
      source: emptySource,
      path: '',
      message: 'contains no documents',
      severity: 'error',
      code: ProblemCode.NoDocuments,
    });
  }
  for (const { cluster, problem } of duplicateNames(clusters)) {
    const ref = documents.find(
      (d) => d.source === cluster.from.source && d.index === cluster.from.index,
    );
    if (ref) ref.valid = false;
    problems.push(problem);
  }
  const ok = !hasErrors(problems);
  return { clusters: ok ? clusters : [], documents, problems, ok };
}

/**
 * Validates manifest text already in memory (pure: no I/O), e.g. for tests
 * and benchmarks. `source` names it in problems.
 */
export function validateText(text: string, source: string): LoadResult {
  return finish([validateSource(text, source)], source);
}

/**
 * Reads and validates every input: files, directories (their *.yaml, *.yml and
 * *.json, sorted), `-` for stdin, and http(s) URLs.
 */
export async function loadManifests(inputs: string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const sources = await readSources(inputs, opts);
  const results = sources.map((s): SourceResult => {
    if ('problem' in s) return { clusters: [], documents: [], problems: [s.problem] };
    const decoded = decodeText(s.bytes, s.source);
    if ('problem' in decoded) return { clusters: [], documents: [], problems: [decoded.problem] };
    return validateSource(decoded.text, s.source);
  });
  return finish(
    results,
    inputs.length === 1 ? (inputs[0] === '-' ? '<stdin>' : inputs[0]!) : 'input',
  );
}
