// Alerts from a Prometheus Alertmanager, through its webhook receiver (payload version "4"). Teams
// that already run Prometheus and Alertmanager point a webhook_configs entry at Greenlight; each
// alert then goes through Greenlight's own routing, grouping, incidents and escalation. The schema
// is lenient about extra fields (Alertmanager adds some over time) and strict about the ones used.
import { z } from 'zod';
import { GreenlightError } from '../../errors/errors.ts';
import type { Alert, IncomingAlert } from '../alerts/alert.ts';
import { fingerprint } from '../alerts/fingerprint.ts';

/** Go's zero time: Alertmanager's "no end known yet". */
const GO_ZERO_TIME = /^0001-01-01T00:00:00Z$/;

const time = z.string().refine((s) => GO_ZERO_TIME.test(s) || !Number.isNaN(Date.parse(s)), { message: 'expected an RFC 3339 time' });
const labelSet = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected a label name' }), z.string());

export const alertmanagerAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().optional(),
});

export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4', { message: 'only Alertmanager webhook payload version "4" is understood' }),
  groupKey: z.string().optional(),
  truncatedAlerts: z.int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertmanagerAlertSchema),
});
export type AlertmanagerWebhook = z.output<typeof alertmanagerWebhookSchema>;

function parseTime(s: string | undefined): number | undefined {
  if (s === undefined || GO_ZERO_TIME.test(s)) return undefined;
  return Date.parse(s);
}

/** One webhook alert as Greenlight's incoming alert; `now` stands in for a resolved alert's missing end. */
export function fromAlertmanagerAlert(a: z.output<typeof alertmanagerAlertSchema>, now: number): IncomingAlert {
  const out: IncomingAlert = { labels: a.labels, annotations: a.annotations, startsAt: parseTime(a.startsAt) ?? now };
  const ends = parseTime(a.endsAt);
  // A firing alert's endsAt is Alertmanager's own resolve timeout guess; the sender tells us when it
  // really resolves (webhooks send resolutions by default), so only a resolved alert's end is kept.
  if (a.status === 'resolved') out.endsAt = Math.min(ends ?? now, now);
  if (a.generatorURL) out.generatorURL = a.generatorURL;
  return out;
}

export interface WebhookDeps {
  /** the dispatcher (or anything that takes alerts the same way) */
  dispatcher: { receive(alerts: readonly IncomingAlert[], origin: 'alertmanager'): Alert[] };
  now: () => number;
}

export interface WebhookResult {
  status: number;
  body: { received: number; firing: number; resolved: number; fingerprints: string[]; truncatedAlerts: number } | { error: ReturnType<GreenlightError['toJSON']> };
}

/**
 * The handler the API mounts for Alertmanager's webhook_configs (POST, JSON body already parsed).
 * Answers 200 with what was taken in, or 400 naming every problem; Alertmanager retries non-2xx,
 * so only malformed payloads (which retrying cannot fix) get a 4xx.
 */
export function receiveAlertmanagerWebhook(body: unknown, deps: WebhookDeps): WebhookResult {
  const parsed = alertmanagerWebhookSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    const err = new GreenlightError('USAGE', `not an Alertmanager webhook payload: ${problems.join('; ')}`, {
      hint: 'point an Alertmanager webhook_configs url at this endpoint; it sends version "4" JSON',
      data: { problems },
    });
    return { status: 400, body: { error: err.toJSON() } };
  }
  const now = deps.now();
  const incoming = parsed.data.alerts.map((a) => fromAlertmanagerAlert(a, now));
  const stored = deps.dispatcher.receive(incoming, 'alertmanager');
  return {
    status: 200,
    body: {
      received: stored.length,
      firing: parsed.data.alerts.filter((a) => a.status === 'firing').length,
      resolved: parsed.data.alerts.filter((a) => a.status === 'resolved').length,
      fingerprints: incoming.map((a) => fingerprint(a.labels)),
      truncatedAlerts: parsed.data.truncatedAlerts,
    },
  };
}
