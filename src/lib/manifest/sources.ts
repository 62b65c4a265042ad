/**
 * Reads manifest sources — files, directories, stdin and http(s) URLs — with
 * a size cap per source, a fetch timeout and a redirect limit. Never prints.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Problem, ProblemCode } from './problem.js';

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
export const MAX_REDIRECTS = 5;
export const STDIN_SOURCE = '<stdin>';
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

export interface ReadOptions {
  stdin?: NodeJS.ReadableStream;
  maxBytes?: number;
  fetchTimeoutMs?: number;
  maxRedirects?: number;
}

/** What one input produced: bytes to parse, or a problem. */
export type SourceData =
  { source: string; bytes: Uint8Array } | { source: string; problem: Problem };

function fail(source: string, code: string, message: string): SourceData {
  return { source, problem: { source, path: '', message, severity: 'error', code } };
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function tooLarge(source: string, max: number): SourceData {
  return fail(
    source,
    ProblemCode.TooLarge,
    `is larger than ${formatBytes(max)}; refusing to read it (a manifest is a few KiB)`,
  );
}

/** Reads at most max+1 bytes, so special files (/dev/zero, FIFOs) cannot exhaust memory. */
async function readFileCapped(path: string, max: number): Promise<SourceData> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size > max) return tooLarge(path, max);
    const buf = Buffer.alloc(max + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) return tooLarge(path, max);
    }
    return { source: path, bytes: buf.subarray(0, total) };
  } finally {
    await handle.close();
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}

async function readPath(path: string, max: number): Promise<SourceData[]> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return [await readFileCapped(path, max)];
    const names = (await readdir(path)).filter((n) => MANIFEST_EXT.test(n)).sort();
    const files: string[] = [];
    for (const n of names) {
      if ((await stat(join(path, n))).isFile()) files.push(join(path, n));
    }
    if (files.length === 0)
      return [
        fail(path, ProblemCode.NoDocuments, 'is a directory without .yaml, .yml or .json files'),
      ];
    return Promise.all(
      files.map((f) =>
        readFileCapped(f, max).catch((e: unknown) => fail(f, ProblemCode.Read, describeFsError(e))),
      ),
    );
  } catch (err) {
    return [fail(path, ProblemCode.Read, describeFsError(err))];
  }
}

/** Reads a stream up to max bytes; stops listening (without waiting for its end) once over. */
export function readStreamCapped(
  stream: NodeJS.ReadableStream,
  source: string,
  max: number,
): Promise<SourceData> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (result: SourceData) => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += b.length;
      if (total > max) return done(tooLarge(source, max));
      chunks.push(b);
    };
    const onEnd = () => done({ source, bytes: Buffer.concat(chunks) });
    const onError = (err: Error) => done(fail(source, ProblemCode.Read, err.message));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

async function readBodyCapped(res: Response, url: string, max: number): Promise<SourceData> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    return tooLarge(url, max);
  }
  if (!res.body) return { source: url, bytes: new Uint8Array() };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return tooLarge(url, max);
    }
    chunks.push(value);
  }
  return { source: url, bytes: Buffer.concat(chunks) };
}

function fetchError(url: string, err: unknown, timeoutMs: number): SourceData {
  if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') {
    return fail(
      url,
      ProblemCode.Fetch,
      `no complete answer within ${timeoutMs / 1000} s; giving up`,
    );
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return fail(
    url,
    ProblemCode.Fetch,
    `cannot fetch: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
  );
}

/** Follows at most maxRedirects redirects, never from https to http; one deadline for the whole exchange. */
export async function fetchCapped(
  url: string,
  opts: Required<Pick<ReadOptions, 'maxBytes' | 'fetchTimeoutMs' | 'maxRedirects'>>,
): Promise<SourceData> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.fetchTimeoutMs);
  try {
    let current = new URL(url);
    for (let hops = 0; ; hops++) {
      const res = await fetch(current, {
        redirect: 'manual',
        signal: controller.signal,
        headers: { accept: 'application/yaml, application/json, text/plain;q=0.9, */*;q=0.5' },
      });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (hops >= opts.maxRedirects)
          return fail(
            url,
            ProblemCode.Fetch,
            `more than ${opts.maxRedirects} redirects; giving up`,
          );
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          return fail(
            url,
            ProblemCode.Fetch,
            `redirects to ${next.protocol} URL, which kpg does not follow`,
          );
        if (current.protocol === 'https:' && next.protocol === 'http:')
          return fail(
            url,
            ProblemCode.Fetch,
            'redirects from https to plain http, which kpg does not follow',
          );
        current = next;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        return fail(
          url,
          ProblemCode.Fetch,
          `the server answered ${res.status} ${res.statusText}`.trim(),
        );
      }
      return await readBodyCapped(res, url, opts.maxBytes);
    }
  } catch (err) {
    return fetchError(url, err, opts.fetchTimeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads every input in order; a directory expands to its manifest files, sorted by name. */
export async function readSources(inputs: string[], opts: ReadOptions = {}): Promise<SourceData[]> {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const fetchOpts = {
    maxBytes: max,
    fetchTimeoutMs: opts.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    maxRedirects: opts.maxRedirects ?? MAX_REDIRECTS,
  };
  let stdinUsed = false;
  const jobs = inputs.map(async (input): Promise<SourceData[]> => {
    if (input === '-') {
      if (stdinUsed)
        return [
          fail(
            STDIN_SOURCE,
            ProblemCode.Read,
            'standard input can be read only once; give "-" once',
          ),
        ];
      stdinUsed = true;
      return [await readStreamCapped(opts.stdin ?? process.stdin, STDIN_SOURCE, max)];
    }
    if (/^https?:\/\//i.test(input)) return [await fetchCapped(input, fetchOpts)];
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
      return [
        fail(
          input,
          ProblemCode.Read,
          'only http:// and https:// URLs, files, directories and "-" (standard input) can be read',
        ),
      ];
    }
    return readPath(input, max);
  });
  return (await Promise.all(jobs)).flat();
}
