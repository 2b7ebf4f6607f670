// Reference detectors whose NAB figures are known or can be reasoned about, used to check the scorer.
import { normalTail } from '../../src/monitor/anomaly/gaussian.ts';

/** NAB's windowedGaussian detector: mean/std of up to 6400 past values, refreshed every 100 rows. */
export function windowedGaussian(values: ArrayLike<number>): Float64Array {
  const windowSize = 6400;
  const stepSize = 100;
  let window: number[] = [];
  let step: number[] = [];
  let mean = 0;
  let std = 1;
  const refresh = () => {
    let s = 0;
    for (const v of window) s += v;
    mean = s / window.length;
    let q = 0;
    for (const v of window) q += (v - mean) * (v - mean);
    std = Math.sqrt(q / window.length);
    if (std === 0) std = 0.000001;
  };
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    let score = 0;
    if (window.length > 0) {
      const xp = x < mean ? 2 * mean - x : x;
      score = 1 - normalTail((xp - mean) / std);
    }
    out[i] = score;
    if (window.length < windowSize) {
      window.push(x);
      refresh();
    } else {
      step.push(x);
      if (step.length === stepSize) {
        window = window.slice(stepSize).concat(step);
        step = [];
        refresh();
      }
    }
  }
  return out;
}

/** Deterministic uniform scores (mulberry32), standing in for NAB's random detector. */
export function randomScores(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** Fires once, at the first row of every window. */
export function perfectScores(timestamps: ArrayLike<number>, windows: ReadonlyArray<readonly [number, number]>): Float64Array {
  const out = new Float64Array(timestamps.length);
  for (const [a] of windows) {
    for (let i = 0; i < timestamps.length; i++) {
      if ((timestamps[i] as number) >= a) {
        out[i] = 1;
        break;
      }
    }
  }
  return out;
}
