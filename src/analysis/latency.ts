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
import { type MatchedWindows, mergeUnmatched, relativeDispersion } from './windows.ts';

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

/** A point estimate of the CDF at finite bound k, and the (effective) counts its band is built from. */
interface CdfCounts {
  point(k: number): number;
  counts(k: number): { successes: number; trials: number };
}

function pooledCounts(histogram: NormalisedHistogram): CdfCounts {
  let running = 0;
  const cumulative = histogram.counts.map((c) => (running += c));
  return {
    point: (k) => (cumulative[k] as number) / histogram.total,
    counts: (k) => ({ successes: cumulative[k] as number, trials: histogram.total }),
  };
}

/** Per window, the cumulative count at each finite bound and the window's total. */
function windowPrefixes(windows: number[][], finite: number): { below: number[][]; totals: number[] } {
  const below = windows.map((w) => {
    let running = 0;
    return w.slice(0, finite).map((c) => (running += c));
  });
  return { below, totals: windows.map((w) => w.reduce((a, b) => a + b, 0)) };
}

/**
 * Both versions from their windows, at each bound:
 * - the control read at the canary's moments: window i weighs as the canary's share of requests in
 *   it (post-stratification), so load that came and went is the same for both; the variance of that
 *   weighted proportion is Kish's, as if from 1 / sum(w_i^2 / n_i) independent requests;
 * - the canary pooled, its counts divided by its dispersion *relative to the control in the same
 *   windows* (relativeDispersion): bursts of its own widen its band, load common to both does not.
 */
function windowedCounts(canaryWindows: number[][], controlWindows: number[][], finite: number): { canary: CdfCounts; control: CdfCounts } {
  const c = windowPrefixes(canaryWindows, finite);
  const s = windowPrefixes(controlWindows, finite);
  const canaryTotal = c.totals.reduce((a, b) => a + b, 0);
  const used = s.totals.map((n, i) => n > 0 && (c.totals[i] as number) > 0);
  const weight = c.totals.map((n) => n / canaryTotal);
  let inverse = 0;
  for (let i = 0; i < s.totals.length; i++) if (used[i]) inverse += (weight[i] as number) ** 2 / (s.totals[i] as number);
  const effective = 1 / inverse;
  const cache = new Map<number, { canary: Counts; control: Counts }>();
  const at = (k: number) => {
    let v = cache.get(k);
    if (v === undefined) {
      let x = 0;
      let matched = 0;
      for (let i = 0; i < s.totals.length; i++) {
        x += c.below[i]![k] as number;
        if (used[i]) matched += ((weight[i] as number) * (s.below[i]![k] as number)) / (s.totals[i] as number);
      }
      const phi = relativeDispersion(
        c.below.map((b) => b[k] as number),
        c.totals,
        s.below.map((b) => b[k] as number),
        s.totals,
      );
      v = {
        canary: { point: x / canaryTotal, successes: x / phi, trials: canaryTotal / phi },
        control: { point: matched, successes: matched * effective, trials: effective },
      };
      cache.set(k, v);
    }
    return v;
  };
  return {
    canary: { point: (k) => at(k).canary.point, counts: (k) => at(k).canary },
    control: { point: (k) => at(k).control.point, counts: (k) => at(k).control },
  };
}

interface Counts {
  point: number;
  successes: number;
  trials: number;
}

/** Band for the CDF at each finite bound, computed lazily: only bounds near the compared quantiles are needed. */
class CdfBand {
  private readonly cache = new Map<number, { lower: number; upper: number }>();
  readonly bounds: number[];
  private readonly source: CdfCounts;
  private readonly alphaEach: number;

  constructor(bounds: number[], source: CdfCounts, alpha: number) {
    this.bounds = bounds;
    this.source = source;
    // Bonferroni over the bounds of this histogram; the bound count is fixed by the router's configuration.
    this.alphaEach = alpha / Math.max(1, bounds.length);
  }

  point(k: number): number {
    return this.source.point(k);
  }

  private band(k: number): { lower: number; upper: number } {
    let value = this.cache.get(k);
    if (value === undefined) {
      const { successes, trials } = this.source.counts(k);
      value = binomialConfidenceSequence(successes, trials, this.alphaEach);
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
  return quantileEstimate(new CdfBand(histogram.bounds, pooledCounts(histogram), alpha), q);
}

function quantileEstimate(band: CdfBand, q: number): QuantileEstimate {
  const { bounds } = band;
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

/** The windows are of these histograms: same buckets, and together the same canary requests. */
function windowsFit(w: MatchedWindows, canary: NormalisedHistogram, control: NormalisedHistogram): boolean {
  if (w.canary.length === 0 || w.canary.length !== w.control.length || canary.bounds.length !== control.bounds.length) return false;
  const width = w.canary[0]!.length;
  if (width <= canary.bounds.length || ![...w.canary, ...w.control].every((x) => x.length === width)) return false;
  const total = (ws: number[][]) => ws.reduce((a, x) => a + x.reduce((b, c) => b + c, 0), 0);
  return total(w.canary) === canary.total && total(w.control) === control.total;
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
  windows?: MatchedWindows,
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

  // With the windows of the same moments, both sides are read per window (see windows.ts); without
  // them (a caller with only cumulative counts), as independent requests pooled over the whole time.
  const finite = canary.bounds.length;
  const matched = windows && windowsFit(windows, canary, control) ? mergeUnmatched(windows) : undefined;
  const windowed = matched ? windowedCounts(matched.canary, matched.control, finite) : undefined;
  const canaryCounts = windowed?.canary ?? pooledCounts(canary);
  const controlCounts = windowed?.control ?? pooledCounts(control);
  const compare = (a: number): QuantileComparison[] => {
    const canaryBand = new CdfBand(canary.bounds, canaryCounts, a / 2);
    const controlBand = new CdfBand(control.bounds, controlCounts, a / 2);
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
