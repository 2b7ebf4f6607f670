// kind: pagerduty — PagerDuty Events API v2. PagerDuty answers 202 when it accepted the event;
// 400 means the event itself is invalid (not retried), 429 and 5xx are retried. PagerDuty
// deduplicates on dedup_key, so a retried trigger whose first attempt did arrive opens no second
// incident.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../../clock/clock.ts';
import { postJson } from '../http-post.ts';
import { actionLinks, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';
import { commonSpecFields, envName, httpUrl, readEnv, type CreateDeps } from '../spec.ts';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export const pagerdutySpecSchema = z
  .strictObject({
    kind: z.literal('pagerduty'),
    /** the integration key of an Events API v2 integration on a PagerDuty service */
    routing_key: z.string().min(1).optional(),
    /** read the integration key from this environment variable instead (preferred) */
    routing_key_env: envName.optional(),
    url: httpUrl.default(PAGERDUTY_EVENTS_URL),
    ...commonSpecFields,
  })
  .refine((s) => (s.routing_key === undefined) !== (s.routing_key_env === undefined), {
    message: 'set exactly one of routing_key or routing_key_env',
    path: ['routing_key'],
  });
export type PagerDutySpec = z.output<typeof pagerdutySpecSchema>;

const SUMMARY_MAX = 1024;
const DEDUP_MAX = 255;

export interface PagerDutyEvent {
  routing_key: string;
  event_action: Notification['action'];
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: Notification['severity'];
    timestamp: string;
    component?: string;
    group?: string;
    custom_details: Record<string, unknown>;
  };
  links?: Array<{ href: string; text: string }>;
  client?: string;
  client_url?: string;
}

/** PagerDuty limits dedup_key to 255 characters; longer keys are hashed so they stay stable. */
export function pagerdutyDedupKey(key: string): string {
  return key.length <= DEDUP_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function pagerdutyEvent(n: Notification, routingKey: string): PagerDutyEvent {
  const event: PagerDutyEvent = { routing_key: routingKey, event_action: n.action, dedup_key: pagerdutyDedupKey(n.dedupKey) };
  // Acknowledge and resolve only need the key; PagerDuty ignores a payload on them.
  if (n.action === 'trigger') {
    const details: Record<string, unknown> = { labels: n.labels, notification_id: n.id };
    if (n.annotations && Object.keys(n.annotations).length > 0) details.annotations = n.annotations;
    if (n.incidentId) details.incident_id = n.incidentId;
    if (n.recipient) details.on_call = n.recipient.name;
    event.payload = {
      summary: n.summary.length <= SUMMARY_MAX ? n.summary : `${n.summary.slice(0, SUMMARY_MAX - 1)}…`,
      source: n.source,
      severity: n.severity,
      timestamp: new Date(n.startsAt).toISOString(),
      ...(n.labels.service ? { component: n.labels.service } : {}),
      ...(n.labels.environment ? { group: n.labels.environment } : {}),
      custom_details: details,
    };
    const links = actionLinks(n);
    if (links.length > 0) event.links = links.map((l) => ({ href: l.href, text: l.text }));
    event.client = 'Greenlight';
    if (n.links?.dashboard) event.client_url = n.links.dashboard;
  }
  return event;
}

export class PagerDutyNotifier implements Notifier {
  readonly kind = 'pagerduty';
  readonly name: string;
  private readonly url: string;
  private readonly routingKey: string;
  private readonly clock: Clock;

  constructor(opts: { name?: string | undefined; url?: string; routingKey: string; clock: Clock }) {
    this.name = opts.name ?? 'pagerduty';
    this.url = opts.url ?? PAGERDUTY_EVENTS_URL;
    this.routingKey = opts.routingKey;
    this.clock = opts.clock;
  }

  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    return postJson({
      url: this.url,
      body: JSON.stringify(pagerdutyEvent(n, this.routingKey)),
      headers: {},
      clock: this.clock,
      signal,
      receiver: `PagerDuty "${this.name}"`,
    });
  }
}

export function createPagerDuty(spec: PagerDutySpec, deps: CreateDeps): PagerDutyNotifier {
  const routingKey = spec.routing_key ?? readEnv(spec.routing_key_env!, deps, 'pagerduty.routing_key_env');
  return new PagerDutyNotifier({ name: spec.name, url: spec.url, routingKey, clock: deps.clock });
}
