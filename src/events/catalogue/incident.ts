// Events of incidents (src/incidents: opened by a rollback, an alert or a person, and what people
// do to them).
import { z } from 'zod';
import { at, defineEvent, labels, nonEmpty, str } from './define.ts';

const owner = 'incident';
export const INCIDENT_SEVERITIES = ['sev1', 'sev2', 'sev3', 'sev4'] as const;
const severity = z.enum(INCIDENT_SEVERITIES);
const ref = { incidentId: nonEmpty };

export const incidentEvents = [
  defineEvent({
    type: 'incident.opened',
    owner,
    meaning: 'an incident was opened, by what (trigger) and about what (cause)',
    data: z.strictObject({
      ...ref,
      title: nonEmpty,
      severity,
      trigger: z.enum(['rollback', 'post-check', 'switch-failed', 'alert', 'manual']),
      cause: str.optional(),
      deploymentId: nonEmpty.optional(),
      service: nonEmpty.optional(),
      version: nonEmpty.optional(),
      environment: nonEmpty.optional(),
      summary: str.optional(),
    }),
  }),
  defineEvent({ type: 'incident.acknowledged', owner, meaning: 'a person took the incident', data: z.strictObject(ref) }),
  defineEvent({
    type: 'incident.mitigated',
    owner,
    meaning: 'users are no longer hit (automatic: traffic is back on the stable version), the cause may remain',
    data: z.strictObject({
      ...ref,
      automatic: z.boolean().optional(),
      deploymentId: nonEmpty.optional(),
      environment: nonEmpty.optional(),
      reason: str.optional(),
      trafficRestoredAt: at.optional(),
      text: str.optional(),
    }),
  }),
  defineEvent({ type: 'incident.resolved', owner, meaning: 'the incident is over', data: z.strictObject({ ...ref, text: str.optional() }) }),
  defineEvent({ type: 'incident.note.added', owner, meaning: 'a person added a note to the timeline', data: z.strictObject({ ...ref, text: nonEmpty }) }),
  defineEvent({ type: 'incident.root_cause.set', owner, meaning: 'a person wrote the root cause, replacing the drafted one', data: z.strictObject({ ...ref, text: nonEmpty }) }),
  defineEvent({
    type: 'incident.severity.changed',
    owner,
    meaning: 'a person changed the severity',
    data: z.strictObject({ ...ref, severity, previous: severity }),
  }),
  defineEvent({
    type: 'incident.alert.joined',
    owner,
    meaning: 'an alert joined the incident (it opened it, or it is about the same service and environment)',
    data: z.strictObject({ ...ref, fingerprint: nonEmpty, labels, summary: str, severity: str, startsAt: at.optional() }),
  }),
] as const;
