// The signed approval link of a page (src/approvals/links.ts) and what it leads to:
//   GET  /v1/action/approvals/:id/:environment?expires&sig  public: checks the link, then sends the
//        browser to the dashboard (#approve=...), where the person signs in with their own token;
//        a tampered, expired or spent link gets a page saying so.
//   POST /v1/approvals/link {deploymentId, environment, expires, sig}  authenticated, needs
//        `approve` in that environment (the permission table): checks the link again and records
//        the approval as the signed-in person (approval.granted, via: link); a refused link is
//        recorded too (approval.link.refused) with who tried it.
import type { Clock } from '../clock/clock.ts';
import { GreenlightError } from '../errors/errors.ts';
import type { EventLog } from '../events/log.ts';
import type { Approvals } from '../approvals/approvals.ts';
import { checkApprovalLink } from '../approvals/links.ts';
import { STREAMING, type Request, type Routes } from './http.ts';

export interface ApprovalLinkDeps {
  approvals: () => Pick<Approvals, 'approve' | 'get'>;
  events: EventLog;
  clock: Clock;
  /** the action links' secret; undefined when alerting.action_links is not configured */
  secret: () => string | undefined;
  actorOf: (req: Request) => string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function page(req: Request, status: number, title: string, text: string): typeof STREAMING {
  const body = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p><a href="/">Open the Greenlight dashboard</a></p></body></html>`;
  req.res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-security-policy': "default-src 'none'", 'x-frame-options': 'DENY' });
  req.res.end(body);
  return STREAMING;
}

export function approvalLinkRoutes(routes: Routes, deps: ApprovalLinkDeps): Routes {
  const secretOr404 = () => {
    const s = deps.secret();
    if (!s) throw new GreenlightError('NOT_FOUND', 'approval links are not configured', { hint: 'set alerting.action_links (base_url, secret) in greenlight.yaml' });
    return s;
  };
  return routes
    .add(
      'GET',
      '/v1/action/approvals/:id/:environment',
      async (req) => {
        const secret = deps.secret();
        if (!secret) return page(req, 404, 'Approval links are off', 'alerting.action_links is not configured on this controller.');
        const parts = { deploymentId: req.params.id, environment: req.params.environment, expires: req.query.get('expires') ?? undefined, sig: req.query.get('sig') ?? undefined };
        const v = checkApprovalLink(parts, secret, deps.clock.now());
        if (!v.ok) return page(req, v.reason === 'expired' ? 410 : v.reason === 'bad-signature' ? 403 : 400, v.reason === 'expired' ? 'Approval link expired' : 'Invalid approval link', `${v.message}. Approve from the dashboard or with greenlight approve <deployment>.`);
        const waiting = deps.approvals().get(v.link.deploymentId);
        if (waiting?.environment !== v.link.environment) return page(req, 409, 'Nothing to approve', `deployment ${v.link.deploymentId} is no longer waiting for approval in ${v.link.environment}.`);
        // the dashboard signs the person in (their own token) and asks them to confirm
        const q = new URLSearchParams({ approve: v.link.deploymentId, environment: v.link.environment, expires: String(v.link.expires), sig: v.link.sig });
        req.res.writeHead(303, { location: `/#${q.toString()}`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
        req.res.end();
        return STREAMING;
      },
      { public: true },
    )
    .add('POST', '/v1/approvals/link', async (req) => {
      const secret = secretOr404();
      const b = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const v = checkApprovalLink(b, secret, deps.clock.now());
      const actor = deps.actorOf(req);
      if (!v.ok) {
        const deploymentId = typeof b.deploymentId === 'string' ? b.deploymentId.slice(0, 200) : '';
        const environment = typeof b.environment === 'string' ? b.environment.slice(0, 200) : '';
        await deps.events.append({ type: 'approval.link.refused', actor, subject: `deployment/${deploymentId || 'unknown'}`, data: { deploymentId, environment, reason: v.reason, detail: v.message } });
        throw new GreenlightError(v.reason === 'malformed' ? 'USAGE' : 'FORBIDDEN', v.message, {
          hint: v.reason === 'expired' ? `approve from the dashboard or with greenlight approve ${deploymentId}` : 'use the link exactly as the page carried it, or approve from the dashboard',
          data: { reason: v.reason },
        });
      }
      const waiting = deps.approvals().get(v.link.deploymentId);
      if (waiting?.environment !== v.link.environment) {
        await deps.events.append({ type: 'approval.link.refused', actor, subject: `deployment/${v.link.deploymentId}`, data: { deploymentId: v.link.deploymentId, environment: v.link.environment, reason: 'not-waiting', detail: `deployment ${v.link.deploymentId} is no longer waiting for approval in ${v.link.environment}` } });
        throw new GreenlightError('CONFLICT', `deployment ${v.link.deploymentId} is no longer waiting for approval in ${v.link.environment}`, { hint: 'greenlight status shows what it is doing' });
      }
      return { approval: await deps.approvals().approve(v.link.deploymentId, actor, undefined, { via: 'link' }) };
    });
}
