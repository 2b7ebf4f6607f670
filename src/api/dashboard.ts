// The dashboard: static files from web/ served by the controller at / and /ui/<file>. These routes
// are public because the page holds no data: it reads everything from the v1 API with the token
// the user gives it (a form, or the #token= fragment of the URL `greenlight up` prints; a fragment
// is never sent to the server, so the token stays out of access logs and proxies).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { extname, join } from 'node:path';
import { GreenlightError } from '../errors/errors.ts';
import { STREAMING, type Request, type Routes } from './http.ts';

export const webRoot = fileURLToPath(new URL('../../web/', import.meta.url));
/** uPlot (npm), served from the controller like the page itself, so the dashboard makes no external request */
const uplotDir = fileURLToPath(new URL('../../node_modules/uplot/dist/', import.meta.url));

/** Only these kinds are served: tests, sources and screenshots beside the page stay private. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

// The page talks to its own origin only (and, to find the leader when its controller goes away,
// to the /v1/health of the store's other controllers): no CDN, no inline script, nothing framed.
function csp(peers: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...peers].join(' '),
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Origins of controller addresses, safe to put in a header (nothing but scheme, host, port). */
function origins(addresses: string[]): string[] {
  const out = new Set<string>();
  for (const a of addresses) {
    try {
      const u = new URL(a);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && /^[A-Za-z0-9.:[\]-]+$/.test(u.host)) out.add(u.origin);
    } catch {
      /* not an address */
    }
  }
  return [...out];
}

/** The address that opens the dashboard already signed in (the token rides in the fragment). */
export function dashboardUrl(controllerUrl: string, token: string): string {
  return `${controllerUrl.replace(/\/+$/, '')}/#token=${encodeURIComponent(token)}`;
}

/**
 * A file name as it may appear under /ui/: one path segment of plain characters. The router has
 * already percent-decoded the segment, so "..%2F" arrives here as "../" and is refused.
 */
export function safeWebFile(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name) || name.includes('..')) return undefined;
  if (!(extname(name).toLowerCase() in CONTENT_TYPES)) return undefined;
  return name;
}

export function dashboardRoutes(routes: Routes, opts: { root?: string; peers?: () => Promise<string[]> } = {}): Routes {
  const root = opts.root ?? webRoot;
  const serve = (name: string | undefined, dir = root) => async (req: Request) => {
    const file = name ?? safeWebFile(req.params.file ?? '');
    const notFound = () => new GreenlightError('NOT_FOUND', `no dashboard file ${req.path}`, { hint: 'open / for the dashboard' });
    if (!file) throw notFound();
    let body: Buffer;
    try {
      body = await readFile(join(dir, file));
    } catch {
      throw notFound();
    }
    req.res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()]!,
      'content-length': body.length,
      // revalidated on each load, so a new controller version is picked up at once
      'cache-control': 'no-cache',
      'content-security-policy': csp(file === 'index.html' && opts.peers ? origins(await opts.peers().catch(() => [])) : []),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    req.res.end(body);
    return STREAMING;
  };
  return routes
    .add('GET', '/', serve('index.html'), { public: true })
    .add('GET', '/ui', serve('index.html'), { public: true })
    .add('GET', '/ui/uplot.js', serve('uPlot.esm.js', uplotDir), { public: true })
    .add('GET', '/ui/uplot.css', serve('uPlot.min.css', uplotDir), { public: true })
    .add('GET', '/ui/:file', serve(undefined), { public: true })
    // one ES module per panel lives in web/panels/
    .add('GET', '/ui/panels/:file', serve(undefined, join(root, 'panels')), { public: true });
}
