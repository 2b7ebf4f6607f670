// The dashboard's feed reads every event type of the catalogue: the compiler cannot see web/*.js,
// so this test is what fails when a new event type has no rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTypes } from '../src/events/catalogue/index.ts';
import { RENDER, describe } from './events.js';

test('the dashboard has a rendering for every event type of the catalogue, and none for types outside it', () => {
  const missing = eventTypes.filter((t) => typeof (RENDER as Record<string, unknown>)[t] !== 'function');
  assert.deepEqual(missing, [], `add these to RENDER in web/events.js: ${missing.join(', ')}`);
  const unknown = Object.keys(RENDER).filter((t) => !(eventTypes as readonly string[]).includes(t));
  assert.deepEqual(unknown, [], 'RENDER names types the catalogue does not have');
});

test('a feed line names what happened, and an unknown type still reads', () => {
  const line = describe({ type: 'rollout.weight.zero', actor: 'controller', subject: 'deployment/d1', data: { environment: 'production', reason: 'analysis failed' } });
  assert.equal(line, 'production: canary at weight 0: analysis failed');
  assert.equal(describe({ type: 'from.the.future', actor: 'x', subject: 's', data: { message: 'hello' } }), 'from.the.future: hello');
});
