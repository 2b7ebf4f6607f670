// A deliberately small HTTP layer for the controller's JSON API: a route table matched by method
// and path pattern, bearer-token auth, JSON bodies with a size limit, typed errors mapped to
// statuses. The controller is not in any request path of users, so clarity beats speed here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GreenlightError, httpStatusFor } from '../errors/errors.ts';
import { tokensEqual } from '../app/token.ts';
import { BOOTSTRAP } from '../auth/directory.ts';
import type { Identity } from '../auth/permissions.ts';
import type { FailureLimiter } from '../auth/rate-limit.ts';

export interface Request {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  raw: IncomingMessage;
  res: ServerResponse;
  /** who authenticated (absent on public routes) */
  identity?: Identity;
}

/** A route as the permission table and the route x role test see it. */
export interface RouteInfo {
  method: string;
  pattern: string;
  public: boolean;
}

/**
 * How the controller authenticates and authorizes. `authorize` sees the route and the request
 * (body read) and throws FORBIDDEN for what the identity lacks; a route it does not know must be
 * refused, so a route added without a permission is closed, not open.
 */
export interface Auth {
  authenticate(token: string): Identity | undefined;
  refusal?(token: string): string;
  authorize?(route: RouteInfo, req: Request, identity: Identity): Promise<void>;
  limiter?: FailureLimiter;
}

export type Handler = (req: Request) => Promise<unknown>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
  public: boolean;
  info: RouteInfo;
}

/** Returned by a handler that wrote the response itself (e.g. a server-sent event stream). */
export const STREAMING = Symbol('streaming');

export class Routes {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: { public?: boolean } = {}): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler, public: !!opts.public, info: { method, pattern, public: !!opts.public } });
    return this;
  }

  /** every route, in the order they match */
  list(): RouteInfo[] {
    return this.routes.map((r) => ({ ...r.info }));
  }

  /** With a bare token function: that token only, as the bootstrap admin, no per-route permissions (tests of single modules). */
  handler(auth: Auth | (() => string)): (req: IncomingMessage, res: ServerResponse) => void {
    const a: Auth = typeof auth === 'function' ? { authenticate: (t) => (tokensEqual(t, auth()) ? BOOTSTRAP : undefined) } : auth;
    return (raw, res) => {
      void this.dispatch(raw, res, a).catch((err) => sendError(res, err));
    };
  }

  private async dispatch(raw: IncomingMessage, res: ServerResponse, auth: Auth): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    let segs: string[];
    try {
      segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new GreenlightError('USAGE', `the request path ${JSON.stringify(url.pathname.slice(0, 200))} is not valid percent-encoding`, { hint: 'encode "%" in a path as %25' });
    }
    let allowed: string[] = [];
    for (const r of this.routes) {
      const params = match(r.parts, segs);
      if (!params) continue;
      if (r.method !== raw.method) {
        allowed.push(r.method);
        continue;
      }
      const safe = raw.method === 'GET' || raw.method === 'HEAD';
      if (!safe) refuseCrossSite(raw);
      let identity: Identity | undefined;
      if (!r.public) identity = authenticate(raw, auth);
      const body = safe ? undefined : await readJson(raw);
      const req: Request = { method: raw.method, path: url.pathname, params, query: url.searchParams, body, raw, res, ...(identity ? { identity } : {}) };
      if (identity && auth.authorize) await auth.authorize(r.info, req, identity);
      const out = await r.handler(req);
      if (out === STREAMING) return;
      const status = (out as { status?: number } | undefined)?.status;
      const payload = status !== undefined && 'body' in (out as object) ? (out as { body: unknown }).body : out;
      sendJson(res, status ?? 200, payload ?? { ok: true });
      return;
    }
    if (allowed.length) {
      res.setHeader('allow', allowed.join(', '));
      throw new GreenlightError('USAGE', `${raw.method} is not allowed on ${url.pathname}`, { hint: `use ${allowed.join(' or ')}` });
    }
    throw new GreenlightError('NOT_FOUND', `no API route ${raw.method} ${url.pathname}`, { hint: 'see README "API"' });
  }
}

/** The identity of a request's bearer token (rate limited per address), or a 401/429. */
export function authenticate(raw: IncomingMessage, auth: Auth): Identity {
  const key = raw.socket.remoteAddress ?? '?';
  const wait = auth.limiter?.blockedFor(key) ?? 0;
  if (wait > 0) {
    throw new GreenlightError('RATE_LIMITED', `too many failed authentications from ${key}: refused for ${Math.ceil(wait / 1000)} s`, { retryable: true, hint: 'check the token (greenlight login), then try again later' });
  }
  const header = raw.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const identity = given ? auth.authenticate(given) : undefined;
  if (!identity) {
    if (given) auth.limiter?.fail(key);
    throw new GreenlightError('UNAUTHORIZED', given ? (auth.refusal?.(given) ?? 'wrong API token') : 'missing API token', {
      hint: 'send "Authorization: Bearer <token>": your own (greenlight login), or the bootstrap admin token in <state_dir>/token',
    });
  }
  auth.limiter?.succeed(key);
  return identity;
}

/**
 * CSRF defence in depth. The API authenticates by a bearer header only (no cookie a browser would
 * attach by itself), which a cross-site page cannot set without a CORS preflight the controller
 * never grants; on top of that a state-changing request a browser marks as coming from another
 * site is refused outright (the signed-link confirmation form posts from the controller's own origin).
 */
function refuseCrossSite(raw: IncomingMessage): void {
  const site = raw.headers['sec-fetch-site'];
  const origin = raw.headers.origin;
  let cross = site === 'cross-site' || site === 'same-site';
  if (!cross && typeof origin === 'string' && origin !== 'null') {
    try {
      cross = new URL(origin).host !== raw.headers.host;
    } catch {
      cross = true;
    }
  } else if (origin === 'null') cross = true;
  if (cross) throw new GreenlightError('FORBIDDEN', `cross-site ${raw.method} refused (origin ${String(origin ?? site).slice(0, 100)})`, { hint: 'state-changing requests are accepted from the controller\'s own pages, the CLI and scripts only' });
}

function match(parts: string[], segs: string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = segs[i]!;
    else if (p !== segs[i]) return undefined;
  }
  return params;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new GreenlightError('USAGE', 'request body over 1 MB');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  // Forms (the confirmation page of a signed action link) are read by their handler, not here.
  if (!/json/i.test(req.headers['content-type'] ?? 'application/json')) return Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new GreenlightError('USAGE', 'request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = err instanceof GreenlightError ? err : new GreenlightError('INTERNAL', err instanceof Error ? err.message : String(err));
  sendJson(res, httpStatusFor(e.code), { error: e.toJSON() });
}
