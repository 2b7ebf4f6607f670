// The `alerting:` section of greenlight.yaml: Alertmanager's route, receivers and inhibit_rules,
// plus on-call schedules, escalation policies, the people they page and the signed action links.
// Strict objects, snake_case keys, durations as text ("30s"). Cross-references (receivers named by
// routes, policies named by receivers, schedules and people named by policies) are checked here
// so every broken reference is reported at once, with its path.
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { notifierSpecSchema } from './notifiers/registry.ts';
import { httpUrl, secretRef } from './notifiers/spec.ts';
import { matcherString } from './dispatch/matchers.ts';
import type { RouteConfig } from './dispatch/route.ts';
import { isTimeZone, parseLocalDate, parseTimeOfDay, WEEKDAYS } from './oncall/zone.ts';

const NAME = /^[a-z][a-z0-9_.-]*$/;
const name = (what: string) => z.string().regex(NAME, { message: `${what} must start with a lowercase letter and use only a-z, 0-9, ".", "-" and "_"` });

const labelName = z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*|\.\.\.)$/, { message: 'expected a label name (or "..." for all labels)' });

export interface RouteInput {
  receiver?: string | undefined;
  group_by?: string[] | undefined;
  group_wait?: string | undefined;
  group_interval?: string | undefined;
  repeat_interval?: string | undefined;
  matchers?: string[] | undefined;
  continue?: boolean | undefined;
  routes?: RouteInput[] | undefined;
}

export const routeSchema: z.ZodType<RouteConfig, RouteInput> = z.strictObject({
  receiver: z.string().optional(),
  group_by: z.array(labelName).optional(),
  group_wait: duration.optional(),
  group_interval: duration.refine((ms) => ms > 0, { message: 'group_interval must be more than 0' }).optional(),
  repeat_interval: duration.refine((ms) => ms > 0, { message: 'repeat_interval must be more than 0' }).optional(),
  matchers: z.array(matcherString).optional(),
  continue: z.boolean().optional(),
  get routes() {
    return z.array(routeSchema).optional();
  },
});

export const receiverSchema = z
  .strictObject({
    name: name('a receiver name'),
    /** channels: the group's notification goes to each (or, with escalation_policy, the pages do) */
    notifiers: z.array(notifierSpecSchema).default([]),
    escalation_policy: z.string().optional(),
    send_resolved: z.boolean().default(true),
  })
  .refine((r) => r.notifiers.length > 0 || r.escalation_policy !== undefined, { message: 'a receiver needs notifiers, an escalation_policy, or both' });

export const inhibitRuleSchema = z.strictObject({
  source_matchers: z.array(matcherString).min(1),
  target_matchers: z.array(matcherString).min(1),
  equal: z.array(labelName).default([]),
});

const timeZone = z.string().refine(isTimeZone, { message: 'expected an IANA time zone like "Europe/Paris" or "UTC"' });
const timeOfDay = z.string().refine((s) => parseTimeOfDay(s) !== undefined, { message: 'expected a local time "HH:MM" (24 h)' });
const localDate = z.string().refine((s) => parseLocalDate(s) !== undefined, { message: 'expected a date "YYYY-MM-DD"' });
const isoTime = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time with a zone, e.g. 2026-03-29T09:00:00+02:00' }).transform((s) => Date.parse(s));

const LENGTH_UNITS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
/** A rotation length on the wall clock: "12h", "1d", "1w", "2w". */
export const rotationLength = z
  .string()
  .regex(/^[1-9]\d*[hdw]$/, { message: 'expected a rotation length like "12h", "1d" or "1w"' })
  .transform((s) => Number(s.slice(0, -1)) * LENGTH_UNITS[s.slice(-1)]!);

export const layerSchema = z.strictObject({
  name: z.string().optional(),
  users: z.array(z.string().min(1)).min(1),
  length: rotationLength,
  handoff: timeOfDay,
  start: localDate,
  time_zone: timeZone.optional(),
  restrictions: z.array(z.strictObject({ days: z.array(z.enum(WEEKDAYS)).min(1).optional(), from: timeOfDay, to: timeOfDay })).optional(),
});

export const scheduleSchema = z.strictObject({
  name: name('a schedule name'),
  time_zone: timeZone,
  layers: z.array(layerSchema).min(1),
  overrides: z
    .array(z.strictObject({ user: z.string().min(1), start: isoTime, end: isoTime }).refine((o) => o.end > o.start, { message: 'an override must end after it starts', path: ['end'] }))
    .default([]),
});

export const escalationLevelSchema = z
  .strictObject({
    users: z.array(z.string().min(1)).default([]),
    schedules: z.array(z.string().min(1)).default([]),
    /** the next level is paged when nobody acknowledged within this */
    ack_timeout: duration.refine((ms) => ms > 0, { message: 'ack_timeout must be more than 0' }).default(300_000),
  })
  .refine((l) => l.users.length + l.schedules.length > 0, { message: 'a level needs users or schedules to page' });

export const escalationPolicySchema = z.strictObject({
  name: name('an escalation policy name'),
  levels: z.array(escalationLevelSchema).min(1),
  /** how many more passes through all the levels after the first */
  repeat: z.int().min(0).max(10).default(0),
  /** length of a snooze from a page's link */
  snooze: duration.refine((ms) => ms > 0).default(3_600_000),
});

export const personSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().optional(),
  email: z.email().optional(),
  /** how to reach this person; the receiver's notifiers (with this person as recipient) when absent */
  notifiers: z.array(notifierSpecSchema).default([]),
});

export const actionLinksSchema = z.strictObject({
  /** where the API mounts the action-link handler, e.g. https://greenlight.example.com/api/alerting */
  base_url: httpUrl,
  secret: secretRef,
  ttl: duration.default(86_400_000),
});

function duplicates(names: string[]): string[] {
  return names.filter((n, i) => names.indexOf(n) !== i);
}

export const alertingConfigSchema = z
  .strictObject({
    route: routeSchema,
    receivers: z.array(receiverSchema).min(1),
    inhibit_rules: z.array(inhibitRuleSchema).default([]),
    schedules: z.array(scheduleSchema).default([]),
    escalation_policies: z.array(escalationPolicySchema).default([]),
    users: z.array(personSchema).default([]),
    action_links: actionLinksSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const receivers = new Set(c.receivers.map((r) => r.name));
    const policies = new Set(c.escalation_policies.map((p) => p.name));
    const schedules = new Set(c.schedules.map((s) => s.name));
    const users = new Set(c.users.map((u) => u.id));
    for (const [list, what, names] of [
      ['receivers', 'receiver', c.receivers.map((r) => r.name)],
      ['schedules', 'schedule', c.schedules.map((s) => s.name)],
      ['escalation_policies', 'escalation policy', c.escalation_policies.map((p) => p.name)],
      ['users', 'user', c.users.map((u) => u.id)],
    ] as const) {
      for (const d of new Set(duplicates([...names]))) ctx.addIssue({ code: 'custom', path: [list], message: `${what} "${d}" is defined twice` });
    }
    if (c.route.receiver === undefined) ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], message: 'the root route needs a receiver' });
    if (c.route.matchers && c.route.matchers.length > 0) ctx.addIssue({ code: 'custom', path: ['route', 'matchers'], message: 'the root route matches every alert and takes no matchers' });
    const walk = (r: RouteConfig, path: (string | number)[]) => {
      if (r.receiver !== undefined && !receivers.has(r.receiver)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'receiver'], message: `no receiver named "${r.receiver}" (defined: ${[...receivers].join(', ')})` });
      }
      r.routes?.forEach((child, i) => walk(child, [...path, 'routes', i]));
    };
    walk(c.route, ['route']);
    c.receivers.forEach((r, i) => {
      if (r.escalation_policy !== undefined && !policies.has(r.escalation_policy)) {
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'escalation_policy'], message: `no escalation policy named "${r.escalation_policy}"` });
      }
    });
    // People need not be declared (they may be reached through the receiver's notifiers), but once
    // some are, a name that is not among them is most likely a typo.
    const checkUser = (u: string, path: (string | number)[]) => {
      if (users.size > 0 && !users.has(u)) ctx.addIssue({ code: 'custom', path, message: `no user with id "${u}" under alerting.users` });
    };
    c.escalation_policies.forEach((p, i) =>
      p.levels.forEach((l, j) => {
        l.schedules.forEach((s, k) => {
          if (!schedules.has(s)) ctx.addIssue({ code: 'custom', path: ['escalation_policies', i, 'levels', j, 'schedules', k], message: `no schedule named "${s}"` });
        });
        l.users.forEach((u, k) => checkUser(u, ['escalation_policies', i, 'levels', j, 'users', k]));
      }),
    );
    c.schedules.forEach((s, i) => {
      s.layers.forEach((l, j) => l.users.forEach((u, k) => checkUser(u, ['schedules', i, 'layers', j, 'users', k])));
      s.overrides.forEach((o, j) => checkUser(o.user, ['schedules', i, 'overrides', j, 'user']));
    });
  });

export type AlertingConfig = z.output<typeof alertingConfigSchema>;
export type AlertingConfigInput = z.input<typeof alertingConfigSchema>;
