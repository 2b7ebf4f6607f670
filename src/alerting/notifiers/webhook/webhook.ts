// kind: webhook — a generic signed JSON POST for anything that is not Slack, PagerDuty or email.
// Signature scheme (docs/notifiers.md):
//   X-Greenlight-Timestamp: <unix seconds>
//   X-Greenlight-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
// The timestamp is inside the signed content so a captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../../clock/clock.ts';
import { postJson } from '../http-post.ts';
import type { DeliveryResult, Notification, Notifier } from '../notifier.ts';
import { commonSpecFields, httpUrl, resolveSecret, secretRef, type CreateDeps } from '../spec.ts';

const RESERVED_HEADERS = ['content-type', 'x-greenlight-signature', 'x-greenlight-timestamp', 'x-greenlight-notification-id'];

export const webhookSpecSchema = z.strictObject({
  kind: z.literal('webhook'),
  url: httpUrl,
  secret: secretRef.optional(),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, { message: 'expected an HTTP header name' }), z.string())
    .refine((h) => !Object.keys(h).some((k) => RESERVED_HEADERS.includes(k.toLowerCase())), {
      message: `these headers are set by Greenlight and cannot be overridden: ${RESERVED_HEADERS.join(', ')}`,
    })
    .optional(),
  ...commonSpecFields,
});
export type WebhookSpec = z.output<typeof webhookSpecSchema>;

/** The JSON body of a webhook delivery; `version` changes only with incompatible changes. */
export interface WebhookPayload {
  version: 1;
  id: string;
  dedupKey: string;
  action: Notification['action'];
  severity: Notification['severity'];
  summary: string;
  source: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  incidentId: string | null;
  links: NonNullable<Notification['links']>;
  recipient: Notification['recipient'] | null;
  /** when this attempt was made (ISO 8601) */
  sentAt: string;
}

export function webhookPayload(n: Notification, now: number): WebhookPayload {
  return {
    version: 1,
    id: n.id,
    dedupKey: n.dedupKey,
    action: n.action,
    severity: n.severity,
    summary: n.summary,
    source: n.source,
    labels: n.labels,
    annotations: n.annotations ?? {},
    startsAt: new Date(n.startsAt).toISOString(),
    incidentId: n.incidentId ?? null,
    links: n.links ?? {},
    recipient: n.recipient ?? null,
    sentAt: new Date(now).toISOString(),
  };
}

export function signWebhook(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export interface VerifyInput {
  secret: string;
  /** X-Greenlight-Timestamp, unix seconds as sent */
  timestamp: string | undefined;
  /** X-Greenlight-Signature */
  signature: string | undefined;
  rawBody: string;
  /** receiver's time, ms since epoch */
  now: number;
  /** how far the timestamp may be from now; 300 s by default */
  toleranceSeconds?: number;
}

/** For receivers written in TypeScript; the docs show the same check in a few lines of any language. */
export function verifyWebhook(v: VerifyInput): { ok: true } | { ok: false; reason: string } {
  if (!v.timestamp || !/^\d+$/.test(v.timestamp)) return { ok: false, reason: 'missing or malformed X-Greenlight-Timestamp' };
  if (!v.signature?.startsWith('sha256=')) return { ok: false, reason: 'missing or malformed X-Greenlight-Signature' };
  const ts = Number(v.timestamp);
  if (Math.abs(v.now / 1000 - ts) > (v.toleranceSeconds ?? 300)) return { ok: false, reason: 'timestamp outside the tolerance window (replayed or clock skew)' };
  const expected = Buffer.from(signWebhook(v.secret, ts, v.rawBody));
  const given = Buffer.from(v.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

export class WebhookNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly name: string;
  private readonly url: string;
  private readonly secret: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly clock: Clock;

  constructor(opts: { name?: string | undefined; url: string; secret?: string | undefined; headers?: Record<string, string> | undefined; clock: Clock }) {
    this.name = opts.name ?? 'webhook';
    this.url = opts.url;
    this.secret = opts.secret;
    this.headers = opts.headers ?? {};
    this.clock = opts.clock;
  }

  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const now = this.clock.now();
    const body = JSON.stringify(webhookPayload(n, now));
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = { ...this.headers, 'x-greenlight-notification-id': n.id, 'x-greenlight-timestamp': String(timestamp) };
    if (this.secret !== undefined) headers['x-greenlight-signature'] = signWebhook(this.secret, timestamp, body);
    return postJson({ url: this.url, body, headers, clock: this.clock, signal, receiver: `webhook "${this.name}"` });
  }
}

export function createWebhook(spec: WebhookSpec, deps: CreateDeps): WebhookNotifier {
  return new WebhookNotifier({
    name: spec.name,
    url: spec.url,
    secret: spec.secret === undefined ? undefined : resolveSecret(spec.secret, deps, 'webhook.secret'),
    headers: spec.headers,
    clock: deps.clock,
  });
}
