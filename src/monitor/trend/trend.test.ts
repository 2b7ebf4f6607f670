import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTrendPredictor, formatBytes, humanDuration, trendMessage } from './trend.ts';

const MiB = 1024 * 1024;
const MIN = 60_000;

/** deterministic Gaussian-ish noise (sum of uniforms from a small LCG) */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      t += s / 4294967296 - 0.5;
    }
    return t;
  };
}

test('a memory leak with noise warns with the time left, close to the truth', () => {
  const p = createTrendPredictor({ limit: 512 * MiB, horizonMs: 30 * MIN, windowMs: 30 * MIN });
  const rnd = noise(1);
  const t0 = Date.UTC(2024, 0, 1);
  // 300 MiB growing 2 MiB/min, noise sd ~6 MiB, one point every 10 s for 30 minutes
  let last = 0;
  for (let i = 0; i <= 180; i++) {
    last = t0 + i * 10_000;
    p.add(last, 300 * MiB + 2 * MiB * (i / 6) + 20 * MiB * rnd());
  }
  const r = p.predict();
  // level ~360 MiB at 30 min, 152 MiB to go at 2 MiB/min: 76 min, beyond a 30-minute horizon
  assert.equal(r.warn, false);
  assert.ok(r.etaMs !== undefined && Math.abs(r.etaMs / MIN - 76) < 8, `eta ${r.etaMs! / MIN}`);
  // keep leaking for another 50 minutes: now about 26 minutes left
  for (let i = 181; i <= 480; i++) {
    last = t0 + i * 10_000;
    p.add(last, 300 * MiB + 2 * MiB * (i / 6) + 20 * MiB * rnd());
  }
  const w = p.predict();
  assert.equal(w.warn, true);
  assert.equal(w.status, 'approaching');
  assert.ok(Math.abs(w.etaMs! / MIN - 26) < 5, `eta ${w.etaMs! / MIN}`);
  assert.match(trendMessage(w, { metric: 'memory', subject: 'web@2.0.0 instance 2', limit: formatBytes(512 * MiB) }), /^memory of web@2\.0\.0 instance 2 reaches its 512 MiB limit in about 2\d minutes \(95%: 2\d minutes to 3\d minutes\)$/);
});

test('a seasonal flat series does not warn', () => {
  const p = createTrendPredictor({ limit: 100, horizonMs: 6 * 3600_000, windowMs: 48 * 3600_000 });
  const rnd = noise(2);
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 60 * 24 * 5; i += 5) {
    const t = t0 + i * MIN;
    // daily swing between 40 and 80 around 60 with noise, limit 100
    p.add(t, 60 + 20 * Math.sin((2 * Math.PI * i) / (24 * 60)) + 3 * rnd());
    if (i > 48 * 60 && i % 60 === 0) assert.equal(p.predict().warn, false, `warned at minute ${i}`);
  }
});

test('a single spike does not warn, and a flat noisy series is stable', () => {
  const p = createTrendPredictor({ limit: 90, horizonMs: 3600_000, windowMs: 3600_000 });
  const rnd = noise(3);
  const t0 = 0;
  for (let i = 0; i < 120; i++) p.add(t0 + i * 30_000, i === 100 ? 99 : 50 + 5 * rnd());
  const r = p.predict();
  assert.equal(r.warn, false);
  assert.equal(r.status, 'stable');
  assert.ok(Math.abs(r.level - 50) < 3);
});

test('already over the limit is reported as reached; a draining error budget warns downwards', () => {
  const p = createTrendPredictor({ limit: 100, horizonMs: MIN, windowMs: 10 * MIN });
  for (let i = 0; i < 20; i++) p.add(i * 10_000, 120);
  assert.equal(p.predict().status, 'reached');
  const budget = createTrendPredictor({ limit: 0, horizonMs: 4 * 3600_000, windowMs: 3600_000, direction: 'below' });
  // budget 0.5 draining 0.1 per hour: empty in ~5 hours, then 3 hours
  for (let i = 0; i <= 60; i++) budget.add(i * MIN, 0.5 - (0.1 * i) / 60);
  const b = budget.predict();
  assert.equal(b.warn, false);
  assert.ok(Math.abs(b.etaMs! / 3600_000 - 4) < 0.1);
  for (let i = 61; i <= 120; i++) budget.add(i * MIN, 0.5 - (0.1 * i) / 60);
  assert.equal(budget.predict().warn, true);
});

test('memory stays bounded whatever the sampling rate', () => {
  const p = createTrendPredictor({ limit: 1, horizonMs: 1, windowMs: 3600_000, maxPoints: 100 });
  for (let i = 0; i < 100_000; i++) p.add(i * 100, Math.random());
  assert.ok(p.size <= 100);
});

test('durations and sizes read naturally', () => {
  assert.equal(humanDuration(14 * MIN + 10_000), 'about 14 minutes');
  assert.equal(humanDuration(3 * 3600_000), 'about 3 hours');
  assert.equal(formatBytes(512 * MiB), '512 MiB');
});

/** resident memory sampled every 5 s: `shape(seconds)` in MiB, with ~1 MiB of noise */
function feed(p: ReturnType<typeof createTrendPredictor>, from: number, to: number, shape: (s: number) => number, seed: number, each?: (s: number) => void) {
  const rnd = noise(seed);
  for (let s = from; s <= to; s += 5) {
    p.add(s * 1000, (shape(s) + 2 * rnd()) * MiB);
    each?.(s);
  }
}

test('a process that warms up and levels off is never forecast to reach its limit', () => {
  // 60 -> 227 MiB over about 3 minutes (saturating), then flat, limit 768 MiB: the issue's false warning
  const warmup = (s: number) => 60 + 167 * (1 - Math.exp(-s / 50));
  const p = createTrendPredictor({ limit: 768 * MiB, horizonMs: 60 * MIN, windowMs: 60 * MIN });
  const warned: number[] = [];
  feed(p, 0, 20 * 60, warmup, 4, (s) => {
    if (p.predict().warn) warned.push(s);
  });
  assert.deepEqual(warned, []);
  assert.ok(['stable', 'levelling'].includes(p.predict().status), p.predict().status);
});

test('a leak that starts after the plateau is announced early with a forecast close to the truth, and follows an acceleration', () => {
  const warmup = (s: number) => 60 + 167 * (1 - Math.exp(-s / 50));
  const leakAt = 6 * 60;
  // 3 MiB/s from minute 6: the limit is (768 - 227) / 3 = 180 s after the leak starts
  const leak = (s: number) => warmup(s) + (s > leakAt ? 3 * (s - leakAt) : 0);
  const p = createTrendPredictor({ limit: 768 * MiB, horizonMs: 60 * MIN, windowMs: 60 * MIN });
  let firstWarn: { s: number; eta: number } | undefined;
  feed(p, 0, leakAt + 170, leak, 5, (s) => {
    const r = p.predict();
    if (r.warn && !firstWarn) firstWarn = { s, eta: r.etaMs! / 1000 };
  });
  assert.ok(firstWarn, 'the leak is announced');
  const truthLeft = leakAt + 180 - firstWarn.s;
  assert.ok(firstWarn.s - leakAt <= 0.4 * 180, `announced ${firstWarn.s - leakAt} s into a 180 s leak`);
  assert.ok(Math.abs(firstWarn.eta - truthLeft) <= 0.3 * truthLeft, `forecast ${firstWarn.eta} s, truth ${truthLeft} s`);

  // a slow leak that speeds up fivefold: the forecast follows the recent slope
  const q = createTrendPredictor({ limit: 1024 * MiB, horizonMs: 60 * MIN, windowMs: 30 * MIN });
  const accel = (s: number) => 200 + 0.1 * s + (s > 1200 ? 0.4 * (s - 1200) : 0);
  feed(q, 0, 1200, accel, 6);
  const before = q.predict();
  feed(q, 1205, 1320, accel, 7);
  const after = q.predict();
  assert.equal(after.basis, 'recent');
  const truth = (1024 - accel(1320)) / 0.5;
  assert.ok(Math.abs(after.etaMs! / 1000 - truth) < 0.3 * truth, `forecast ${after.etaMs! / 1000} s, truth ${truth} s (before: ${before.etaMs! / 1000} s)`);
  assert.ok(after.etaEarliestMs! <= after.etaMs! && after.etaMs! <= after.etaLatestMs!, 'the forecast states its range');
});
