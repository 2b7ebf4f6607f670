// Signed approval links, carried by the page about a deployment waiting for approval:
//   <action_links.base_url>/approvals/<deployment id>/<environment>?expires=<unix seconds>&sig=<base64url HMAC>
//   HMAC-SHA256(secret, "greenlight-approval\napprove\n<deployment id>\n<environment>\n<expires>")
// Single purpose: the signature binds the action (approve), the deployment and the environment, and
// the expiry (never later than the approval request's own), so a link cannot be turned into
// another deployment, environment or a longer life. It is NOT a bearer credential: following it
// opens the dashboard, where the person signs in with their own token, and the approval is
// recorded as them, with their roles checked (approve in that environment; not the requester).
// A link forwarded to someone else is worth nothing to them without a token of their own.
import { createHmac, timingSafeEqual } from 'node:crypto';

const DOMAIN = 'greenlight-approval';

export interface ApprovalLink {
  deploymentId: string;
  environment: string;
  /** unix seconds */
  expires: number;
  sig: string;
}

export function signApproval(secret: string, deploymentId: string, environment: string, expires: number): string {
  return createHmac('sha256', secret).update(`${DOMAIN}\napprove\n${deploymentId}\n${environment}\n${expires}`).digest('base64url');
}

export function buildApprovalUrl(opts: { baseUrl: string; secret: string; deploymentId: string; environment: string; expiresAt: number }): string {
  const expires = Math.floor(opts.expiresAt / 1000);
  const q = new URLSearchParams({ expires: String(expires), sig: signApproval(opts.secret, opts.deploymentId, opts.environment, expires) });
  return `${opts.baseUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(opts.deploymentId)}/${encodeURIComponent(opts.environment)}?${q.toString()}`;
}

export type LinkCheck = { ok: true; link: ApprovalLink } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired'; message: string };

/** Checks a link's parts: well formed, signature (constant time, before the expiry), expiry. */
export function checkApprovalLink(parts: { deploymentId?: unknown; environment?: unknown; expires?: unknown; sig?: unknown }, secret: string, now: number): LinkCheck {
  const { deploymentId, environment, sig } = parts;
  const expires = typeof parts.expires === 'string' && /^\d{1,12}$/.test(parts.expires) ? Number(parts.expires) : typeof parts.expires === 'number' && Number.isInteger(parts.expires) ? parts.expires : NaN;
  if (typeof deploymentId !== 'string' || !deploymentId || deploymentId.length > 200 || typeof environment !== 'string' || !environment || environment.length > 200 || !Number.isFinite(expires) || typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
    return { ok: false, reason: 'malformed', message: 'this is not a complete approval link (expected .../approvals/<deployment>/<environment>?expires=<unix seconds>&sig=<signature>)' };
  }
  const expected = Buffer.from(signApproval(secret, deploymentId, environment, expires), 'base64url');
  const given = Buffer.from(sig, 'base64url');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'bad-signature', message: 'the approval link was altered (its signature does not match its deployment, environment and expiry) or signed with another secret' };
  }
  if (now >= expires * 1000) return { ok: false, reason: 'expired', message: `the approval link expired at ${new Date(expires * 1000).toISOString()}` };
  return { ok: true, link: { deploymentId, environment, expires, sig } };
}
