import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../clock/clock.ts';
import { FakeNotifier } from '../fake/fake.ts';
import { sampleNotification } from '../notifier.contract.ts';
import type { DeliveryResult, Notifier } from '../notifier.ts';
import { withTimeout } from './timeout.ts';

test('timeout: an attempt that ignores its signal is still abandoned at the deadline', async () => {
  const clock = new ManualClock();
  let sawAbort = false;
  const deaf: Notifier = {
    kind: 'deaf',
    name: 'deaf',
    send: (_n, signal) => {
      signal?.addEventListener('abort', () => (sawAbort = true));
      return new Promise<DeliveryResult>(() => {});
    },
  };
  const p = withTimeout(deaf, { clock, timeoutMs: 3000 }).send(sampleNotification());
  await clock.advance(3000);
  const r = await p;
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.equal(r.durationMs, 3000);
  assert.equal(r.error, 'deaf notifier "deaf" timed out after 3000 ms: the receiver did not answer in time');
  assert.equal(sawAbort, true, 'the attempt was told to release what it holds');
});

test('timeout: a quick answer cancels the timer; an outer abort ends the attempt as not retryable', async () => {
  const clock = new ManualClock();
  const fake = new FakeNotifier({ clock });
  const n = withTimeout(fake, { clock, timeoutMs: 3000 });
  assert.equal((await n.send(sampleNotification())).ok, true);
  assert.equal(clock.pendingCount(), 0);
  fake.answer('hang');
  const ac = new AbortController();
  const p = n.send(sampleNotification(), ac.signal);
  ac.abort(new Error('controller stopping'));
  const r = await p;
  assert.equal(r.retryable, false);
  assert.equal(r.error, 'delivery aborted by the caller: controller stopping');
});
