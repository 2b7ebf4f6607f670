// Research copy of the streaming detector with every experimental option the NAB rounds tried (an
// HTM-style anomaly-likelihood stage, seasonal gate, shift test, escape, season days), kept here so the
// sweeps in bench/nab/experiment.ts and the ensembles in ensemble.ts can be re-run. With its defaults it
// scores exactly like the shipped src/monitor/anomaly/detector.ts (candidates.test.ts checks it); the
// shipped detector has none of these options.
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { KnnCadModel } from '../../../src/monitor/anomaly/knncad.ts';

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
  /** points averaged in the short window of raw scores */
  likelihoodShort?: number;
  /** EW rate of the long-run raw-score statistics */
  likelihoodRate?: number;
  /** points during which further alarms are damped after a detection */
  suppress?: number;
  /** z at which the raw score starts to rise, and z at which it reaches 1 */
  rawLow?: number;
  rawHigh?: number;
  /** weights of the level, difference, fast-mean and seasonal components */
  wLevel?: number;
  wDiff?: number;
  wFast?: number;
  wSeason?: number;
  /** false: score the ensemble z directly instead of through the likelihood stage */
  likelihood?: boolean;
  /** per-series calibration: z is divided by a running estimate of this quantile of past z (0 = off) */
  calibQuantile?: number;
  /** score threshold used for the early-warning signal and the suppression */
  threshold?: number;
  /** once a time-of-day bucket is mature, the other components may exceed its z by at most this factor (0 = off) */
  seasonGate?: number;
  /** distinct days a time-of-day bucket must have seen before it is scored and can gate (0 = count points: 3) */
  seasonDays?: number;
  /** factor applied to scores while damped after an alarm */
  suppressFactor?: number;
  /** EW rate of a medium mean whose departure from the slow baseline is scored in standard errors */
  shiftRate?: number;
  /** weight of that shift component (0 = off) */
  wShift?: number;
  /** while damped, a point whose calibrated z exceeds this multiple of the alarm's z is not damped (0 = never) */
  escape?: number;
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
  likelihoodShort: 10,
  likelihoodRate: 0.002,
  suppress: 200,
  rawLow: 2,
  likelihood: false,
  calibQuantile: 0.98,
  rawHigh: 10,
  wLevel: 0.5,
  wDiff: 0.5,
  wFast: 1,
  wSeason: 0.7,
  threshold: ANOMALY_THRESHOLD,
  seasonGate: 0,
  suppressFactor: 0.1,
  seasonDays: 0,
  escape: 0,
  shiftRate: 0.05,
  wShift: 0,
  knn: 1,
  knnLag: 19,
  knnTrain: 300,
  knnCalib: 200,
  knnK: 10,
  knnStride: 4,
};

export interface AnomalyDetector {
  /** Feeds one point and returns its anomaly score in [0, 1]. */
  update(timestamp: number, value: number): number;
  /** true when the last score reached the threshold (and was not suppressed) */
  readonly alarm: boolean;
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
  private mid = 0;
  // time-of-day profile
  private readonly sMean: Float64Array;
  private readonly sDev: Float64Array;
  private readonly sCount: Uint32Array;
  private readonly sDays: Uint32Array;
  private readonly sLastDay: Float64Array;
  // anomaly likelihood over raw scores
  private readonly ring: Float64Array;
  private ringSum = 0;
  private ringPos = 0;
  private rMean = 0;
  private rVar = 0;
  private zq = 3;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  private zAlarm = 0;
  private readonly knn: KnnCadModel | undefined;
  private knnQ = 3;
  alarm = false;
  /** the last point's uncalibrated ensemble z (read by the ensemble in ensemble.ts) */
  z = 0;
  /** the last point's calibrated z, before the tail score and the damping */
  zc = 0;

  constructor(opts: DetectorOptions) {
    this.o = { ...defaultDetectorOptions, ...opts };
    const b = Math.max(0, this.o.dailyBuckets | 0);
    this.sMean = new Float64Array(b);
    this.sDev = new Float64Array(b);
    this.sCount = new Uint32Array(b);
    this.sDays = new Uint32Array(b);
    this.sLastDay = new Float64Array(b).fill(Number.NaN);
    this.ring = new Float64Array(Math.max(1, this.o.likelihoodShort | 0));
    if (this.o.knn > 0) this.knn = new KnnCadModel({ lag: this.o.knnLag, train: this.o.knnTrain, calib: this.o.knnCalib, k: this.o.knnK, stride: this.o.knnStride });
  }

  update(timestamp: number, value: number): number {
    const o = this.o;
    const x = Number.isFinite(value) ? value : this.prev;
    const n = ++this.n;
    let raw = 0;
    let zAll = 0;
    if (n === 1) {
      this.mean = x;
      this.fast = x;
      this.mid = x;
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
      let mature = false;
      const nb = this.sMean.length;
      if (nb > 0 && Number.isFinite(timestamp)) {
        const k = Math.floor((((timestamp % DAY_MS) + DAY_MS) % DAY_MS) / (DAY_MS / nb));
        const c = this.sCount[k] as number;
        const sm = this.sMean[k] as number;
        const sd = (this.sDev[k] as number) + floor;
        const day = Math.floor(timestamp / DAY_MS);
        if (day !== this.sLastDay[k]) {
          this.sLastDay[k] = day;
          this.sDays[k] = (this.sDays[k] as number) + 1;
        }
        if (o.seasonDays > 0 ? (this.sDays[k] as number) > o.seasonDays : c >= 3) {
          zSeason = Math.abs(x - sm) / Math.max(sd, 0.25 * dev);
          mature = true;
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
      let zOther = Math.max(zLevel * o.wLevel, zDiff * o.wDiff, zFast * o.wFast);
      if (o.wShift > 0) {
        this.mid += o.shiftRate * (x - this.mid);
        const se = dev * Math.sqrt(o.shiftRate / (2 - o.shiftRate));
        zOther = Math.max(zOther, (o.wShift * Math.abs(this.mid - this.mean)) / se);
      }
      if (mature && o.seasonGate > 0) zOther = Math.min(zOther, o.seasonGate * Math.max(zSeason * o.wSeason, 1));
      const z = Math.max(zOther, zSeason * o.wSeason);
      zAll = z;
      raw = z <= o.rawLow ? 0 : z >= o.rawHigh ? 1 : (z - o.rawLow) / (o.rawHigh - o.rawLow);
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

    // anomaly likelihood: short mean of raw scores against their long-run mean and spread
    const len = this.ring.length;
    this.ringSum += raw - (this.ring[this.ringPos] as number);
    this.ring[this.ringPos] = raw;
    this.ringPos = (this.ringPos + 1) % len;
    const shortMean = this.ringSum / Math.min(n, len);
    const lr = n < 1 / o.likelihoodRate ? 1 / n : o.likelihoodRate;
    const sd = Math.sqrt(this.rVar) + 1e-4;
    const tail = normalTail((shortMean - this.rMean) / sd);
    const d = raw - this.rMean;
    this.rMean += lr * d;
    this.rVar += lr * (d * (raw - this.rMean) - this.rVar);

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
      zc = Math.max(zc, o.knn * zkc);
    }
    this.zc = zc;
    let score = n <= o.warmup ? 0 : scoreFromTail(o.likelihood ? tail : normalTail(zc));
    this.sinceAlarm++;
    if (this.sinceAlarm <= o.suppress && !(o.escape > 0 && zc > o.escape * this.zAlarm)) score *= o.suppressFactor;
    this.alarm = score >= o.threshold;
    if (this.alarm) {
      this.sinceAlarm = 0;
      this.zAlarm = zc;
    }
    return score;
  }
}

export function createDetector(opts: DetectorOptions = {}): AnomalyDetector {
  return new Detector(opts);
}

/** The default detector, also exposing its uncalibrated z per point (for use as an ensemble member). */
export function createZDetector(opts: DetectorOptions = {}): AnomalyDetector & { readonly z: number; readonly zc: number } {
  return new Detector(opts);
}
