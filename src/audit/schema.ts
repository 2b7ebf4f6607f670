// The `audit:` section of greenlight.yaml: where the head of the hash chain is sent, so a copy of it
// lives outside the machine that holds the event log.
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { httpUrl, secretRef } from '../alerting/notifiers/spec.ts';

export const headWebhookSchema = z.strictObject({
  /** receives POST {"seq", "hash", "at", "controller"} as JSON */
  url: httpUrl,
  every: duration.refine((ms) => ms >= 1000, { message: 'at least 1s' }).default(3_600_000),
  /** extra headers, e.g. authorization; values may be secrets ({ env: NAME } or { file: path }) */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, { message: 'a header name' }), secretRef).default({}),
  timeout: duration.default(10_000),
});

export const auditConfigSchema = z.strictObject({
  head_webhook: headWebhookSchema.optional(),
});

export type AuditConfig = z.output<typeof auditConfigSchema>;
export type HeadWebhookConfig = z.output<typeof headWebhookSchema>;
