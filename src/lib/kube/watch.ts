// Watches that survive: list, watch from the list's resourceVersion, follow
// bookmarks, re-watch when the server ends the stream, re-list on 410 Gone, and
// reconnect (bounded) when the connection drops. waitFor sits on top.
import type { IncomingMessage } from 'node:http';
import type { Kube } from './client.js';
import {
  ForbiddenError,
  GoneError,
  KpgError,
  KubeAbortedError,
  KubeTimeoutError,
  UnreachableError,
} from './errors.js';
import { errorFromNetwork, errorFromResponse, type KubeStatus } from './failures.js';
import { resourcePath, type KindRef, type ResourceInfo } from './resources.js';
import type { KubeObject, WaitOptions, WatchEvent, WatchOptions } from './types.js';

export interface Selector {
  labelSelector?: string;
  fieldSelector?: string;
}

type Handler<T> = (event: WatchEvent<T>) => void | Promise<void>;

interface RawEvent {
  type?: string;
  object?: KubeObject & KubeStatus;
}

/** Consecutive dropped connections tolerated before the watch fails. */
const MAX_DROPS = 6;

export async function watchResource<T extends KubeObject>(
  kube: Kube,
  kind: KindRef,
  opts: WatchOptions,
  onEvent: Handler<T>,
): Promise<void> {
  const info = await kube.resolve(kind);
  const ns = opts.allNamespaces ? undefined : kube.nsFor(info, opts.namespace);
  // Where to continue from; undefined means (re-)list first. streamOnce advances it.
  const cursor: Cursor = { rv: undefined, events: 0 };
  const args: StreamArgs = { kind, info, ns, cursor, opts };
  let drops = 0;
  while (!opts.signal.aborted) {
    try {
      await watchRound(kube, args, onEvent);
      drops = 0;
    } catch (err) {
      if (opts.signal.aborted) return;
      if (err instanceof GoneError) {
        cursor.rv = undefined;
        continue;
      }
      // A dropped connection: reconnect from cursor.rv, a bounded number of times in a row.
      const e = err instanceof KpgError ? err : errorFromNetwork(err, kube.transport.ctx);
      if (!(e instanceof UnreachableError) || ++drops > MAX_DROPS) throw e;
      await kube.clock.sleep(Math.min(8000, 125 * 2 ** drops), opts.signal).catch(() => undefined);
    }
  }
}

/** List if needed, then one watch request. */
async function watchRound<T extends KubeObject>(
  kube: Kube,
  args: StreamArgs,
  onEvent: Handler<T>,
): Promise<void> {
  const { cursor, opts } = args;
  if (cursor.rv === undefined) {
    const list = await kube.list<T>(args.kind, {
      ...opts,
      namespace: args.ns,
      signal: opts.signal,
    });
    cursor.rv = list.resourceVersion;
    await onEvent({ type: 'LIST', items: list.items, resourceVersion: list.resourceVersion });
  }
  const started = kube.clock.now();
  cursor.events = 0;
  const gone = await streamOnce(kube, args, onEvent);
  if (gone) {
    cursor.rv = undefined;
  } else if (cursor.events === 0 && kube.clock.now() - started < 1000) {
    // The server closed a fresh watch at once: do not spin.
    await kube.clock.sleep(1000, opts.signal);
  }
}

interface Cursor {
  rv: string | undefined;
  events: number;
}

interface StreamArgs {
  kind: KindRef;
  info: ResourceInfo;
  ns: string | undefined;
  cursor: Cursor;
  opts: WatchOptions;
}

/**
 * One watch request, from cursor.rv, advancing it with every event. Resolves
 * when the server ends the stream: true when it said 410 Gone (re-list).
 */
async function streamOnce<T extends KubeObject>(
  kube: Kube,
  a: StreamArgs,
  onEvent: Handler<T>,
): Promise<boolean> {
  const { opts, cursor } = a;
  const target = kube.target(a.info, 'watch', { ns: a.ns });
  const res = await kube.transport.stream({
    method: 'GET',
    path: resourcePath(a.info, a.ns),
    query: {
      watch: true,
      resourceVersion: cursor.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: opts.timeoutSeconds ?? 300,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    },
    target,
    signal: opts.signal,
  });
  const stop = (): void => {
    res.destroy();
  };
  opts.signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const line of ndjson(res)) {
      const ev = JSON.parse(line) as RawEvent;
      if (ev.type !== 'ERROR') {
        await deliver(ev, cursor, onEvent);
        continue;
      }
      const st = ev.object ?? {};
      if (st.code === 410) return true;
      throw errorFromResponse(
        { status: st.code ?? 500, body: JSON.stringify(st), now: kube.clock.now() },
        target,
        kube.transport.ctx,
      );
    }
    return false;
  } finally {
    opts.signal.removeEventListener('abort', stop);
    res.destroy();
  }
}

/** Advances the cursor (bookmarks too) and hands real events on. */
async function deliver<T extends KubeObject>(
  ev: RawEvent,
  cursor: Cursor,
  onEvent: Handler<T>,
): Promise<void> {
  cursor.rv = ev.object?.metadata?.resourceVersion ?? cursor.rv;
  if (ev.type === 'BOOKMARK' || !ev.object) return;
  cursor.events++;
  await onEvent({ type: ev.type as 'ADDED' | 'MODIFIED' | 'DELETED', object: ev.object as T });
}

/** Splits a byte stream into non-empty lines. */
async function* ndjson(res: IncomingMessage): AsyncGenerator<string> {
  let buf = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield line;
    }
  }
  if (buf.trim()) yield buf.trim();
}

function keyOf(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** What to wait on: a kind in a namespace, narrowed by selectors. */
export interface WaitTarget {
  kind: KindRef;
  ns: string | undefined;
  selector: Selector;
}

const kindName = (kind: KindRef): string => (typeof kind === 'string' ? kind : kind.kind);

export async function waitForObject<T extends KubeObject>(
  kube: Kube,
  w: { kind: KindRef; ns: string | undefined; name: string },
  predicate: (obj: T | undefined) => boolean,
  opts: WaitOptions,
): Promise<T | undefined> {
  const description = opts.description ?? `${kindName(w.kind)} ${w.name}`;
  const target = { kind: w.kind, ns: w.ns, selector: { fieldSelector: `metadata.name=${w.name}` } };
  const items = await waitCore<T>(kube, target, (xs) => predicate(xs[0]), { ...opts, description });
  return items[0];
}

export function waitForSelector<T extends KubeObject>(
  kube: Kube,
  w: WaitTarget,
  predicate: (items: T[]) => boolean,
  opts: WaitOptions,
): Promise<T[]> {
  const sel = [w.selector.labelSelector, w.selector.fieldSelector].filter(Boolean).join(',');
  const description = opts.description ?? `${kindName(w.kind)} matching ${sel || 'everything'}`;
  return waitCore(kube, w, predicate, { ...opts, description });
}

async function waitCore<T extends KubeObject>(
  kube: Kube,
  w: WaitTarget,
  predicate: (items: T[]) => boolean,
  opts: WaitOptions & { description: string },
): Promise<T[]> {
  const ac = new AbortController();
  const onOuter = (): void => ac.abort();
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, opts.timeoutMs);
  const state = new Map<string, T>();
  let result: T[] | undefined;
  const check = (): void => {
    const items = [...state.values()];
    if (result === undefined && predicate(items)) {
      result = items;
      ac.abort();
    }
  };
  try {
    await kube.watch<T>(w.kind, { namespace: w.ns, ...w.selector, signal: ac.signal }, (ev) => {
      if (ev.type === 'LIST') {
        state.clear();
        for (const o of ev.items) state.set(keyOf(o), o);
      } else if (ev.type === 'DELETED') {
        state.delete(keyOf(ev.object));
      } else {
        state.set(keyOf(ev.object), ev.object);
      }
      check();
    });
  } catch (err) {
    if (!(err instanceof ForbiddenError && err.verb === 'watch') || ac.signal.aborted) throw err;
    result = await poll(kube, w, predicate, {
      interval: opts.pollIntervalMs ?? 1000,
      signal: ac.signal,
    });
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuter);
  }
  if (result !== undefined) return result;
  if (timedOut) {
    throw new KubeTimeoutError(
      `timed out after ${Math.round(opts.timeoutMs / 100) / 10}s waiting for ${opts.description}`,
      'raise the timeout, or check the objects with kpg describe / kubectl',
    );
  }
  throw new KubeAbortedError();
}

/** The fallback when the user may list but not watch. */
async function poll<T extends KubeObject>(
  kube: Kube,
  w: WaitTarget,
  predicate: (items: T[]) => boolean,
  o: { interval: number; signal: AbortSignal },
): Promise<T[] | undefined> {
  while (!o.signal.aborted) {
    try {
      const { items } = await kube.list<T>(w.kind, {
        namespace: w.ns,
        ...w.selector,
        signal: o.signal,
      });
      if (predicate(items)) return items;
      await kube.clock.sleep(o.interval, o.signal);
    } catch (err) {
      if (o.signal.aborted) return undefined;
      throw err;
    }
  }
  return undefined;
}
