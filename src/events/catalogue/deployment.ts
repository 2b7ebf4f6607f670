// Events of one deployment (src/rollout/deployer.ts and environment.ts): a release entering the
// environments of its pipeline one after the other, and how each step and the whole ended.
import { z } from 'zod';
import { at, count, defineEvent, deploymentRef, details, nonEmpty, str } from './define.ts';

const owner = 'deployment';
const inEnv = { ...deploymentRef, environment: nonEmpty };

/** what the router measured while a canary ran (src/rollout/canary.ts, impactOf) */
export const impactSchema = z.strictObject({
  requests: count,
  failed: count,
  canaryRequests: count,
  canaryFailed: count,
  /** canary failures the router answered from stable instead: the client never saw them */
  canaryRescued: count.optional(),
  clients: count,
  clientsWithErrors: count,
  firstCanaryRequestAt: at.nullable(),
  firstFailedAt: at.nullable(),
  verdictAt: at.nullable(),
  weightZeroAt: at,
  stableVersion: nonEmpty,
  canaryVersion: nonEmpty,
});

/** how an environment step that did not pass ended, with what the canary measured when it ran */
const endedInEnv = {
  ...inEnv,
  reason: str,
  stage: str.optional(),
  hint: str.optional(),
  switchedBackTo: str.nullable().optional(),
  weightZeroAt: at.optional(),
  verdictAt: at.nullable().optional(),
  impact: impactSchema.optional(),
  /** user requests the release got before it was refused (0: refused by synthetic checks) */
  userRequests: count.optional(),
  /** after a controller restart: the stage it stopped in, and what recovery did */
  phase: str.optional(),
  recovery: str.optional(),
};

export const STAGES = ['instances', 'checks:pre', 'checks:synthetic', 'checks:post', 'canary', 'baseline', 'waves', 'switch', 'switch-back', 'already-stable'] as const;

export const deploymentEvents = [
  defineEvent({
    type: 'deployment.requested',
    owner,
    meaning: 'someone asked for a release to go through the environments listed; force means a break-glass past the gate',
    data: z.strictObject({
      ...deploymentRef,
      digest: nonEmpty,
      environments: z.array(nonEmpty),
      force: z.boolean(),
      rollback: z.boolean().optional(),
      reason: str.optional(),
    }),
  }),
  defineEvent({
    type: 'deployment.environment.started',
    owner,
    meaning: 'the release starts entering one environment (the gate is checked first)',
    data: z.strictObject({ ...inEnv, digest: nonEmpty.optional() }),
  }),
  defineEvent({
    type: 'deployment.gate.passed',
    owner,
    meaning: 'the release may enter the environment, and why (first environment, or passed the previous one with the same digest)',
    data: z.strictObject({ ...inEnv, because: str, previous: nonEmpty.optional() }),
  }),
  defineEvent({
    type: 'deployment.gate.overridden',
    owner,
    meaning: 'a break-glass: the release enters without having passed the previous environment; who forced it and why',
    data: z.strictObject({ ...inEnv, previous: nonEmpty, missing: str, reason: str.optional(), forcedBy: nonEmpty }),
  }),
  defineEvent({
    type: 'deployment.gate.refused',
    owner,
    meaning: 'the release may not enter the environment: it has not passed the previous one with this digest',
    data: z.strictObject({ ...inEnv, previous: nonEmpty, reason: str }),
  }),
  defineEvent({
    type: 'deployment.stage',
    owner,
    meaning: 'progress inside an environment step: instances starting, checks, canary, traffic switch',
    data: z.strictObject({
      ...inEnv,
      stage: z.enum(STAGES),
      from: str.nullable().optional(),
      to: str.optional(),
      reason: str.optional(),
      ready: count.optional(),
      of: count.optional(),
      instance: str.optional(),
      port: count.optional(),
      checks: z.array(str).optional(),
      steps: z.array(details).optional(),
      message: str.optional(),
    }),
  }),
  defineEvent({
    type: 'deployment.environment.passed',
    owner,
    meaning: 'the release passed the environment and is its stable version (unchanged: it already was; recovered: it had, when the controller restarted)',
    data: z.strictObject({ ...inEnv, digest: nonEmpty, unchanged: z.boolean().optional(), recovered: z.boolean().optional() }),
  }),
  defineEvent({
    type: 'deployment.environment.blocked',
    owner,
    meaning: 'the release was refused before it got traffic (gate, instances that did not start, pre checks)',
    data: z.strictObject(endedInEnv),
  }),
  defineEvent({
    type: 'deployment.environment.rolled_back',
    owner,
    meaning: 'the release got traffic and was taken back off it (canary analysis or post checks)',
    data: z.strictObject(endedInEnv),
  }),
  defineEvent({
    type: 'deployment.environment.failed',
    owner,
    meaning: 'the environment step could not be carried out (router refused the table, controller restart)',
    data: z.strictObject(endedInEnv),
  }),
  defineEvent({
    type: 'deployment.environment.aborted',
    owner,
    meaning: 'a person (or the controller shutting down) aborted the step; traffic went back to the stable version',
    data: z.strictObject(endedInEnv),
  }),
  defineEvent({
    type: 'deployment.promoted',
    owner,
    meaning: 'the release passed every environment of the deployment (recovered: finished by a restarted controller, reason says how)',
    data: z.strictObject({ ...deploymentRef, reason: str.optional(), recovered: z.boolean().optional() }),
  }),
  defineEvent({
    type: 'deployment.blocked',
    owner,
    meaning: 'the deployment ended with the release refused in an environment (reason starts with its name)',
    data: z.strictObject({ ...deploymentRef, reason: str }),
  }),
  defineEvent({
    type: 'deployment.rolled_back',
    owner,
    meaning: 'the deployment ended with the release rolled back in an environment',
    data: z.strictObject({ ...deploymentRef, reason: str }),
  }),
  defineEvent({
    type: 'deployment.failed',
    owner,
    meaning: 'the deployment ended because a step could not be carried out',
    data: z.strictObject({ ...deploymentRef, reason: str }),
  }),
  defineEvent({
    type: 'deployment.aborted',
    owner,
    meaning: 'the deployment ended because it was aborted',
    data: z.strictObject({ ...deploymentRef, reason: str }),
  }),
] as const;
