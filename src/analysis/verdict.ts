// The entry point the rollout controller calls on every analysis tick: canary against stable on the same
// window, one result per metric and an overall verdict. Pure: no I/O, no clock, never throws on data.
//
// False-fail budget: 1 - confidence in total, split evenly across the metrics configured (error rate,
// latency if enabled, each extra metric). Each metric is always valid, so the chance that a canary no worse
// than stable is ever failed, however many times it is analysed, stays within the budget (union bound).
import { compareErrorRates, type ErrorRateResult } from './error-rate.ts';
import { compareLatency, type LatencyResult } from './latency.ts';
import { compareNumeric, type NumericMetricResult } from './numeric.ts';
import { AnalysisParams, type AnalysisParamsInput, type Verdict } from './params.ts';
import type { VersionSample } from './sample.ts';
import type { MatchedWindows } from './windows.ts';

export { AnalysisParams, defaultAnalysisParams } from './params.ts';
export type { AnalysisParamsInput, Verdict } from './params.ts';
export type { LatencyHistogram, VersionSample } from './sample.ts';
export type { ErrorRateResult } from './error-rate.ts';
export type { LatencyResult, QuantileComparison } from './latency.ts';
export type { NumericMetricResult } from './numeric.ts';
export { LatencyWindows, type MatchedWindows } from './windows.ts';

export type MetricResult = ErrorRateResult | LatencyResult | NumericMetricResult;

export interface AnalysisResult {
  verdict: Verdict;
  /** one sentence for a person, built from the metrics that decided the verdict */
  summary: string;
  metrics: MetricResult[];
  /** false-fail budget per metric actually used: (1 - confidence) / metrics.length */
  alphaPerMetric: number;
}

/** any fail -> fail; else any error -> error; else all pass -> pass; else inconclusive */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) return 'inconclusive';
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('error')) return 'error';
  if (verdicts.every((v) => v === 'pass')) return 'pass';
  return 'inconclusive';
}

function label(metric: MetricResult): string {
  return metric.metric === 'error_rate' ? 'errors' : metric.metric;
}

// The controller passes the same params object on every tick: parse it once.
const parsedParams = new WeakMap<object, ReturnType<typeof AnalysisParams.safeParse>>();

function parseParams(params: AnalysisParams | AnalysisParamsInput): ReturnType<typeof AnalysisParams.safeParse> {
  let parsed = parsedParams.get(params);
  if (parsed === undefined) {
    parsed = AnalysisParams.safeParse(params);
    parsedParams.set(params, parsed);
  }
  return parsed;
}

/**
 * @param windows the latency of both versions per time window (windows.ts): the control is then read
 *   at the canary's moments and bursts widen the bands; without, requests are taken as independent
 */
export function analyse(canary: VersionSample, control: VersionSample, params: AnalysisParams | AnalysisParamsInput = {}, windows?: MatchedWindows): AnalysisResult {
  const parsed = parseParams(params);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { verdict: 'error', summary: `cannot analyse: invalid analysis parameters (${problems})`, metrics: [], alphaPerMetric: 0 };
  }
  const p = parsed.data;
  const metricCount = 1 + (p.latency.enabled ? 1 : 0) + p.metrics.length;
  const alpha = (1 - p.confidence) / metricCount;

  const metrics: MetricResult[] = [compareErrorRates(canary, control, p.errorRate, alpha)];
  if (p.latency.enabled) metrics.push(compareLatency(canary.latency, control.latency, p.latency, alpha, windows));
  for (const metric of p.metrics) {
    const unreadable = canary.metricErrors?.[metric.name] ?? control.metricErrors?.[metric.name];
    if (unreadable !== undefined) {
      metrics.push({ metric: metric.name, verdict: 'error', summary: `cannot measure ${metric.name}: ${unreadable}`, confidence: null, canary: null, control: null });
      continue;
    }
    metrics.push(compareNumeric(canary.metrics?.[metric.name], control.metrics?.[metric.name], metric, alpha));
  }

  const verdict = combineVerdicts(metrics.map((m) => m.verdict));
  const deciding = verdict === 'pass' ? metrics : metrics.filter((m) => m.verdict === verdict);
  const summary = `${verdict}: ${deciding.map((m) => `${label(m)}: ${m.summary}`).join(' | ')}`;
  return { verdict, summary, metrics, alphaPerMetric: alpha };
}
