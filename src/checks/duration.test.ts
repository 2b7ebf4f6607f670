import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationSchema, formatDuration, parseDuration } from './duration.ts';

test('parses the units config uses, alone and combined', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('0s'), 0);
});

test('refuses what is not a duration, saying how to write one', () => {
  for (const bad of ['', '5', 's', '2 s', '-1s', '2sec', '1m 30s']) {
    assert.throws(() => parseDuration(bad), /is not a duration.*"500ms"/, bad);
    assert.equal(durationSchema.safeParse(bad).success, false, bad);
  }
  assert.equal(durationSchema.safeParse('250ms').success, true);
});

test('formats milliseconds back in the unit a person would write', () => {
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(2000), '2s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1.5m');
});
