// The verdict of the canary analysis (src/analysis, emitted by src/rollout/canary.ts).
import { z } from 'zod';
import { count, defineEvent, deploymentRef, details, nonEmpty, num, str } from './define.ts';

const owner = 'analysis';
/** requests and errors of one side, with the rate's confidence bounds when measured */
const side = z.object({ requests: count, errors: count, rate: num.optional(), lower: num.optional(), upper: num.optional() });

export const analysisEvents = [
  defineEvent({
    type: 'analysis.verdict',
    owner,
    meaning: 'the canary compared with the stable version: pass, fail, inconclusive, or error (could not measure)',
    data: z.strictObject({
      ...deploymentRef,
      environment: nonEmpty,
      verdict: z.enum(['pass', 'fail', 'inconclusive', 'error']),
      summary: str,
      /** one result per metric (error_rate, latency), as src/analysis computes it */
      metrics: z.array(details),
      step: count.optional(),
      weight: num.optional(),
      canary: side.optional(),
      control: side.optional(),
      controlVersion: str.optional(),
    }),
  }),
] as const;
