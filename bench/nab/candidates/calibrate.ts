// Shared scoring stage for the alternative detectors (relative entropy, KNN conformal, truncated
// BOCPD) and their ensemble: each model emits a non-negative, z-like surprise per point; it is divided
// by a running estimate of its own high quantile (so "3" means "as unusual as this series usually gets
// at that quantile"), turned into a log-scaled Gaussian tail score, held at 0 during warm-up, and damped
// for a while after an alarm (one alarm per incident). Same stage as the default detector's, factored
// out so the candidates are compared on what they model, not on how they are scored.
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';
import { scoreFromTail, ANOMALY_THRESHOLD } from '../../../src/monitor/anomaly/detector.ts';
import { QuantileCalibrator } from '../../../src/monitor/anomaly/calibrate.ts';
import type { AnomalyDetector } from './experimental-detector.ts';

/** A streaming model: one surprise (>= 0, roughly a |z|) per point, using that point and earlier ones only. */
export interface SurpriseModel {
  surprise(timestamp: number, value: number): number;
}

export interface ScoringOptions {
  warmup?: number;
  /** quantile of past surprise used to calibrate (0 = off: surprise is used as a z directly) */
  calibQuantile?: number;
  suppress?: number;
  suppressFactor?: number;
  threshold?: number;
}

export const defaultScoringOptions: Required<ScoringOptions> = {
  warmup: 300,
  calibQuantile: 0.98,
  suppress: 200,
  suppressFactor: 0.1,
  threshold: ANOMALY_THRESHOLD,
};

/** The shipped detector's per-series calibration (src/monitor/anomaly/calibrate.ts), shared. */
export { QuantileCalibrator };

/** Warm-up, tail score and post-alarm damping over a calibrated z. */
export class AlarmStage {
  private readonly o: Required<ScoringOptions>;
  private n = 0;
  private sinceAlarm = Number.POSITIVE_INFINITY;
  alarm = false;
  constructor(opts: ScoringOptions = {}) {
    this.o = { ...defaultScoringOptions, ...opts };
  }
  score(zc: number): number {
    const o = this.o;
    const n = ++this.n;
    let s = n <= o.warmup || !(zc > 0) ? 0 : scoreFromTail(normalTail(zc));
    this.sinceAlarm++;
    if (this.sinceAlarm <= o.suppress) s *= o.suppressFactor;
    this.alarm = s >= o.threshold;
    if (this.alarm) this.sinceAlarm = 0;
    return s;
  }
}

/** Wraps one surprise model into an AnomalyDetector. */
export function calibratedDetector(model: SurpriseModel, opts: ScoringOptions = {}): AnomalyDetector {
  const cal = new QuantileCalibrator(opts.calibQuantile ?? defaultScoringOptions.calibQuantile);
  const stage = new AlarmStage(opts);
  return {
    update(t: number, v: number): number {
      return stage.score(cal.next(model.surprise(t, v)));
    },
    get alarm() {
      return stage.alarm;
    },
  };
}
