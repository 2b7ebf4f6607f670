import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../clock/clock.ts';
import { MemoryEventLog } from '../../../events/memory-log.ts';
import { withDedup } from './dedup.ts';
import { withEvents } from './events.ts';
import { FakeNotifier } from '../fake/fake.ts';
import { sampleNotification } from '../notifier.contract.ts';

test('dedup: a trigger pages once per dedup key until it is resolved; then it may page again', async () => {
  const fake = new FakeNotifier();
  const n = withDedup(fake);
  const t = sampleNotification();
  const other = sampleNotification({ dedupKey: 'alert/staging/web/latency' });
  const results = [];
  for (const x of [t, t, other, { ...t, action: 'acknowledge' as const }, t, { ...t, action: 'acknowledge' as const }, { ...t, action: 'resolve' as const }, { ...t, action: 'resolve' as const }, t]) {
    results.push(await n.send(x));
  }
  assert.deepEqual(results.map((r) => r.deduplicated ?? false), [false, true, false, false, true, true, false, true, false]);
  assert.ok(results.every((r) => r.ok));
  assert.deepEqual(fake.delivered.map((d) => `${d.dedupKey}:${d.action}`), [
    `${t.dedupKey}:trigger`,
    `${other.dedupKey}:trigger`,
    `${t.dedupKey}:acknowledge`,
    `${t.dedupKey}:resolve`,
    `${t.dedupKey}:trigger`,
  ]);
  assert.deepEqual(n.sent().map((s) => s.action), ['trigger', 'trigger', 'acknowledge', 'resolve', 'trigger']);
  assert.equal(n.stateOf(t.dedupKey), 'triggered');
});

test('dedup: a failed trigger is not remembered, so the next attempt still pages', async () => {
  const fake = new FakeNotifier();
  fake.answer('fatal');
  const n = withDedup(fake);
  assert.equal((await n.send(sampleNotification())).ok, false);
  assert.equal(n.stateOf(sampleNotification().dedupKey), undefined);
  const again = await n.send(sampleNotification());
  assert.equal(again.ok, true);
  assert.equal(again.deduplicated, undefined);
  assert.equal(fake.delivered.length, 1);
});

test('dedup: concurrent triggers for one key deliver once, and a racing resolve goes out after the trigger', async () => {
  const clock = new ManualClock();
  const fake = new FakeNotifier({ clock });
  const n = withDedup(fake);
  const t = sampleNotification();
  const rs = await Promise.all([n.send(t), n.send(t), n.send({ ...t, action: 'resolve' }), n.send(t)]);
  assert.deepEqual(rs.map((r) => r.deduplicated ?? false), [false, true, false, false]);
  assert.deepEqual(fake.delivered.map((d) => d.action), ['trigger', 'resolve', 'trigger']);
});

test('dedup: a restarted controller restores what was sent from the event log and does not page again', async () => {
  const clock = new ManualClock();
  const log = new MemoryEventLog(clock);
  const before = new FakeNotifier({ name: 'oncall', clock });
  await withDedup(withEvents(before, { log })).send(sampleNotification());
  const resolvedKey = sampleNotification({ dedupKey: 'alert/old' });
  const first = withDedup(withEvents(before, { log }));
  await first.send(resolvedKey);
  await first.send({ ...resolvedKey, action: 'resolve' });

  const after = new FakeNotifier({ name: 'oncall', clock });
  const restarted = withDedup(withEvents(after, { log }));
  assert.equal(await restarted.restore(log), 3);
  assert.equal((await restarted.send(sampleNotification())).deduplicated, true);
  assert.equal((await restarted.send(resolvedKey)).ok, true);
  assert.deepEqual(after.delivered.map((d) => d.dedupKey), ['alert/old'], 'only the resolved alert may page again');

  const otherNotifier = withDedup(new FakeNotifier({ name: 'someone-else', clock }));
  assert.equal(await otherNotifier.restore(log), 0, 'each notifier restores only its own deliveries');
});
