// Notifier kinds by name. The config module embeds notifierSpecSchema; the app builds each
// configured notifier with buildNotifier. Adding a kind means one entry here, no if-chain elsewhere.
import { z } from 'zod';
import type { EventLog } from '../../events/log.ts';
import { createEmail, emailSpecSchema } from './email.ts';
import type { Notifier } from './notifier.ts';
import { createPagerDuty, pagerdutySpecSchema } from './pagerduty.ts';
import { pipeline, type DeliveryPipeline } from './pipeline.ts';
import { createSlack, slackSpecSchema } from './slack.ts';
import type { CreateDeps } from './spec.ts';
import { createWebhook, webhookSpecSchema } from './webhook.ts';

interface KindEntry<S extends z.ZodType> {
  schema: S;
  /** the kind's single delivery attempt, without the pipeline stages */
  create(spec: z.output<S>, deps: CreateDeps): Notifier;
}

function kind<S extends z.ZodType>(schema: S, create: (spec: z.output<S>, deps: CreateDeps) => Notifier): KindEntry<S> {
  return { schema, create };
}

export const notifierKinds = {
  webhook: kind(webhookSpecSchema, createWebhook),
  slack: kind(slackSpecSchema, createSlack),
  pagerduty: kind(pagerdutySpecSchema, createPagerDuty),
  email: kind(emailSpecSchema, createEmail),
};

export type NotifierKind = keyof typeof notifierKinds;

export const notifierSpecSchema = z.discriminatedUnion('kind', [webhookSpecSchema, slackSpecSchema, pagerdutySpecSchema, emailSpecSchema]);
export type NotifierSpec = z.output<typeof notifierSpecSchema>;
export type NotifierSpecInput = z.input<typeof notifierSpecSchema>;

/** The kind's bare single-attempt notifier; throws GreenlightError CONFIG_INVALID when a secret's variable is unset. */
export function createNotifier(spec: NotifierSpec, deps: CreateDeps): Notifier {
  const entry = notifierKinds[spec.kind] as KindEntry<z.ZodType<NotifierSpec>>;
  return entry.create(spec, deps);
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
