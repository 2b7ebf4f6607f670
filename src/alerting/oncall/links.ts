// Signed action links in pages: acknowledge, resolve or snooze a page with one click, without
// logging in, from a phone. Scheme (docs/alerting.md):
//   <base>/pages/<page id>/<action>?expires=<unix seconds>[&by=<user>]&sig=<base64url HMAC>
//   HMAC-SHA256(secret, "greenlight-page-action\n<action>\n<page id>\n<expires>\n<by or empty>")
// The signature covers the action, the page and the expiry (and who the link was sent to), so a
// link cannot be turned into another action, another page or a longer life. It is compared in
// constant time. GET only shows a confirmation form that POSTs back: mail scanners and chat
// unfurlers fetch links, and must not acknowledge pages by doing so.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GreenlightError } from '../../errors/errors.ts';

export const PAGE_ACTIONS = ['acknowledge', 'resolve', 'snooze'] as const;
export type PageAction = (typeof PAGE_ACTIONS)[number];

export interface LinkSigner {
  /** where the controller mounts handleActionLink, e.g. "https://greenlight.example.com/api/alerting" */
  baseUrl: string;
  secret: string;
  /** how long a link stays valid; 24 h by default */
  ttlMs?: number;
}

const DOMAIN = 'greenlight-page-action';

export function signAction(secret: string, action: string, pageId: string, expires: number, by = ''): string {
  return createHmac('sha256', secret).update(`${DOMAIN}\n${action}\n${pageId}\n${expires}\n${by}`).digest('base64url');
}

export function buildActionUrl(opts: { baseUrl: string; secret: string; action: PageAction; pageId: string; expiresAt: number; by?: string }): string {
  const expires = Math.floor(opts.expiresAt / 1000);
  const base = opts.baseUrl.replace(/\/+$/, '');
  const q = new URLSearchParams({ expires: String(expires) });
  if (opts.by) q.set('by', opts.by);
  q.set('sig', signAction(opts.secret, opts.action, opts.pageId, expires, opts.by ?? ''));
  return `${base}/pages/${encodeURIComponent(opts.pageId)}/${opts.action}?${q.toString()}`;
}

export function buildActionLinks(signer: LinkSigner, pageId: string, now: number, by?: string): Record<PageAction, string> {
  const expiresAt = now + (signer.ttlMs ?? 86_400_000);
  const one = (action: PageAction) => buildActionUrl({ baseUrl: signer.baseUrl, secret: signer.secret, action, pageId, expiresAt, ...(by ? { by } : {}) });
  return { acknowledge: one('acknowledge'), resolve: one('resolve'), snooze: one('snooze') };
}

export type VerifiedLink = { ok: true; action: PageAction; pageId: string; by?: string; expiresAt: number } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired'; message: string };

const PATH = /\/pages\/([^/]+)\/([a-z]+)\/?$/;

/** Checks a link's path, signature (constant time) and expiry; `now` in ms. */
export function verifyActionUrl(url: string | URL, secret: string, now: number): VerifiedLink {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  } catch {
    return { ok: false, reason: 'malformed', message: 'not a URL' };
  }
  const m = PATH.exec(u.pathname);
  const expiresText = u.searchParams.get('expires') ?? '';
  const sig = u.searchParams.get('sig') ?? '';
  if (!m || !/^\d{1,12}$/.test(expiresText) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
    return { ok: false, reason: 'malformed', message: 'expected .../pages/<id>/<action>?expires=<unix seconds>&sig=<signature>' };
  }
  let pageId: string;
  try {
    pageId = decodeURIComponent(m[1]!);
  } catch {
    return { ok: false, reason: 'malformed', message: 'the page id is not valid percent-encoding' };
  }
  const action = m[2]!;
  const by = u.searchParams.get('by') ?? '';
  const expires = Number(expiresText);
  // Check the signature before the expiry, so an attacker learns nothing from tampered expiries.
  const expected = Buffer.from(signAction(secret, action, pageId, expires, by), 'base64url');
  const given = Buffer.from(sig, 'base64url');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'bad-signature', message: 'the link signature does not match (altered, or signed with another secret)' };
  }
  if (!(PAGE_ACTIONS as readonly string[]).includes(action)) return { ok: false, reason: 'malformed', message: `unknown action ${action}` };
  if (now >= expires * 1000) return { ok: false, reason: 'expired', message: 'the link has expired' };
  const out: VerifiedLink = { ok: true, action: action as PageAction, pageId, expiresAt: expires * 1000 };
  if (by) out.by = by;
  return out;
}

/** What handleActionLink needs from the escalation engine. */
export interface PageActions {
  acknowledge(pageId: string, by: string): Promise<unknown>;
  resolve(pageId: string, by: string, reason?: string): Promise<unknown>;
  snooze(pageId: string, by: string, ms?: number): Promise<unknown>;
}

export interface ActionLinkDeps {
  secret: string;
  now: () => number;
  pages: PageActions;
  /** GET shows a confirmation form, POST acts; GET by default */
  method?: string;
  /** who acts when the link names nobody (e.g. the authenticated API user) */
  actor?: string;
  /** the controller's permission check for the person the link was sent to: a refusal message, or undefined */
  authorize?: (by: string | undefined, pageId: string, action: PageAction) => string | undefined;
}

export interface ActionLinkResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function html(status: number, title: string, inner: string): ActionLinkResponse {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    body: `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${inner}</body></html>`,
  };
}

const DONE: Record<PageAction, string> = { acknowledge: 'Acknowledged', resolve: 'Resolved', snooze: 'Snoozed' };

/**
 * The handler the API mounts at `<base>/pages/:id/:action` for GET and POST. `url` is the request
 * URL (absolute, or path and query). Never throws: every outcome is a small HTML page.
 */
export async function handleActionLink(url: string | URL, deps: ActionLinkDeps): Promise<ActionLinkResponse> {
  const v = verifyActionUrl(url, deps.secret, deps.now());
  if (!v.ok) {
    const status = v.reason === 'expired' ? 410 : v.reason === 'bad-signature' ? 403 : 400;
    return html(status, v.reason === 'expired' ? 'Link expired' : 'Invalid link', `<p>${escapeHtml(v.message)}.</p><p>Open Greenlight to act on the page.</p>`);
  }
  const refused = deps.authorize?.(v.by, v.pageId, v.action);
  if (refused) return html(403, 'Not allowed', `<p>${escapeHtml(refused)}.</p>`);
  const method = (deps.method ?? 'GET').toUpperCase();
  if (method !== 'POST') {
    const action = typeof url === 'string' ? url : url.pathname + url.search;
    return html(
      200,
      `${v.action[0]!.toUpperCase()}${v.action.slice(1)} page ${v.pageId}?`,
      `<form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(v.action[0]!.toUpperCase() + v.action.slice(1))}</button></form>`,
    );
  }
  const by = v.by ? `user:${v.by}` : (deps.actor ?? 'action-link');
  try {
    if (v.action === 'acknowledge') await deps.pages.acknowledge(v.pageId, by);
    else if (v.action === 'resolve') await deps.pages.resolve(v.pageId, by, 'resolved from a page link');
    else await deps.pages.snooze(v.pageId, by);
  } catch (err) {
    if (err instanceof GreenlightError) {
      const status = err.code === 'NOT_FOUND' ? 404 : err.code === 'CONFLICT' ? 409 : 500;
      return html(status, status === 409 ? 'Nothing to do' : 'Could not act on the page', `<p>${escapeHtml(err.message)}</p>`);
    }
    return html(500, 'Could not act on the page', `<p>${escapeHtml(err instanceof Error ? err.message : String(err))}</p>`);
  }
  return html(200, `${DONE[v.action]}`, `<p>Page ${escapeHtml(v.pageId)}: ${escapeHtml(DONE[v.action].toLowerCase())}.</p>`);
}
