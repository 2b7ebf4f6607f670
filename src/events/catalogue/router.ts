// Events of the routers the controller runs (src/app/routers.ts) and of the traffic they carry
// (src/rollout: every change of the routing table that moves all traffic).
import { z } from 'zod';
import { at, count, defineEvent, nonEmpty, num, str } from './define.ts';

const owner = 'router';
const process = { environment: nonEmpty, service: nonEmpty, pid: count };

export const routerEvents = [
  defineEvent({
    type: 'router.started',
    owner,
    meaning: 'the controller started a router process for a service in an environment',
    data: z.strictObject({ ...process, listen: nonEmpty, admin: nonEmpty, stateFile: nonEmpty, logFile: nonEmpty, startedAt: at, identity: str.optional(), healthCheck: str.optional(), credential: str.optional() }),
  }),
  defineEvent({
    type: 'router.adopted',
    owner,
    meaning: 'a restarted controller found the router still serving and took it over',
    data: z.strictObject({ ...process, listen: nonEmpty, admin: nonEmpty }),
  }),
  defineEvent({
    type: 'router.stopped',
    owner,
    meaning: 'the controller stopped a router process',
    data: z.strictObject(process),
  }),
  defineEvent({
    type: 'router.died',
    owner,
    meaning: 'a router process exited on its own; the supervisor restarts it (the data plane keeps its last table)',
    data: z.strictObject({ ...process, listen: nonEmpty, deathsInWindow: count, windowMs: num }),
  }),
  defineEvent({
    type: 'router.crash_looping',
    owner,
    meaning: 'a router died too often within the window: its restarts back off',
    data: z.strictObject({ environment: nonEmpty, service: nonEmpty, deaths: count, windowMs: num, backoffMs: num }),
  }),
  defineEvent({
    type: 'router.restarted',
    owner,
    meaning: 'the supervisor restarted a router that died, after gapMs without it',
    data: z.strictObject({ ...process, previousPid: count, listen: nonEmpty, gapMs: num }),
  }),
  defineEvent({
    type: 'router.restart_failed',
    owner,
    meaning: 'the supervisor could not restart a router that died',
    data: z.strictObject({ environment: nonEmpty, service: nonEmpty, listen: nonEmpty, error: str }),
  }),
  defineEvent({
    type: 'router.switched',
    owner,
    meaning: 'the router sends all traffic of the service to `to` now (was `from`), and why',
    data: z.strictObject({
      deploymentId: nonEmpty,
      environment: nonEmpty,
      service: nonEmpty,
      to: nonEmpty,
      from: str.nullable(),
      reason: str,
      revision: count.optional(),
    }),
  }),
] as const;
