// A canary step that pauses because it cannot get the traffic it needs is a problem a person must
// look at, so it pages through the alerting pipeline as a warning (routes, grouping, silences and
// escalation apply as to any alert), and resolves when the rollout moves on or ends.
import type { Alert, IncomingAlert } from '../alerting/alerts/alert.ts';
import type { Clock } from '../clock/clock.ts';
import type { EventLog, StoredEvent } from '../events/log.ts';

export const STARVED_ALERT = 'RolloutStarved';

const ENDS = new Set(['rollout.resumed', 'rollout.step.started', 'rollout.promote.requested', 'deployment.promoted', 'deployment.rolled_back', 'deployment.failed', 'deployment.aborted', 'deployment.blocked']);

export function pageStarvedRollouts(deps: { events: EventLog; clock: Clock; receive: (alerts: IncomingAlert[], origin: 'rollout') => Alert[] }): () => void {
  const firing = new Map<string, IncomingAlert>();
  return deps.events.subscribe((e: StoredEvent) => {
    const d = e.data as Record<string, unknown>;
    const id = typeof d.deploymentId === 'string' ? d.deploymentId : undefined;
    if (id === undefined) return;
    if (e.type === 'rollout.paused' && d.cause === 'starved') {
      const alert: IncomingAlert = {
        labels: {
          alertname: STARVED_ALERT,
          severity: 'warning',
          environment: String(d.environment ?? ''),
          service: String(d.service ?? ''),
          deployment: id,
        },
        annotations: {
          summary: `${String(d.service)}@${String(d.version)} paused at ${String(d.weight)}% in ${String(d.environment)}: too little canary traffic to judge`,
          description: String(d.reason ?? ''),
        },
        startsAt: e.time,
      };
      firing.set(id, alert);
      deps.receive([alert], 'rollout');
    } else if (ENDS.has(e.type) && firing.has(id)) {
      const alert = firing.get(id)!;
      firing.delete(id);
      deps.receive([{ ...alert, endsAt: deps.clock.now() }], 'rollout');
    }
  });
}
