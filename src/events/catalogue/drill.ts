// Events of drills (src/drills): a rehearsal with bounded injected faults, and its scorecard.
import { z } from 'zod';
import { at, count, defineEvent, nonEmpty, num, str } from './define.ts';

const owner = 'drill';
const ref = { drillId: nonEmpty };
/** one slot of the drill schedule (src/drills/schedule.ts) */
const slot = {
  slot: count,
  dueAt: at,
  plannedAt: at,
  scenario: str,
  participants: z.array(str),
  environment: nonEmpty,
  movedBy: str.optional(),
};

export const drillEvents = [
  defineEvent({
    type: 'drill.started',
    owner,
    meaning: 'a drill started: its scenario (as run), where, who takes part, when it ends at the latest',
    data: z.strictObject({
      ...ref,
      /** the scenario as run (src/drills/scenario.ts), kept whole so the scorecard can be redone */
      scenario: z.unknown(),
      ref: str.optional(),
      environment: nonEmpty,
      service: nonEmpty,
      version: str.nullable().optional(),
      participants: z.array(str),
      endsAt: at,
      production: z.boolean(),
      reason: str.optional(),
    }),
  }),
  defineEvent({
    type: 'drill.fault.injected',
    owner,
    meaning: 'a fault of the drill is in place (router or dependency), bounded by ttlMs',
    data: z.strictObject({
      ...ref,
      faultId: str,
      kind: str,
      target: str,
      detail: str,
      ttlMs: num,
      expiresAt: at.nullable().optional(),
      environment: nonEmpty,
      service: nonEmpty,
    }),
  }),
  defineEvent({
    type: 'drill.deployment.started',
    owner,
    meaning: 'the drill started the deployment its scenario asks for',
    data: z.strictObject({ ...ref, deploymentId: nonEmpty, version: nonEmpty }),
  }),
  defineEvent({
    type: 'drill.incident.linked',
    owner,
    meaning: 'the incident the drill caused, from now on part of its record',
    data: z.strictObject({ ...ref, incidentId: nonEmpty }),
  }),
  defineEvent({
    type: 'drill.mitigated',
    owner,
    meaning: 'the participants mitigated the drill\'s failure, how and who',
    data: z.strictObject({ ...ref, by: str, actor: str, detail: str }),
  }),
  defineEvent({
    type: 'drill.ended',
    owner,
    meaning: 'the drill ended (mitigated, time limit, stopped, failed, interrupted) and its faults were removed',
    data: z.strictObject({
      ...ref,
      outcome: str,
      reason: str,
      removedRouter: count.optional(),
      removedDependency: count.optional(),
      left: count.optional(),
      removeError: str.optional(),
    }),
  }),
  defineEvent({
    type: 'drill.reminder.sent',
    owner,
    meaning: 'the participants of a scheduled drill were reminded, `ahead` ms before it is due',
    data: z.strictObject({ ...slot, ahead: num, text: str, error: str.optional() }),
  }),
  defineEvent({
    type: 'drill.slot.done',
    owner,
    meaning: 'a scheduled drill took place (the drill it started)',
    data: z.strictObject({ ...slot, drillId: nonEmpty }),
  }),
  defineEvent({
    type: 'drill.slot.start_failed',
    owner,
    meaning: 'a scheduled drill could not be started automatically',
    data: z.strictObject({ ...slot, error: str }),
  }),
  defineEvent({
    type: 'drill.missed',
    owner,
    meaning: 'a scheduled drill did not take place, and why',
    data: z.strictObject({ ...slot, reason: str }),
  }),
  defineEvent({
    type: 'drill.scored',
    owner,
    meaning: 'the drill\'s scorecard, measured from the log (src/drills/scorecard.ts)',
    data: z.strictObject({ ...ref, scorecard: z.unknown() }),
  }),
] as const;
