// Events of host changes (src/changes): a declared change of the hosts themselves, through the
// same gate as a release, host by host in waves.
import { z } from 'zod';
import { count, defineEvent, nonEmpty, str } from './define.ts';

const owner = 'change';
const ref = { changeId: nonEmpty, change: nonEmpty, digest: str };
const inEnv = { ...ref, environment: nonEmpty };
/** a step on one host of a wave */
const onHost = { ...inEnv, host: nonEmpty, wave: count };
const hostOutcome = z.strictObject({ host: str, state: z.enum(['changed', 'undone', 'failed', 'skipped']), message: str });

export const changeEvents = [
  defineEvent({
    type: 'change.requested',
    owner,
    meaning: 'a change was asked for, through these environments (force: past the gate, with a reason)',
    data: z.strictObject({ ...ref, environments: z.array(str), force: z.boolean().optional(), reason: str.optional() }),
  }),
  defineEvent({ type: 'change.blocked', owner, meaning: 'the change may not enter the environment: it has not passed `needs`', data: z.strictObject({ ...inEnv, needs: str }) }),
  defineEvent({ type: 'change.override', owner, meaning: 'a break-glass: the change entered without passing `skipped`', data: z.strictObject({ ...inEnv, skipped: str, reason: str.optional() }) }),
  defineEvent({ type: 'change.environment.started', owner, meaning: 'the change starts on the hosts of an environment', data: z.strictObject({ ...inEnv, hosts: z.array(str) }) }),
  defineEvent({ type: 'change.wave.started', owner, meaning: 'a wave of hosts starts the change', data: z.strictObject({ ...inEnv, wave: count, hosts: z.array(str) }) }),
  defineEvent({
    type: 'change.wave.waiting',
    owner,
    meaning: 'the next wave waits: max_unavailable leaves no room while hosts of the environment are out of service already',
    data: z.strictObject({ ...inEnv, wave: count, unavailable: z.array(z.strictObject({ host: str, why: str })), message: str }),
  }),
  defineEvent({
    type: 'change.stopped',
    owner,
    meaning: 'the change stopped in an environment without changing the hosts not reached: no room under max_unavailable within unavailable_timeout, or no host of the environment selected',
    data: z.strictObject({ ...inEnv, message: str, hosts: z.array(hostOutcome) }),
  }),
  defineEvent({ type: 'change.host.drained', owner, meaning: 'a host was drained before the change', data: z.strictObject(onHost) }),
  defineEvent({ type: 'change.host.applied', owner, meaning: 'the change was applied on a host', data: z.strictObject(onHost) }),
  defineEvent({ type: 'change.host.verified', owner, meaning: 'the change was verified on a host', data: z.strictObject({ ...onHost, message: str }) }),
  defineEvent({ type: 'change.host.verify_failed', owner, meaning: 'the change\'s verification failed on a host', data: z.strictObject({ ...onHost, message: str }) }),
  defineEvent({ type: 'change.host.undone', owner, meaning: 'the change was undone on a host after its verification failed', data: z.strictObject({ ...onHost, message: str }) }),
  defineEvent({ type: 'change.host.undo_failed', owner, meaning: 'undoing the change failed on a host', data: z.strictObject({ ...onHost, message: str }) }),
  defineEvent({ type: 'change.host.failed', owner, meaning: 'the change failed on a host', data: z.strictObject({ ...onHost, message: str }) }),
  defineEvent({ type: 'change.host.restored', owner, meaning: 'a host was put back in service after the change', data: z.strictObject(onHost) }),
  defineEvent({ type: 'change.host.unhealthy', owner, meaning: 'a host is unhealthy after the change', data: z.strictObject({ ...onHost, problems: z.array(str) }) }),
  defineEvent({
    type: 'change.failed',
    owner,
    meaning: 'the change failed in an environment; an incident was opened',
    data: z.strictObject({ ...inEnv, host: str, message: str, hosts: z.array(hostOutcome), incidentId: nonEmpty }),
  }),
  defineEvent({ type: 'change.passed', owner, meaning: 'the change passed an environment', data: z.strictObject({ ...inEnv, hosts: z.array(str) }) }),
  defineEvent({ type: 'change.completed', owner, meaning: 'the change went through every environment', data: z.strictObject({ ...ref, environments: z.array(str) }) }),
] as const;
