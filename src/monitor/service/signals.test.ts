import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnomalyWatcher, TrendWatcher, anomalySentence } from './signals.ts';

const watcher = () =>
  new AnomalyWatcher({ cooldownMs: 60_000, maxSeries: 10, describe: (name) => ({ what: name, value: (v) => v.toFixed(1) }) });

test('live series: a step back is scored in arrival order, a repeat and a non-number are skipped; all counted with the first time', () => {
  const w = watcher();
  const t0 = Date.UTC(2024, 0, 1);
  let at = t0;
  for (let i = 0; i < 400; i++) {
    if (i === 200) at -= 55 * 60_000; // the clock of the source stepped back 55 minutes
    else if (i > 0) at += 5_000;
    w.observe('x', 'x', {}, at, 10 + Math.sin(i));
    if (i === 250) w.observe('x', 'x', {}, at, 10); // the same sample read twice
    if (i === 260) w.observe('x', 'x', {}, at + 1, Number.NaN);
  }
  const [irr] = w.irregularities();
  assert.equal(irr?.series, 'x');
  assert.equal(irr?.counts['step back']?.count, 1);
  assert.equal(irr?.counts['step back']?.first, t0 + 199 * 5_000 - 55 * 60_000);
  assert.equal(irr?.counts.duplicate?.count, 1);
  assert.equal(irr?.counts['not a number']?.count, 1);
  assert.match(irr!.warnings[0]!, /^x: 1 point steps back in time \(first: 2023-12-31T23:21:35\.000Z after 2024-01-01T00:16:35\.000Z\); scored in arrival order$/);
  // the series kept being watched after the step back: a spike is still found
  let opened = false;
  for (let i = 0; i < 5; i++) opened = w.observe('x', 'x', {}, (at += 5_000), 500) !== undefined || opened;
  assert.ok(opened, 'a spike after the irregularities still opens an anomaly');
});

test('a series that never had a number does not take a detector', () => {
  const w = watcher();
  assert.equal(w.observe('y', 'y', {}, 1, Number.NaN), undefined);
  assert.equal(w.size, 0);
});

test('an anomaly says what was expected, on which basis and by how much', () => {
  const ms = (v: number) => `${Math.round(v)} ms`;
  const s = anomalySentence({ what: 'p99 latency of web@2.0.0', value: ms }, 412, { expected: 120, deviations: 5.83, basis: 'time of day', calibratedZ: 4 }, 0.72, 0.3);
  assert.equal(s, 'p99 latency of web@2.0.0 is 412 ms, 5.8 robust deviations above the time-of-day expectation (30-minute slots) of 120 ms (anomaly score 0.72, threshold 0.3)');
  const down = anomalySentence({ what: 'request rate', value: (v) => `${v} req/s` }, 2, { expected: 50, deviations: -12, basis: 'level', calibratedZ: 5 }, 0.5, 0.3);
  assert.match(down, /^request rate is 2 req\/s, 12\.0 robust deviations below its usual level of 50 req\/s/);
  // what let the deviation alarm (the detector's context gate), in words
  const novel = anomalySentence({ what: 'p99 latency', value: ms }, 412, { expected: 120, deviations: 5.83, basis: 'level', calibratedZ: 4, novelty: { kind: 'new level', pointsAgo: 0 } }, 0.72, 0.3);
  assert.equal(novel, 'p99 latency is 412 ms, 5.8 robust deviations above its usual level of 120 ms; a level it has not had before (anomaly score 0.72, threshold 0.3)');
  const later = anomalySentence({ what: 'p99 latency', value: ms }, 412, { expected: 120, deviations: 5.83, basis: 'level', calibratedZ: 4, novelty: { kind: 'new transition', pointsAgo: 3 } }, 0.72, 0.3);
  assert.match(later, /120 ms; 3 samples after a change between levels it had not made before \(anomaly score/);
  const shaped = anomalySentence({ what: 'p99 latency', value: ms }, 412, { expected: 120, deviations: 5.83, basis: 'level', calibratedZ: 4, novelty: { kind: 'new shape', pointsAgo: 1 } }, 0.72, 0.3);
  assert.match(shaped, /120 ms; 1 sample after a pattern it had not shown before \(anomaly score/);
});

test('rate limited per series: a second episode within the notice interval is kept in status but not announced', () => {
  const w = new AnomalyWatcher({ cooldownMs: 60_000, maxSeries: 10, minNoticeIntervalMs: 30 * 60_000, describe: (name) => ({ what: name, value: (v) => v.toFixed(1) }) });
  let at = 0;
  const feed = (v: number) => w.observe('x', 'x', {}, (at += 5_000), v);
  const noise = (i: number) => 10 + Math.sin(i) * 0.5;
  for (let i = 0; i < 600; i++) feed(noise(i));
  let first: unknown;
  for (let i = 0; i < 3 && !first; i++) first = feed(200);
  assert.ok(first, 'first spike announced');
  for (let i = 0; i < 60; i++) feed(noise(i)); // 5 quiet minutes: the episode ends after its 1-minute cool-down
  assert.equal(w.active().length, 0);
  let second: unknown;
  for (let i = 0; i < 300 && !second && w.active().length === 0; i++) second = feed(i % 20 === 0 ? 400 : noise(i));
  assert.equal(second, undefined, 'not announced within 30 minutes of the first');
  assert.equal(w.rateLimited, 1);
  assert.equal(w.active()[0]?.rateLimited, true);
  assert.equal(w.announced().length, 0);
});

test('a leak that speeds up is announced again, with the updated forecast; a steady one once', () => {
  const w = new TrendWatcher({ horizonMs: 3600_000, windowMs: 1800_000, cooldownMs: 15 * 60_000 });
  const MiB = 2 ** 20;
  const spec = { limit: 2048 * MiB, subject: 'web-1', message: (p: { etaMs?: number }) => `eta ${Math.round((p.etaMs ?? 0) / 1000)} s` };
  const opened: Array<{ at: number; announcement: number; message: string }> = [];
  // 0.5 MiB/s from 200 MiB (limit in about an hour), then 4 MiB/s from minute 15
  for (let s = 0; s <= 20 * 60; s += 5) {
    const v = 200 + 0.5 * s + (s > 900 ? 3.5 * (s - 900) : 0) + ((s * 7919) % 3);
    const r = w.observe('memory/web-1', s * 1000, v * MiB, spec);
    if (r) opened.push({ at: s, announcement: r.announcement, message: r.message });
  }
  assert.equal(opened.length, 2, JSON.stringify(opened));
  assert.equal(opened[0]!.announcement, 1);
  assert.ok(opened[0]!.at < 900);
  assert.equal(opened[1]!.announcement, 2);
  assert.ok(opened[1]!.at > 900 && opened[1]!.at < 900 + 120, `re-announced at ${opened[1]!.at} s`);
  assert.match(opened[1]!.message, /sooner than announced/);
});

test('a value held longer than ever: the sentence says what was held, for how long against before, and what to check', () => {
  const ms = (v: number) => `${Math.round(v)} ms`;
  const held = { value: 120, samples: 40, record: 3, atFloor: false, since: 0, at: 39 * 5_000 };
  const s = anomalySentence({ what: 'p99 latency of web@2.0.0', value: ms }, 120, { expected: 120, deviations: 0, basis: 'held value', calibratedZ: 0.2, held }, 0.5, 0.3);
  assert.equal(s, 'p99 latency of web@2.0.0 has stayed at exactly 120 ms for 40 samples (about 3 minutes), longer than it has ever held a value (at most 3 samples before); a value that stops changing usually means its source stopped updating (a stuck exporter, a stalled writer): check that it still reports (anomaly score 0.50, threshold 0.3)');
  const floor = anomalySentence({ what: 'disk writes', value: (v) => `${v} B/s` }, 0, { expected: 0, deviations: 0, basis: 'held value', calibratedZ: 0, held: { ...held, value: 0, samples: 302, record: 262, atFloor: true, at: 301 * 300_000 } }, 0.5, 0.3);
  assert.match(floor, /^disk writes has stayed at exactly 0 B\/s for 302 samples \(about 25 hours\), longer than it has ever stayed at its lowest value \(at most 262 samples before\); /);
});

test('an error ratio that stays at 0 longer than ever is no anomaly when its floor is declared healthy; stuck above it, it is', () => {
  // errors in a short burst every 100 samples, then none for 1,000 samples (or stuck at 1%, where every burst begins)
  const errors = (i: number) => (i % 100 < 5 ? 0.01 + (i % 100) / 1000 : 0);
  const feed = (w: AnomalyWatcher, after: number) => {
    const messages: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const s = w.observe('e', 'error_ratio', {}, i * 5_000, i < 3000 ? errors(i) : after);
      if (s && i >= 3000) messages.push(s.message);
    }
    return messages;
  };
  const healthy = () => new AnomalyWatcher({ cooldownMs: 60_000, maxSeries: 10, detectorFor: () => ({ recordRun: 'above floor' }), describe: (name) => ({ what: name, value: (v) => `${(v * 100).toFixed(1)}%` }) });
  assert.deepEqual(feed(healthy(), 0), []);
  const [stuck] = feed(healthy(), 0.01);
  assert.match(stuck ?? '', /^error_ratio has stayed at exactly 1\.0% for 30 samples \(about 2 minutes\), longer than it has ever held a value/);
  // without the declaration the detector cannot tell a healthy rest at 0 from a stalled source at 0
  const [unknown] = feed(watcher(), 0);
  assert.match(unknown ?? '', /has stayed at exactly 0\.0 for \d+ samples .*longer than it has ever stayed at its lowest value/);
});
