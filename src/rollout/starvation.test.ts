import { test } from 'node:test';
import assert from 'node:assert/strict';
import { starvation } from './starvation.ts';

const base = { environment: 'production', service: 'web', weight: 5, minRequests: 20 };

test('production has traffic the canary does not get: it asks whether traffic reaches the canary, with the numbers', () => {
  const s = starvation({ ...base, canaryRequests: 0, heldMs: 120_000, productionRate: 200 }, true);
  assert.equal(s.cause, 'routing');
  assert.equal(s.message, 'canary 0 of 20 requests in 2 m at 5%; production serves 200 req/s, so 20 canary requests need about 2 s: is traffic reaching the canary? (clients without the identity the router assigns by, or a proxy in front that pins them)');
  assert.equal(s.expectedCanaryRequests, 1200);
  assert.deepEqual(s.actions, ['greenlight promote web', 'greenlight resume web', 'greenlight abort web']);
});

test('too little traffic overall: how long the missing requests need at this weight', () => {
  const s = starvation({ ...base, weight: 1, minRequests: 10, canaryRequests: 6, heldMs: 60_000, productionRate: 0.5 }, false);
  assert.equal(s.cause, 'traffic');
  assert.match(s.message, /^canary 6 of 10 requests in 60 s at 1%; production serves 0.50 req\/s, so the missing 4 canary requests need about 13 m at 1%: too little traffic to judge$/);
  assert.equal(s.needMs, 800_000);
  assert.deepEqual(s.actions, ['greenlight promote web', 'greenlight abort web'], 'resume only once paused');
});

test('no traffic at all: says to send some', () => {
  const s = starvation({ ...base, canaryRequests: 0, heldMs: 30_000, productionRate: 0 }, false);
  assert.equal(s.cause, 'traffic');
  assert.equal(s.needMs, null);
  assert.match(s.message, /production serves 0 req\/s: nothing to judge the canary on; send traffic to the service \(e\.g\. greenlight load <url>\)/);
});
