import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

test('parseDuration reads units and compounds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('3d'), 259_200_000);
  assert.equal(parseDuration('0'), 0);
});

test('parseDuration rejects what is not a duration', () => {
  for (const bad of ['', '10', 's', '2 s', '2sec', '-1s', '1m x']) assert.equal(parseDuration(bad), undefined, bad);
});

test('formatDuration is readable', () => {
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h');
});
