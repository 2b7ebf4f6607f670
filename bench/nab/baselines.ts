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

/**
 * NAB's random detector exactly: `random.seed(42)` in initialize() (called once per file), then
 * `random.uniform(0, 1)` per row, so every file gets the same Mersenne Twister sequence (row i has the
 * same score in every file) rather than independent uniform scores.
 */
export function nabRandomScores(n: number): Float64Array {
  const mt = new Uint32Array(624);
  let idx = 624;
  // CPython random.seed(42): init_by_array([42])
  mt[0] = 19650218;
  for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, (mt[i - 1]! ^ (mt[i - 1]! >>> 30)) >>> 0) + i) >>> 0;
  const key = [42];
  let i = 1;
  let j = 0;
  for (let k = 624; k > 0; k--) {
    mt[i] = ((mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1664525)) + key[j]! + j) >>> 0;
    i++;
    j++;
    if (i >= 624) {
      mt[0] = mt[623]!;
      i = 1;
    }
    if (j >= key.length) j = 0;
  }
  for (let k = 623; k > 0; k--) {
    mt[i] = ((mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1566083941)) - i) >>> 0;
    i++;
    if (i >= 624) {
      mt[0] = mt[623]!;
      i = 1;
    }
  }
  mt[0] = 0x80000000;
  const next = (): number => {
    if (idx >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      idx = 0;
    }
    let y = mt[idx++]!;
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    return (y ^ (y >>> 18)) >>> 0;
  };
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const a = next() >>> 5;
    const b = next() >>> 6;
    out[r] = (a * 67108864 + b) / 9007199254740992;
  }
  return out;
}
