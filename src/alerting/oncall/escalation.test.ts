import { test } from 'node:test';
import { queryType } from '../../events/log.ts';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { FakeNotifier } from '../notifiers/fake/fake.ts';
import type { Notification } from '../notifiers/notifier.ts';
import { EscalationEngine, type EscalationPolicy, type Person } from './escalation.ts';
import { buildSchedule } from './schedule.ts';

const M = 60_000;
const H = 60 * M;

function notification(over: Partial<Notification> = {}): Notification {
  return {
    id: 'n1',
    dedupKey: 'a1b2c3d4e5f60718',
    action: 'trigger',
    severity: 'critical',
    summary: 'web: 100% of requests fail',
    source: 'production/web',
    labels: { alertname: 'Down', service: 'web' },
    startsAt: 0,
    ...over,
  };
}

function setup(opts: { policy?: Partial<EscalationPolicy>; people?: Map<string, Person>; links?: boolean } = {}) {
  // Monday 2 March 2026, 10:00 UTC: alice is on call in "primary"
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 10));
  const log = new MemoryEventLog(clock);
  const fake = new FakeNotifier({ name: 'pager', clock });
  const schedules = new Map([
    ['primary', buildSchedule('primary', { time_zone: 'UTC', layers: [{ users: ['alice', 'bob'], length: 7 * 24 * H, handoff: '09:00', start: '2026-03-02' }] })],
    ['empty', buildSchedule('empty', { time_zone: 'UTC', layers: [{ users: ['zed'], length: 24 * H, handoff: '09:00', start: '2030-01-01' }] })],
  ]);
  const policy: EscalationPolicy = {
    name: 'web',
    levels: [
      { targets: [{ schedule: 'primary' }], ackTimeoutMs: 5 * M },
      { targets: [{ user: 'carol' }, { schedule: 'primary' }], ackTimeoutMs: 10 * M },
    ],
    repeat: 1,
    ...opts.policy,
  };
  const errors: unknown[] = [];
  const engine = new EscalationEngine({
    clock,
    log,
    policies: new Map([[policy.name, policy]]),
    schedules,
    people: opts.people ?? new Map([['carol', { name: 'Carol Second', email: 'carol@example.com' }]]),
    ...(opts.links ? { links: { baseUrl: 'https://gl.example.com/api/alerting', secret: 's3cret' } } : {}),
    onError: (e) => errors.push(e),
  });
  const recipients = () => fake.delivered.filter((n) => n.action === 'trigger').map((n) => n.recipient?.name);
  const types = async () => (await log.query({ types: ['page.*'] })).map((e) => e.type);
  return { clock, log, fake, engine, recipients, types, errors };
}

test('an unacknowledged page escalates through two levels on their timeouts, then repeats the policy once', async () => {
  const { clock, engine, fake, recipients, types, log, errors } = setup();
  const t0 = clock.now();
  const page = await engine.trigger({ key: 'team:g1', policy: 'web', notification: notification(), notifiers: [fake] });
  assert.deepEqual(recipients(), ['alice']);
  await clock.advance(5 * M - 1);
  assert.deepEqual(recipients(), ['alice'], 'level 1 has 5 minutes');
  await clock.advance(1);
  assert.deepEqual(recipients(), ['alice', 'Carol Second', 'alice'], 'level 2: carol and the on-call (alice) again');
  assert.equal(fake.delivered[1]!.recipient!.email, 'carol@example.com');
  await clock.advance(10 * M);
  assert.equal(recipients().length, 4, 'round 2 starts at level 1');
  await clock.advance(5 * M);
  assert.equal(recipients().length, 6);
  await clock.advance(10 * M);
  assert.equal(engine.get(page.id)!.exhausted, true);
  await clock.advance(H);
  assert.equal(recipients().length, 6, 'no more pages after repeat is used up');
  assert.deepEqual(await types(), ['page.triggered', 'page.sent', 'page.escalated', 'page.sent', 'page.escalated', 'page.sent', 'page.escalated', 'page.sent', 'page.exhausted']);
  const escalations = await queryType(log, 'page.escalated');
  assert.deepEqual(escalations.map((e) => e.time - t0), [5 * M, 15 * M, 20 * M]);
  assert.deepEqual(escalations.map((e) => [e.data.fromLevel, e.data.toLevel, e.data.round]), [[0, 1, 0], [1, 0, 1], [0, 1, 1]]);
  assert.equal(escalations[0]!.subject, 'alert/a1b2c3d4e5f60718');
  assert.deepEqual(errors, []);
});

test('acknowledging stops the escalation and records the time to acknowledge', async () => {
  const { clock, engine, fake, recipients, log } = setup();
  const page = await engine.trigger({ key: 'k', policy: 'web', notification: notification({ incidentId: 'inc-7' }), notifiers: [fake] });
  await clock.advance(7 * M);
  assert.equal(recipients().length, 3);
  await engine.acknowledge(page.id, 'user:carol');
  await clock.advance(2 * H);
  assert.equal(recipients().length, 3, 'nobody else is paged');
  const ack = (await queryType(log, 'page.acknowledged'))[0]!;
  assert.equal(ack.subject, 'incident/inc-7');
  assert.equal(ack.actor, 'user:carol');
  assert.equal(ack.data.timeToAcknowledgeMs, 7 * M);
  assert.equal(ack.data.level, 1);
  assert.equal(fake.delivered.filter((n) => n.action === 'acknowledge').length, 1, 'the paging channel hears of the acknowledgement once');
  // acknowledging again changes nothing
  await engine.acknowledge(page.id, 'user:alice');
  assert.equal((await queryType(log, 'page.acknowledged')).length, 1);
});

test('snooze re-pages the current level after its duration, and escalation resumes', async () => {
  const { clock, engine, fake, recipients, types } = setup();
  const page = await engine.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [fake] });
  await clock.advance(2 * M);
  await engine.acknowledge(page.id, 'user:alice');
  await engine.snooze(page.id, 'user:alice', 30 * M);
  assert.equal(engine.get(page.id)!.state, 'snoozed');
  await clock.advance(30 * M - 1);
  assert.equal(recipients().length, 1);
  await clock.advance(1);
  assert.deepEqual(recipients(), ['alice', 'alice'], 'level 1 again after the snooze');
  assert.equal(engine.get(page.id)!.state, 'triggered');
  await clock.advance(5 * M);
  assert.equal(recipients().length, 4, 'then level 2 after its timeout');
  assert.deepEqual(await types(), ['page.triggered', 'page.sent', 'page.acknowledged', 'page.snoozed', 'page.sent', 'page.escalated', 'page.sent']);
});

test('resolving ends the page; a new trigger for the key then opens a new page; a trigger for an open page only updates it', async () => {
  const { clock, engine, fake, recipients, log } = setup();
  const p1 = await engine.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [fake] });
  const again = await engine.trigger({ key: 'k', policy: 'web', notification: notification({ summary: 'now 2 alerts' }), notifiers: [fake] });
  assert.equal(again.id, p1.id);
  assert.equal(recipients().length, 1);
  await clock.advance(M);
  await engine.resolveKey('k', 'alerting', 'all alerts resolved');
  await clock.advance(H);
  assert.equal(recipients().length, 1);
  const resolved = (await queryType(log, 'page.resolved'))[0]!;
  assert.equal(resolved.data.reason, 'all alerts resolved');
  assert.equal(resolved.data.durationMs, M);
  assert.equal(fake.delivered.at(-1)!.action, 'resolve');
  assert.equal(fake.delivered.at(-1)!.summary, 'now 2 alerts');
  await assert.rejects(engine.acknowledge(p1.id, 'user:alice'), /already resolved/);
  const p2 = await engine.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [fake] });
  assert.notEqual(p2.id, p1.id);
  await assert.rejects(engine.acknowledge('nope', 'x'), /no page/);
});

test('people with their own notifiers are reached through them; links are signed per person', async () => {
  const clock0 = new ManualClock();
  const own = new FakeNotifier({ name: 'carol-sms', clock: clock0 });
  const { clock, engine, fake } = setup({ people: new Map([['carol', { name: 'Carol', notifiers: [own] }]]), links: true });
  await engine.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [fake] });
  await clock.advance(5 * M);
  assert.equal(own.delivered.length, 1);
  assert.equal(own.delivered[0]!.recipient!.name, 'Carol');
  assert.match(own.delivered[0]!.links!.acknowledge!, /^https:\/\/gl\.example\.com\/api\/alerting\/pages\/[0-9a-f-]+\/acknowledge\?expires=\d+&by=carol&sig=/);
  assert.match(fake.delivered[0]!.links!.acknowledge!, /by=alice/);
});

test('a level with nobody on call escalates at once; a policy where nobody is ever on call stops', async () => {
  const { clock, engine, fake, types, recipients } = setup({
    policy: { levels: [{ targets: [{ schedule: 'empty' }], ackTimeoutMs: 5 * M }, { targets: [{ user: 'carol' }], ackTimeoutMs: 5 * M }], repeat: 0 },
  });
  await engine.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [fake] });
  assert.deepEqual(recipients(), ['Carol Second']);
  await clock.advance(5 * M);
  assert.deepEqual(await types(), ['page.triggered', 'page.escalated', 'page.sent', 'page.exhausted']);
  const { engine: e2, fake: f2, types: t2 } = setup({ policy: { levels: [{ targets: [{ schedule: 'empty' }], ackTimeoutMs: M }], repeat: 3 } });
  await e2.trigger({ key: 'k', policy: 'web', notification: notification(), notifiers: [f2] });
  assert.equal((await t2()).at(-1), 'page.exhausted');
  assert.equal(f2.attempts.length, 0);
});
