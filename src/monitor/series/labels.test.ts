import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesLabels } from './labels.ts';

test('matchers: equal, not equal, regex, negated regex, missing label', () => {
  const l = { code: '503', method: 'GET' };
  assert.equal(matchesLabels(l, { code: '503' }), true);
  assert.equal(matchesLabels(l, { code: '=~5..' }), true);
  assert.equal(matchesLabels(l, { code: '=~5' }), false, 'anchored');
  assert.equal(matchesLabels(l, { code: '!~2..|3..' }), true);
  assert.equal(matchesLabels(l, { method: '!=GET' }), false);
  assert.equal(matchesLabels(l, { route: '' }), true);
  assert.equal(matchesLabels(l, { route: '!=' }), false);
  assert.equal(matchesLabels(l, undefined), true);
});
