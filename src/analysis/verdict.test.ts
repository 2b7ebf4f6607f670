import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnalysisParams, analyse, combineVerdicts, defaultAnalysisParams, type VersionSample } from './verdict.ts';
import { SimulatedVersion, routerLikeBounds, seededRandom } from './simulation.ts';

const bounds = routerLikeBounds();

function version(seed: number, requests: number, errorRate: number, medianMs: number): VersionSample {
  const v = new SimulatedVersion({ errorRate, medianMs, sigma: 0.6 }, seededRandom(seed), bounds);
  v.serve(requests);
  return v.sample;
}

describe('combineVerdicts', () => {
  it('any fail, else any error, else all pass, else inconclusive', () => {
    assert.equal(combineVerdicts(['pass', 'error', 'fail']), 'fail');
    assert.equal(combineVerdicts(['pass', 'error', 'inconclusive']), 'error');
    assert.equal(combineVerdicts(['pass', 'pass']), 'pass');
    assert.equal(combineVerdicts(['pass', 'inconclusive']), 'inconclusive');
    assert.equal(combineVerdicts([]), 'inconclusive');
  });
});

describe('AnalysisParams', () => {
  it('fills every default from an empty object', () => {
    const p = AnalysisParams.parse({});
    assert.equal(p.confidence, 0.99);
    assert.equal(p.errorRate.minEffectAbsolute, 0.005);
    assert.equal(p.errorRate.minEffectRelative, 1.5);
    assert.deepEqual(p.latency.quantiles, [0.5, 0.9, 0.99]);
    assert.equal(p.latency.minEffectRatio, 1.2);
    assert.deepEqual(p.metrics, []);
    assert.deepEqual(defaultAnalysisParams, p);
  });

  it('keeps defaults beside the fields given and rejects unknown keys', () => {
    const p = AnalysisParams.parse({ latency: { minEffectMs: 10 } });
    assert.equal(p.latency.minEffectMs, 10);
    assert.equal(p.latency.minEffectRatio, 1.2);
    assert.equal(AnalysisParams.safeParse({ latency: { minEfectMs: 10 } }).success, false);
    assert.equal(AnalysisParams.safeParse({ confidence: 1 }).success, false);
  });
});

describe('analyse', () => {
  it('fails a canary answering 500 to everything, with the numbers in the sentence', () => {
    const canary = version(1, 48, 1, 20);
    const control = version(2, 2910, 0.001, 20);
    const result = analyse(canary, control, {});
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /^fail: errors: canary 5xx 100% \(48\/48\) vs stable/);
    assert.equal(result.metrics.length, 2);
    assert.ok(Math.abs(result.alphaPerMetric - 0.005) < 1e-12);
  });

  it('fails a canary twice as slow and names the quantile', () => {
    const result = analyse(version(3, 3000, 0.001, 40), version(4, 27_000, 0.001, 20), {});
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /latency: canary p\d+ .* ms vs stable .* ms \(x/);
  });

  it('passes a healthy canary once every metric has enough data', () => {
    const result = analyse(version(5, 20_000, 0.001, 20), version(6, 180_000, 0.001, 20), {});
    assert.equal(result.verdict, 'pass', result.summary);
  });

  it('is an error, not a fail, without stable data', () => {
    const empty: VersionSample = { requests: 0, errors: 0, latency: { boundsMs: bounds, counts: new Array<number>(bounds.length + 1).fill(0) } };
    const result = analyse(version(7, 100, 1, 20), empty, {});
    assert.equal(result.verdict, 'error');
  });

  it('is inconclusive with zero canary traffic', () => {
    const empty: VersionSample = { requests: 0, errors: 0, latency: { boundsMs: bounds, counts: new Array<number>(bounds.length + 1).fill(0) } };
    assert.equal(analyse(empty, version(8, 1000, 0.001, 20), {}).verdict, 'inconclusive');
  });

  it('reports invalid parameters as an error verdict instead of throwing', () => {
    const result = analyse(version(9, 10, 0, 20), version(10, 10, 0, 20), { confidence: 2 });
    assert.equal(result.verdict, 'error');
    assert.match(result.summary, /invalid analysis parameters \(confidence/);
  });

  it('splits the false-fail budget across the metrics configured', () => {
    const params = AnalysisParams.parse({ latency: { enabled: false }, metrics: [{ name: 'heap_mb', source: { kind: 'scrape', metric: 'heap_mb' } }] });
    const result = analyse(version(11, 10, 0, 20), version(12, 10, 0, 20), params);
    assert.equal(result.metrics.length, 2);
    assert.ok(Math.abs(result.alphaPerMetric - 0.005) < 1e-12);
  });
});

describe('extra numeric metrics', () => {
  const params = AnalysisParams.parse({ latency: { enabled: false }, metrics: [{ name: 'heap_mb', minEffectRatio: 1.2, source: { kind: 'scrape', metric: 'heap_mb' } }] });
  const readings = (seed: number, n: number, mean: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: n }, () => mean + (random() - 0.5) * 20);
  };
  const healthy = version(13, 5000, 0, 20);

  it('fails a canary using twice the memory', () => {
    const result = analyse({ ...healthy, metrics: { heap_mb: readings(1, 40, 400) } }, { ...healthy, metrics: { heap_mb: readings(2, 40, 200) } }, params);
    const metric = result.metrics.find((m) => m.metric === 'heap_mb');
    assert.equal(metric?.verdict, 'fail');
    assert.match(metric?.summary ?? '', /canary heap_mb 40\d vs stable 20\d .*; canary higher by more than 0 or x1\.2/);
  });

  it('passes the same memory, and a lower_is_worse metric that went up', () => {
    const same = analyse({ ...healthy, metrics: { heap_mb: readings(3, 200, 200) } }, { ...healthy, metrics: { heap_mb: readings(4, 200, 200) } }, params);
    assert.equal(same.metrics.find((m) => m.metric === 'heap_mb')?.verdict, 'pass');
    const hitRate = AnalysisParams.parse({ latency: { enabled: false }, metrics: [{ name: 'cache_hits', direction: 'lower_is_worse', source: { kind: 'scrape', metric: 'cache_hits' } }] });
    const up = analyse({ ...healthy, metrics: { cache_hits: readings(5, 40, 400) } }, { ...healthy, metrics: { cache_hits: readings(6, 40, 200) } }, hitRate);
    assert.equal(up.metrics.find((m) => m.metric === 'cache_hits')?.verdict, 'pass');
  });

  it('waits for readings and reports missing stable readings as an error', () => {
    const few = analyse({ ...healthy, metrics: { heap_mb: [1, 2] } }, { ...healthy, metrics: { heap_mb: readings(7, 40, 200) } }, params);
    assert.equal(few.metrics.find((m) => m.metric === 'heap_mb')?.verdict, 'inconclusive');
    const none = analyse({ ...healthy, metrics: { heap_mb: [1, 2] } }, healthy, params);
    assert.equal(none.metrics.find((m) => m.metric === 'heap_mb')?.verdict, 'error');
  });
});
