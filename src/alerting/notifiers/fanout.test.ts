import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { FakeNotifier } from './fake/fake.ts';
import { fanOut, FanOutNotifier } from './fanout.ts';
import { sampleNotification } from './notifier.contract.ts';
import type { DeliveryResult, Notifier } from './notifier.ts';
import { pipeline } from './stages/pipeline.ts';

const throwing: Notifier = {
  kind: 'broken',
  name: 'throws',
  send(): Promise<DeliveryResult> {
    throw new Error('bug in a notifier');
  },
};

const deaf: Notifier = {
  kind: 'broken',
  name: 'hangs-ignoring-abort',
  send: () => new Promise<DeliveryResult>(() => {}),
};

test('fan-out: one notifier throwing, failing or hanging never blocks or cancels the others', async () => {
  const clock = new ManualClock();
  const good = new FakeNotifier({ name: 'good', clock });
  const refusing = new FakeNotifier({ name: 'refusing', clock });
  refusing.answer('fatal');
  const seen: string[] = [];
  let done = false;
  const p = fanOut([deaf, throwing, refusing, good], sampleNotification(), {
    clock,
    deadlineMs: 5000,
    onResult: (o) => seen.push(`${o.name}:${o.result.ok}`),
  }).then((r) => ((done = true), r));
  await clock.advance(0);
  assert.equal(good.delivered.length, 1, 'the working notifier delivered without waiting for the others');
  assert.deepEqual(seen.sort(), ['good:true', 'refusing:false', 'throws:false']);
  assert.equal(done, false, 'the fan-out still waits for the hanging notifier, up to its deadline');
  await clock.advance(5000);
  const outcomes = await p;
  assert.deepEqual(outcomes.map((o) => o.name), ['hangs-ignoring-abort', 'throws', 'refusing', 'good']);
  assert.match(outcomes[0]!.result.error ?? '', /no result within the fan-out deadline of 5000 ms/);
  assert.match(outcomes[1]!.result.error ?? '', /notifier threw: bug in a notifier/);
  assert.equal(outcomes[3]!.result.ok, true);
});

test('fan-out: notifiers with their own timeout stage need no deadline; the FanOutNotifier sums it up', async () => {
  const clock = new ManualClock();
  const slowFake = new FakeNotifier({ name: 'slow', clock });
  slowFake.answer('hang');
  const slow = pipeline(slowFake, { clock, timeoutMs: 2000, retry: { attempts: 1 } });
  const fast = pipeline(new FakeNotifier({ name: 'fast', clock }), { clock, retry: { attempts: 1 } });
  const group = new FanOutNotifier('oncall-web', [slow, fast], { clock });
  const p = group.send(sampleNotification());
  await clock.advance(2000);
  const r = await p;
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.match(r.error ?? '', /^slow: fake notifier "slow" timed out after 2000 ms/);
  assert.equal(r.attempts, 2);
});
