// Sequential comparison of error proportions, canary against stable.
//
// Each version gets an always-valid confidence sequence for its error probability (Beta-binomial mixture,
// alpha/2 each). With probability >= 1 - alpha both contain the truth at every look, for ever, so:
// - fail  when the canary's lower bound exceeds the worst rate we tolerate given stable's upper bound;
// - pass  when the canary's upper bound is below the worst rate we tolerate given stable's lower bound.
// A canary no worse than stable is then failed with probability <= alpha however often we look, and a
// canary worse than the tolerated margin is passed with probability <= alpha.
import { binomialConfidenceSequence, strongestEvidence } from './confidence-sequence.ts';
import * as fmt from './format.ts';
import type { ErrorRateParams, Verdict } from './params.ts';
import { errorCountsProblem } from './sample.ts';

export interface ErrorCounts {
  requests: number;
  errors: number;
}

export interface RateEstimate {
  requests: number;
  errors: number;
  rate: number;
  /** always-valid interval at the metric's confidence; [0, 1] without data */
  lower: number;
  upper: number;
}

export interface ErrorRateResult {
  metric: 'error_rate';
  verdict: Verdict;
  summary: string;
  /** confidence the fail or pass was reached at (>= the configured one), null otherwise */
  confidence: number | null;
  canary: RateEstimate | null;
  control: RateEstimate | null;
  /** highest canary error rate still tolerated, from the stable's point estimate */
  toleratedRate: number | null;
}

/** The worst canary error rate that does not matter, given the stable's rate. */
export function toleratedErrorRate(controlRate: number, params: ErrorRateParams): number {
  return Math.min(1, Math.max(controlRate * params.minEffectRelative, controlRate + params.minEffectAbsolute));
}

function describeEffect(params: ErrorRateParams): string {
  return `+${fmt.points(params.minEffectAbsolute)} or x${params.minEffectRelative}`;
}

function describeRates(canary: ErrorCounts, control: ErrorCounts): string {
  const rate = (c: ErrorCounts) => (c.requests > 0 ? c.errors / c.requests : Number.NaN);
  return (
    `canary 5xx ${fmt.percent(rate(canary))} (${fmt.count(canary.errors)}/${fmt.count(canary.requests)}) ` +
    `vs stable ${fmt.percent(rate(control))} (${fmt.count(control.errors)}/${fmt.count(control.requests)})`
  );
}

/**
 * @param alpha the share of the false-fail budget given to this metric (1 - confidence, split across metrics)
 */
export function compareErrorRates(
  canary: ErrorCounts,
  control: ErrorCounts,
  params: ErrorRateParams,
  alpha: number,
): ErrorRateResult {
  const base = { metric: 'error_rate' as const, confidence: null, canary: null, control: null, toleratedRate: null };
  const problem =
    errorCountsProblem('canary', canary.requests, canary.errors) ??
    errorCountsProblem('stable', control.requests, control.errors);
  if (problem !== undefined) {
    return { ...base, verdict: 'error', summary: `cannot measure the error rate: ${problem}` };
  }
  if (control.requests === 0) {
    return {
      ...base,
      verdict: 'error',
      summary: `cannot measure the error rate: the stable version has served no requests to compare with (${describeRates(canary, control)}); check that stable receives traffic`,
    };
  }

  const bounds = (a: number) => ({
    canary: binomialConfidenceSequence(canary.errors, canary.requests, a / 2),
    control: binomialConfidenceSequence(control.errors, control.requests, a / 2),
  });
  const controlRate = control.errors / control.requests;
  const current = bounds(alpha);
  const estimate = (c: ErrorCounts, b: { lower: number; upper: number }): RateEstimate => ({
    requests: c.requests,
    errors: c.errors,
    rate: c.requests > 0 ? c.errors / c.requests : Number.NaN,
    lower: b.lower,
    upper: b.upper,
  });
  const numbers = {
    canary: estimate(canary, current.canary),
    control: estimate(control, current.control),
    toleratedRate: toleratedErrorRate(controlRate, params),
  };
  const rates = describeRates(canary, control);

  if (canary.requests === 0) {
    return { ...base, ...numbers, verdict: 'inconclusive', summary: `no canary requests yet (${rates})` };
  }

  const failsAt = (a: number): boolean => {
    const b = bounds(a);
    return b.canary.lower > toleratedErrorRate(b.control.upper, params);
  };
  const failConfidence = strongestEvidence(failsAt, alpha);
  if (failConfidence !== undefined) {
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      confidence: 1 - failConfidence,
      summary: `${rates}; canary worse by more than ${describeEffect(params)}, significant at ${fmt.confidence(1 - failConfidence)}`,
    };
  }

  if (controlRate >= params.brokenControlRate) {
    return {
      ...base,
      ...numbers,
      verdict: 'inconclusive',
      summary: `${rates}; the stable version itself fails ${fmt.percent(controlRate)} of requests, so it cannot vouch for the canary (a broken stable is not the canary's fault, and not a reason to promote it)`,
    };
  }

  const passesAt = (a: number): boolean => {
    const b = bounds(a);
    return b.canary.upper <= toleratedErrorRate(b.control.lower, params);
  };
  if (canary.requests >= params.minRequests) {
    const passConfidence = strongestEvidence(passesAt, alpha);
    if (passConfidence !== undefined) {
      return {
        ...base,
        ...numbers,
        verdict: 'pass',
        confidence: 1 - passConfidence,
        summary: `${rates}; canary not worse by more than ${describeEffect(params)}, at ${fmt.confidence(1 - passConfidence)} confidence`,
      };
    }
  }

  const needed =
    canary.requests < params.minRequests
      ? `; waiting for at least ${fmt.count(params.minRequests)} canary requests`
      : '';
  return {
    ...base,
    ...numbers,
    verdict: 'inconclusive',
    summary:
      `${rates}; not enough data yet: the canary's true rate is between ${fmt.percent(current.canary.lower)} and ` +
      `${fmt.percent(current.canary.upper)}, to pass it must be shown below ${fmt.percent(toleratedErrorRate(current.control.lower, params))}` +
      needed,
  };
}
