import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.ts';

test('ManualClock fires timers in time order and only when advanced past them', async () => {
  const clock = new ManualClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b'), 200);
  clock.setTimeout(() => fired.push('a'), 100);
  const c = clock.setTimeout(() => fired.push('cancelled'), 150);
  c.cancel();
  await clock.advance(99);
  assert.deepEqual(fired, []);
  await clock.advance(1);
  assert.deepEqual(fired, ['a']);
  await clock.advance(1000);
  assert.deepEqual(fired, ['a', 'b']);
  assert.equal(clock.now(), 1100);
});

test('ManualClock runs chained sleeps inside one advance', async () => {
  const clock = new ManualClock(0);
  const seen: number[] = [];
  const loop = (async () => {
    for (let i = 0; i < 3; i++) {
      await clock.sleep(10);
      seen.push(clock.now());
    }
  })();
  await clock.advance(30);
  await loop;
  assert.deepEqual(seen, [10, 20, 30]);
});

test('ManualClock sleep rejects when aborted', async () => {
  const clock = new ManualClock(0);
  const ac = new AbortController();
  const p = clock.sleep(100, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(p, /stop/);
  assert.equal(clock.pendingCount(), 0);
});
