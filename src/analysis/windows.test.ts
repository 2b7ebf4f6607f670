import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareLatency } from './latency.ts';
import { defaultAnalysisParams } from './params.ts';
import type { LatencyHistogram } from './sample.ts';
import { SimulatedVersion, poisson, routerLikeBounds, seededRandom } from './simulation.ts';
import { LatencyWindows, mergeUnmatched, relativeDispersion } from './windows.ts';

const bounds = routerLikeBounds();
const params = defaultAnalysisParams.latency;
/** the latency metric's share of the default budget (confidence 0.99 over error rate and latency) */
const alpha = 0.005;

function draw(random: () => number, requests: number, medianMs: number, sigma = 0.3): number[] {
  const v = new SimulatedVersion({ errorRate: 0, medianMs, sigma }, random, bounds);
  v.serve(requests);
  return v.sample.latency.counts;
}

const add = (into: number[], counts: number[]) => counts.forEach((c, i) => (into[i]! += c));
const histogram = (counts: number[]): LatencyHistogram => ({ boundsMs: bounds, counts: [...counts] });

interface World {
  /** latency multiplier of the whole machine at time t (ms since the canary started): both versions */
  load?: (t: number) => number;
  /** the canary's own multiplier at time t: the release (or its process) */
  canary?: (t: number) => number;
}

/**
 * The bench's rollout: 1,000 req/s, canary at 1% / 5% / 25% for 2 s each, analysed every 100 ms
 * from cumulative counts as the canary loop does. Returns when each reading first failed the canary.
 */
function rollout(seed: number, world: World): { pooled: number | null; windows: number | null } {
  const random = seededRandom(seed);
  const canary = new Array<number>(bounds.length + 1).fill(0);
  const control = new Array<number>(bounds.length + 1).fill(0);
  const windows = new LatencyWindows();
  const first = { pooled: null as number | null, windows: null as number | null };
  for (let t = 100; t <= 6000; t += 100) {
    const weight = t <= 2000 ? 0.01 : t <= 4000 ? 0.05 : 0.25;
    const load = world.load?.(t) ?? 1;
    add(canary, draw(random, poisson(100 * weight, random), 12 * load * (world.canary?.(t) ?? 1)));
    add(control, draw(random, poisson(100 * (1 - weight), random), 12 * load));
    windows.record(t, histogram(canary), histogram(control));
    if (first.pooled === null && compareLatency(histogram(canary), histogram(control), params, alpha).verdict === 'fail') first.pooled = t;
    if (first.windows === null && compareLatency(histogram(canary), histogram(control), params, alpha, windows.matched()).verdict === 'fail') first.windows = t;
  }
  return first;
}

const seeds = Array.from({ length: 12 }, (_, i) => 100 + i);

describe('latency compared in matched time windows', () => {
  it('does not fail an identical canary whose requests came when the whole machine was slower', () => {
    // The machine slows x2.5 in the last step, where most canary requests are: pooled over the
    // rollout, the canary looks ~x1.8 slower at p50 (the false rollback of the loaded bench).
    const world: World = { load: (t) => (t > 4000 ? 2.5 : 1) };
    const results = seeds.map((s) => rollout(s, world));
    assert.ok(results.filter((r) => r.pooled !== null).length >= seeds.length / 2, `the confound is real: pooled fails most runs (${JSON.stringify(results)})`);
    assert.deepEqual(results.filter((r) => r.windows !== null), [], 'read at the same moments, the canary is not slower');
  });

  it('does not fail an identical canary on one burst of its own (its process stalled 300 ms at 25%)', () => {
    const world: World = { canary: (t) => (t > 4500 && t <= 4800 ? 4 : 1) };
    const results = seeds.map((s) => rollout(s, world));
    assert.ok(results.some((r) => r.pooled !== null), `pooled counts one burst as hundreds of independent slow requests (${JSON.stringify(results)})`);
    assert.deepEqual(results.filter((r) => r.windows !== null), []);
  });

  it('still fails a canary twice as slow at every moment by the end of the 5% step, with or without load', () => {
    for (const world of [{ canary: () => 2 }, { canary: () => 2, load: (t: number) => (t > 4000 ? 2.5 : 1) }] satisfies World[]) {
      for (const s of seeds) {
        const r = rollout(s, world);
        assert.ok(r.windows !== null && r.windows <= 4000, `seed ${s}: failed at ${r.windows} ms`);
      }
    }
  });

  it('fails a canary that stalls again and again (a release with pauses is worse, not noisy)', () => {
    const world: World = { canary: (t) => (Math.floor(t / 1000) % 2 === 1 ? 4 : 1) };
    for (const s of seeds) assert.notEqual(rollout(s, world).windows, null, `seed ${s}`);
  });
});

describe('LatencyWindows', () => {
  it('cuts cumulative counts into windows that add up to them, and merges pairwise beyond its cap', () => {
    const w = new LatencyWindows({ windowMs: 1000, maxWindows: 4 });
    const c = [0, 0, 0];
    const s = [0, 0, 0];
    for (let t = 0; t <= 9500; t += 250) {
      c[t % 3]! += 1;
      s[(t + 1) % 3]! += 2;
      w.record(t, { boundsMs: [1, 2], counts: [...c] }, { boundsMs: [1, 2], counts: [...s] });
    }
    const m = w.matched();
    assert.ok(m.canary.length <= 5 && m.canary.length >= 2, `${m.canary.length} windows`);
    assert.equal(m.canary.length, m.control.length);
    const sum = (ws: number[][]) => ws.reduce((a, x) => a.map((v, i) => v + x[i]!), [0, 0, 0]);
    assert.deepEqual(sum(m.canary), c);
    assert.deepEqual(sum(m.control), s);
  });

  it('merges a window without control requests into its neighbour', () => {
    const m = mergeUnmatched({ canary: [[1, 0], [2, 0], [0, 3]], control: [[0, 0], [5, 0], [0, 0]] });
    assert.deepEqual(m, { canary: [[3, 3]], control: [[5, 0]] });
  });
});

describe('relativeDispersion', () => {
  const random = seededRandom(7);
  const binomial = (n: number, p: number) => Array.from({ length: n }, () => random() < p).filter(Boolean).length;
  const canaryN = Array.from({ length: 60 }, () => 20);
  const logit = (p: number) => Math.log(p / (1 - p));
  const logistic = (z: number) => 1 / (1 + Math.exp(-z));
  const controlN = Array.from({ length: 60 }, () => 200);

  it('is about 1 for independent requests, also when load moves both versions alike, and for a steady shift', () => {
    const load = canaryN.map((_, i) => 0.3 + 0.6 * ((i * 7) % 10) / 10);
    const cases = {
      same: relativeDispersion(canaryN.map((n) => binomial(n, 0.5)), canaryN, controlN.map((n) => binomial(n, 0.5)), controlN),
      load: relativeDispersion(canaryN.map((n, i) => binomial(n, load[i]!)), canaryN, controlN.map((n, i) => binomial(n, load[i]!)), controlN),
      // a steady regression: the canary's odds of being fast a third of the control's, at every load
      shift: relativeDispersion(canaryN.map((n, i) => binomial(n, logistic(logit(load[i]!) - 1.1))), canaryN, controlN.map((n, i) => binomial(n, load[i]!)), controlN),
    };
    for (const [name, phi] of Object.entries(cases)) assert.ok(phi >= 1 && phi < 1.8, `${name}: ${phi}`);
  });

  it('is large when the canary has bursts of its own', () => {
    const phi = relativeDispersion(canaryN.map((n, i) => (i % 10 === 0 ? 0 : binomial(n, 0.5))), canaryN, controlN.map((n) => binomial(n, 0.5)), controlN);
    assert.ok(phi > 3, `bursty: ${phi}`);
    assert.equal(relativeDispersion([3, 4], [10, 10], [50, 50], [100, 100]), 1, 'two windows say nothing about bursts');
  });
});
