// How a version of a router table is named on the dashboard (web/panels/environments.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionRole } from './format.js';

test('after a promotion the previous stable at weight 0 is not called the canary; the release being deployed is', () => {
  // promoted 2.0.0: 1.0.0 stays in the table at weight 0 until its instances are gone
  assert.equal(versionRole('1.0.0', '2.0.0', 0, undefined), 'not serving');
  assert.equal(versionRole('2.0.0', '2.0.0', 100, undefined), 'stable');
  // during a rollout: the release is the canary, also when it was pulled back to 0 and not yet ended
  assert.equal(versionRole('2.0.0', '1.0.0', 10, '2.0.0'), 'canary');
  assert.equal(versionRole('2.0.0', '1.0.0', 0, '2.0.0'), 'canary');
  // a version taking traffic beside stable is a canary whoever started it
  assert.equal(versionRole('3.0.0', '1.0.0', 5, undefined), 'canary');
});
