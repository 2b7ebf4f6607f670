import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareErrorRates, toleratedErrorRate } from './error-rate.ts';
import { defaultAnalysisParams } from './params.ts';

const params = defaultAnalysisParams.errorRate;
const alpha = 0.005;
const compare = (canary: [number, number], control: [number, number]) =>
  compareErrorRates({ errors: canary[0], requests: canary[1] }, { errors: control[0], requests: control[1] }, params, alpha);

describe('compareErrorRates', () => {
  it('fails a canary answering 500 to everything: 48/48 vs 3/2,910', () => {
    const result = compare([48, 48], [3, 2910]);
    assert.equal(result.verdict, 'fail');
    assert.ok((result.confidence ?? 0) > 0.999);
    assert.match(result.summary, /^canary 5xx 100% \(48\/48\) vs stable 0\.10% \(3\/2,910\); canary worse by more than \+0\.5 pp or x1\.5, significant at/);
  });

  it('fails an all-500 canary within a handful of requests, but not on one', () => {
    assert.equal(compare([1, 1], [0, 20]).verdict, 'inconclusive');
    assert.equal(compare([2, 2], [0, 20]).verdict, 'inconclusive');
    assert.equal(compare([8, 8], [0, 80]).verdict, 'fail');
  });

  it('fails 5% vs 0% with enough data and not with very little', () => {
    assert.equal(compare([1, 20], [0, 180]).verdict, 'inconclusive');
    assert.equal(compare([3, 60], [0, 540]).verdict, 'inconclusive');
    assert.equal(compare([25, 500], [0, 4500]).verdict, 'fail');
  });

  it('does not fail a canary worse than stable by less than the minimum effect', () => {
    // 0.3% vs 0.1%: x3 but only +0.2 pp, below the +0.5 pp that matters
    const result = compare([300, 100_000], [1000, 1_000_000]);
    assert.equal(result.verdict, 'pass');
  });

  it('passes identical rates once there is enough data, and not before', () => {
    assert.equal(compare([1, 1000], [10, 9000]).verdict, 'inconclusive');
    assert.equal(compare([10, 10_000], [90, 90_000]).verdict, 'pass');
    assert.match(compare([10, 10_000], [90, 90_000]).summary, /canary not worse by more than \+0\.5 pp or x1\.5, at >?99\.\d+% confidence/);
  });

  it('passes zero errors in both only after the minimum sample and enough requests', () => {
    assert.equal(compare([0, 50], [0, 450]).verdict, 'inconclusive');
    assert.match(compare([0, 50], [0, 450]).summary, /waiting for at least 100 canary requests/);
    assert.equal(compare([0, 5000], [0, 45_000]).verdict, 'pass');
  });

  it('is inconclusive, not pass, with zero canary traffic', () => {
    const result = compare([0, 0], [3, 2910]);
    assert.equal(result.verdict, 'inconclusive');
    assert.match(result.summary, /no canary requests yet/);
  });

  it('is an error, never a fail, when the stable served nothing to compare with', () => {
    const result = compare([48, 48], [0, 0]);
    assert.equal(result.verdict, 'error');
    assert.match(result.summary, /stable version has served no requests/);
  });

  it('does not blame the canary when stable fails every request too', () => {
    const result = compare([500, 500], [4500, 4500]);
    assert.equal(result.verdict, 'inconclusive');
    assert.match(result.summary, /stable version itself fails 100% of requests/);
  });

  it('still fails a canary far worse than a partly broken stable', () => {
    assert.equal(compare([500, 500], [900, 4500]).verdict, 'fail');
  });

  it('reports impossible counts as an error', () => {
    assert.equal(compare([5, 4], [0, 10]).verdict, 'error');
    assert.equal(compare([-1, 4], [0, 10]).verdict, 'error');
    assert.equal(compare([0.5, 4], [0, 10]).verdict, 'error');
  });

  it('tolerates the larger of the absolute and relative effects', () => {
    assert.equal(toleratedErrorRate(0, params), 0.005);
    assert.ok(Math.abs(toleratedErrorRate(0.02, params) - 0.03) < 1e-12);
    assert.equal(toleratedErrorRate(0.9, params), 1);
  });
});
