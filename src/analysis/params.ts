// Analysis parameters. The config module composes `AnalysisParams` under a rollout policy's `analysis:` key;
// every field has a default so `analysis: {}` is a sound starting point.
import { z } from 'zod';
import { metricSourceSchema } from '../metrics/schema.ts';
import { ROUTER_MEASURES } from '../metrics/router/router-source.ts';

export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

export const ErrorRateParams = z
  .strictObject({
    /** canary counts as worse only beyond max(stable + minEffectAbsolute, stable x minEffectRelative) */
    minEffectAbsolute: z.number().min(0).max(1).default(0.005),
    minEffectRelative: z.number().min(1).default(1.5),
    /** canary requests needed before the error rate can pass */
    minRequests: z.number().int().min(1).default(100),
    /** a stable failing at least this share of requests cannot certify a canary */
    brokenControlRate: z.number().gt(0).max(1).default(0.5),
  })
  .describe('5xx / connection-failure rate of the canary against the stable version');

export const LatencyParams = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** quantiles compared; a fail on any of them fails the metric, a pass needs all of them */
    quantiles: z.array(z.number().gt(0).lt(1)).min(1).default([0.5, 0.9, 0.99]),
    /** canary counts as slower only beyond max(stable x minEffectRatio, stable + minEffectMs) */
    minEffectRatio: z.number().min(1).default(1.2),
    minEffectMs: z.number().min(0).default(5),
    minRequests: z.number().int().min(1).default(100),
  })
  .describe('latency quantiles of the canary against the stable version, from histograms');

export const NumericMetricParams = z.strictObject({
  name: z.string().min(1),
  direction: z.enum(['higher_is_worse', 'lower_is_worse']).default('higher_is_worse'),
  /** canary counts as worse only beyond stable +/- max(minEffectAbsolute, (minEffectRatio - 1) x |stable|) */
  minEffectAbsolute: z.number().min(0).default(0),
  minEffectRatio: z.number().min(1).default(1.2),
  minSamples: z.number().int().min(2).default(10),
  /** where the readings come from: the router's counts (default), a Prometheus query, the instances' /metrics */
  source: metricSourceSchema.default({ kind: 'router' }),
}).superRefine((m, ctx) => {
  const measure = m.source.kind === 'router' ? (m.source.measure ?? m.name) : undefined;
  if (measure !== undefined && !(ROUTER_MEASURES as readonly string[]).includes(measure)) {
    ctx.addIssue({ code: 'custom', path: ['source'], message: `metric "${m.name}" is read from the router, which measures only ${ROUTER_MEASURES.join(', ')}: set source.measure, or source.kind prometheus or scrape` });
  }
});

export const AnalysisParams = z.strictObject({
  /**
   * Probability that a canary no worse than stable is never failed, over the whole monitoring and all
   * metrics together (and that a canary worse by the minimum effect is never passed on that metric).
   */
  confidence: z.number().gt(0.5).lt(1).default(0.99),
  errorRate: ErrorRateParams.prefault({}),
  latency: LatencyParams.prefault({}),
  metrics: z.array(NumericMetricParams).default([]),
});

export type ErrorRateParams = z.output<typeof ErrorRateParams>;
export type LatencyParams = z.output<typeof LatencyParams>;
export type NumericMetricParams = z.output<typeof NumericMetricParams>;
export type AnalysisParams = z.output<typeof AnalysisParams>;
export type AnalysisParamsInput = z.input<typeof AnalysisParams>;

export const defaultAnalysisParams: AnalysisParams = AnalysisParams.parse({});
