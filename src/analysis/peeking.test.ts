// Simulations of continuous monitoring: healthy canaries analysed every 250 ms must (almost) never fail,
// and bad ones must fail. Seeded, so every figure below is reproducible; fast (a few seconds in all).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareErrorRates } from './error-rate.ts';
import { compareLatency } from './latency.ts';
import { defaultAnalysisParams } from './params.ts';
import type { VersionSample } from './sample.ts';
import { SimulatedVersion, poisson, routerLikeBounds, seededRandom, type VersionBehaviour } from './simulation.ts';
import { analyse } from './verdict.ts';

const bounds = routerLikeBounds();
// Default confidence 0.99 over two metrics: each metric gets alpha = 0.005 for the whole monitoring.
const alpha = 0.005;
const Z99 = 2.3263;
const healthy: VersionBehaviour = { errorRate: 0.001, medianMs: 20, sigma: 0.6 };
// 10% of 500 req/s to the canary, looks every 250 ms: 12.5 canary and 112.5 stable requests per look.
const CANARY_PER_LOOK = 12.5;
const STABLE_PER_LOOK = 112.5;

/** The naive procedure the sequential one replaces: a fixed-sample two-proportion z-test at 99%, re-run at every look. */
function naiveProportionTest(canary: VersionSample, control: VersionSample): boolean {
  const pooled = (canary.errors + control.errors) / (canary.requests + control.requests);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.requests + 1 / control.requests));
  return se > 0 && (canary.errors / canary.requests - control.errors / control.requests) / se > Z99;
}

/** Naive Mann-Whitney U (Kayenta's test) on the binned latencies with the tie correction, one-sided at 99%, re-run at every look. */
function naiveMannWhitney(canary: number[], control: number[]): boolean {
  const n1 = canary.reduce((a, b) => a + b, 0);
  const n2 = control.reduce((a, b) => a + b, 0);
  if (n1 === 0 || n2 === 0) return false;
  let controlBelow = 0;
  let u = 0;
  let ties = 0;
  canary.forEach((c, i) => {
    const s = control[i] as number;
    u += c * (controlBelow + s / 2);
    controlBelow += s;
    ties += (c + s) ** 3 - (c + s);
  });
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  return (u - (n1 * n2) / 2) / Math.sqrt(variance) > Z99;
}

interface Outcome {
  sequential: number;
  naive: number;
}

function healthyRuns(runs: number, looks: number, behaviour: VersionBehaviour, metric: 'errors' | 'latency', seed: number): Outcome {
  const outcome = { sequential: 0, naive: 0 };
  for (let run = 0; run < runs; run++) {
    const random = seededRandom(seed + run);
    const canary = new SimulatedVersion(behaviour, random, bounds);
    const control = new SimulatedVersion(behaviour, random, bounds);
    let sequentialFailed = false;
    let naiveFailed = false;
    for (let look = 0; look < looks && !(sequentialFailed && naiveFailed); look++) {
      canary.serve(poisson(CANARY_PER_LOOK, random), metric === 'latency');
      control.serve(poisson(STABLE_PER_LOOK, random), metric === 'latency');
      if (canary.sample.requests === 0) continue;
      if (metric === 'errors') {
        sequentialFailed ||= compareErrorRates(canary.sample, control.sample, defaultAnalysisParams.errorRate, alpha).verdict === 'fail';
        naiveFailed ||= naiveProportionTest(canary.sample, control.sample);
      } else {
        sequentialFailed ||= compareLatency(canary.sample.latency, control.sample.latency, defaultAnalysisParams.latency, alpha).verdict === 'fail';
        naiveFailed ||= naiveMannWhitney(canary.sample.latency.counts, control.sample.latency.counts);
      }
    }
    if (sequentialFailed) outcome.sequential++;
    if (naiveFailed) outcome.naive++;
  }
  return outcome;
}

// Bound on false fails out of 200 runs: a procedure with a true rate <= 0.005 exceeds 6/200 with
// probability < 1e-4, so the assertion cannot flake for a correct procedure on any seed worth the name;
// the naive procedures land far above it.
const FALSE_FAIL_BOUND = 6;

describe('false fails of healthy canaries under continuous monitoring (200 runs x 240 looks = 1 min at 4 looks/s)', () => {
  it('error rate 0.1% in both: sequential 0/200; the naive z-test re-run at each look fails 39/200', (t) => {
    const outcome = healthyRuns(200, 240, healthy, 'errors', 7000);
    t.diagnostic(`sequential ${outcome.sequential}/200, naive ${outcome.naive}/200`);
    assert.ok(outcome.sequential <= FALSE_FAIL_BOUND, `sequential ${outcome.sequential}/200`);
    assert.ok(outcome.naive > FALSE_FAIL_BOUND * 2, `naive ${outcome.naive}/200`);
  });

  it('error rate 2% in both: sequential 0/200; naive 35/200', (t) => {
    const outcome = healthyRuns(200, 240, { ...healthy, errorRate: 0.02 }, 'errors', 8000);
    t.diagnostic(`sequential ${outcome.sequential}/200, naive ${outcome.naive}/200`);
    assert.ok(outcome.sequential <= FALSE_FAIL_BOUND, `sequential ${outcome.sequential}/200`);
    assert.ok(outcome.naive > FALSE_FAIL_BOUND * 2, `naive ${outcome.naive}/200`);
  });

  // 100 runs here to stay fast (latency draws dominate); 200 runs measured 0/200 sequential, 26/200 naive.
  // For 100 runs at a true rate <= 0.005, more than 4 false fails has probability < 2e-4.
  it('identical latency distributions, 100 runs: sequential 0/100; naive Mann-Whitney at 99% re-run at each look 11/100', (t) => {
    const outcome = healthyRuns(100, 240, healthy, 'latency', 7000);
    t.diagnostic(`sequential ${outcome.sequential}/100, naive ${outcome.naive}/100`);
    assert.ok(outcome.sequential <= 4, `sequential ${outcome.sequential}/100`);
    assert.ok(outcome.naive > 8, `naive ${outcome.naive}/100`);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('how fast bad canaries fail (figures printed, not asserted as wall-clock speed)', () => {
  it('100% errors vs 0.1% stable, canary at 10%: median 6, max 7 canary requests over 100 runs', (t) => {
    const requests: number[] = [];
    for (let run = 0; run < 100; run++) {
      const random = seededRandom(9000 + run);
      const canary = new SimulatedVersion({ ...healthy, errorRate: 1 }, random, bounds);
      const control = new SimulatedVersion(healthy, random, bounds);
      while (canary.sample.requests < 48) {
        canary.serve(1, false);
        control.serve(9, false);
        if (compareErrorRates(canary.sample, control.sample, defaultAnalysisParams.errorRate, alpha).verdict === 'fail') break;
      }
      requests.push(canary.sample.requests);
    }
    t.diagnostic(`canary requests to fail: median ${median(requests)}, max ${Math.max(...requests)}`);
    assert.ok(Math.max(...requests) < 48, 'an all-500 canary must fail within its first few dozen requests');
  });

  it('5% errors vs 0.1% stable at 50 canary req/s: median 5.5 s (~280 requests), max 11.5 s over 100 runs', (t) => {
    const seconds: number[] = [];
    const requests: number[] = [];
    for (let run = 0; run < 100; run++) {
      const random = seededRandom(9500 + run);
      const canary = new SimulatedVersion({ ...healthy, errorRate: 0.05 }, random, bounds);
      const control = new SimulatedVersion(healthy, random, bounds);
      let look = 0;
      for (; look < 120; look++) {
        canary.serve(poisson(CANARY_PER_LOOK, random), false);
        control.serve(poisson(STABLE_PER_LOOK, random), false);
        if (canary.sample.requests > 0 && compareErrorRates(canary.sample, control.sample, defaultAnalysisParams.errorRate, alpha).verdict === 'fail') break;
      }
      seconds.push((look + 1) / 4);
      requests.push(canary.sample.requests);
    }
    t.diagnostic(`seconds to fail: median ${median(seconds)}, max ${Math.max(...seconds)}; canary requests: median ${median(requests)}`);
    assert.ok(Math.max(...seconds) <= 30, 'a 5% canary must fail within 30 s of simulated traffic');
  });

  it('latency x2 at 50 canary req/s: median 2.5 s (~125 requests), max 4 s over 50 runs; full analyse()', (t) => {
    const seconds: number[] = [];
    for (let run = 0; run < 50; run++) {
      const random = seededRandom(9800 + run);
      const canary = new SimulatedVersion({ ...healthy, medianMs: 40 }, random, bounds);
      const control = new SimulatedVersion(healthy, random, bounds);
      let look = 0;
      for (; look < 240; look++) {
        canary.serve(poisson(CANARY_PER_LOOK, random));
        control.serve(poisson(STABLE_PER_LOOK, random));
        if (canary.sample.requests > 0 && analyse(canary.sample, control.sample, defaultAnalysisParams).verdict === 'fail') break;
      }
      seconds.push((look + 1) / 4);
    }
    t.diagnostic(`seconds to fail: median ${median(seconds)}, max ${Math.max(...seconds)}`);
    assert.ok(Math.max(...seconds) <= 60, 'a canary twice as slow must fail within 60 s of simulated traffic');
  });
});
