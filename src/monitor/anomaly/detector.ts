// Streaming anomaly detector: causal (a score uses only earlier points and the current one), bounded
// memory per series (a few hundred numbers), O(1) work per point. An ensemble of robust surprise
// measures (level, first difference, fast mean against the slow baseline, time-of-day profile; all
// with winsorised exponentially weighted baselines so an anomaly does not become the new normal at
// once) is calibrated per series by a running high quantile of its own surprise, so one threshold means
// the same thing on every series; a detection then damps further alarms for a while, because one alarm
// per incident is what an operator (and NAB) wants. A second, different view gates the alarms: a
// contextual novelty (contextual.ts: a level or a transition between levels not seen before) must have
// happened within the last `contextGate` points, so a series no longer alarms on its own routine
// extremes at the rate its calibration implies (docs/anomaly.md, "Seventh round"). A shape word the
// series has never formed (shape.ts, SAX) opens the same gate, for anomalies that stay on known levels
// (docs/anomaly.md, "Ninth round"). A second, slower baseline catches slow drifts the first one
// follows, and a value held exactly for longer than ever (record.ts: a stalled writer, a stuck exporter)
// alarms on its own, since no value score sees a constant (docs/anomaly.md, "Eleventh round"). Research variants (an anomaly-likelihood stage,
// seasonal gate, shift test, escape, other models and ensembles) live in bench/nab/candidates/ and
// compose the same parts: baseline.ts, seasonal.ts, calibrate.ts, knncad.ts.
import { normalTail } from './gaussian.ts';
import { KnnCadModel } from './knncad.ts';
import { RobustBaseline } from './baseline.ts';
import { TimeOfDayProfile } from './seasonal.ts';
import { QuantileCalibrator } from './calibrate.ts';
import { ContextualNovelty } from './contextual.ts';
import { ShapeNovelty } from './shape.ts';
import { RecordRun, type HeldValue } from './record.ts';

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
  /** KNN member: beyond its calibration set, the excess is measured against at least this multiple of its long-run mean nonconformity (knncad.ts; 0 = off) */
  knnExcessFloor?: number;
  /** a score counts fully only within this many points after a contextual novelty (contextual.ts); 0 = no gate */
  contextGate?: number;
  /** share of a point's contextual facts not seen before that counts as a novelty */
  contextNovelty?: number;
  /** factor applied to scores outside the gate (they stay ranked, below the threshold) */
  contextGateFactor?: number;
  /** contextual member: points whose range places its levels */
  contextLearn?: number;
  /** contextual member: quantisation levels over that range, facts per point, table size (log2 cells) */
  contextBins?: number;
  contextOrder?: number;
  contextTableBits?: number;
  /** ninth round: a score also counts fully within this many points after a shape word (shape.ts: SAX of the
   *  last 64 points, 4 segments, 4 letters) the series has never formed; 0 = shape words open no gate.
   *  The gate exists when this or `contextGate` is above 0. */
  shapeGate?: number;
  /** eleventh round: EW rate of a second, slower baseline (0.0002: about 5,000 points of memory); its level and
   *  recent-mean z (weighted as wLevel and wFast) are calibrated on their own and max-combined (0 = off) */
  longBaselineRate?: number;
  /** eleventh round: a value held exactly for longer than ever alarms (record.ts). 'any': runs at the series'
   *  lowest value count too (a metric of unknown meaning, a stalled writer at 0); 'above floor': the lowest value
   *  is the healthy rest (an error ratio at 0), only runs above it count; 'off' */
  recordRun?: 'any' | 'above floor' | 'off';
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
  // sixth round (docs/anomaly.md): without it, a series coming back from a near-flat stretch looks
  // unboundedly new to the KNN member (its calibration set then holds only near-perfect matches)
  knnExcessFloor: 1,
  // seventh round (docs/anomaly.md): chosen on the even half of the NAB subset only
  contextGate: 50,
  contextNovelty: 0.5,
  contextGateFactor: 0.1,
  contextLearn: 300,
  contextBins: 6,
  contextOrder: 2,
  contextTableBits: 10,
  // ninth round (docs/anomaly.md): chosen on the even half of the NAB subset only
  shapeGate: 64,
  // eleventh round (docs/anomaly.md): chosen together on the even half of the NAB subset only
  longBaselineRate: 0.0002,
  recordRun: 'any',
};

/** the score of a point where a held value breaks the record: over the threshold, a warning (not a ticket) */
export const RECORD_RUN_SCORE = 0.5;

/** What the last point was compared with, in words a person can act on (see explain()). */
export type ExpectationBasis = 'level' | 'step' | 'recent mean' | 'time of day' | 'shape' | 'held value';

/** what opened the context gate: a level, a transition between levels (contextual.ts), or a shape (shape.ts) never seen */
export type NoveltyKind = 'new level' | 'new transition' | 'new shape';

export interface Explanation {
  /** the value this point was expected to have, on the basis named */
  expected: number;
  /** how far from it, in robust deviations (mean absolute deviations of that baseline); signed */
  deviations: number;
  basis: ExpectationBasis;
  /** calibrated z (as unusual as this series gets at its 98th percentile = 3) */
  calibratedZ: number;
  /** the contextual novelty that opened the context gate (detector step 7), when it is open: a level the
   *  series had not had before, or a change between levels it had not made before, so many points ago */
  novelty?: { kind: NoveltyKind; pointsAgo: number };
  /** basis 'held value': the value held exactly, for how many points (since when), and the longest earlier run */
  held?: HeldValue;
}

export interface AnomalyDetector {
  /** Feeds one point and returns its anomaly score in [0, 1]. */
  update(timestamp: number, value: number): number;
  /** true when the last score reached the threshold (and was not suppressed) */
  readonly alarm: boolean;
  /** what the last point was compared with and by how much it differed */
  explain(): Explanation;
}

/** log-scale the final tail probability so scores do not saturate at 1 before p ~ 1e-12 */
const LOG_SCALE = 12;

export function scoreFromTail(p: number): number {
  if (!(p > 0)) return 1;
  const s = -Math.log10(p) / LOG_SCALE;
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

class Detector implements AnomalyDetector {
  private readonly o: Required<DetectorOptions>;
  private readonly base: RobustBaseline;
  private readonly season: TimeOfDayProfile;
  private readonly cal: QuantileCalibrator;
  private readonly knn: KnnCadModel | undefined;
  private readonly knnCal: QuantileCalibrator;
  private readonly context: ContextualNovelty | undefined;
  private lastNovelAt = Number.NEGATIVE_INFINITY;
  private lastNovelKind: 'new level' | 'new transition' = 'new level';
  private readonly shape: ShapeNovelty | undefined;
  private lastShapeAt = Number.NEGATIVE_INFINITY;
  private readonly long: RobustBaseline | undefined;
  private readonly longCal: QuantileCalibrator;
  private readonly record: RecordRun | undefined;
  private n = 0;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  private why: Explanation = { expected: 0, deviations: 0, basis: 'level', calibratedZ: 0 };
  alarm = false;
  /** the last point's uncalibrated ensemble z (read by the ensembles in bench/nab/candidates) */
  z = 0;
  /** the last point's calibrated z, before the tail score and the damping */
  zc = 0;

  constructor(opts: DetectorOptions) {
    this.o = { ...defaultDetectorOptions, ...opts };
    this.base = new RobustBaseline(this.o.slowRate, this.o.fastRate);
    this.season = new TimeOfDayProfile(this.o.dailyBuckets, this.o.seasonalRate);
    this.cal = new QuantileCalibrator(this.o.calibQuantile);
    this.knnCal = new QuantileCalibrator(this.o.calibQuantile);
    if (this.o.knn > 0) this.knn = new KnnCadModel({ lag: this.o.knnLag, train: this.o.knnTrain, calib: this.o.knnCalib, k: this.o.knnK, stride: this.o.knnStride, excessFloor: this.o.knnExcessFloor });
    if (this.o.contextGate > 0) this.context = new ContextualNovelty({ learn: this.o.contextLearn, bins: this.o.contextBins, order: this.o.contextOrder, tableBits: this.o.contextTableBits });
    if (this.o.shapeGate > 0) this.shape = new ShapeNovelty();
    this.longCal = new QuantileCalibrator(this.o.calibQuantile);
    if (this.o.longBaselineRate > 0) this.long = new RobustBaseline(this.o.longBaselineRate, this.o.fastRate);
    if (this.o.recordRun !== 'off') this.record = new RecordRun({ floor: this.o.recordRun === 'any' });
  }

  /** Bytes held per series: the typed arrays plus the KNN member's rings (fields are a few hundred bytes). */
  get bytes(): number {
    // the second baseline and its calibrator are a dozen numbers more
    return this.season.bytes + (this.knn?.bytes ?? 0) + (this.context?.bytes ?? 0) + (this.shape?.bytes ?? 0) + (this.long ? 96 : 0) + (this.record?.bytes ?? 0) + 256;
  }

  explain(): Explanation {
    return { ...this.why };
  }

  update(timestamp: number, value: number): number {
    const o = this.o;
    const b = this.base;
    const x = Number.isFinite(value) ? value : b.prev;
    const n = ++this.n;
    let zAll = 0;
    let why: Explanation = { expected: x, deviations: 0, basis: 'level', calibratedZ: 0 };
    let levelWhy = why;
    const r = b.read(x);
    if (r) {
      const s = this.season.observe(timestamp, x, r.dev, b.dev, r.floor);
      // the component that decides the z is also the one the explanation names
      const parts: Array<[number, Explanation]> = [
        [r.zLevel * o.wLevel, { expected: b.mean, deviations: (x - b.mean) / r.dev, basis: 'level', calibratedZ: 0 }],
        [r.zDiff * o.wDiff, { expected: b.prev, deviations: (x - b.prev) / r.diffDev, basis: 'step', calibratedZ: 0 }],
        [r.zFast * o.wFast, { expected: b.mean, deviations: (b.fast - b.mean) / r.dev, basis: 'recent mean', calibratedZ: 0 }],
        [(s?.z ?? 0) * o.wSeason, { expected: s?.expected ?? 0, deviations: (x - (s?.expected ?? 0)) / (s?.scale ?? 1), basis: 'time of day', calibratedZ: 0 }],
      ];
      let best = parts[0] as [number, Explanation];
      levelWhy = best[1];
      for (const p of parts) if (p[0] > best[0]) best = p;
      zAll = best[0];
      why = best[1];
    }
    b.learn(x);

    this.z = zAll;
    let zc = this.cal.next(zAll);
    if (this.knn) {
      // second opinion on the shape of the recent lag window, calibrated on its own running quantile
      const zkc = this.knnCal.next(this.knn.surprise(timestamp, x));
      // a shape surprise has no single expected value: say so, with the value against the usual level
      if (o.knn * zkc > zc) why = { ...levelWhy, basis: 'shape' };
      zc = Math.max(zc, o.knn * zkc);
    }
    if (this.long) {
      // the same level and recent-mean measures against a baseline that forgets five times slower: a drift
      // the first baseline follows is still a deviation from this one
      const l = this.long;
      const lr = l.read(x);
      // the calibrator sees every point, the seeding first one as 0, like the first baseline's
      const zLevel = lr ? lr.zLevel * o.wLevel : 0;
      const zFast = lr ? lr.zFast * o.wFast : 0;
      const lz = this.longCal.next(Math.max(zLevel, zFast));
      if (lr && lz > zc) {
        why = zLevel >= zFast
          ? { expected: l.mean, deviations: (x - l.mean) / lr.dev, basis: 'level', calibratedZ: 0 }
          : { expected: l.mean, deviations: (l.fast - l.mean) / lr.dev, basis: 'recent mean', calibratedZ: 0 };
        zc = lz;
      }
      l.learn(x);
    }
    this.zc = zc;
    why.calibratedZ = zc;
    let score = n <= o.warmup ? 0 : scoreFromTail(normalTail(zc));
    // a value held longer than ever is its own evidence: it alarms without a gate (record.ts)
    const held = this.record?.step(timestamp, value) === true;
    if (held) {
      why = { expected: x, deviations: 0, basis: 'held value', calibratedZ: zc, held: this.record!.held! };
      score = Math.max(score, RECORD_RUN_SCORE);
    }
    this.why = why;
    if (this.context || this.shape) {
      // a value deviation alarms only near a new level, transition or shape: the two views must agree
      if (this.context && this.context.novelty(x) >= o.contextNovelty) {
        this.lastNovelAt = n;
        this.lastNovelKind = this.context.levelWasNew ? 'new level' : 'new transition';
      }
      if (this.shape && this.shape.isNew(x)) this.lastShapeAt = n;
      const byContext = this.context !== undefined && n - this.lastNovelAt <= o.contextGate;
      const byShape = this.shape !== undefined && n - this.lastShapeAt <= o.shapeGate;
      if (held) { /* its own evidence: no gate */ }
      else if (!byContext && !byShape) score *= o.contextGateFactor;
      // name the most recent novelty that holds the gate open
      else if (byContext && (!byShape || this.lastNovelAt >= this.lastShapeAt)) why.novelty = { kind: this.lastNovelKind, pointsAgo: n - this.lastNovelAt };
      else why.novelty = { kind: 'new shape', pointsAgo: n - this.lastShapeAt };
    }
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
