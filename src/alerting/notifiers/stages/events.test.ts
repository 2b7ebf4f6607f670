import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../../clock/clock.ts';
import { MemoryEventLog } from '../../../events/memory-log.ts';
import { FakeNotifier } from '../fake/fake.ts';
import { HttpReceiver } from '../loopback-receivers.ts';
import { sampleNotification } from '../notifier.contract.ts';
import { pipeline } from './pipeline.ts';
import { buildNotifier, notifierSpecSchema } from '../registry.ts';

test('events: a delivery is recorded once as notification.sent on the incident, with its attempts', async () => {
  const clock = new ManualClock();
  const log = new MemoryEventLog(clock);
  const fake = new FakeNotifier({ name: 'oncall-pager', clock });
  fake.answer('retryable');
  const n = pipeline(fake, { clock, log, random: () => 0, retry: { attempts: 3 } });
  const p = n.send(sampleNotification());
  await clock.advance(0);
  assert.equal((await p).ok, true);
  await n.send(sampleNotification()); // a duplicate: suppressed, so nothing to record
  const events = await log.query();
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.type, 'notification.sent');
  assert.equal(e.subject, 'incident/inc-42');
  assert.equal(e.actor, 'notifier:oncall-pager');
  assert.deepEqual(e.data, {
    notifier: 'oncall-pager',
    kind: 'fake',
    notificationId: 'ntf-0001',
    dedupKey: 'production/web:HighErrorRate',
    action: 'trigger',
    severity: 'critical',
    attempts: 2,
    durationMs: 0,
    incidentId: 'inc-42',
    recipient: 'Ann Oncall',
    status: 200,
  });
});

test('events: a failure is recorded as notification.failed with the reason, on the alert when there is no incident', async () => {
  const clock = new ManualClock();
  const log = new MemoryEventLog(clock);
  const fake = new FakeNotifier({ clock });
  fake.answer('fatal');
  const { incidentId: _drop, ...noIncident } = sampleNotification();
  await pipeline(fake, { clock, log }).send(noIncident);
  const [e] = await log.query({ types: ['notification.*'] });
  assert.equal(e?.type, 'notification.failed');
  assert.equal(e?.subject, 'alert/production/web:HighErrorRate');
  assert.equal(e?.data.reason, 'fake receiver refused the notification (400)');
  assert.equal(e?.data.retryable, false);
  assert.equal(e?.data.status, 400);
  assert.equal(e?.data.attempts, 1);
  assert.equal('incidentId' in (e?.data ?? {}), false);
});

test('registry: buildNotifier turns a config spec into a full pipeline that records events', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 204, body: '' } });
  try {
    const log = new MemoryEventLog();
    const spec = notifierSpecSchema.parse({ kind: 'webhook', name: 'ops-hook', url: rx.url('/h'), timeout: '2s', retry: { attempts: 2, initial: '1ms', max: '2ms' } });
    assert.equal(spec.timeout, 2000);
    assert.deepEqual(spec.retry, { attempts: 2, initial: 1, max: 2 });
    rx.answer('retryable', 'retryable');
    const n = buildNotifier(spec, { clock: systemClock, log });
    assert.equal(n.kind, 'webhook');
    assert.equal(n.name, 'ops-hook');
    const r = await n.send(sampleNotification());
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 2);
    const [e] = await log.query();
    assert.equal(e?.type, 'notification.failed');
    assert.equal(e?.data.kind, 'webhook');
    assert.equal(e?.data.notifier, 'ops-hook');
    assert.equal(e?.data.status, 500);
    assert.match(String(e?.data.reason), /HTTP 500.*gave up after 2 attempts/);
  } finally {
    await rx.close();
  }
});

test('registry: defaults, unknown kinds, and a JSON Schema for editors', async () => {
  const spec = notifierSpecSchema.parse({ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/X' });
  assert.equal(spec.timeout, 10_000);
  assert.deepEqual(spec.retry, { attempts: 4, initial: 500, max: 30_000 });
  const bad = notifierSpecSchema.safeParse({ kind: 'carrier-pigeon' });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /webhook|slack|pagerduty|email|discriminator|kind/);
  const { z } = await import('zod');
  const schema = z.toJSONSchema(notifierSpecSchema, { io: 'input' }) as { oneOf?: unknown[]; anyOf?: unknown[] };
  assert.equal((schema.oneOf ?? schema.anyOf)?.length, 4);
});
