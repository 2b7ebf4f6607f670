// Events of approvals (src/approvals): a deployment waiting for people to approve it.
import { z } from 'zod';
import { at, count, defineEvent, deploymentRef, nonEmpty, str } from './define.ts';

const owner = 'approval';
const ref = { ...deploymentRef, environment: nonEmpty };

export const approvalEvents = [
  defineEvent({
    type: 'approval.requested',
    owner,
    meaning: 'a deployment waits for `required` approvals before it enters the environment, until expiresAt',
    data: z.strictObject({ ...ref, requester: str, required: count, breakGlass: z.boolean(), expiresAt: at }),
  }),
  defineEvent({
    type: 'approval.granted',
    owner,
    meaning: 'a person approved; satisfied once `count` reaches `required`',
    data: z.strictObject({ ...ref, count, required: count, satisfied: z.boolean(), comment: str.optional(), via: z.enum(['link']).optional() }),
  }),
  defineEvent({
    type: 'approval.refused',
    owner,
    meaning: 'an approval was refused (the requester cannot approve their own deployment)',
    data: z.strictObject({ ...ref, reason: str }),
  }),
  defineEvent({
    type: 'approval.link.refused',
    owner,
    meaning: 'a signed approval link was refused (altered, expired, malformed, or the deployment no longer waits); the actor is who tried it',
    data: z.strictObject({ deploymentId: str, environment: str, reason: z.enum(['malformed', 'bad-signature', 'expired', 'not-waiting']), detail: str }),
  }),
  defineEvent({
    type: 'approval.rejected',
    owner,
    meaning: 'a person rejected the deployment: it does not enter the environment',
    data: z.strictObject({ ...ref, reason: str }),
  }),
  defineEvent({
    type: 'approval.expired',
    owner,
    meaning: 'nobody approved in time: the deployment does not enter the environment',
    data: z.strictObject({ ...ref, required: count, approvedBy: z.array(str) }),
  }),
] as const;
