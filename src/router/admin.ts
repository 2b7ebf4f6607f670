// The admin API the controller talks to: PUT/GET /table, GET /stats, /metrics, and an
// unauthenticated /healthz. Off the request path, so clarity wins over allocation here.

import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock/clock.ts';
import { GreenlightError, describe } from '../errors/errors.ts';
import type { Compiled } from './routing.ts';
import type { RouterStats } from './stats.ts';
import type { RoutingTable } from './table.ts';
import type { RouterFaults } from './faults.ts';

/** What the admin API reads of the router; a type only, so this file does not import router.ts. */
export interface AdminHost {
  readonly name: string;
  readonly clock: Clock;
  readonly startedAt: number;
  readonly opts: { readonly adminToken?: string };
  readonly compiled: Compiled | null;
  readonly lastPersistError: string | null;
  table(): RoutingTable | null;
  readonly faults: RouterFaults;
  setTable(table: unknown): Promise<{ revision: number; persisted: boolean; changed: boolean }>;
  stats(): RouterStats;
  metrics(): string;
}

export async function handleAdmin(router: AdminHost, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && req.method === 'GET') {
    // unauthenticated on purpose: liveness probes carry no token, and nothing here is secret
    const c = router.compiled;
    sendJson(res, 200, {
      ok: true,
      router: router.name,
      revision: c?.table.revision ?? null,
      serving: c !== null && c.total > 0,
      persistError: router.lastPersistError,
      uptimeMs: router.clock.now() - router.startedAt,
    });
    return;
  }
  if (!authorized(router, req)) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer');
    sendJson(res, 401, { error: 'UNAUTHORIZED', message: 'missing or wrong bearer token', hint: 'send "Authorization: Bearer <token>" with the token from the router\'s --token-file' });
    return;
  }
  if (path === '/table') {
    if (req.method === 'GET') {
      const t = router.table();
      if (t) sendJson(res, 200, t);
      else sendJson(res, 404, { error: 'NOT_FOUND', message: 'no routing table yet', hint: 'PUT /table to set one' });
      return;
    }
    if (req.method === 'PUT') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, 1 << 20));
      } catch (err) {
        sendJson(res, 400, { error: 'CONFIG_INVALID', message: `body is not a JSON routing table: ${describe(err)}`, hint: 'send {"revision": n, "versions": [...]} as JSON' });
        return;
      }
      try {
        const r = await router.setTable(body);
        sendJson(res, 200, r.persisted ? r : { ...r, warning: `state file not written: ${router.lastPersistError}` });
      } catch (err) {
        if (err instanceof GreenlightError) sendJson(res, err.code === 'CONFLICT' ? 409 : 400, err.toJSON());
        else throw err;
      }
      return;
    }
    return methodNotAllowed(res, 'GET, PUT');
  }
  if (path === '/faults' || path?.startsWith('/faults/')) return handleFaults(router, req, res, path);
  if (path === '/stats') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    sendJson(res, 200, router.stats());
    return;
  }
  if (path === '/metrics') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    const text = router.metrics();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  sendJson(res, 404, { error: 'NOT_FOUND', message: `no admin endpoint ${req.method} ${path}`, hint: 'endpoints: PUT/GET /table, GET/POST/DELETE /faults, GET /stats, GET /metrics, GET /healthz' });
}

/** GET /faults, POST /faults (one fault), DELETE /faults[?drill=<id>], DELETE /faults/<id>. */
async function handleFaults(router: AdminHost, req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
  const id = path.startsWith('/faults/') ? decodeURIComponent(path.slice('/faults/'.length)) : undefined;
  if (req.method === 'GET' && id === undefined) {
    sendJson(res, 200, { router: router.name, now: router.clock.now(), faults: router.faults.list() });
    return;
  }
  if (req.method === 'POST' && id === undefined) {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, 1 << 16));
    } catch (err) {
      sendJson(res, 400, { error: 'CONFIG_INVALID', message: `body is not a JSON fault: ${describe(err)}`, hint: 'send {"id", "drill", "kind", "ttlMs", ...} as JSON' });
      return;
    }
    try {
      sendJson(res, 200, await router.faults.put(body));
    } catch (err) {
      if (err instanceof GreenlightError) sendJson(res, 400, err.toJSON());
      else throw err;
    }
    return;
  }
  if (req.method === 'DELETE') {
    const drill = new URL(req.url ?? '/', 'http://x').searchParams.get('drill') ?? undefined;
    const removed = await router.faults.remove({ ...(id !== undefined ? { id } : {}), ...(drill !== undefined ? { drill } : {}) });
    sendJson(res, 200, { removed });
    return;
  }
  return methodNotAllowed(res, id === undefined ? 'GET, POST, DELETE' : 'DELETE');
}

function authorized(router: AdminHost, req: http.IncomingMessage): boolean {
  const token = router.opts.adminToken;
  if (!token) return false;
  const h = req.headers.authorization ?? '';
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(h);
  return got.length === want.length && timingSafeEqual(got, want);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function methodNotAllowed(res: http.ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'USAGE', message: 'method not allowed', hint: `use ${allow}` });
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
