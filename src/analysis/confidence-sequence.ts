// Time-uniform ("always valid") confidence sequences: intervals that contain the true value at every
// look simultaneously with probability >= 1 - alpha, so they may be recomputed every 250 ms for as long
// as the canary runs without inflating the error rate (Ville's inequality on a nonnegative martingale).
import jstat from 'jstat';

const { jStat } = jstat;

export interface Interval {
  lower: number;
  upper: number;
}

/** Jeffreys prior Beta(1/2, 1/2): invariant, and its mixture is never far from the best fixed p in hindsight. */
const PRIOR_A = 0.5;
const PRIOR_B = 0.5;
const BISECTION_STEPS = 52;

function logLikelihood(successes: number, trials: number, p: number): number {
  const failures = trials - successes;
  let value = 0;
  if (successes > 0) value += successes * Math.log(p);
  if (failures > 0) value += failures * Math.log1p(-p);
  return value;
}

/**
 * Log of the Beta-binomial mixture martingale for H0: p = p0 (Robbins 1970; Howard et al. 2021).
 * Under H0 its exponential is a nonnegative martingale with mean 1, whatever the stopping rule.
 */
export function logMixtureStatistic(successes: number, trials: number, p0: number): number {
  const logMarginal = jStat.betaln(successes + PRIOR_A, trials - successes + PRIOR_B) - jStat.betaln(PRIOR_A, PRIOR_B);
  return logMarginal - logLikelihood(successes, trials, p0);
}

/**
 * Always-valid confidence interval for a Bernoulli probability after `successes` of `trials`:
 * { p0 : mixture statistic(p0) < 1/alpha }. The statistic is convex in p0 around the estimate, so
 * each end is found by bisection.
 */
export function binomialConfidenceSequence(successes: number, trials: number, alpha: number): Interval {
  if (trials <= 0) return { lower: 0, upper: 1 };
  const threshold = Math.log(1 / alpha);
  const logMarginal = jStat.betaln(successes + PRIOR_A, trials - successes + PRIOR_B) - jStat.betaln(PRIOR_A, PRIOR_B);
  const outside = (p: number): boolean => logMarginal - logLikelihood(successes, trials, p) >= threshold;
  const estimate = successes / trials;
  let lower = 0;
  if (successes > 0) {
    let lo = 0;
    let hi = estimate;
    for (let i = 0; i < BISECTION_STEPS; i++) {
      const mid = (lo + hi) / 2;
      if (outside(mid)) lo = mid;
      else hi = mid;
    }
    lower = lo;
  }
  let upper = 1;
  if (successes < trials) {
    let lo = estimate;
    let hi = 1;
    for (let i = 0; i < BISECTION_STEPS; i++) {
      const mid = (lo + hi) / 2;
      if (outside(mid)) hi = mid;
      else lo = mid;
    }
    upper = hi;
  }
  return { lower, upper };
}

export interface MeanSummary {
  count: number;
  mean: number;
  /** sample standard deviation (n - 1) */
  sd: number;
}

export function summarise(values: readonly number[]): MeanSummary {
  const count = values.length;
  if (count === 0) return { count: 0, mean: Number.NaN, sd: Number.NaN };
  let mean = 0;
  let m2 = 0;
  values.forEach((value, index) => {
    const delta = value - mean;
    mean += delta / (index + 1);
    m2 += delta * (value - mean);
  });
  return { count, mean, sd: count > 1 ? Math.sqrt(m2 / (count - 1)) : 0 };
}

/**
 * Asymptotic confidence sequence for a mean (Waudby-Smith et al. 2021, "Time-uniform central limit
 * theory"): a normal-mixture boundary with the variance estimated from the data. Valid as the sample
 * grows, for iid values; tuned to be tightest around `tunedFor` observations.
 */
export function meanConfidenceSequence(summary: MeanSummary, alpha: number, tunedFor = 100): Interval {
  const n = summary.count;
  if (n < 2) return { lower: Number.NEGATIVE_INFINITY, upper: Number.POSITIVE_INFINITY };
  const logTerm = -2 * Math.log(alpha);
  const rho2 = (logTerm + Math.log(logTerm + 1)) / tunedFor;
  const halfWidth =
    summary.sd * Math.sqrt(((2 * (n * rho2 + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(n * rho2 + 1) / alpha));
  return { lower: summary.mean - halfWidth, upper: summary.mean + halfWidth };
}

/**
 * The smallest alpha (so the highest confidence) at which `holds` is still true, for reporting how strong
 * the evidence is. `holds` must be monotone: true at some alpha implies true at any larger alpha.
 * Returns undefined when it does not hold at `maxAlpha`.
 */
export function strongestEvidence(holds: (alpha: number) => boolean, maxAlpha: number): number | undefined {
  if (!holds(maxAlpha)) return undefined;
  const floor = 1e-12;
  if (holds(floor)) return floor;
  let lo = Math.log(floor);
  let hi = Math.log(maxAlpha);
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (holds(Math.exp(mid))) hi = mid;
    else lo = mid;
  }
  return Math.exp(hi);
}
