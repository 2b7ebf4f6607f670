// Real peers for the router tests and the benchmark: small HTTP servers on loopback and a
// request helper that keeps cookies like a browser would.

import http from 'node:http';
import net from 'node:net';
import { BUCKETS, bucketOf, seedOf } from './assignment.ts';

export interface TestUpstream {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 (port 0 unless given); the default handler echoes the request as JSON. */
export async function startUpstream(name: string, handler?: http.RequestListener, port = 0): Promise<TestUpstream> {
  const server = http.createServer(
    handler ??
      ((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bodyLength: Buffer.concat(chunks).length });
          const status = req.url?.startsWith('/status/') ? Number(req.url.slice(8)) : 200;
          res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name });
          res.end(body);
        });
      }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port that nothing listens on (bound once, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http (so hop-by-hop headers go out as given). */
export function request(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Keeps the cookies a server sets, like a browser for one site. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const first = c.split(';')[0]!;
      const eq = first.indexOf('=');
      this.cookies.set(first.slice(0, eq).trim(), first.slice(eq + 1).trim());
    }
  }
}

/**
 * A Greenlight client id (gl_cid) that the router assigns to the canary (onCanary) or not, when the
 * table's second live version is `canaryVersion` with `share` (0..1) of the weight.
 */
export function clientIdFor(canaryVersion: string, share: number, onCanary: boolean): string {
  const seed = seedOf(canaryVersion);
  const limit = Math.round(share * BUCKETS);
  for (let i = 0; ; i++) {
    const id = `client-${i}`;
    if (bucketOf(id, seed) < limit === onCanary) return id;
  }
}
