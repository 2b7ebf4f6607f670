// Research variant of the streaming detector with every experimental option the NAB rounds tried (an
// HTM-style anomaly-likelihood stage, seasonal gate, shift test, escape, season days, faster learning
// while damped), kept so the sweeps in bench/nab/experiment.ts and the ensembles in ensemble.ts can be
// re-run. It composes the shipped detector's parts (src/monitor/anomaly/baseline.ts, seasonal.ts,
// calibrate.ts, knncad.ts) and adds only the experimental stages; with its defaults it scores exactly
// like the shipped detector (candidates.test.ts checks it point for point).
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { KnnCadModel } from '../../../src/monitor/anomaly/knncad.ts';
import { RobustBaseline } from '../../../src/monitor/anomaly/baseline.ts';
import { TimeOfDayProfile } from '../../../src/monitor/anomaly/seasonal.ts';
import { QuantileCalibrator } from '../../../src/monitor/anomaly/calibrate.ts';
import { scoreFromTail, ANOMALY_THRESHOLD, type AnomalyDetector as ShippedDetector } from '../../../src/monitor/anomaly/detector.ts';

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
  /** KNN member: excess beyond the calibration set against at least this multiple of the mean nonconformity */
  knnExcessFloor?: number;
  /** while damped after an alarm, the slow baseline learns at least this fast (0 = off): the new regime becomes the reference */
  alarmRate?: number;
  /** same for the time-of-day buckets */
  alarmSeasonRate?: number;
  /** while damped, a point whose calibrated z is at least holdZ keeps the damping on for holdPoints more points: the incident is still going on (0 = off) */
  holdZ?: number;
  holdPoints?: number;
}

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
  knnExcessFloor: 1,
  alarmRate: 0,
  alarmSeasonRate: 0,
  holdZ: 0,
  holdPoints: 50,
};

/** The shipped detector's contract without explain() (the research stages do not say why). */
export type AnomalyDetector = Pick<ShippedDetector, 'update' | 'alarm'>;

class Detector implements AnomalyDetector {
  private readonly o: Required<DetectorOptions>;
  private readonly base: RobustBaseline;
  private readonly season: TimeOfDayProfile;
  private readonly cal: QuantileCalibrator;
  private readonly knnCal: QuantileCalibrator;
  private readonly knn: KnnCadModel | undefined;
  private n = 0;
  private mid = 0;
  // distinct days seen per time-of-day slot (seasonDays)
  private readonly sDays: Uint32Array;
  private readonly sLastDay: Float64Array;
  // anomaly likelihood over raw scores
  private readonly ring: Float64Array;
  private ringSum = 0;
  private ringPos = 0;
  private rMean = 0;
  private rVar = 0;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  private zAlarm = 0;
  alarm = false;
  /** the last point's uncalibrated ensemble z (read by the ensemble in ensemble.ts) */
  z = 0;
  /** the last point's calibrated z, before the tail score and the damping */
  zc = 0;

  constructor(opts: DetectorOptions) {
    this.o = { ...defaultDetectorOptions, ...opts };
    this.base = new RobustBaseline(this.o.slowRate, this.o.fastRate);
    // with seasonDays the slot's maturity is decided here (days seen), so the profile scores every slot
    this.season = new TimeOfDayProfile(this.o.dailyBuckets, this.o.seasonalRate, this.o.seasonDays > 0 ? 0 : 3);
    this.cal = new QuantileCalibrator(this.o.calibQuantile);
    this.knnCal = new QuantileCalibrator(this.o.calibQuantile);
    const b = this.season.buckets;
    this.sDays = new Uint32Array(b);
    this.sLastDay = new Float64Array(b).fill(Number.NaN);
    this.ring = new Float64Array(Math.max(1, this.o.likelihoodShort | 0));
    if (this.o.knn > 0) this.knn = new KnnCadModel({ lag: this.o.knnLag, train: this.o.knnTrain, calib: this.o.knnCalib, k: this.o.knnK, stride: this.o.knnStride, excessFloor: this.o.knnExcessFloor });
  }

  update(timestamp: number, value: number): number {
    const o = this.o;
    const b = this.base;
    const x = Number.isFinite(value) ? value : b.prev;
    const n = ++this.n;
    const damped = this.sinceAlarm < o.suppress;
    let raw = 0;
    let zAll = 0;
    const r = b.read(x);
    if (!r) this.mid = x;
    else {
      const s = this.season.observe(timestamp, x, r.dev, b.dev, r.floor, damped ? Math.max(o.seasonalRate, o.alarmSeasonRate) : o.seasonalRate);
      let zSeason = 0;
      let mature = false;
      if (s) {
        mature = s.mature;
        if (o.seasonDays > 0) {
          const day = Math.floor(timestamp / 86_400_000);
          if (day !== this.sLastDay[s.slot]) {
            this.sLastDay[s.slot] = day;
            this.sDays[s.slot] = (this.sDays[s.slot] as number) + 1;
          }
          mature = (this.sDays[s.slot] as number) > o.seasonDays;
        }
        if (mature) zSeason = s.z;
      }
      let zOther = Math.max(r.zLevel * o.wLevel, r.zDiff * o.wDiff, r.zFast * o.wFast);
      if (o.wShift > 0) {
        this.mid += o.shiftRate * (x - this.mid);
        const se = r.dev * Math.sqrt(o.shiftRate / (2 - o.shiftRate));
        zOther = Math.max(zOther, (o.wShift * Math.abs(this.mid - b.mean)) / se);
      }
      if (mature && o.seasonGate > 0) zOther = Math.min(zOther, o.seasonGate * Math.max(zSeason * o.wSeason, 1));
      const z = Math.max(zOther, zSeason * o.wSeason);
      zAll = z;
      raw = z <= o.rawLow ? 0 : z >= o.rawHigh ? 1 : (z - o.rawLow) / (o.rawHigh - o.rawLow);
    }
    b.learn(x, damped ? o.alarmRate : 0);

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
    let zc = this.cal.next(zAll);
    if (this.knn) zc = Math.max(zc, o.knn * this.knnCal.next(this.knn.surprise(timestamp, x)));
    this.zc = zc;
    let score = n <= o.warmup ? 0 : scoreFromTail(o.likelihood ? tail : normalTail(zc));
    this.sinceAlarm++;
    if (o.holdZ > 0 && this.sinceAlarm <= o.suppress && zc >= o.holdZ) this.sinceAlarm = Math.min(this.sinceAlarm, o.suppress - o.holdPoints);
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
