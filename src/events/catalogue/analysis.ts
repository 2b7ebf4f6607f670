// The verdict of the canary analysis (src/analysis, emitted by src/rollout/canary.ts).
import { z } from 'zod';
import { count, defineEvent, deploymentRef, measured, nonEmpty, num, str } from './define.ts';

const owner = 'analysis';
const verdict = z.enum(['pass', 'fail', 'inconclusive', 'error']);
/** requests and errors of one side, with the rate's confidence bounds when measured */
const side = z.object({ requests: count, errors: count, rate: measured.optional(), lower: measured.optional(), upper: measured.optional() });

/** one side of a point of the rollout's picture (src/rollout/series.ts) */
const sidePoint = z.strictObject({ requests: count, errors: count, rate: measured, lower: measured, upper: measured, p50Ms: num.nullable(), p99Ms: num.nullable() });

export const analysisEvents = [
  defineEvent({
    type: 'analysis.samples',
    owner,
    meaning: 'the canary against its control over the last seconds, as points to draw (error rate and band, p50, p99)',
    data: z.strictObject({
      ...deploymentRef,
      environment: nonEmpty,
      controlVersion: str,
      points: z.array(z.strictObject({ t: num, weight: num, canary: sidePoint, control: sidePoint })),
    }),
  }),
  defineEvent({
    type: 'analysis.metric.verdict',
    owner,
    meaning: 'one metric of the canary analysis changed its verdict; its own figures (rates, quantiles, bounds) beside',
    // open: each metric kind of src/analysis adds its own figures, which the analysis owns
    data: z.looseObject({
      ...deploymentRef,
      environment: nonEmpty,
      step: count,
      weight: num,
      source: str,
      controlVersion: str,
      metric: str,
      verdict,
      summary: str,
    }),
  }),
  defineEvent({
    type: 'analysis.verdict',
    owner,
    meaning: 'the canary compared with the stable version: pass, fail, inconclusive, or error (could not measure)',
    data: z.strictObject({
      ...deploymentRef,
      environment: nonEmpty,
      verdict,
      summary: str,
      /** one result per metric (error_rate, latency, ...), with the figures of its kind beside these */
      metrics: z.array(z.object({ metric: str, verdict, summary: str })),
      step: count.optional(),
      weight: num.optional(),
      canary: side.optional(),
      control: side.optional(),
      controlVersion: str.optional(),
    }),
  }),
] as const;
