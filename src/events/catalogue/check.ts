// Results of checks (src/checks/runner.ts, and the diagnosis after a rollback in canary.ts).
import { z } from 'zod';
import { defineEvent, details, ms, nonEmpty, str } from './define.ts';

const owner = 'check';
const result = (verdict: 'pass' | 'fail' | 'error') =>
  z.strictObject({
    name: nonEmpty,
    kind: nonEmpty,
    verdict: z.literal(verdict),
    message: str,
    durationMs: ms,
    /** what the check kind reports (HTTP results, command output, dependency findings) */
    details: details.optional(),
    phase: z.enum(['pre', 'post', 'diagnosis']),
    environment: nonEmpty,
    service: nonEmpty,
    version: nonEmpty,
    digest: nonEmpty,
    deploymentId: nonEmpty.optional(),
  });

export const checkEvents = [
  defineEvent({ type: 'check.passed', owner, meaning: 'a check verified what it checks', data: result('pass') }),
  defineEvent({ type: 'check.failed', owner, meaning: 'a check found a problem', data: result('fail') }),
  defineEvent({ type: 'check.errored', owner, meaning: 'a check could not verify (not the same as a failure)', data: result('error') }),
] as const;
