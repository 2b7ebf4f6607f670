import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binomialConfidenceSequence } from './confidence-sequence.ts';
import { compareLatency, quantileInterval } from './latency.ts';
import { defaultAnalysisParams } from './params.ts';
import { normaliseHistogram, type LatencyHistogram, type NormalisedHistogram } from './sample.ts';
import { SimulatedVersion, routerLikeBounds, seededRandom } from './simulation.ts';

const params = defaultAnalysisParams.latency;
const alpha = 0.005;
const bounds = routerLikeBounds();

function histogram(seed: number, requests: number, medianMs: number, sigma = 0.6): LatencyHistogram {
  const version = new SimulatedVersion({ errorRate: 0, medianMs, sigma }, seededRandom(seed), bounds);
  version.serve(requests);
  return version.sample.latency;
}

describe('compareLatency', () => {
  it('fails a canary twice as slow on a minute of traffic at 50 req/s', () => {
    const result = compareLatency(histogram(1, 3000, 40), histogram(2, 27_000, 20), params, alpha);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /^canary p\d+ [\d.]+ ms vs stable [\d.]+ ms \(x(1\.9|2\.0|2\.1)\d\); canary slower by more than x1\.2 or \+5 ms, distributions differ at/);
  });

  it('does not fail a canary twice as slow on a few requests', () => {
    assert.equal(compareLatency(histogram(1, 5, 40), histogram(2, 45, 20), params, alpha).verdict, 'inconclusive');
  });

  it('fails a fattened tail even when the median is unchanged', () => {
    const canary = histogram(3, 20_000, 20, 1.2);
    const result = compareLatency(canary, histogram(4, 100_000, 20, 0.6), params, alpha);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /canary p99/);
  });

  it('passes identical distributions with enough data', () => {
    const result = compareLatency(histogram(5, 20_000, 20), histogram(6, 180_000, 20), params, alpha);
    assert.equal(result.verdict, 'pass');
    assert.equal(result.quantiles.length, 3);
    assert.match(result.summary, /canary p50 .* p90 .* p99 .*; canary not slower by more than x1\.2 or \+5 ms/);
  });

  it('does not fail a slowdown below the minimum effect (+3 ms on 20 ms)', () => {
    const result = compareLatency(histogram(7, 50_000, 23), histogram(8, 200_000, 20), params, alpha);
    assert.notEqual(result.verdict, 'fail');
  });

  it('is inconclusive without canary data and an error without stable data', () => {
    const empty = { boundsMs: bounds, counts: new Array<number>(bounds.length + 1).fill(0) };
    assert.equal(compareLatency(empty, histogram(9, 100, 20), params, alpha).verdict, 'inconclusive');
    const noControl = compareLatency(histogram(9, 100, 20), empty, params, alpha);
    assert.equal(noControl.verdict, 'error');
    assert.match(noControl.summary, /stable version has no latency measurements/);
  });

  it('reports malformed histograms as an error', () => {
    const good = histogram(10, 100, 20);
    assert.equal(compareLatency({ boundsMs: [10, 5], counts: [1, 1, 0] }, good, params, alpha).verdict, 'error');
    assert.equal(compareLatency({ boundsMs: [5, 10], counts: [1] }, good, params, alpha).verdict, 'error');
    assert.equal(compareLatency({ boundsMs: [5, 10], counts: [1, -1, 0] }, good, params, alpha).verdict, 'error');
  });

  it('accepts a trailing +Inf bound and a canary beyond the last finite bound', () => {
    const canary = { boundsMs: [10, 100, Infinity], counts: [0, 0, 500] };
    const control = { boundsMs: [10, 100, Infinity], counts: [4000, 500, 0] };
    const result = compareLatency(canary, control, params, alpha);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /beyond the last bucket/);
  });
});

describe('quantileInterval', () => {
  // Reference: scan every bound, no search shortcuts.
  function bruteForce(h: NormalisedHistogram, q: number, a: number) {
    const perBound = a / h.bounds.length;
    let running = 0;
    const cdf = h.counts.map((c) => (running += c) / h.total);
    const bands = h.counts.map((_, k) => binomialConfidenceSequence(Math.round((cdf[k] as number) * h.total), h.total, perBound));
    const read = (env: number[]) => {
      const k = env.findIndex((v) => v >= q);
      if (k < 0) return Infinity;
      const lowB = k > 0 ? (h.bounds[k - 1] as number) : 0;
      const lowC = k > 0 ? (env[k - 1] as number) : 0;
      const at = env[k] as number;
      return at <= lowC ? (h.bounds[k] as number) : lowB + (((h.bounds[k] as number) - lowB) * (q - lowC)) / (at - lowC);
    };
    const upper = read(bands.map((b) => b.lower));
    const lowerRead = read(bands.map((b) => b.upper));
    return { estimate: read(cdf), lower: lowerRead === Infinity ? (h.bounds.at(-1) as number) : lowerRead, upper };
  }

  it('matches a full scan of the bands for many histograms and quantiles', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 60; i++) {
      const h = normaliseHistogram('x', histogram(100 + i, 10 + Math.floor(random() * 5000), 5 + random() * 200, 0.2 + random()));
      assert.ok(typeof h !== 'string');
      for (const q of [0.5, 0.9, 0.99, 0.999]) {
        const fast = quantileInterval(h, q, 0.0025);
        const slow = bruteForce(h, q, 0.0025);
        for (const key of ['estimate', 'lower', 'upper'] as const) {
          const [a, b] = [fast[key], slow[key]];
          assert.ok(a === b || Math.abs(a - b) <= 1e-9 * Math.abs(b), `${key} ${a} vs ${b} (q=${q}, n=${h.total})`);
        }
      }
    }
  });
});
