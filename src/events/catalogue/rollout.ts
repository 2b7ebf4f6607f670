// Events of a canary rollout (src/rollout/canary.ts, deployer.ts): steps, the pull back to weight
// zero, and what people asked of a running rollout.
import { z } from 'zod';
import { at, count, defineEvent, deploymentRef, nonEmpty, num, str } from './define.ts';

const owner = 'rollout';
const inEnv = { ...deploymentRef, environment: nonEmpty };
/** why a step cannot be judged: too little canary traffic (src/rollout/starvation.ts) */
const starvation = z.strictObject({
  environment: nonEmpty,
  service: nonEmpty,
  weight: num,
  canaryRequests: count,
  minRequests: count,
  heldMs: num,
  productionRate: num,
  expectedCanaryRequests: num,
  needMs: num.nullable(),
  cause: z.enum(['traffic', 'routing']),
  message: str,
  actions: z.array(str),
});
/** a request about the running rollout of a service, by `actor` */
const request = { ...deploymentRef, actor: nonEmpty };

export const rolloutEvents = [
  defineEvent({
    type: 'rollout.step.started',
    owner,
    meaning: 'the canary gets `weight` percent of the traffic for `holdMs`',
    data: z.strictObject({ ...inEnv, step: count, weight: num, holdMs: num, revision: count.optional() }),
  }),
  defineEvent({
    type: 'rollout.weight.zero',
    owner,
    meaning: 'the canary was pulled back to weight 0: all traffic is on the stable version again',
    data: z.strictObject({ ...inEnv, revision: count, reason: str, at: at.optional() }),
  }),
  defineEvent({
    type: 'rollout.paused',
    owner,
    meaning: 'the rollout holds its step until resumed (asked by a person, or a pause step of the policy)',
    data: z.strictObject({
      ...request,
      environment: nonEmpty.optional(),
      step: count.optional(),
      weight: num.optional(),
      reason: str.optional(),
      /** starved: the step had too little canary traffic to judge for max_hold */
      cause: z.enum(['starved']).optional(),
      starvation: starvation.optional(),
    }),
  }),
  defineEvent({
    type: 'rollout.waiting',
    owner,
    meaning: 'the canary step waits for enough canary requests to judge; it pauses in pausesInMs if they do not come',
    data: z.strictObject({ ...inEnv, step: count, weight: num, message: str, pausesInMs: num, starvation }),
  }),
  defineEvent({
    type: 'rollout.resumed',
    owner,
    meaning: 'a person resumed a paused rollout',
    data: z.strictObject(request),
  }),
  defineEvent({
    type: 'rollout.promote.requested',
    owner,
    meaning: 'a person asked to skip to the next step, or to full traffic',
    data: z.strictObject({ ...request, promote: z.enum(['next', 'full']) }),
  }),
  defineEvent({
    type: 'rollout.promoted',
    owner,
    meaning: 'the canary passed every step; the release takes all traffic next',
    data: z.strictObject({ ...inEnv, actor: nonEmpty }),
  }),
  defineEvent({
    type: 'rollout.wave.started',
    owner,
    meaning: 'releases in waves: after the canary hosts, the next `hosts` are switched to the release (wave `wave` of `of`)',
    data: z.strictObject({ ...inEnv, wave: count, of: count, hosts: z.array(nonEmpty) }),
  }),
  defineEvent({
    type: 'rollout.wave.passed',
    owner,
    meaning: 'the hosts of a wave serve the release and passed their health checks; the next wave may start',
    data: z.strictObject({ ...inEnv, wave: count, of: count, hosts: z.array(nonEmpty), instances: count }),
  }),
  defineEvent({
    type: 'rollout.wave.failed',
    owner,
    meaning: 'a wave did not pass (instances not ready, health or post checks failed): every host goes back on the stable version',
    data: z.strictObject({ ...inEnv, wave: count, of: count, hosts: z.array(nonEmpty), reason: str, stable: nonEmpty }),
  }),
  defineEvent({
    type: 'rollout.host.excluded',
    owner,
    meaning: 'during a rollout, a host left rotation (unreachable, or drained by a host change): the routing table no longer names its instances',
    data: z.strictObject({ ...inEnv, host: nonEmpty, reason: str, revision: count.optional() }),
  }),
  defineEvent({
    type: 'rollout.cleanup.failed',
    owner,
    meaning: 'after a rollback, a slow part failed: stopping the canary (and baseline) instances, or the compatibility diagnosis; traffic was already back on stable',
    data: z.strictObject({ ...inEnv, task: z.enum(['stop', 'diagnosis']), instances: z.array(nonEmpty).optional(), error: str }),
  }),
  defineEvent({
    type: 'rollout.abort.requested',
    owner,
    meaning: 'a person (or the controller shutting down) asked to abort the running deployment',
    data: z.strictObject(request),
  }),
] as const;
