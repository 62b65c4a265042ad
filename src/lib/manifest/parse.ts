/**
 * Text → YAML documents, refusing hostile input: binary data, non-core tags,
 * duplicate keys, alias bombs and absurd nesting. Pure; never prints.
 */
import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  isScalar,
  LineCounter,
  parseAllDocuments,
  visit,
} from 'yaml';
import { type Problem, ProblemCode } from './problem.js';

/** Alias expansions allowed per document (yaml's resource-exhaustion guard). */
export const MAX_ALIAS_COUNT = 100;
/** Deepest nesting of mappings and sequences accepted. */
export const MAX_DEPTH = 64;
/** Documents allowed in one source. */
export const MAX_DOCUMENTS = 5000;

const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

export interface ParsedDocument {
  /** 0-based position in the stream, counting empty documents too. */
  index: number;
  doc: Document.Parsed;
  /** The plain JavaScript value; undefined when the document could not be converted. */
  value: unknown;
}

export interface ParsedText {
  documents: ParsedDocument[];
  lineCounter: LineCounter;
  problems: Problem[];
}

export interface Position {
  line: number;
  column: number;
}

export function positionAt(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function positionInText(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Bytes → text. Refuses invalid UTF-8 and control characters (NUL and other C0
 * codes except tab, LF and CR), which mean binary data, not a manifest.
 */
export function decodeText(
  bytes: Uint8Array,
  source: string,
): { text: string } | { problem: Problem } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return {
      problem: {
        source,
        path: '',
        message: 'is not UTF-8 text (binary data?); kpg reads YAML or JSON manifests only',
        severity: 'error',
        code: ProblemCode.Binary,
      },
    };
  }
  return checkControlCharacters(text, source);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function checkControlCharacters(
  text: string,
  source: string,
): { text: string } | { problem: Problem } {
  const m = CONTROL.exec(text);
  if (!m) return { text };
  const pos = positionInText(text, m.index);
  const code = m[0].charCodeAt(0).toString(16).padStart(2, '0');
  return {
    problem: {
      source,
      ...pos,
      path: '',
      message: `contains the control character U+00${code.toUpperCase()} (binary data?); kpg reads YAML or JSON manifests only`,
      severity: 'error',
      code: ProblemCode.Binary,
    },
  };
}

function yamlErrorProblem(
  err: { code: string; message: string; pos: [number, number] },
  source: string,
  lineCounter: LineCounter,
): Problem {
  const pos = positionAt(lineCounter, err.pos[0]);
  // prettyErrors is off, but keep only the first line of yaml's message.
  let message = err.message.split('\n')[0] ?? err.message;
  let code: string = ProblemCode.YamlSyntax;
  if (err.code === 'DUPLICATE_KEY') {
    message = 'duplicate key: a mapping must not repeat a key';
    code = ProblemCode.DuplicateKey;
  } else if (err.code === 'NON_STRING_KEY') {
    message = 'mapping keys must be plain strings';
  } else if (/call stack/i.test(message)) {
    message = `nesting is too deep (more than ${MAX_DEPTH} levels)`;
  } else {
    message = `YAML syntax: ${message.replace(/ at line \d+, column \d+:?$/, '')}`;
  }
  return { source, ...pos, path: '', message, severity: 'error', code };
}

/** Explicit tags other than YAML's core ones (`!!binary`, `!!set`, `!foo`…) are refused. */
function checkTags(
  doc: Document.Parsed,
  text: string,
  source: string,
  lineCounter: LineCounter,
): Problem[] {
  const problems: Problem[] = [];
  visit(doc, (_key, node) => {
    if (!node || isPair(node) || isAlias(node)) return;
    const tag = (node as { tag?: string }).tag;
    const range = (node as { range?: [number, number, number] }).range;
    if (tag !== undefined && !CORE_TAGS.has(tag) && range) {
      // The node starts after its tag; point at the tag itself when it is on the same line.
      let bang = text.lastIndexOf('!', range[0]);
      while (bang > 0 && text[bang - 1] === '!') bang--;
      const lineStart = text.lastIndexOf('\n', range[0] - 1);
      problems.push({
        source,
        ...positionAt(lineCounter, bang > lineStart ? bang : range[0]),
        path: '',
        message: `the tag ${tag.replace('tag:yaml.org,2002:', '!!')} is not allowed; manifests use plain YAML (strings, numbers, booleans, null, mappings, sequences)`,
        severity: 'error',
        code: ProblemCode.CustomTag,
      });
    }
  });
  return problems;
}

/** Depth of the node tree, iteratively (a recursive walk could itself overflow). */
function depthExceeds(doc: Document.Parsed, limit: number): number | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth > limit) return (node.range ?? [0])[0];
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push({ node: item.key, depth: depth + 1 }, { node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * Cheap checks before the YAML parser, which is slow on these shapes: too many
 * documents, or flow collections ([ and {) nested absurdly deep.
 */
function preScan(text: string, source: string): Problem | undefined {
  let docs = 0;
  for (let i = text.indexOf('---'); i !== -1; i = text.indexOf('---', i + 3)) {
    if ((i === 0 || text[i - 1] === '\n') && ++docs > MAX_DOCUMENTS) {
      return {
        source,
        ...positionInText(text, i),
        path: '',
        message: `has more than ${MAX_DOCUMENTS} documents; split it`,
        severity: 'error',
        code: ProblemCode.YamlSyntax,
      };
    }
  }
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) {
        return {
          source,
          ...positionInText(text, i),
          path: '',
          message: `nesting is too deep (more than ${MAX_DEPTH} levels)`,
          severity: 'error',
          code: ProblemCode.YamlSyntax,
        };
      }
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}

function isEmptyDocument(doc: Document.Parsed): boolean {
  const c = doc.contents;
  return c === null || (isScalar(c) && c.value === null && c.tag === undefined && c.source === '');
}

/**
 * Parses a YAML (or JSON) stream into documents. Documents with syntax errors
 * are reported and come back with `value` undefined; empty documents are dropped.
 */
export function parseText(text: string, source: string): ParsedText {
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const documents: ParsedDocument[] = [];
  const stripped = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const refused = preScan(stripped, source);
  if (refused) return { documents, lineCounter, problems: [refused] };
  const docs = parseAllDocuments(stripped, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    stringKeys: true,
    merge: true,
    strict: true,
    version: '1.2',
    schema: 'core',
  });
  const hasBang = stripped.includes('!');
  docs.forEach((doc, index) => {
    const docProblems = doc.errors.map((e) => yamlErrorProblem(e, source, lineCounter));
    for (const w of doc.warnings) {
      const p = yamlErrorProblem(w, source, lineCounter);
      if (w.code === 'TAG_RESOLVE_FAILED') {
        docProblems.push({
          ...p,
          message: `${w.message.split(' at line')[0]}: custom tags are not allowed`,
          code: ProblemCode.CustomTag,
        });
      } else docProblems.push({ ...p, severity: 'warning' });
    }
    // Explicit tags start with '!'; without one in the text there is nothing to check.
    if (docProblems.length === 0 && hasBang)
      docProblems.push(...checkTags(doc, stripped, source, lineCounter));
    const deep = docProblems.length === 0 ? depthExceeds(doc, MAX_DEPTH) : undefined;
    if (deep !== undefined) {
      docProblems.push({
        source,
        ...positionAt(lineCounter, deep),
        path: '',
        message: `nesting is too deep (more than ${MAX_DEPTH} levels)`,
        severity: 'error',
        code: ProblemCode.YamlSyntax,
      });
    }
    problems.push(...docProblems);
    if (docProblems.some((p) => p.severity === 'error')) {
      documents.push({ index, doc, value: undefined });
      return;
    }
    if (isEmptyDocument(doc)) return;
    try {
      documents.push({ index, doc, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) });
    } catch (err) {
      problems.push({
        source,
        ...positionAt(lineCounter, doc.range[0]),
        path: '',
        message:
          err instanceof ReferenceError && /alias/i.test(err.message)
            ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}); refusing what looks like a "billion laughs" document`
            : `cannot read the document: ${(err as Error).message}`,
        severity: 'error',
        code: ProblemCode.Alias,
      });
      documents.push({ index, doc, value: undefined });
    }
  });
  return { documents, lineCounter, problems };
}
