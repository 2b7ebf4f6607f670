// A deliberately small HTTP layer for the controller's JSON API: a route table matched by method
// and path pattern, bearer-token auth, JSON bodies with a size limit, typed errors mapped to
// statuses. The controller is not in any request path of users, so clarity beats speed here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GreenlightError, httpStatusFor } from '../errors/errors.ts';
import { tokensEqual } from '../app/token.ts';

export interface Request {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  raw: IncomingMessage;
  res: ServerResponse;
}

export type Handler = (req: Request) => Promise<unknown>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
  public: boolean;
}

/** Returned by a handler that wrote the response itself (e.g. a server-sent event stream). */
export const STREAMING = Symbol('streaming');

export class Routes {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: { public?: boolean } = {}): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler, public: !!opts.public });
    return this;
  }

  /** Every route's method and pattern (the fuzz test walks all write endpoints). */
  list(): { method: string; pattern: string; public: boolean }[] {
    return this.routes.map((r) => ({ method: r.method, pattern: '/' + r.parts.join('/'), public: r.public }));
  }

  handler(token: () => string): (req: IncomingMessage, res: ServerResponse) => void {
    return (raw, res) => {
      void this.dispatch(raw, res, token).catch((err) => sendError(res, err));
    };
  }

  private async dispatch(raw: IncomingMessage, res: ServerResponse, token: () => string): Promise<void> {
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
      if (!r.public) {
        const auth = raw.headers.authorization ?? '';
        const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
        if (!given || !tokensEqual(given, token())) {
          throw new GreenlightError('UNAUTHORIZED', given ? 'wrong API token' : 'missing API token', {
            hint: 'send "Authorization: Bearer <token>"; the token is in <state_dir>/token (created by greenlight up)',
          });
        }
      }
      const body = raw.method === 'GET' || raw.method === 'HEAD' ? undefined : await readJson(raw);
      const out = await r.handler({ method: raw.method, path: url.pathname, params, query: url.searchParams, body, raw, res });
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
