// Events of the audit chain (src/audit/chain.ts): the hash chain's start and accepted breaks.
import { z } from 'zod';
import { count, defineEvent, str } from './define.ts';

const owner = 'audit';

export const auditEvents = [
  defineEvent({
    type: 'audit.chain_started',
    owner,
    meaning: 'the store started chaining a log that had events without hashes; they are covered as one block by this event\'s prevHash',
    data: z.strictObject({ legacyEvents: count, note: str }),
  }),
  defineEvent({
    type: 'audit.break_accepted',
    owner,
    meaning: 'a person looked at a broken chain and accepted it: everything before is covered as one block (blockHead)',
    data: z.strictObject({ problem: str, kind: str, at: z.number(), reason: str, blockHead: str, lastSeq: count }),
  }),
] as const;
