// Streaming anomaly detector: causal (a score uses only earlier points and the current one), bounded
// memory per series (a few hundred numbers), O(1) work per point. An ensemble of robust surprise
// measures (level, first difference, fast mean against the slow baseline, time-of-day profile; all
// with winsorised exponentially weighted baselines so an anomaly does not become the new normal at
// once) is calibrated per series by a running high quantile of its own surprise, so one threshold means
// the same thing on every series; a detection then damps further alarms for a while, because one alarm
// per incident is what an operator (and NAB) wants. Research variants (an anomaly-likelihood stage,
// seasonal gate, shift test, escape, other models and ensembles) live in bench/nab/candidates/.
import { normalTail } from './gaussian.ts';
import { KnnCadModel } from './knncad.ts';

export interface DetectorOptions {
  /** points before any score above 0 is emitted (statistics still warm up) */
  warmup?: number;
  /** EW rate of the slow baseline (level and spread) */
  slowRate?: number;
  /** EW rate of the fast mean compared with the slow baseline */
  fastRate?: number;
  /** time-of-day profile buckets per day; 0 disables the seasonal component */
  dailyBuckets?: number;
  /** EW rate of the per-bucket seasonal statistics */
  seasonalRate?: number;
  /** points during which further alarms are damped after a detection */
  suppress?: number;
  /** weights of the level, difference, fast-mean and seasonal components */
  wLevel?: number;
  wDiff?: number;
  wFast?: number;
  wSeason?: number;
  /** per-series calibration: z is divided by a running estimate of this quantile of past z (0 = off) */
  calibQuantile?: number;
  /** score threshold used for the early-warning signal and the suppression */
  threshold?: number;
  /** factor applied to scores while damped after an alarm */
  suppressFactor?: number;
  /** weight of the KNN conformal member (knncad.ts), calibrated on its own quantile and max-combined (0 = off) */
  knn?: number;
  /** KNN member: lag-vector length, training vectors, calibration size, neighbours, stride over training vectors */
  knnLag?: number;
  knnTrain?: number;
  knnCalib?: number;
  knnK?: number;
  knnStride?: number;
}

/** Scores at or above this are an early warning; calibrated on NAB (standard profile). */
export const ANOMALY_THRESHOLD = 0.3;

export const defaultDetectorOptions: Required<DetectorOptions> = {
  warmup: 300,
  slowRate: 0.001,
  fastRate: 0.3,
  dailyBuckets: 48,
  seasonalRate: 0.1,
  suppress: 200,
  calibQuantile: 0.98,
  wLevel: 0.5,
  wDiff: 0.5,
  wFast: 1,
  wSeason: 0.7,
  threshold: ANOMALY_THRESHOLD,
  suppressFactor: 0.1,
  knn: 1,
  knnLag: 19,
  knnTrain: 300,
  knnCalib: 200,
  knnK: 10,
  knnStride: 4,
};

/** What the last point was compared with, in words a person can act on (see explain()). */
export type ExpectationBasis = 'level' | 'step' | 'recent mean' | 'time of day' | 'shape';

export interface Explanation {
  /** the value this point was expected to have, on the basis named */
  expected: number;
  /** how far from it, in robust deviations (mean absolute deviations of that baseline); signed */
  deviations: number;
  basis: ExpectationBasis;
  /** calibrated z (as unusual as this series gets at its 98th percentile = 3) */
  calibratedZ: number;
}

export interface AnomalyDetector {
  /** Feeds one point and returns its anomaly score in [0, 1]. */
  update(timestamp: number, value: number): number;
  /** true when the last score reached the threshold (and was not suppressed) */
  readonly alarm: boolean;
  /** what the last point was compared with and by how much it differed */
  explain(): Explanation;
}

const DAY_MS = 86_400_000;
/** log-scale the final tail probability so scores do not saturate at 1 before p ~ 1e-12 */
const LOG_SCALE = 12;
/** z beyond which an input is winsorised before it updates a baseline, so spikes do not inflate it */
const CLIP = 4;

export function scoreFromTail(p: number): number {
  if (!(p > 0)) return 1;
  const s = -Math.log10(p) / LOG_SCALE;
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

class Detector implements AnomalyDetector {
  private readonly o: Required<DetectorOptions>;
  private n = 0;
  private prev = 0;
  // slow robust baseline of the level and of the first difference
  private mean = 0;
  private dev = 0;
  private diffDev = 0;
  private fast = 0;
  // time-of-day profile
  private readonly sMean: Float64Array;
  private readonly sDev: Float64Array;
  private readonly sCount: Uint32Array;
  private zq = 3;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  private readonly knn: KnnCadModel | undefined;
  private knnQ = 3;
  private why: Explanation = { expected: 0, deviations: 0, basis: 'level', calibratedZ: 0 };
  alarm = false;
  /** the last point's uncalibrated ensemble z (read by the ensembles in bench/nab/candidates) */
  z = 0;
  /** the last point's calibrated z, before the tail score and the damping */
  zc = 0;

  constructor(opts: DetectorOptions) {
    this.o = { ...defaultDetectorOptions, ...opts };
    const b = Math.max(0, this.o.dailyBuckets | 0);
    this.sMean = new Float64Array(b);
    this.sDev = new Float64Array(b);
    this.sCount = new Uint32Array(b);
    if (this.o.knn > 0) this.knn = new KnnCadModel({ lag: this.o.knnLag, train: this.o.knnTrain, calib: this.o.knnCalib, k: this.o.knnK, stride: this.o.knnStride });
  }

  /** Bytes held per series: the typed arrays plus the KNN member's rings (fields are a few hundred bytes). */
  get bytes(): number {
    return this.sMean.byteLength + this.sDev.byteLength + this.sCount.byteLength + (this.knn?.bytes ?? 0) + 256;
  }

  explain(): Explanation {
    return { ...this.why };
  }

  update(timestamp: number, value: number): number {
    const o = this.o;
    const x = Number.isFinite(value) ? value : this.prev;
    const n = ++this.n;
    let zAll = 0;
    let why: Explanation = { expected: x, deviations: 0, basis: 'level', calibratedZ: 0 };
    let levelWhy = why;
    if (n === 1) {
      this.mean = x;
      this.fast = x;
    } else {
      // scales never collapse to 0, so a perfectly flat series that moves is surprising but finite
      const floor = 1e-9 + 1e-6 * Math.abs(this.mean);
      const dev = this.dev + floor;
      const diff = x - this.prev;
      const zLevel = Math.abs(x - this.mean) / dev;
      const zDiff = Math.abs(diff) / (this.diffDev + floor);
      this.fast += o.fastRate * (x - this.fast);
      const zFast = Math.abs(this.fast - this.mean) / dev;
      let zSeason = 0;
      let seasonExpected = 0;
      let seasonScale = 1;
      const nb = this.sMean.length;
      if (nb > 0 && Number.isFinite(timestamp)) {
        const k = Math.floor((((timestamp % DAY_MS) + DAY_MS) % DAY_MS) / (DAY_MS / nb));
        const c = this.sCount[k] as number;
        const sm = this.sMean[k] as number;
        const sd = (this.sDev[k] as number) + floor;
        if (c >= 3) {
          seasonExpected = sm;
          seasonScale = Math.max(sd, 0.25 * dev);
          zSeason = Math.abs(x - sm) / seasonScale;
        }
        // update the bucket (winsorised)
        if (c === 0) {
          this.sMean[k] = x;
          this.sDev[k] = this.dev;
        } else {
          const e = x - sm;
          const ce = Math.max(-CLIP * sd, Math.min(CLIP * sd, e));
          this.sMean[k] = sm + o.seasonalRate * ce;
          this.sDev[k] = (this.sDev[k] as number) + o.seasonalRate * (Math.abs(ce) - (this.sDev[k] as number));
        }
        this.sCount[k] = c + 1;
      }
      // the component that decides the z is also the one the explanation names
      const parts: Array<[number, Explanation]> = [
        [zLevel * o.wLevel, { expected: this.mean, deviations: (x - this.mean) / dev, basis: 'level', calibratedZ: 0 }],
        [zDiff * o.wDiff, { expected: this.prev, deviations: diff / (this.diffDev + floor), basis: 'step', calibratedZ: 0 }],
        [zFast * o.wFast, { expected: this.mean, deviations: (this.fast - this.mean) / dev, basis: 'recent mean', calibratedZ: 0 }],
        [zSeason * o.wSeason, { expected: seasonExpected, deviations: (x - seasonExpected) / seasonScale, basis: 'time of day', calibratedZ: 0 }],
      ];
      let best = parts[0] as [number, Explanation];
      levelWhy = best[1];
      for (const p of parts) if (p[0] > best[0]) best = p;
      zAll = best[0];
      why = best[1];
      // baselines, winsorised so an anomaly does not immediately become the new normal
      const rate = n < 1 / o.slowRate ? 1 / n : o.slowRate;
      const e = x - this.mean;
      const ce = Math.max(-CLIP * dev, Math.min(CLIP * dev, e));
      this.mean += rate * ce;
      this.dev += rate * (Math.abs(ce) - this.dev);
      const cd = Math.min(Math.abs(diff), CLIP * (this.diffDev + floor));
      this.diffDev += rate * (cd - this.diffDev);
    }
    this.prev = x;

    this.z = zAll;
    let zc = zAll;
    if (o.calibQuantile > 0) {
      zc = (3 * zAll) / Math.max(this.zq, 3);
      // stochastic-approximation quantile: steps up by (1-q) and down by q, relative to its size
      const step = 0.05 * Math.max(this.zq, 1);
      this.zq += zAll > this.zq ? step * o.calibQuantile : -step * (1 - o.calibQuantile);
    }
    if (this.knn) {
      // second opinion on the shape of the recent lag window, calibrated on its own running quantile
      const zk = this.knn.surprise(timestamp, x);
      let zkc = zk;
      if (o.calibQuantile > 0) {
        zkc = (3 * zk) / Math.max(this.knnQ, 3);
        const step = 0.05 * Math.max(this.knnQ, 1);
        this.knnQ += zk > this.knnQ ? step * o.calibQuantile : -step * (1 - o.calibQuantile);
      }
      // a shape surprise has no single expected value: say so, with the value against the usual level
      if (o.knn * zkc > zc) why = { ...levelWhy, basis: 'shape' };
      zc = Math.max(zc, o.knn * zkc);
    }
    this.zc = zc;
    why.calibratedZ = zc;
    this.why = why;
    let score = n <= o.warmup ? 0 : scoreFromTail(normalTail(zc));
    this.sinceAlarm++;
    if (this.sinceAlarm <= o.suppress) score *= o.suppressFactor;
    this.alarm = score >= o.threshold;
    if (this.alarm) this.sinceAlarm = 0;
    return score;
  }
}

export function createDetector(opts: DetectorOptions = {}): AnomalyDetector {
  return new Detector(opts);
}

/** The default detector, also exposing its uncalibrated z per point (for use as an ensemble member). */
export function createZDetector(opts: DetectorOptions = {}): AnomalyDetector & { readonly z: number; readonly zc: number; readonly bytes: number } {
  return new Detector(opts);
}
