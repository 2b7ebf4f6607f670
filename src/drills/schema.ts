// The `drills:` part of greenlight.yaml: the team's targets, whether production may be drilled,
// and the schedule (cadence, who takes part, blackout windows, reminders).
import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { builtinScenarioNames } from './scenario.ts';

/** Defaults that beat 3 June 2023 (acknowledged after 10 min, rollback decided after 15). */
export const DEFAULT_TARGETS = { acknowledge: 5 * 60_000, mitigate: 10 * 60_000 } as const;

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'an ISO 8601 time, e.g. "2026-12-24T00:00:00Z"' });

export const drillScheduleSchema = z
  .strictObject({
    /** one drill every ...; the first is due at `start` */
    every: duration.refine((ms) => ms >= 3_600_000, { message: 'at least 1h between drills' }),
    start: isoTime,
    /** scenarios used in turn (built-in names or files relative to the config) */
    scenarios: z.array(z.string().min(1)).min(1),
    environment: z.string().default('staging'),
    /** participants are picked in turn from this on-call schedule (alerting.schedules) ... */
    oncall_schedule: z.string().optional(),
    /** ... or in turn from these user ids */
    participants: z.array(z.string()).optional(),
    /** how many take part in each drill */
    team_size: z.int().min(1).max(10).default(1),
    /** no drill starts inside these windows; a due drill moves to the window's end */
    blackout: z.array(z.strictObject({ from: isoTime, to: isoTime, reason: z.string().optional() })).default([]),
    /** reminders sent ahead of each drill */
    remind: z.array(duration).default([24 * 3_600_000, 3_600_000]),
    /** a drill not started this long after it was due is recorded as missed */
    grace: duration.default(3_600_000),
    /** start due drills by themselves (otherwise a person runs `greenlight drill run` when reminded) */
    auto_start: z.boolean().default(false),
  })
  .refine((s) => (s.oncall_schedule === undefined) !== (s.participants === undefined), {
    message: 'give either oncall_schedule or participants',
    path: ['participants'],
  });

export const drillsConfigSchema = z.strictObject({
  targets: z
    .strictObject({
      detect: duration.optional(),
      acknowledge: duration.default(DEFAULT_TARGETS.acknowledge),
      diagnose: duration.optional(),
      mitigate: duration.default(DEFAULT_TARGETS.mitigate),
    })
    .default({ ...DEFAULT_TARGETS }),
  /** a drill in production also needs --reason; without this it is refused */
  allow_production: z.boolean().default(false),
  /** environments counted as production (drilling them needs allow_production); default: the last environment and any named "production"/"prod" */
  production: z.array(z.string()).optional(),
  schedule: drillScheduleSchema.optional(),
});

export type DrillsConfig = z.output<typeof drillsConfigSchema>;
export type DrillSchedule = z.output<typeof drillScheduleSchema>;
export type DrillTargets = DrillsConfig['targets'];

export const defaultDrillsConfig = (): DrillsConfig => drillsConfigSchema.parse({});

/** Whether an environment counts as production for the allow_production rule. */
export function isProduction(drills: DrillsConfig, environments: readonly string[], env: string): boolean {
  if (drills.production) return drills.production.includes(env);
  return (environments.length > 1 && env === environments.at(-1)) || /^prod(uction)?$/i.test(env);
}

export { builtinScenarioNames };

/** Cross-checks against the rest of the config, reported like every other config problem. */
export function refineDrills(
  cfg: { drills?: DrillsConfig | undefined; environments: { name: string }[]; alerting?: { schedules: { name: string }[]; users: { id: string }[] } | undefined },
  ctx: z.RefinementCtx,
): void {
  const d = cfg.drills;
  if (!d) return;
  const envs = cfg.environments.map((e) => e.name);
  (d.production ?? []).forEach((p, i) => {
    if (!envs.includes(p)) ctx.addIssue({ code: 'custom', path: ['drills', 'production', i], message: `unknown environment "${p}"`, params: { hint: `environments: ${envs.join(', ')}` } });
  });
  const s = d.schedule;
  if (!s) return;
  if (!envs.includes(s.environment)) ctx.addIssue({ code: 'custom', path: ['drills', 'schedule', 'environment'], message: `unknown environment "${s.environment}"`, params: { hint: `environments: ${envs.join(', ')}` } });
  if (s.oncall_schedule !== undefined && !(cfg.alerting?.schedules ?? []).some((x) => x.name === s.oncall_schedule)) {
    ctx.addIssue({ code: 'custom', path: ['drills', 'schedule', 'oncall_schedule'], message: `no on-call schedule "${s.oncall_schedule}"`, params: { hint: 'define it under alerting.schedules' } });
  }
  const users = new Set((cfg.alerting?.users ?? []).map((u) => u.id));
  (s.participants ?? []).forEach((p, i) => {
    if (!users.has(p)) ctx.addIssue({ code: 'custom', path: ['drills', 'schedule', 'participants', i], message: `unknown user "${p}"`, params: { hint: 'participants are alerting.users ids' } });
  });
  s.blackout.forEach((b, i) => {
    if (Date.parse(b.to) <= Date.parse(b.from)) ctx.addIssue({ code: 'custom', path: ['drills', 'schedule', 'blackout', i, 'to'], message: 'a blackout window ends after it starts' });
  });
}
