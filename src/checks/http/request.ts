// A single HTTP exchange for checks and dependency sources: no connection pool (each check sees a
// fresh connection, and nothing keeps a socket open after a test or a gate), a body read bounded in
// size, and a timeout on the injected clock that covers connect, headers and body alike.
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../../clock/clock.ts';
import { formatDuration } from '../../config/duration.ts';
import { deadline } from '../deadline.ts';

export interface HttpExchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the body was longer than maxBodyBytes; `body` holds its start */
  bodyTruncated: boolean;
  /** request sent to last body byte received */
  latencyMs: number;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  maxBodyBytes?: number;
}

export type HttpFailure = 'timeout' | 'aborted' | 'unreachable' | 'bad-url';

/** The exchange could not complete; `reason` says whether waiting, the caller, or the network ended it. */
export class HttpRequestError extends Error {
  readonly reason: HttpFailure;
  readonly url: string;
  /** what went wrong, without the URL, for messages that already name it */
  readonly problem: string;
  constructor(reason: HttpFailure, url: string, problem: string, cause?: unknown) {
    super(`${url}: ${problem}`, cause === undefined ? undefined : { cause });
    this.name = 'HttpRequestError';
    this.reason = reason;
    this.url = url;
    this.problem = problem;
  }
}

const defaultMaxBody = 1024 * 1024;

export function httpRequest(url: string, opts: HttpRequestOptions): Promise<HttpExchange> {
  let target: URL;
  try {
    target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported protocol ${target.protocol}`);
  } catch (err) {
    return Promise.reject(new HttpRequestError('bad-url', url, `not an http(s) URL: ${(err as Error).message}`, err));
  }
  const max = opts.maxBodyBytes ?? defaultMaxBody;
  const d = deadline(opts.clock, opts.timeoutMs, opts.signal);
  const started = opts.clock.now();
  const transport = target.protocol === 'https:' ? https : http;

  return new Promise<HttpExchange>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      d.dispose();
      if (d.expired()) {
        reject(new HttpRequestError('timeout', url, `no complete response within ${formatDuration(opts.timeoutMs)}`, err));
      } else if (opts.signal?.aborted) {
        reject(new HttpRequestError('aborted', url, 'the request was cancelled', err));
      } else {
        const e = err as NodeJS.ErrnoException;
        reject(new HttpRequestError('unreachable', url, `could not connect: ${e.code ?? e.message ?? String(err)}`, err));
      }
    };

    const headers: Record<string, string> = { 'user-agent': 'greenlight-check', ...opts.headers };
    const req = transport.request(target, { method: opts.method ?? 'GET', headers, agent: false, signal: d.signal }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (kept < max) {
          const piece = chunk.subarray(0, max - kept);
          chunks.push(piece);
          kept += piece.length;
        }
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        d.dispose();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          bodyTruncated: received > kept,
          latencyMs: opts.clock.now() - started,
        });
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('connection closed before the response was complete'));
      });
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}
