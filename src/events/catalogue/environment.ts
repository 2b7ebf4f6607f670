// Events about what serves an environment (src/rollout/environment.ts, reconcile.ts).
import { z } from 'zod';
import { count, defineEvent, nonEmpty, str } from './define.ts';

const owner = 'environment';
const where = { environment: nonEmpty, service: nonEmpty };

export const environmentEvents = [
  defineEvent({
    type: 'environment.stable.changed',
    owner,
    meaning: 'a new version is the stable one of a service in an environment',
    data: z.strictObject({ ...where, deploymentId: nonEmpty, version: nonEmpty, digest: nonEmpty, previous: str.nullable() }),
  }),
  defineEvent({
    type: 'environment.reconciled',
    owner,
    meaning: 'the controller started missing instances of the stable version (after a restart or a lost instance)',
    data: z.strictObject({ ...where, version: nonEmpty, started: count }),
  }),
  defineEvent({
    type: 'environment.traffic.restored',
    owner,
    meaning: 'the traffic provider held no routing table (an HAProxy restarted: what its runtime API was given lives in memory only) and the controller sent the stable version all traffic again',
    data: z.strictObject({ ...where, version: nonEmpty, provider: nonEmpty, revision: count, upstreams: count }),
  }),
  defineEvent({
    type: 'environment.reconcile.failed',
    owner,
    meaning: 'the controller could not bring the stable version back to its instance count',
    data: z.strictObject({ ...where, version: nonEmpty, reason: str }),
  }),
] as const;
