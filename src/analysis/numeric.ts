// Extra metrics: readings scraped from the instances (e.g. a gauge per instance), compared by their means
// with an asymptotic confidence sequence per version (Waudby-Smith et al. 2021). Deliberately small: the
// readings of one instance are correlated in time, so this is a guard-rail, not a precise instrument.
import { meanConfidenceSequence, strongestEvidence, summarise, type MeanSummary } from './confidence-sequence.ts';
import * as fmt from './format.ts';
import type { NumericMetricParams, Verdict } from './params.ts';

export interface MeanEstimate {
  samples: number;
  mean: number;
  lower: number;
  upper: number;
}

export interface NumericMetricResult {
  metric: string;
  verdict: Verdict;
  summary: string;
  confidence: number | null;
  canary: MeanEstimate | null;
  control: MeanEstimate | null;
}

/** How far the canary may be in the worse direction before it matters. */
export function toleratedShift(controlValue: number, params: NumericMetricParams): number {
  return Math.max(params.minEffectAbsolute, (params.minEffectRatio - 1) * Math.abs(controlValue));
}

export function compareNumeric(
  canaryValues: readonly number[] | undefined,
  controlValues: readonly number[] | undefined,
  params: NumericMetricParams,
  alpha: number,
): NumericMetricResult {
  const base = { metric: params.name, confidence: null, canary: null, control: null };
  const bad = [canaryValues, controlValues].some((v) => v !== undefined && !v.every(Number.isFinite));
  if (bad) return { ...base, verdict: 'error', summary: `cannot measure ${params.name}: a reading is not a finite number` };
  const canary = summarise(canaryValues ?? []);
  const control = summarise(controlValues ?? []);
  if (control.count < 2) {
    return {
      ...base,
      verdict: 'error',
      summary: `cannot measure ${params.name}: the stable version has ${control.count} reading(s), at least 2 are needed to compare with`,
    };
  }
  const bands = (a: number) => ({ canary: meanConfidenceSequence(canary, a / 2), control: meanConfidenceSequence(control, a / 2) });
  const estimate = (s: MeanSummary, b: { lower: number; upper: number }): MeanEstimate => ({
    samples: s.count,
    mean: s.mean,
    lower: b.lower,
    upper: b.upper,
  });
  const current = bands(alpha);
  const numbers = { canary: estimate(canary, current.canary), control: estimate(control, current.control) };
  const higherIsWorse = params.direction === 'higher_is_worse';
  const means = `canary ${params.name} ${canary.count > 0 ? fmt.number(canary.mean) : 'n/a'} vs stable ${fmt.number(control.mean)} (mean of ${fmt.count(canary.count)} and ${fmt.count(control.count)} readings)`;
  if (canary.count < params.minSamples) {
    return { ...base, ...numbers, verdict: 'inconclusive', summary: `${means}; waiting for at least ${params.minSamples} canary readings` };
  }

  // Worse side of the canary's band against the tolerated value computed from the stable's far side.
  const failsAt = (a: number): boolean => {
    const b = bands(a);
    return higherIsWorse
      ? b.canary.lower > b.control.upper + toleratedShift(b.control.upper, params)
      : b.canary.upper < b.control.lower - toleratedShift(b.control.lower, params);
  };
  const passesAt = (a: number): boolean => {
    const b = bands(a);
    return higherIsWorse
      ? b.canary.upper <= b.control.lower + toleratedShift(b.control.lower, params)
      : b.canary.lower >= b.control.upper - toleratedShift(b.control.upper, params);
  };
  const direction = higherIsWorse ? 'higher' : 'lower';
  const effect = `${params.minEffectAbsolute} or x${params.minEffectRatio}`;
  const failConfidence = strongestEvidence(failsAt, alpha);
  if (failConfidence !== undefined) {
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      confidence: 1 - failConfidence,
      summary: `${means}; canary ${direction} by more than ${effect}, significant at ${fmt.confidence(1 - failConfidence)}`,
    };
  }
  const passConfidence = strongestEvidence(passesAt, alpha);
  if (passConfidence !== undefined) {
    return {
      ...base,
      ...numbers,
      verdict: 'pass',
      confidence: 1 - passConfidence,
      summary: `${means}; canary not ${direction} by more than ${effect}, at ${fmt.confidence(1 - passConfidence)} confidence`,
    };
  }
  return {
    ...base,
    ...numbers,
    verdict: 'inconclusive',
    summary: `${means}; not enough data yet: the canary's mean is between ${fmt.number(current.canary.lower)} and ${fmt.number(current.canary.upper)}`,
  };
}
