import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnomalyWatcher } from './signals.ts';

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
