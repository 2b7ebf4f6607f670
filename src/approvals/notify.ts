// A deployment waiting for approval pages the people who can approve it, through the alerting
// pipeline (routes, grouping, silences and escalation apply as to any alert): an ApprovalWaiting
// alert of severity warning whose `approve_url` annotation is a signed approval link (links.ts),
// resolved when the wait ends (approved, rejected, expired, or the deployment ended).
import type { Alert, IncomingAlert } from '../alerting/alerts/alert.ts';
import type { Clock } from '../clock/clock.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';

export const APPROVAL_ALERT = 'ApprovalWaiting';

const ENDS = new Set(['approval.rejected', 'approval.expired', 'deployment.promoted', 'deployment.rolled_back', 'deployment.failed', 'deployment.aborted', 'deployment.blocked']);

export function pageApprovalRequests(deps: {
  events: EventLog;
  clock: Clock;
  receive: (alerts: IncomingAlert[], origin: 'rollout') => Alert[];
  /** the signed link for this request, when action links are configured */
  link?: (deploymentId: string, environment: string, expiresAt: number) => string | undefined;
}): () => void {
  const firing = new Map<string, IncomingAlert>();
  const end = (key: string) => {
    const alert = firing.get(key);
    if (!alert) return;
    firing.delete(key);
    deps.receive([{ ...alert, endsAt: deps.clock.now() }], 'rollout');
  };
  return deps.events.subscribe((e: StoredEvent) => {
    const d = e.data as Record<string, unknown>;
    const id = typeof d.deploymentId === 'string' ? d.deploymentId : undefined;
    if (id === undefined) return;
    const env = typeof d.environment === 'string' ? d.environment : '';
    if (e.type === 'approval.requested') {
      const url = deps.link?.(id, env, Number(d.expiresAt));
      const alert: IncomingAlert = {
        labels: { alertname: APPROVAL_ALERT, severity: 'warning', environment: env, service: String(d.service ?? ''), deployment: id },
        annotations: {
          summary: `${String(d.service)}@${String(d.version)} waits for ${String(d.required)} approval(s) in ${env}, requested by ${String(d.requester)}`,
          description: `greenlight approve ${id}${url ? ', or open the approval link and sign in' : ''}`,
          ...(url ? { approve_url: url } : {}),
        },
        startsAt: e.time,
      };
      firing.set(`${id}/${env}`, alert);
      deps.receive([alert], 'rollout');
    } else if (e.type === 'approval.granted' && d.satisfied === true) end(`${id}/${env}`);
    else if (ENDS.has(e.type)) for (const key of [...firing.keys()]) if (key.startsWith(`${id}/`) && (!env || key === `${id}/${env}` || e.type.startsWith('deployment.'))) end(key);
  });
}
