/**
 * The Kubernetes API from inside the pod: node:https with the
 * ServiceAccount's CA and token (re-read for each request: bound tokens
 * rotate). Only what the agent needs, each request bounded by a timeout.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AgentConfig } from './config.js';

export class KubeHttpError extends Error {
  override readonly name = 'KubeHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request was sent but no answer came in time: it may or may not have been applied. */
export class KubeTimeoutError extends Error {
  override readonly name = 'KubeTimeoutError';
}

export type Json = Record<string, unknown>;

export interface KubeHttp {
  /** Resolves with the decoded body (undefined for 404 on GET); rejects with KubeHttpError or KubeTimeoutError. */
  call(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<Json | undefined>;
}

export function inClusterHttp(api: AgentConfig['api']): KubeHttp {
  const ca = readFileSync(`${api.serviceAccountDir}/ca.crt`);
  return {
    call(method, path, body, contentType = 'application/json') {
      const token = readFileSync(`${api.serviceAccountDir}/token`, 'utf8').trim();
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: api.host,
            port: api.port,
            method,
            path,
            ca,
            timeout: api.timeoutMs,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(payload !== undefined
                ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
                : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 0;
              if (status === 404 && method === 'GET') return resolve(undefined);
              if (status >= 200 && status < 300) {
                try {
                  return resolve(text ? (JSON.parse(text) as Json) : {});
                } catch {
                  return reject(
                    new KubeHttpError(status, `${method} ${path}: the answer is not JSON`),
                  );
                }
              }
              reject(
                new KubeHttpError(status, `${method} ${path}: ${status} ${statusMessage(text)}`),
              );
            });
          },
        );
        req.setTimeout(api.timeoutMs, () => {
          req.destroy(
            new KubeTimeoutError(`${method} ${path}: no answer within ${api.timeoutMs}ms`),
          );
        });
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },
  };
}

function statusMessage(text: string): string {
  try {
    const s = JSON.parse(text) as { message?: string; reason?: string };
    return s.message ?? s.reason ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

export const paths = {
  lease: (ns: string, name: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases${name ? `/${enc(name)}` : ''}`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/configmaps/${enc(name)}`,
  pod: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}`,
  statefulSet: (ns: string, name: string) =>
    `/apis/apps/v1/namespaces/${enc(ns)}/statefulsets/${enc(name)}`,
  events: (ns: string) => `/api/v1/namespaces/${enc(ns)}/events`,
};

const enc = encodeURIComponent;
