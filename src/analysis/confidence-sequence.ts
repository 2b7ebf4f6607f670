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
 * { p0 : mixture statistic(p0) < 1/alpha }.
 *
 * Each end is a root of g = logMarginal - logLikelihood(p0) - log(1/alpha). In u = log(p0) (lower end) or
 * v = log(1 - p0) (upper end) g is convex, so Newton's method started on the far side of the root climbs to
 * it monotonically without overshooting; a few steps reach machine precision. This runs on every look for
 * every bucket bound near a compared quantile, so it has to be cheap.
 */
export function binomialConfidenceSequence(successes: number, trials: number, alpha: number): Interval {
  if (trials <= 0) return { lower: 0, upper: 1 };
  const threshold = Math.log(1 / alpha);
  const logMarginal = jStat.betaln(successes + PRIOR_A, trials - successes + PRIOR_B) - jStat.betaln(PRIOR_A, PRIOR_B);
  const constant = logMarginal - threshold;
  const lower = successes > 0 ? convexRoot(successes, trials - successes, constant, successes / trials) : 0;
  const upper =
    successes < trials ? 1 - convexRoot(trials - successes, successes, constant, 1 - successes / trials) : 1;
  return { lower, upper };
}

/**
 * Root below `estimate` of g(u) = constant - a*u - b*log(1 - e^u), with u = log(p), a > 0. g is convex and
 * decreasing left of the estimate; g(u) >= constant - a*u makes u0 = constant/a - 1 a start with g > 0.
 */
function convexRoot(a: number, b: number, constant: number, estimate: number): number {
  const g = (u: number): number => constant - a * u - (b > 0 ? b * Math.log1p(-Math.exp(u)) : 0);
  const slope = (u: number): number => {
    const e = Math.exp(u);
    return -a + (b > 0 ? (b * e) / (1 - e) : 0);
  };
  const ceiling = Math.log(estimate);
  if (g(ceiling) >= 0) return estimate;
  let u = Math.min(constant / a - 1, ceiling);
  for (let i = 0; i < 100; i++) {
    const value = g(u);
    if (value <= 1e-9) break;
    const d = slope(u);
    if (!(d < 0)) break;
    const next = u - value / d;
    if (!(next > u) || next >= ceiling) {
      u = Math.min(next, ceiling);
      break;
    }
    if (next - u < 1e-14 * Math.max(1, Math.abs(u))) {
      u = next;
      break;
    }
    u = next;
  }
  return Math.exp(u);
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
