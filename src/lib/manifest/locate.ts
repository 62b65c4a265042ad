/** Finds where a field path sits in the YAML text, for line and column numbers. */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type ParsedNode,
} from 'yaml';
import { type Position, positionAt } from './parse.js';

export type PathSegment = string | number;

interface Found {
  /** The key node when the last segment is a mapping key. */
  key?: Node;
  /** The value node, when present. */
  value?: Node | null;
  /** Number of segments actually matched. */
  matched: number;
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function walk(doc: Document, path: PathSegment[]): Found {
  let node: unknown = resolve(doc, doc.contents);
  let found: Found = { value: node as Node, matched: 0 };
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      node = resolve(doc, pair.value);
      found = { key: pair.key as Node, value: pair.value as Node | null, matched: i + 1 };
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = resolve(doc, item);
      found = { value: item as Node, matched: i + 1 };
    } else break;
  }
  return found;
}

function startOf(node: Node | null | undefined): number | undefined {
  return (node as ParsedNode | null | undefined)?.range?.[0];
}

/**
 * Position of a field: its key when `at` is `key` (unknown fields, missing
 * children reported on the parent), else its value; falls back to the deepest
 * ancestor found, then to the document start.
 */
export function locate(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: PathSegment[],
  at: 'key' | 'value' = 'value',
): Position {
  const found = walk(doc, path);
  const exact = found.matched === path.length;
  const offset =
    (exact && at === 'value' ? startOf(found.value) : undefined) ??
    startOf(found.key) ??
    startOf(found.value) ??
    doc.range[0];
  return positionAt(lineCounter, offset);
}

/** The source text of a scalar (e.g. `10.10` exactly as written), or undefined. */
export function scalarSource(doc: Document.Parsed, path: PathSegment[]): string | undefined {
  const found = walk(doc, path);
  if (found.matched !== path.length) return undefined;
  const node = resolve(doc, found.value);
  if (!isScalar(node)) return undefined;
  const src = (node as { source?: string }).source;
  return typeof src === 'string' ? src : undefined;
}

/** `spec.storage.resources` / `spec.podTemplate.spec.env[0].name`. */
export function formatPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** ajv instancePath (`/spec/env/0/name`) → segments. */
export function parsePointer(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}
