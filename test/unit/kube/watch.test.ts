// Watches: re-list on 410 Gone (as an ERROR event and as an HTTP 410), and waitFor.
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeTimeoutError, type KubeObject, type WatchEvent } from '../../../src/lib/kube/index.js';
import { sendJson, sendStatus, startFakeApi, type FakeApi, type Recorded } from './fake-api.js';

interface Pod extends KubeObject {
  status?: { phase?: string };
}

const pod = (name: string, rv: string, phase = 'Running'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'demo', resourceVersion: rv },
  status: { phase },
});

function event(res: ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
}

const isWatch = (r: Recorded): boolean => r.url.searchParams.get('watch') === 'true';

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi();
});
afterEach(async () => {
  await api.close();
});

async function collect(
  kube: Awaited<ReturnType<FakeApi['kube']>>,
  until: (evs: WatchEvent<Pod>[]) => boolean,
): Promise<WatchEvent<Pod>[]> {
  const events: WatchEvent<Pod>[] = [];
  const ac = new AbortController();
  await kube.watch<Pod>('Pod', { namespace: 'demo', signal: ac.signal }, (ev) => {
    events.push(ev);
    if (until(events)) ac.abort();
  });
  return events;
}

describe('watch', () => {
  it('re-lists after a 410 ERROR event and continues from the new resourceVersion', async () => {
    let lists = 0;
    api.handle((req, res) => {
      if (!isWatch(req)) {
        lists++;
        return sendJson(res, 200, {
          items: lists === 1 ? [pod('a', '10')] : [pod('a', '10'), pod('b', '20')],
          metadata: { resourceVersion: lists === 1 ? '10' : '20' },
        });
      }
      startStream(res);
      if (req.url.searchParams.get('resourceVersion') === '10') {
        event(res, 'ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version: 10 (15)',
        });
        return res.end();
      }
      event(res, 'BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '21' } });
      event(res, 'ADDED', pod('c', '22'));
    });
    const kube = await api.kube();
    const events = await collect(kube, (evs) => evs.some((e) => e.type === 'ADDED'));
    expect(
      events.map((e) =>
        e.type === 'LIST'
          ? `LIST ${e.items.length}@${e.resourceVersion}`
          : `${e.type} ${e.object.metadata?.name}`,
      ),
    ).toEqual(['LIST 1@10', 'LIST 2@20', 'ADDED c']);
    const watches = api.requests.filter(isWatch);
    expect(watches.map((w) => w.url.searchParams.get('resourceVersion'))).toEqual(['10', '20']);
    expect(watches[0]!.url.searchParams.get('allowWatchBookmarks')).toBe('true');
  });

  it('re-lists after an HTTP 410 and re-watches from the last seen version when the server ends the stream', async () => {
    let lists = 0;
    let watches = 0;
    api.handle((req, res) => {
      if (!isWatch(req)) {
        lists++;
        return sendJson(res, 200, {
          items: [],
          metadata: { resourceVersion: String(lists * 100) },
        });
      }
      watches++;
      if (req.url.searchParams.get('resourceVersion') === '100')
        return sendStatus(res, 410, 'Expired', 'too old');
      startStream(res);
      event(res, 'MODIFIED', pod(`p${watches}`, String(200 + watches)));
      if (watches === 2) res.end(); // server-side timeout: the client re-watches from 202
    });
    const kube = await api.kube();
    const events = await collect(
      kube,
      (evs) => evs.filter((e) => e.type === 'MODIFIED').length === 2,
    );
    expect(events.map((e) => e.type)).toEqual(['LIST', 'LIST', 'MODIFIED', 'MODIFIED']);
    expect(
      api.requests.filter(isWatch).map((w) => w.url.searchParams.get('resourceVersion')),
    ).toEqual(['100', '200', '202']);
  });

  it('reconnects when the connection drops mid-stream', async () => {
    let watches = 0;
    api.handle((req, res, raw) => {
      if (!isWatch(req))
        return sendJson(res, 200, { items: [], metadata: { resourceVersion: '1' } });
      watches++;
      startStream(res);
      event(res, 'ADDED', pod(`p${watches}`, String(watches + 1)));
      if (watches === 1) setTimeout(() => raw.socket.destroy(), 20);
    });
    const kube = await api.kube();
    const events = await collect(kube, (evs) => evs.filter((e) => e.type === 'ADDED').length === 2);
    expect(events.filter((e) => e.type === 'ADDED')).toHaveLength(2);
    expect(
      api.requests.filter(isWatch).map((w) => w.url.searchParams.get('resourceVersion')),
    ).toEqual(['1', '2']);
  });
});

describe('waitFor', () => {
  it('resolves when the named object satisfies the predicate', async () => {
    api.handle((req, res) => {
      if (!isWatch(req))
        return sendJson(res, 200, {
          items: [pod('pg-0', '5', 'Pending')],
          metadata: { resourceVersion: '5' },
        });
      startStream(res);
      setTimeout(() => event(res, 'MODIFIED', pod('pg-0', '6', 'Running')), 50);
    });
    const kube = await api.kube();
    const p = await kube.waitFor<Pod>(
      'Pod',
      'demo',
      'pg-0',
      (o) => o?.status?.phase === 'Running',
      { timeoutMs: 5000 },
    );
    expect(p?.metadata?.resourceVersion).toBe('6');
    expect(api.requests[0]!.url.searchParams.get('fieldSelector')).toBe('metadata.name=pg-0');
  });

  it('waits for deletion and for selectors', async () => {
    api.handle((req, res) => {
      if (!isWatch(req))
        return sendJson(res, 200, {
          items: [pod('a', '5'), pod('b', '5', 'Pending')],
          metadata: { resourceVersion: '5' },
        });
      startStream(res);
      setTimeout(() => event(res, 'DELETED', pod('b', '7')), 30);
    });
    const kube = await api.kube();
    const items = await kube.waitFor<Pod>(
      'Pod',
      'demo',
      { labelSelector: 'app=pg' },
      (xs) => xs.every((x) => x.status?.phase === 'Running'),
      {
        timeoutMs: 5000,
      },
    );
    expect(items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(api.requests[0]!.url.searchParams.get('labelSelector')).toBe('app=pg');
  });

  it('times out with a clear message', async () => {
    api.handle((req, res) => {
      if (!isWatch(req))
        return sendJson(res, 200, { items: [], metadata: { resourceVersion: '5' } });
      startStream(res);
    });
    const kube = await api.kube();
    const err = await kube
      .waitFor('Pod', 'demo', 'pg-0', (o) => o !== undefined, {
        timeoutMs: 300,
        description: 'pod pg-0 to exist',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeTimeoutError);
    expect((err as Error).message).toBe('timed out after 0.3s waiting for pod pg-0 to exist');
  });

  it('falls back to polling when watch is forbidden', async () => {
    let lists = 0;
    api.handle((req, res) => {
      if (isWatch(req)) return sendStatus(res, 403, 'Forbidden', 'cannot watch pods');
      lists++;
      sendJson(res, 200, {
        items: lists >= 3 ? [pod('x', String(lists))] : [],
        metadata: { resourceVersion: String(lists) },
      });
    });
    const kube = await api.kube();
    const o = await kube.waitFor('Pod', 'demo', 'x', (p) => p !== undefined, {
      timeoutMs: 5000,
      pollIntervalMs: 20,
    });
    expect(o?.metadata?.name).toBe('x');
  });
});
