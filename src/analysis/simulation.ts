// Deterministic traffic for the tests and benchmarks of the analysis: a seeded PRNG, per-version error and
// latency draws, and the cumulative samples the router would report at each look.
import type { VersionSample } from './sample.ts';

/** mulberry32: tiny, fast, good enough for simulations, and identical on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The router's buckets: 0.1 ms x 1.1^i up to 60 s (src/router/stats.ts), rebuilt here to keep the analysis independent. */
export function routerLikeBounds(): number[] {
  const bounds: number[] = [];
  for (let v = 0.1; v < 60_000; v *= 1.1) bounds.push(Number(v.toPrecision(6)));
  bounds.push(60_000);
  return bounds;
}

export interface VersionBehaviour {
  errorRate: number;
  /** latency ~ lognormal with this median (ms) and log-standard-deviation */
  medianMs: number;
  sigma: number;
}

export class SimulatedVersion {
  readonly sample: VersionSample;
  private readonly random: () => number;
  private readonly behaviour: VersionBehaviour;
  private readonly bounds: number[];

  constructor(behaviour: VersionBehaviour, random: () => number, bounds: number[]) {
    this.behaviour = behaviour;
    this.random = random;
    this.bounds = bounds;
    this.sample = { requests: 0, errors: 0, latency: { boundsMs: bounds, counts: new Array<number>(bounds.length + 1).fill(0) } };
  }

  private bucket(ms: number): number {
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ms <= (this.bounds[mid] as number)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Serve `requests` more requests. */
  serve(requests: number, withLatency = true): void {
    const { errorRate, medianMs, sigma } = this.behaviour;
    const counts = this.sample.latency.counts;
    for (let i = 0; i < requests; i++) {
      this.sample.requests++;
      if (this.random() < errorRate) this.sample.errors++;
      if (withLatency) {
        const u = 1 - this.random();
        const v = this.random();
        const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        const index = this.bucket(medianMs * Math.exp(sigma * normal));
        counts[index] = (counts[index] as number) + 1;
      }
    }
  }
}

/** Poisson arrivals per look, so the canary's share of traffic varies as it would with a weighted router. */
export function poisson(mean: number, random: () => number): number {
  const limit = Math.exp(-mean);
  if (mean > 30) {
    const u = 1 - random();
    const v = random();
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
  }
  let k = 0;
  let product = random();
  while (product > limit) {
    k++;
    product *= random();
  }
  return k;
}
