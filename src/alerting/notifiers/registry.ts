// Notifier kinds by name. The config module embeds notifierSpecSchema; the app builds each
// configured notifier with buildNotifier. Adding a kind means its folder and one entry here, no if-chain elsewhere.
import type { z } from 'zod';
import { kind, Registry } from '../../registry/registry.ts';
import type { EventLog } from '../../events/log.ts';
import { createEmail, emailSpecSchema } from './email/email.ts';
import type { Notifier } from './notifier.ts';
import { createPagerDuty, pagerdutySpecSchema } from './pagerduty/pagerduty.ts';
import { pipeline, type DeliveryPipeline } from './stages/pipeline.ts';
import { createSlack, slackSpecSchema } from './slack/slack.ts';
import type { CreateDeps } from './spec.ts';
import { createWebhook, webhookSpecSchema } from './webhook/webhook.ts';

export const notifierKinds = new Registry('notifier', {
  webhook: kind(webhookSpecSchema, createWebhook),
  slack: kind(slackSpecSchema, createSlack),
  pagerduty: kind(pagerdutySpecSchema, createPagerDuty),
  email: kind(emailSpecSchema, createEmail),
});

export type NotifierKind = keyof typeof notifierKinds.kinds;

export const notifierSpecSchema = notifierKinds.schema();
export type NotifierSpec = z.output<typeof notifierSpecSchema>;
export type NotifierSpecInput = z.input<typeof notifierSpecSchema>;

/** The kind's bare single-attempt notifier (the kind's delivery, without the pipeline stages); throws GreenlightError CONFIG_INVALID when a secret's variable is unset. */
export function createNotifier(spec: NotifierSpec, deps: CreateDeps): Notifier {
  return notifierKinds.create(spec, deps);
}

export interface BuildDeps extends CreateDeps {
  /** back-off jitter source, Math.random by default */
  random?: () => number;
  /** records notification.sent / notification.failed when given */
  log?: EventLog;
  onLogError?: (err: unknown) => void;
  dedup?: boolean;
}

/** A configured notifier with its delivery stages: dedup, events, retry (spec.retry), timeout (spec.timeout). */
export function buildNotifier(spec: NotifierSpec, deps: BuildDeps): DeliveryPipeline {
  return pipeline(createNotifier(spec, deps), {
    clock: deps.clock,
    timeoutMs: spec.timeout,
    retry: { attempts: spec.retry.attempts, initialMs: spec.retry.initial, maxMs: spec.retry.max },
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.onLogError ? { onLogError: deps.onLogError } : {}),
    ...(deps.dedup !== undefined ? { dedup: deps.dedup } : {}),
  });
}
