// Candidate: per-series alarm-rate bar over the shipped detector's calibrated z: every alarm raises the
// bar this series must clear (a series that keeps alarming is noisy, not broken), and the bar relaxes
// back slowly.
import { createZDetector, scoreFromTail } from '../../../src/monitor/anomaly/detector.ts';
import type { AnomalyDetector } from './experimental-detector.ts';
import { normalTail } from '../../../src/monitor/anomaly/gaussian.ts';

export interface RecordOptions { raise?: number; relax?: number; warmup?: number; suppress?: number; threshold?: number; suppressFactor?: number }

export function createRecord(o: RecordOptions = {}): AnomalyDetector {
  const raise = o.raise ?? 1.15;
  const relax = o.relax ?? 1e-3;
  const warmup = o.warmup ?? 300;
  const suppress = o.suppress ?? 200;
  const threshold = o.threshold ?? 0.3;
  const sf = o.suppressFactor ?? 0.1;
  const d = createZDetector({ suppress: 0, warmup: 0, threshold: 2 });
  let n = 0;
  let bar = 1;
  let since = Infinity;
  const self = {
    alarm: false,
    update(t: number, v: number): number {
      d.update(t, v);
      n++;
      let s = n <= warmup ? 0 : scoreFromTail(normalTail(d.zc / bar));
      since++;
      if (since <= suppress) s *= sf;
      self.alarm = s >= threshold;
      if (self.alarm) { since = 0; bar *= raise; }
      bar = 1 + (bar - 1) * (1 - relax);
      return s;
    },
  };
  return self;
}
