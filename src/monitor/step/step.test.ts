import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepDetector } from './step.ts';

/** deterministic noise in [-0.5, 0.5) */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

test('a 16x latency step is flagged three points (15 s) after it, from a 1-minute-old baseline', () => {
  const d = new StepDetector('latency');
  const rnd = noise(1);
  let flagged: number | undefined;
  for (let i = 0; i < 40 && flagged === undefined; i++) {
    const at = i * 5_000;
    const p99 = (i >= 12 ? 32 : 2) * (1 + 0.3 * rnd());
    const s = d.observe(at, p99);
    if (s) {
      flagged = at;
      assert.ok(s.ratio > 10 && s.ratio < 25, `ratio ${s.ratio}`);
      assert.equal(s.since, 12 * 5_000);
      assert.ok(Math.abs(s.baseline - 2) < 0.5, `baseline ${s.baseline}`);
    }
  }
  assert.equal(flagged, 14 * 5_000);
});

test('a noisy latency (p99 jumping by 2x at random) raises nothing over a day; a 2x step is not a 3x step', () => {
  const d = new StepDetector('latency');
  const rnd = noise(2);
  for (let i = 0; i < 17_280; i++) assert.equal(d.observe(i * 5_000, 20 * Math.exp(0.7 * rnd())), undefined, `point ${i}`);
  for (let i = 17_280; i < 17_400; i++) assert.equal(d.observe(i * 5_000, 40 * Math.exp(0.7 * rnd())), undefined);
});

test('error ratio: 0.1% to 2% at 100 req/s is flagged within 15 s; at 0.2 req/s it waits for enough requests', () => {
  const d = new StepDetector('error ratio');
  let flagged: number | undefined;
  for (let i = 0; i < 60 && flagged === undefined; i++) if (d.observe(i * 5_000, i >= 24 ? 0.02 : 0.001, 500)) flagged = i;
  assert.ok(flagged !== undefined && flagged >= 24 && flagged <= 26, `flagged at point ${flagged}`);
  const slow = new StepDetector('error ratio');
  let first: number | undefined;
  for (let i = 0; i < 400 && first === undefined; i++) if (slow.observe(i * 5_000, i >= 24 ? 0.02 : 0.001, 1)) first = i;
  // 3 points of 1 request hold 3 requests: under the 100 needed, so never from 3 points this thin
  assert.equal(first, undefined);
});

test('a steady error ratio at the floor, with Poisson noise, raises nothing', () => {
  const d = new StepDetector('error ratio');
  const rnd = noise(3);
  for (let i = 0; i < 5_000; i++) {
    const errors = Math.max(0, Math.round(0.5 + 2 * rnd()));
    assert.equal(d.observe(i * 5_000, errors / 500, 500), undefined, `point ${i}`);
  }
});
