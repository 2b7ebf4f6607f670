// The rollout policy of an environment: progressive traffic steps with holds, the analysis that
// guards them, and what to do when it cannot measure.
import { z } from 'zod';
import { AnalysisParams } from '../analysis/verdict.ts';
import { duration } from '../config/duration.ts';

const weightStep = z.strictObject({
  /** share of requests (percent, e.g. 0.5, 1, 10, 50) the canary gets during this step */
  weight: z.number().gt(0).max(100),
  /** how long the step lasts before the next one (analysis runs throughout) */
  hold: duration.default(30_000),
  /** canary requests needed in this step before it may advance (default: the policy's min_requests) */
  min_requests: z.int().min(0).optional(),
});

const manualStep = z.strictObject({
  /** waits here (analysis still running) until `greenlight promote` */
  pause: z.literal(true),
});

/**
 * Releases in waves across the hosts of a fleet (target kind ssh): the canary runs on the canary
 * hosts only; once it passed, the other hosts are switched in waves, each wave health-checked for
 * `verify_for` before the next. The stable version keeps running on every host until the last
 * wave passed, so a failed wave puts every host back on it with one routing-table push.
 */
export const wavesSchema = z.strictObject({
  /** where the canary runs first: the first `hosts` hosts of the target, or the hosts with all these `labels` */
  canary: z
    .union([z.strictObject({ hosts: z.int().min(1) }), z.strictObject({ labels: z.record(z.string(), z.string()).refine((l) => Object.keys(l).length > 0, { message: 'give at least one label' }) })])
    .default({ hosts: 1 }),
  /** hosts switched together in one wave */
  batch_size: z.int().min(1).default(1),
  /**
   * at most this many hosts of the environment out of service at once, counting those already out
   * (unreachable, drained, or with no ready instance): a wave shrinks to the room left, or waits
   */
  max_unavailable: z.int().min(1).default(1),
  /** how long a wave waits for room under max_unavailable (hosts already out coming back) before the waves fail */
  unavailable_timeout: duration.default(120_000),
  /** how long each wave's new instances are watched (health, post checks, error rate) before the next wave */
  verify_for: duration.default(5000),
});

export type WavesPolicy = z.output<typeof wavesSchema>;

export const rolloutSchema = z.strictObject({
  steps: z.array(z.union([weightStep, manualStep])).min(1, { message: 'a rollout needs at least one step' }),
  /** canary requests a step needs before it may advance */
  min_requests: z.int().min(0).default(50),
  /** how often the canary is compared with the control */
  interval: duration.default(100),
  /** control group: the long-running stable instances, or a fresh baseline of the stable version started with the canary */
  baseline: z.enum(['stable', 'fresh']).default('stable'),
  /** false: a step advances after its hold unless the analysis failed; true: it waits for a pass (up to max_hold, then pauses) */
  require_pass: z.boolean().default(false),
  /**
   * how long past its hold a step may wait for a pass (require_pass) or for min_requests before it
   * pauses for a person (a starved step also pages, as a warning)
   */
  max_hold: duration.default(120_000),
  /** how long the analysis may keep failing to measure (no data, router unreachable) before the rollout pauses for a person */
  error_grace: duration.default(15_000),
  /** crashes of canary instances that fail the canary (a crash is evidence against it) */
  canary_crash_limit: z.int().min(1).default(1),
  analysis: AnalysisParams.prefault({}),
  /** releases in waves across a fleet's hosts (ssh target); absent: the canary's instances are spread over every host */
  waves: wavesSchema.optional(),
}).superRefine((p, ctx) => {
  // A fresh baseline is only a comparable control if every source reads it alone: Prometheus knows
  // versions, not which stable instances are the baseline, unless the query names the instances.
  if (p.baseline !== 'fresh') return;
  p.analysis.metrics.forEach((m, i) => {
    if (m.source.kind === 'prometheus' && !m.source.query.includes('{{instances}}')) {
      ctx.addIssue({
        code: 'custom',
        path: ['analysis', 'metrics', i, 'source', 'query'],
        message: `metric "${m.name}": with baseline: fresh the query must select the instances compared, or its control is every instance of the stable version (the long-running ones included): add instance=~"{{instances}}" to its selector`,
      });
    }
  });
});

export type RolloutPolicy = z.output<typeof rolloutSchema>;
export type RolloutPolicyInput = z.input<typeof rolloutSchema>;
export type RolloutStep = RolloutPolicy['steps'][number];
