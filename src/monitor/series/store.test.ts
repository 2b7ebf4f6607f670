import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { SeriesStore, bucketQuantile, maxBytesPerSeries, defaultRetention, sumValues } from './store.ts';
import { seriesKey } from './labels.ts';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

test('series identity ignores label order', () => {
  assert.equal(seriesKey('x', { a: '1', b: '2' }), seriesKey('x', { b: '2', a: '1' }));
  const store = new SeriesStore({ clock: new ManualClock(0) });
  store.add('x', { a: '1', b: '2' }, 1, 1000);
  store.add('x', { b: '2', a: '1' }, 2, 2000);
  assert.equal(store.select('x').length, 1);
});

test('latest honours the staleness lookback and a past evaluation time', () => {
  const clock = new ManualClock(0);
  const store = new SeriesStore({ clock });
  store.add('g', { i: 'a' }, 5, 10 * S);
  store.add('g', { i: 'a' }, 7, 20 * S);
  assert.deepEqual(store.latest('g', {}, 15 * S).map((x) => x.value), [5]);
  assert.deepEqual(store.latest('g', {}, 20 * S + 4 * MIN).map((x) => x.value), [7]);
  assert.deepEqual(store.latest('g', {}, 20 * S + 5 * MIN + 1), []);
});

test('increase and rate handle counter resets exactly', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  // 0,10,20,30 then the process restarts: 5, 15
  const values = [0, 10, 20, 30, 5, 15];
  values.forEach((v, i) => store.add('c_total', {}, v, (i + 1) * 10 * S, 'counter'));
  const inc = store.increase('c_total', {}, { windowMs: 60 * S, at: 60 * S });
  // the window (0, 60s] holds every point and nothing before it, so the first point is the
  // baseline: 10 + 10 + 10 + 5 (after the reset) + 10 = 45
  assert.deepEqual(inc.map((x) => x.value), [45]);
  const rate = store.rate('c_total', {}, { windowMs: 60 * S, at: 60 * S });
  assert.equal(rate[0]!.value, 45 / 60);
  // window (25s, 55s]: baseline 20 at t=20s, then 30, 5, 15 -> 10 + 5 + 10
  assert.equal(store.increase('c_total', {}, { windowMs: 30 * S, at: 55 * S })[0]!.value, 25);
});

test('a single point and no baseline is no answer, as in PromQL', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  store.add('c_total', {}, 3, 1000);
  assert.deepEqual(store.increase('c_total', {}, { windowMs: MIN, at: 2000 }), []);
});

test('avg, max and min over a window', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  [1, 5, 3, 9, 2].forEach((v, i) => store.add('g', {}, v, (i + 1) * S));
  const q = { windowMs: 3 * S, at: 5 * S }; // points at 3,4,5 s
  assert.equal(store.avgOverTime('g', {}, q)[0]!.value, (3 + 9 + 2) / 3);
  assert.equal(store.maxOverTime('g', {}, q)[0]!.value, 9);
  assert.equal(store.minOverTime('g', {}, q)[0]!.value, 2);
});

test('out-of-order and duplicate points are ignored and counted', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  assert.equal(store.add('g', {}, 1, 2000), true);
  assert.equal(store.add('g', {}, 2, 2000), false);
  assert.equal(store.add('g', {}, 3, 1000), false);
  assert.equal(store.stats().outOfOrderSamples, 2);
});

test('long windows answer from rollups once raw points are gone, with bounded memory', () => {
  const clock = new ManualClock(0);
  const store = new SeriesStore({ clock });
  // a counter rising 1/s sampled every 15 s for 31 days, with a reset every 10 days
  let v = 0;
  const step = 15 * S;
  const end = 31 * DAY;
  for (let t = step; t <= end; t += step) {
    v = t % (10 * DAY) === 0 ? 0 : v + 15;
    store.add('req_total', {}, v, t, 'counter');
    store.add('temp', {}, (t / step) % 10, t, 'gauge');
  }
  const st = store.stats();
  assert.equal(st.series, 2);
  assert.ok(st.rawPoints <= 2 * (2 * HOUR / step + 1), `raw points bounded, got ${st.rawPoints}`);
  assert.ok(st.bytes <= 2 * maxBytesPerSeries(defaultRetention));
  // 6h is beyond raw retention (2h): answered from 1-minute buckets; the window is whole buckets
  // starting at or after its start plus the current partial one, so it is off by at most one bucket
  const sixH = store.increase('req_total', {}, { windowMs: 6 * HOUR, at: end })[0]!.value;
  assert.ok(Math.abs(sixH - 6 * 3600) <= 60, `6h increase ${sixH}`);
  // 3 days from 1-minute buckets; 30 days from 1-hour buckets (windows cover whole buckets)
  const threeD = store.increase('req_total', {}, { windowMs: 3 * DAY, at: end })[0]!.value;
  assert.ok(Math.abs(threeD - 3 * 86400) <= 15, `3d increase ${threeD}`);
  const thirtyD = store.increase('req_total', {}, { windowMs: 30 * DAY, at: end })[0]!.value;
  assert.ok(Math.abs(thirtyD - 30 * 86400) <= 3 * 15 + 3600, `30d increase ${thirtyD}`);
  assert.ok(Math.abs(store.avgOverTime('temp', {}, { windowMs: 3 * DAY, at: end })[0]!.value - 4.5) < 0.01);
  assert.equal(store.maxOverTime('temp', {}, { windowMs: 30 * DAY, at: end })[0]!.value, 9);
});

test('maxRawPoints caps a fast series', () => {
  const store = new SeriesStore({ clock: new ManualClock(0), retention: { maxRawPoints: 100 } });
  for (let i = 1; i <= 1000; i++) store.add('g', {}, i, i * 100);
  assert.equal(store.stats().rawPoints, 100);
  // 10 s window is within the raw ring: exact
  assert.equal(store.avgOverTime('g', {}, { windowMs: 5 * S, at: 100 * S })[0]!.value, (951 + 1000) / 2);
});

test('maxSeries refuses new series beyond the cap', () => {
  const store = new SeriesStore({ clock: new ManualClock(0), retention: { maxSeries: 2 } });
  store.add('g', { i: '1' }, 1, 1);
  store.add('g', { i: '2' }, 1, 1);
  assert.equal(store.add('g', { i: '3' }, 1, 1), false);
  assert.equal(store.add('g', { i: '1' }, 2, 2), true);
  assert.equal(store.stats().refusedSamples, 1);
});

test('prune drops series silent for longer than the longest retention', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  store.add('g', { i: '1' }, 1, 1000);
  store.add('g', { i: '2' }, 1, 40 * DAY);
  assert.equal(store.prune(40 * DAY), 1);
  assert.deepEqual(store.select('g').map((s) => s.labels.i), ['2']);
});

test('bucketQuantile matches Prometheus interpolation', () => {
  const b = [
    { le: 0.1, count: 50 },
    { le: 0.5, count: 90 },
    { le: 1, count: 100 },
    { le: Infinity, count: 100 },
  ];
  assert.equal(bucketQuantile(0.5, b), 0.1);
  assert.ok(Math.abs(bucketQuantile(0.7, b) - 0.3) < 1e-12);
  assert.ok(Math.abs(bucketQuantile(0.95, b) - 0.75) < 1e-12);
  assert.ok(Number.isNaN(bucketQuantile(0.5, [{ le: 1, count: 3 }])));
  // rank in the +Inf bucket answers the highest finite bound
  assert.equal(bucketQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }]), 1);
});

test('histogramQuantile over a window groups by labels without le', () => {
  const store = new SeriesStore({ clock: new ManualClock(0) });
  const les = ['0.1', '0.5', '1', '+Inf'];
  const at = (t: number, route: string, counts: number[]) =>
    les.forEach((le, i) => store.add('lat_seconds_bucket', { route, le }, counts[i]!, t, 'counter'));
  at(1000, '/a', [0, 0, 0, 0]);
  at(61_000, '/a', [50, 90, 100, 100]);
  at(1000, '/b', [0, 0, 0, 0]);
  at(61_000, '/b', [100, 100, 100, 100]);
  const q = store.histogramQuantile(0.95, 'lat_seconds', {}, { windowMs: MIN, at: 61_000 });
  const byRoute = Object.fromEntries(q.map((x) => [x.labels.route, x.value]));
  assert.ok(Math.abs(byRoute['/a']! - 0.75) < 1e-12);
  assert.ok(Math.abs(byRoute['/b']! - 0.095) < 1e-12);
  assert.equal(sumValues(store.latest('lat_seconds_bucket', { le: '+Inf' }, 61_000)), 200);
});
