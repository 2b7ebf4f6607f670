// Events of instances, from the target that runs them (src/targets/local, src/targets/fake).
import { z } from 'zod';
import { at, count, defineEvent, ms, nonEmpty, str } from './define.ts';

const owner = 'instance';
/** what every instance event says about the instance (src/targets/target.ts, instanceEventData) */
const instance = {
  service: nonEmpty,
  version: nonEmpty,
  environment: nonEmpty,
  role: str.nullable(),
  port: count,
  pid: count,
  /** the host it runs on (targets that reach hosts over SSH) */
  host: str.optional(),
};
const exit = { exitCode: z.number().int().nullable().optional(), signal: str.nullable().optional() };

export const instanceEvents = [
  defineEvent({
    type: 'instance.started',
    owner,
    meaning: 'the target started an instance process; it is not ready yet',
    data: z.strictObject({ ...instance, command: z.union([str, z.array(str)]), logFile: str.optional(), digest: str.optional() }),
  }),
  defineEvent({
    type: 'instance.ready',
    owner,
    meaning: 'the instance answers its health check and may get traffic',
    data: z.strictObject({ ...instance, startupMs: ms.optional(), afterRestart: z.boolean().optional() }),
  }),
  defineEvent({
    type: 'instance.crashed',
    owner,
    meaning: 'the instance exited on its own, while starting or while serving',
    data: z.strictObject({
      ...instance,
      ...exit,
      phase: z.enum(['start', 'running']),
      detectedBy: str.nullable().optional(),
      reason: str.optional(),
      logTail: z.array(str).optional(),
      restartInMs: ms.nullable().optional(),
      consecutiveCrashes: count.optional(),
    }),
  }),
  defineEvent({
    type: 'instance.restarted',
    owner,
    meaning: 'the target restarted a crashed instance under the same id',
    data: z.strictObject({ ...instance, delayMs: ms.optional(), previousPid: count.optional(), previousPort: count.optional(), attempt: count.optional() }),
  }),
  defineEvent({
    type: 'instance.stopped',
    owner,
    meaning: 'the target stopped the instance, and why',
    data: z.strictObject({ ...instance, ...exit, reason: str, graceful: z.boolean(), confirmed: z.boolean().optional(), error: str.optional() }),
  }),
  defineEvent({
    type: 'instance.adopted',
    owner,
    meaning: 'a restarted target found the instance still running and supervises it again',
    data: z.strictObject({ ...instance, healthy: z.boolean(), startedAt: at.optional(), restarts: count.optional() }),
  }),
  defineEvent({
    type: 'instance.lost',
    owner,
    meaning: 'an instance the target had recorded is gone (not running, or its pid belongs to another process)',
    data: z.strictObject({ ...instance, reason: str }),
  }),
] as const;
