// A real HTTP server on loopback for the checks' tests: routes answer with a status, a body and an
// optional delay, and every request's headers are kept so tests can see what a check sent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  body?: string;
  delayMs?: number;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }[];
  /** replace or add a route while the server runs */
  route(path: string, r: Route | ((n: number) => Route)): void;
  close(): Promise<void>;
}

export async function startTestServer(routes: Record<string, Route | ((n: number) => Route)> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const hits = new Map<string, number>();
  const requests: TestServer['requests'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      const entry = table.get(path);
      const r: Route = typeof entry === 'function' ? entry(n) : (entry ?? { status: 404, body: 'not found' });
      const send = () => {
        res.writeHead(r.status ?? 200, { 'content-type': 'text/plain', ...r.headers });
        res.end(r.body ?? '');
      };
      if (r.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, r.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, r) => void table.set(path, r),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL where nothing listens (a port that was just freed). */
export async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
