// Sequential comparison of latency distributions from cumulative histograms.
//
// For each version and each finite bucket bound b, "latency <= b" is a Bernoulli event, so the histogram
// gives an always-valid confidence sequence for the CDF at every bound (Beta-binomial mixture, Bonferroni
// over the bounds and the two versions). With probability >= 1 - alpha every band holds at every look.
// Quantiles are read from the bands with the same linear interpolation inside a bucket as Prometheus'
// histogram_quantile, which is monotone in the CDF, so the band gives an interval for each quantile.
// - fail when, for some compared quantile, the canary's lower bound exceeds the tolerated slowdown of
//   stable's upper bound: the canary is slower by more than the minimum effect, with confidence;
// - pass when, for every compared quantile, the canary's upper bound is within the tolerated slowdown of
//   stable's lower bound.
// Comparing several quantiles of the distribution, not the mean, catches both a shifted body and a
// fattened tail. The bands need no assumption on the shape of the distribution.
import { binomialConfidenceSequence, strongestEvidence } from './confidence-sequence.ts';
import * as fmt from './format.ts';
import type { LatencyParams, Verdict } from './params.ts';
import { type LatencyHistogram, type NormalisedHistogram, normaliseHistogram } from './sample.ts';

export interface QuantileEstimate {
  /** interpolated point estimate, ms; Infinity when it lies beyond the last finite bound */
  estimate: number;
  lower: number;
  upper: number;
}

export interface QuantileComparison {
  quantile: number;
  canary: QuantileEstimate;
  control: QuantileEstimate;
  /** canary estimate / stable estimate */
  ratio: number;
}

export interface LatencyResult {
  metric: 'latency';
  verdict: Verdict;
  summary: string;
  confidence: number | null;
  canaryRequests: number;
  controlRequests: number;
  quantiles: QuantileComparison[];
}

/** The slowest canary quantile that does not matter, given stable's. */
export function toleratedLatency(controlMs: number, params: LatencyParams): number {
  return Math.max(controlMs * params.minEffectRatio, controlMs + params.minEffectMs);
}

/** Band for the CDF at each finite bound, computed lazily: only bounds near the compared quantiles are needed. */
class CdfBand {
  private readonly cumulative: number[];
  private readonly cache = new Map<number, { lower: number; upper: number }>();
  readonly histogram: NormalisedHistogram;
  private readonly alphaEach: number;

  constructor(histogram: NormalisedHistogram, alpha: number) {
    this.histogram = histogram;
    // Bonferroni over the bounds of this histogram; the bound count is fixed by the router's configuration.
    this.alphaEach = alpha / Math.max(1, histogram.bounds.length);
    let running = 0;
    this.cumulative = histogram.counts.map((c) => (running += c));
  }

  point(k: number): number {
    return (this.cumulative[k] as number) / this.histogram.total;
  }

  private band(k: number): { lower: number; upper: number } {
    let value = this.cache.get(k);
    if (value === undefined) {
      value = binomialConfidenceSequence(this.cumulative[k] as number, this.histogram.total, this.alphaEach);
      this.cache.set(k, value);
    }
    return value;
  }

  lower(k: number): number {
    return this.band(k).lower;
  }

  upper(k: number): number {
    return this.band(k).upper;
  }
}

function interpolate(bounds: number[], cdf: (k: number) => number, k: number, q: number): number {
  const upperBound = bounds[k] as number;
  const lowerBound = k > 0 ? (bounds[k - 1] as number) : 0;
  const below = k > 0 ? cdf(k - 1) : 0;
  const at = cdf(k);
  if (at <= below) return upperBound;
  return lowerBound + ((upperBound - lowerBound) * (q - below)) / (at - below);
}

/**
 * Smallest i in [from, to) with test(i), for a test that is monotone in i; `to` when there is none.
 * Gallops from `from` (upwards) before bisecting: the crossing is usually a few buckets away.
 */
function firstAtLeastFrom(from: number, to: number, test: (i: number) => boolean): number {
  let lo = from;
  let step = 1;
  while (lo < to && !test(lo)) {
    const next = Math.min(to, lo + step);
    if (next < to && !test(next)) {
      lo = next + 1;
      step *= 2;
      continue;
    }
    return bisect(lo + 1, next, test);
  }
  return lo;
}

/** Smallest i in [from, to] with test(i), given test(to) or to is the end. Gallops down from `to`. */
function firstAtLeastBelow(from: number, to: number, test: (i: number) => boolean): number {
  let hi = to;
  let step = 1;
  while (hi > from) {
    const probe = Math.max(from, hi - step);
    if (!test(probe)) return bisect(probe + 1, hi, test);
    hi = probe;
    step *= 2;
  }
  return hi;
}

function bisect(lo: number, hi: number, test: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Always-valid interval for the q-quantile of one histogram, the band at `alpha` over all its bounds. */
export function quantileInterval(histogram: NormalisedHistogram, q: number, alpha: number): QuantileEstimate {
  return quantileEstimate(new CdfBand(histogram, alpha), q);
}

function quantileEstimate(band: CdfBand, q: number): QuantileEstimate {
  const { bounds } = band.histogram;
  const size = bounds.length;
  let first = 0;
  while (first < size && band.point(first) < q) first++;
  const estimate = first < size ? interpolate(bounds, (k) => band.point(k), first, q) : Number.POSITIVE_INFINITY;

  // The envelopes are monotone in the bound, so their crossings of q are found by binary search.
  // The lower envelope crosses q no earlier than the point estimate does: the slow end of the interval.
  const k = firstAtLeastFrom(first, size, (i) => band.lower(i) >= q);
  const upper = k < size ? interpolate(bounds, (i) => band.lower(i), k, q) : Number.POSITIVE_INFINITY;

  // The upper envelope crosses q no later: the fast end. If even it stays below q at the last finite bound,
  // the quantile is beyond that bound, which is all we know.
  const top = Math.min(first, size - 1);
  const lower =
    band.upper(top) >= q
      ? interpolate(bounds, (i) => band.upper(i), firstAtLeastBelow(0, top, (i) => band.upper(i) >= q), q)
      : (bounds[size - 1] as number);
  return { estimate, lower, upper };
}

function describeEffect(params: LatencyParams): string {
  return `x${params.minEffectRatio} or +${params.minEffectMs} ms`;
}

function describeQuantile(c: QuantileComparison): string {
  return `canary ${fmt.quantileName(c.quantile)} ${fmt.ms(c.canary.estimate)} vs stable ${fmt.ms(c.control.estimate)} (${fmt.ratio(c.ratio)})`;
}

/**
 * @param alpha the share of the false-fail budget given to this metric
 */
export function compareLatency(
  canaryHistogram: LatencyHistogram,
  controlHistogram: LatencyHistogram,
  params: LatencyParams,
  alpha: number,
): LatencyResult {
  const base = { metric: 'latency' as const, confidence: null, canaryRequests: 0, controlRequests: 0, quantiles: [] };
  const canary = normaliseHistogram('canary', canaryHistogram);
  const control = normaliseHistogram('stable', controlHistogram);
  if (typeof canary === 'string' || typeof control === 'string') {
    const problem = typeof canary === 'string' ? canary : (control as string);
    return { ...base, verdict: 'error', summary: `cannot measure latency: ${problem}` };
  }
  const counts = { canaryRequests: canary.total, controlRequests: control.total };
  if (control.total === 0) {
    return {
      ...base,
      ...counts,
      verdict: 'error',
      summary: 'cannot measure latency: the stable version has no latency measurements to compare with; check that stable receives traffic',
    };
  }
  if (canary.total === 0) {
    return { ...base, ...counts, verdict: 'inconclusive', summary: 'no canary latency measurements yet' };
  }
  if (canary.bounds.length === 0 || control.bounds.length === 0) {
    return { ...base, ...counts, verdict: 'error', summary: 'cannot measure latency: the histogram has no finite bucket bound' };
  }

  const compare = (a: number): QuantileComparison[] => {
    const canaryBand = new CdfBand(canary, a / 2);
    const controlBand = new CdfBand(control, a / 2);
    return params.quantiles.map((quantile) => {
      const c = quantileEstimate(canaryBand, quantile);
      const s = quantileEstimate(controlBand, quantile);
      return { quantile, canary: c, control: s, ratio: c.estimate / s.estimate };
    });
  };
  const slower = (c: QuantileComparison) => c.canary.lower > toleratedLatency(c.control.upper, params);
  const within = (c: QuantileComparison) =>
    Number.isFinite(c.canary.upper) && c.canary.upper <= toleratedLatency(c.control.lower, params);

  const quantiles = compare(alpha);
  const numbers = { ...counts, quantiles };
  const failing = quantiles.filter(slower);
  if (failing.length > 0) {
    const failConfidence = strongestEvidence((a) => compare(a).some(slower), alpha) ?? alpha;
    const worst = failing.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      confidence: 1 - failConfidence,
      summary: `${describeQuantile(worst)}; canary slower by more than ${describeEffect(params)}, distributions differ at ${fmt.confidence(1 - failConfidence)}`,
    };
  }

  const all = quantiles.map(describeQuantile).join(', ');
  if (canary.total >= params.minRequests && quantiles.every(within)) {
    const passConfidence = strongestEvidence((a) => compare(a).every(within), alpha) ?? alpha;
    return {
      ...base,
      ...numbers,
      verdict: 'pass',
      confidence: 1 - passConfidence,
      summary: `${all}; canary not slower by more than ${describeEffect(params)}, at ${fmt.confidence(1 - passConfidence)} confidence`,
    };
  }

  const waiting = quantiles.find((c) => !within(c));
  const reason =
    canary.total < params.minRequests
      ? `waiting for at least ${fmt.count(params.minRequests)} canary requests (${fmt.count(canary.total)} so far)`
      : waiting === undefined
        ? 'not enough data yet'
        : `not enough data yet: canary ${fmt.quantileName(waiting.quantile)} could be up to ${fmt.ms(waiting.canary.upper)}, ` +
          `to pass it must be shown below ${fmt.ms(toleratedLatency(waiting.control.lower, params))}`;
  return { ...base, ...numbers, verdict: 'inconclusive', summary: `${all}; ${reason}` };
}
