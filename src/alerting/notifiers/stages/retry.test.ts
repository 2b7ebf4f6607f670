import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../clock/clock.ts';
import { FakeNotifier } from '../fake/fake.ts';
import { sampleNotification } from '../notifier.contract.ts';
import type { DeliveryResult, Notification, Notifier } from '../notifier.ts';
import { backoffDelay, withRetry } from './retry.ts';

/** Records when each attempt happened, on the manual clock, and answers from a script. */
class TimedReceiver implements Notifier {
  readonly kind = 'timed';
  readonly name = 'timed';
  readonly times: number[] = [];
  private readonly clock: ManualClock;
  private readonly answers: DeliveryResult[];
  constructor(clock: ManualClock, answers: DeliveryResult[]) {
    this.clock = clock;
    this.answers = answers;
  }
  async send(_n: Notification): Promise<DeliveryResult> {
    this.times.push(this.clock.now());
    return this.answers.shift() ?? { ok: true, attempts: 1, durationMs: 0 };
  }
}

const busy: DeliveryResult = { ok: false, attempts: 1, retryable: true, status: 503, error: 'busy', durationMs: 0 };

test('retry: exponential back-off with full jitter, exact on a manual clock with a fixed random', async () => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const rx = new TimedReceiver(clock, [busy, busy, busy]);
  const delays: number[] = [];
  const n = withRetry(rx, { clock, random: () => 0.5, attempts: 5, initialMs: 100, maxMs: 250, onRetry: (i) => delays.push(i.delayMs) });
  let result: DeliveryResult | undefined;
  const p = n.send(sampleNotification()).then((r) => (result = r));
  await clock.advance(0);
  assert.deepEqual(rx.times, [t0]);
  await clock.advance(49);
  assert.equal(rx.times.length, 1, 'no retry before the first back-off is over');
  await clock.advance(1);
  assert.equal(rx.times.length, 2);
  await clock.advance(1000);
  await p;
  // caps 100, 200, 400->250; times 0.5 each
  assert.deepEqual(delays, [50, 100, 125]);
  assert.deepEqual(rx.times.map((t) => t - t0), [0, 50, 150, 275]);
  assert.equal(result?.ok, true);
  assert.equal(result?.attempts, 4);
  assert.equal(result?.durationMs, 275);
});

test('retry: backoffDelay covers the whole [0, cap) range and obeys Retry-After up to the ceiling', () => {
  const policy = { initialMs: 1000, maxMs: 8000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 0)), [0, 0, 0, 0, 0]);
  assert.deepEqual([1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 0.999)), [999, 1998, 3996, 7992, 7992]);
  assert.equal(backoffDelay(1, policy, () => 0.1, 5000), 5000);
  assert.equal(backoffDelay(1, policy, () => 0.1, 60_000), 8000);
});

test('retry: a final failure is not retried; exhausting the attempts says so', async () => {
  const clock = new ManualClock();
  const fatal = new FakeNotifier({ clock });
  fatal.answer('fatal');
  const r1 = await withRetry(fatal, { clock, random: () => 0 }).send(sampleNotification());
  assert.equal(r1.attempts, 1);
  assert.equal(fatal.attempts.length, 1);

  const flaky = new FakeNotifier({ clock });
  flaky.answer('retryable', 'retryable', 'retryable', 'retryable');
  const p = withRetry(flaky, { clock, random: () => 0, attempts: 3 }).send(sampleNotification());
  await clock.advance(0); // zero back-offs still go through the clock
  const r2 = await p;
  assert.equal(r2.ok, false);
  assert.equal(r2.attempts, 3);
  assert.equal(r2.retryable, true);
  assert.match(r2.error ?? '', /gave up after 3 attempts/);
});

test('retry: aborting during a back-off stops retrying at once', async () => {
  const clock = new ManualClock();
  const rx = new TimedReceiver(clock, [busy, busy]);
  const ac = new AbortController();
  const p = withRetry(rx, { clock, random: () => 0.5, initialMs: 10_000 }).send(sampleNotification(), ac.signal);
  await clock.advance(1000);
  ac.abort(new Error('shutdown'));
  const r = await p;
  assert.equal(r.ok, false);
  assert.equal(r.attempts, 1);
  assert.match(r.error ?? '', /aborted/);
  assert.equal(clock.pendingCount(), 0);
});
