/**
 * kubectl's `-o jsonpath=TEMPLATE` and `-o custom-columns=SPEC`, for kpg's
 * own JSON documents (what `-o json` prints). The template syntax is
 * kubectl's (client-go's util/jsonpath): text with `{…}` actions; an action
 * is a path (`.a.b`, `..a` anywhere below, `['a b']`, `[0]`, `[-1]`,
 * `[1:3]`, `[*]`, `.*`, `[?(@.a == "x")]` with == != < > <= >= or a bare
 * `[?(@.a)]`), a string literal (`{"\n"}`), or `range PATH` … `end`. As
 * with kubectl's default (--allow-missing-template-keys), a missing key
 * prints nothing; several results of one action are joined by a space;
 * objects print as JSON. Pure: parse errors throw JsonPathError.
 */

export class JsonPathError extends Error {}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'path'; path: Step[] }
  | { kind: 'range'; path: Step[]; body: Node[] };

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'recursive'; name: string }
  | { kind: 'all' }
  | { kind: 'index'; at: number }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; path: Step[]; op?: string; value?: unknown };

/** Parses a template; throws JsonPathError naming what is wrong. */
export function parseTemplate(template: string): Node[] {
  const re = /\{((?:"(?:[^"\\]|\\.)*"|'[^']*'|[^}])*)\}/g;
  let last = 0;
  const out: Node[] = [];
  const stack: Node[][] = [out];
  const ranges: Extract<Node, { kind: 'range' }>[] = [];
  for (let m = re.exec(template); m; m = re.exec(template)) {
    if (m.index > last) stack.at(-1)!.push({ kind: 'text', text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    const action = (m[1] ?? '').trim();
    if (action === 'end') {
      if (ranges.length === 0) throw new JsonPathError('{end} without a {range}');
      ranges.pop();
      stack.pop();
    } else if (action.startsWith('range ')) {
      const node = { kind: 'range' as const, path: parsePath(action.slice(6).trim()), body: [] };
      stack.at(-1)!.push(node);
      ranges.push(node);
      stack.push(node.body);
    } else if (/^(["']).*\1$/s.test(action)) {
      stack.at(-1)!.push({ kind: 'text', text: unquote(action) });
    } else {
      stack.at(-1)!.push({ kind: 'path', path: parsePath(action) });
    }
  }
  const rest = template.slice(last);
  if (rest.includes('{') || rest.includes('}'))
    throw new JsonPathError(`unclosed action in "${template}"`);
  if (rest) stack.at(-1)!.push({ kind: 'text', text: rest });
  if (ranges.length > 0) throw new JsonPathError('{range} without an {end}');
  return out;
}

function unquote(s: string): string {
  const body = s.slice(1, -1);
  if (s.startsWith("'")) return body;
  return body.replace(/\\(.)/g, (_, c: string) =>
    c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c,
  );
}

/** The step forms, tried in order at the start of what is left of a path. */
const RULES: [RegExp, (m: RegExpMatchArray) => Step][] = [
  [/^\.\.([\w-]+)/, (m) => ({ kind: 'recursive', name: m[1]! })],
  [/^\.\*/, () => ({ kind: 'all' })],
  [/^\.([\w-]+)/, (m) => ({ kind: 'field', name: m[1]! })],
  [/^\[\s*(['"])(.*?)\1\s*\]/, (m) => ({ kind: 'field', name: m[2]! })],
  [/^\[\s*\*\s*\]/, () => ({ kind: 'all' })],
  [/^\[\s*(-?\d+)\s*\]/, (m) => ({ kind: 'index', at: Number(m[1]) })],
  [
    /^\[\s*(-?\d*)\s*:\s*(-?\d*)\s*(?::\s*(\d*)\s*)?\]/,
    (m) => ({
      kind: 'slice',
      ...(m[1] ? { start: Number(m[1]) } : {}),
      ...(m[2] ? { end: Number(m[2]) } : {}),
      ...(m[3] ? { step: Number(m[3]) } : {}),
    }),
  ],
  [
    /^\[\?\(\s*(@[^\s=!<>)]*)\s*(?:(==|!=|<=|>=|<|>)\s*([^)]*?))?\s*\)\]/,
    (m) => ({
      kind: 'filter',
      path: parsePath(m[1]!),
      ...(m[2] ? { op: m[2], value: literal(m[3]!) } : {}),
    }),
  ],
];

function parsePath(src: string): Step[] {
  // kubectl takes `{.a}` and, for the first step, `{a}`.
  let s = src.replace(/^[$@]/, '').replace(/^(?=[\w-])/, '.');
  const steps: Step[] = [];
  while (s.length > 0) {
    const rule = RULES.map(([re, make]) => [s.match(re), make] as const).find(([m]) => m);
    if (!rule) throw new JsonPathError(`cannot parse "${s}" in the path "${src}"`);
    const [m, make] = rule;
    steps.push(make(m!));
    s = s.slice(m![0].length);
  }
  return steps;
}

function literal(raw: string): unknown {
  const t = raw.trim();
  if (/^(["']).*\1$/.test(t)) return t.slice(1, -1);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  throw new JsonPathError(`cannot compare with ${t}: quote a string ("…")`);
}

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function children(v: Json): Json[] {
  if (Array.isArray(v)) return v;
  return isObject(v) ? Object.values(v) : [];
}

function descendants(v: Json, name: string, out: Json[]): void {
  if (isObject(v) && name in v) out.push(v[name]);
  for (const c of children(v)) descendants(c, name, out);
}

function slice(a: Json[], st: Extract<Step, { kind: 'slice' }>): Json[] {
  const norm = (i: number) => (i < 0 ? Math.max(0, a.length + i) : Math.min(i, a.length));
  const out: Json[] = [];
  for (let i = norm(st.start ?? 0); i < norm(st.end ?? a.length); i += st.step || 1) out.push(a[i]);
  return out;
}

function compare(a: Json, op: string, b: Json): boolean {
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
  const [x, y] = [a as number | string, b as number | string];
  return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
}

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

/** What one step finds below one value. */
const STEPS: { [K in Step['kind']]: (v: Json, st: StepOf<K>) => Json[] } = {
  field: (v, st) => (isObject(v) && st.name in v ? [v[st.name]] : []),
  recursive: (v, st) => {
    const out: Json[] = [];
    descendants(v, st.name, out);
    return out;
  },
  all: (v) => children(v),
  index: (v, st) => {
    if (!Array.isArray(v)) return [];
    const i = st.at < 0 ? v.length + st.at : st.at;
    return i >= 0 && i < v.length ? [v[i]] : [];
  },
  slice: (v, st) => (Array.isArray(v) ? slice(v, st) : []),
  filter: (v, st) =>
    (Array.isArray(v) ? v : [v]).filter((c) => {
      const found = evaluate(st.path, c);
      return st.op === undefined
        ? found.length > 0
        : found.some((f) => compare(f, st.op!, st.value));
    }),
};

function step(values: Json[], st: Step): Json[] {
  const apply = STEPS[st.kind] as (v: Json, st: Step) => Json[];
  return values.flatMap((v) => apply(v, st));
}

/** The values a path finds in `root`. */
export function evaluate(path: Step[], root: Json): Json[] {
  return path.reduce<Json[]>((vs, st) => step(vs, st), [root]);
}

function show(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function render(nodes: Node[], data: Json): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'path') out += evaluate(n.path, data).map(show).join(' ');
    else for (const item of evaluate(n.path, data)) out += render(n.body, item);
  }
  return out;
}

/** `-o jsonpath=TEMPLATE` of one document. */
export function jsonPath(template: string, data: Json): string {
  return render(parseTemplate(template), data);
}

/**
 * `-o custom-columns=HEAD:PATH,…`: one row per item (`data.items`, or the
 * document itself), `<none>` where a path finds nothing.
 */
export function customColumns(spec: string, data: Json): string[][] {
  const columns = spec.split(',').map((c) => {
    const i = c.indexOf(':');
    if (i <= 0 || i === c.length - 1)
      throw new JsonPathError(`"${c}" is not HEADER:PATH (as in NAME:.name)`);
    const path = c.slice(i + 1).trim();
    return {
      head: c.slice(0, i).trim(),
      path: parsePath(path.replace(/^\{(.*)\}$/, '$1')),
    };
  });
  const items = isObject(data) && Array.isArray(data.items) ? data.items : [data];
  const rows = items.map((item) =>
    columns.map((c) => {
      const found = evaluate(c.path, item);
      return found.length === 0 ? '<none>' : found.map(show).join(',');
    }),
  );
  return [columns.map((c) => c.head), ...rows];
}
