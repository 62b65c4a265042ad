/** Inputs: files, directories, stdin and http(s) URLs served from 127.0.0.1. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../../src/lib/manifest/index.js';
import { fixture } from './helpers.js';

const HA = readFileSync(fixture('seeds', '001-ha-postgres.yaml'), 'utf8');

describe('files and directories', () => {
  it('a directory gives its *.yaml, *.yml and *.json files, sorted', async () => {
    const r = await loadManifests([fixture('seeds')]);
    // Both seeds name their hot-standby example demo/hot-postgres: one input cannot create both.
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => p.severity === 'error').map((p) => p.code)).toEqual([
      'duplicate-name',
    ]);
    expect(r.documents.map((d) => `${d.source.split('/').pop()} ${d.name}`)).toEqual([
      '000-hot-postgres.yaml hot-postgres',
      '000-warm-postgres.yaml warm-postgres',
      '001-ha-postgres.yaml ha-postgres',
      '001-hot-postgres.yaml hot-postgres',
    ]);
  });

  it('several -f inputs keep their order, and duplicate names across them are errors', async () => {
    const r = await loadManifests([
      fixture('seeds', '001-hot-postgres.yaml'),
      fixture('seeds', '000-hot-postgres.yaml'),
    ]);
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([
      expect.objectContaining({
        source: fixture('seeds', '000-hot-postgres.yaml'),
        line: 4,
        column: 9,
        code: 'duplicate-name',
        path: 'metadata.name',
      }),
    ]);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'kpg-dir-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('ignores other files and subdirectories; an empty directory is an error', async () => {
    mkdirSync(join(tmp, 'empty'));
    mkdirSync(join(tmp, 'mixed'));
    mkdirSync(join(tmp, 'mixed', 'sub.yaml'));
    writeFileSync(join(tmp, 'mixed', 'notes.txt'), 'not yaml');
    writeFileSync(join(tmp, 'mixed', 'b.yml'), HA.replace('ha-postgres', 'b'));
    writeFileSync(
      join(tmp, 'mixed', 'a.json'),
      JSON.stringify({
        apiVersion: 'kubedb.com/v1alpha1',
        kind: 'Postgres',
        metadata: { name: 'a' },
        spec: { version: '15' },
      }),
    );
    const r = await loadManifests([join(tmp, 'mixed')]);
    expect(r.clusters.map((c) => c.name)).toEqual(['a', 'b']);
    const e = await loadManifests([join(tmp, 'empty')]);
    expect(e.problems).toEqual([
      expect.objectContaining({
        code: 'no-documents',
        message: 'is a directory without .yaml, .yml or .json files',
      }),
    ]);
  });

  it('a missing file is reported with its name', async () => {
    const r = await loadManifests([join(tmp, 'nope.yaml')]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        source: join(tmp, 'nope.yaml'),
        code: 'read-failed',
        message: 'no such file or directory',
      }),
    ]);
  });

  it('other URL schemes are refused', async () => {
    const r = await loadManifests(['file:///etc/passwd']);
    expect(r.problems[0]).toMatchObject({
      code: 'read-failed',
      message: expect.stringContaining('only http:// and https://'),
    });
  });
});

describe('standard input', () => {
  it('reads - from the given stream', async () => {
    const r = await loadManifests(['-'], { stdin: Readable.from([Buffer.from(HA)]) });
    expect(r.ok).toBe(true);
    expect(r.clusters[0]!.from).toEqual({ source: '<stdin>', index: 0 });
  });

  it('mixes stdin with files', async () => {
    const r = await loadManifests([fixture('seeds', '000-warm-postgres.yaml'), '-'], {
      stdin: Readable.from([HA]),
    });
    expect(r.clusters.map((c) => c.name)).toEqual(['warm-postgres', 'ha-postgres']);
  });

  it('refuses - twice', async () => {
    const r = await loadManifests(['-', '-'], { stdin: Readable.from([HA]) });
    expect(r.problems).toContainEqual(
      expect.objectContaining({
        code: 'read-failed',
        message: expect.stringContaining('only once'),
      }),
    );
  });

  it('stops reading an endless stream at the size limit', async () => {
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 0x61));
      },
    });
    const r = await loadManifests(['-'], { stdin: endless, maxBytes: 256 * 1024 });
    expect(r.problems).toEqual([expect.objectContaining({ source: '<stdin>', code: 'too-large' })]);
    endless.destroy();
  });
});

describe('http(s) URLs', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<import('node:net').Socket>();

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/ha.yaml': (_q, res) => res.end(HA),
    '/missing.yaml': (_q, res) => {
      res.statusCode = 404;
      res.end('not found');
    },
    '/redirect': (_q, res) => {
      res.writeHead(302, { location: '/ha.yaml' });
      res.end();
    },
    '/loop': (_q, res) => {
      res.writeHead(301, { location: '/loop' });
      res.end();
    },
    '/to-file': (_q, res) => {
      res.writeHead(302, { location: 'file:///etc/passwd' });
      res.end();
    },
    '/never': () => {
      /* never answers */
    },
    '/slow-body': (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/yaml' });
      res.write('apiVersion: kubedb.com/v1alpha1\n'); // then nothing more
    },
    '/big-declared': (_q, res) => {
      res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      res.write('a: 1\n');
    },
    '/big-chunked': (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (res.write(chunk)) {
          /* until the buffer fills */
        }
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    },
    '/binary': (_q, res) => res.end(Buffer.from([0, 1, 2, 0xff])),
  };

  beforeAll(async () => {
    server = createServer((req, res) =>
      (routes[req.url ?? ''] ?? routes['/missing.yaml']!)(req, res),
    );
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('fetches a manifest', async () => {
    const r = await loadManifests([`${base}/ha.yaml`]);
    expect(r.ok).toBe(true);
    expect(r.clusters[0]!.from.source).toBe(`${base}/ha.yaml`);
  });

  it('follows a redirect', async () => {
    expect((await loadManifests([`${base}/redirect`])).clusters[0]!.name).toBe('ha-postgres');
  });

  it('reports an HTTP error status', async () => {
    const r = await loadManifests([`${base}/missing.yaml`]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        source: `${base}/missing.yaml`,
        code: 'fetch-failed',
        message: 'the server answered 404 Not Found',
      }),
    ]);
  });

  it('limits redirects', async () => {
    const r = await loadManifests([`${base}/loop`]);
    expect(r.problems[0]).toMatchObject({
      code: 'fetch-failed',
      message: 'more than 5 redirects; giving up',
    });
  });

  it('does not follow redirects to other schemes', async () => {
    expect((await loadManifests([`${base}/to-file`])).problems[0]!.message).toContain('file: URL');
  });

  it('gives up on a server that never answers', async () => {
    const t = performance.now();
    const r = await loadManifests([`${base}/never`], { fetchTimeoutMs: 300 });
    expect(r.problems[0]).toMatchObject({
      code: 'fetch-failed',
      message: 'no complete answer within 0.3 s; giving up',
    });
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it('gives up on a body that never ends (slowloris)', async () => {
    const r = await loadManifests([`${base}/slow-body`], { fetchTimeoutMs: 300 });
    expect(r.problems[0]).toMatchObject({
      code: 'fetch-failed',
      message: expect.stringContaining('no complete answer'),
    });
  });

  it('refuses a declared oversized body without reading it', async () => {
    const r = await loadManifests([`${base}/big-declared`]);
    expect(r.problems[0]).toMatchObject({
      code: 'too-large',
      message: expect.stringContaining('larger than 1 MiB'),
    });
  });

  it('stops reading an endless chunked body at the limit', async () => {
    const r = await loadManifests([`${base}/big-chunked`], { maxBytes: 512 * 1024 });
    expect(r.problems[0]).toMatchObject({ code: 'too-large' });
  });

  it('refuses binary bodies', async () => {
    expect((await loadManifests([`${base}/binary`])).problems[0]!.code).toBe('binary');
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await loadManifests([`http://127.0.0.1:${port}/x.yaml`]);
    expect(r.problems[0]).toMatchObject({
      code: 'fetch-failed',
      message: 'cannot fetch: ECONNREFUSED',
    });
  });
});
