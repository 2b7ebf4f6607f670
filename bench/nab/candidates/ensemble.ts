// Ensemble of surprise models: each member's surprise is calibrated against its own running high
// quantile (so members on different scales become comparable), the calibrated values are combined by
// max or mean, and the shared warm-up / tail score / post-alarm damping stage turns that into a score.
// Member 'level' is the first-round detector's (uncalibrated) ensemble z (its KNN member off unless asked).
import type { AnomalyDetector } from './experimental-detector.ts';
import { createZDetector, type DetectorOptions } from './experimental-detector.ts';
import { AlarmStage, QuantileCalibrator, defaultScoringOptions, type ScoringOptions, type SurpriseModel } from './calibrate.ts';
import { createRelEntropyModel, type RelEntropyOptions } from './relentropy.ts';
import { createKnnCadModel, type KnnCadOptions } from '../../../src/monitor/anomaly/knncad.ts';
import { createBocpdModel, type BocpdOptions } from './bocpd.ts';

export type MemberSpec =
  | { kind: 'level'; opts?: DetectorOptions; weight?: number }
  | { kind: 'relentropy'; opts?: RelEntropyOptions; weight?: number }
  | { kind: 'knncad'; opts?: KnnCadOptions; weight?: number }
  | { kind: 'bocpd'; opts?: BocpdOptions; weight?: number };

export interface EnsembleOptions extends ScoringOptions {
  members: MemberSpec[];
  combine?: 'max' | 'mean';
}

function makeModel(m: MemberSpec): SurpriseModel {
  switch (m.kind) {
    case 'level': {
      const d = createZDetector({ knn: 0, ...m.opts, warmup: 0, suppress: 0 });
      return { surprise: (t, v) => (d.update(t, v), d.z) };
    }
    case 'relentropy':
      return createRelEntropyModel(m.opts);
    case 'knncad':
      return createKnnCadModel(m.opts);
    case 'bocpd':
      return createBocpdModel(m.opts);
  }
}

export function createEnsemble(opts: EnsembleOptions): AnomalyDetector {
  const models = opts.members.map(makeModel);
  const weights = opts.members.map((m) => m.weight ?? 1);
  const q = opts.calibQuantile ?? defaultScoringOptions.calibQuantile;
  const cals = models.map(() => new QuantileCalibrator(q));
  const stage = new AlarmStage(opts);
  const mean = opts.combine === 'mean';
  return {
    update(t: number, v: number): number {
      let acc = 0;
      for (let i = 0; i < models.length; i++) {
        const zc = (weights[i] as number) * (cals[i] as QuantileCalibrator).next((models[i] as SurpriseModel).surprise(t, v));
        acc = mean ? acc + zc / models.length : Math.max(acc, zc);
      }
      return stage.score(acc);
    },
    get alarm() {
      return stage.alarm;
    },
  };
}
