// Alerting state outlives the controller: alerts, groups, pages, acknowledgements, snoozes and
// escalation timers are rebuilt from the event log by a new process (here: a new SQLite log object
// on the same file, after the first was closed, as after a plain restart), with the clock injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../clock/clock.ts';
import { SqliteEventLog } from '../store/sqlite/sqlite-event-log.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { NotifierReceiver } from './dispatch/receiver.ts';
import { buildRoute } from './dispatch/route.ts';
import { FakeNotifier } from './notifiers/fake/fake.ts';
import type { Notification } from './notifiers/notifier.ts';
import { EscalationEngine, type EscalationPolicy } from './oncall/escalation.ts';

const M = 60_000;
const policy: EscalationPolicy = {
  name: 'web',
  repeat: 0,
  levels: [
    { targets: [{ user: 'alice' }], ackTimeoutMs: 5 * M },
    { targets: [{ user: 'carol' }], ackTimeoutMs: 10 * M },
  ],
};
const notification: Notification = { id: 'n1', dedupKey: 'k1', action: 'trigger', severity: 'critical', summary: 'web down', source: 'production/web', labels: { alertname: 'Down' }, startsAt: 0 };

/** One controller's lifetime: a log on the file and an engine with its own notifier. */
function controller(file: string, clock: ManualClock) {
  const log = new SqliteEventLog(file, clock);
  const pager = new FakeNotifier({ name: 'pager', clock });
  const engine = new EscalationEngine({ clock, log, policies: new Map([['web', policy]]), schedules: new Map() });
  const paged = () => pager.delivered.filter((n) => n.action === 'trigger').map((n) => n.recipient?.name);
  return { log, pager, engine, paged, async stop() { engine.stop(); await log.close(); } };
}

const file = () => join(mkdtempSync(join(tmpdir(), 'gl-durable-')), 'events.db');

test('an escalation due while no controller ran fires right after the restart, saying how late', async () => {
  const f = file();
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 10));
  const t0 = clock.now();
  const a = controller(f, clock);
  const page = await a.engine.trigger({ key: 'oncall|g1', policy: 'web', notification, notifiers: [a.pager] });
  assert.deepEqual(a.paged(), ['alice']);
  await clock.advance(2 * M);
  await a.stop(); // the controller goes away 2 minutes in; the 5-minute timeout falls due at t0+5m

  await clock.set(t0 + 9 * M);
  const b = controller(f, clock);
  const r = await b.engine.restore(b.log, () => [b.pager]);
  assert.deepEqual(r, { open: 1, late: 1 });
  assert.equal(b.engine.get(page.id)?.state, 'triggered');
  await clock.advance(0);
  assert.deepEqual(b.paged(), ['carol'], 'level 2 paged at once after the start');
  const escalated = (await b.log.query({ types: ['page.escalated'] }))[0]!;
  assert.equal((escalated.data as { lateByMs: number }).lateByMs, 4 * M);
  assert.match((escalated.data as { reason: string }).reason, /late by 240\.0 s/);
  // and the next level's timeout runs from now, as if it had been paged on time
  await clock.advance(10 * M);
  assert.deepEqual((await b.log.query({ types: ['page.exhausted'] })).length, 1);
  await b.stop();
});

test('a restart before the timeout keeps the original deadline, not a fresh one', async () => {
  const f = file();
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 10));
  const t0 = clock.now();
  const a = controller(f, clock);
  await a.engine.trigger({ key: 'oncall|g1', policy: 'web', notification, notifiers: [a.pager] });
  await a.stop();
  await clock.set(t0 + 3 * M);
  const b = controller(f, clock);
  assert.deepEqual(await b.engine.restore(b.log, () => [b.pager]), { open: 1, late: 0 });
  await clock.advance(2 * M - 1);
  assert.deepEqual(b.paged(), [], 'not before t0 + 5 min');
  await clock.advance(1);
  assert.deepEqual(b.paged(), ['carol'], 'at t0 + 5 min exactly');
  const escalated = (await b.log.query({ types: ['page.escalated'] }))[0]!;
  assert.equal((escalated.data as { lateByMs?: number }).lateByMs, undefined, 'on time: not marked late');
  await b.stop();
});

test('acknowledged and resolved pages stay quiet after a restart; a snooze that ended meanwhile pages again, late', async () => {
  const f = file();
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 10));
  const t0 = clock.now();
  const a = controller(f, clock);
  const acked = await a.engine.trigger({ key: 'oncall|acked', policy: 'web', notification, notifiers: [a.pager] });
  const resolved = await a.engine.trigger({ key: 'oncall|resolved', policy: 'web', notification: { ...notification, dedupKey: 'k2' }, notifiers: [a.pager] });
  const snoozed = await a.engine.trigger({ key: 'oncall|snoozed', policy: 'web', notification: { ...notification, dedupKey: 'k3' }, notifiers: [a.pager] });
  await clock.advance(1 * M);
  await a.engine.acknowledge(acked.id, 'user:alice');
  await a.engine.resolve(resolved.id, 'user:alice');
  await a.engine.snooze(snoozed.id, 'user:alice', 10 * M); // until t0 + 11 min
  await a.stop();

  await clock.set(t0 + 20 * M);
  const b = controller(f, clock);
  assert.deepEqual(await b.engine.restore(b.log, () => [b.pager]), { open: 1, late: 1 });
  assert.equal(b.engine.get(acked.id)?.state, 'acknowledged');
  assert.equal(b.engine.get(acked.id)?.acknowledgedBy, 'user:alice');
  assert.equal(b.engine.get(resolved.id)?.state, 'resolved');
  assert.equal(b.engine.openPage('oncall|resolved'), undefined);
  await clock.advance(0);
  assert.deepEqual(b.paged(), ['alice'], 'only the snoozed page, at its level');
  const sent = (await b.log.query({ types: ['page.sent'], subject: 'alert/k3' })).at(-1)!;
  assert.match((sent.data as { reason: string }).reason, /snooze ended \(late by 540\.0 s/);
  assert.equal((sent.data as { lateByMs: number }).lateByMs, 9 * M);
  // the acknowledged page can still be resolved by the new controller
  await b.engine.resolve(acked.id, 'user:alice');
  await clock.advance(30 * M);
  assert.deepEqual(b.paged().filter((u) => u !== 'alice' && u !== 'carol'), []);
  await b.stop();
});

test('alerts and groups are rebuilt: nothing is re-sent that was already notified, a new alert joins the old group', async () => {
  const f = file();
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  const route = buildRoute({ receiver: 'team', group_by: ['alertname'], group_wait: 30_000, group_interval: 5 * M, repeat_interval: 4 * 60 * M });
  const build = () => {
    const log = new SqliteEventLog(f, clock);
    const fake = new FakeNotifier({ name: 'team', clock });
    const d = new Dispatcher({ clock, log, route, receivers: new Map([['team', new NotifierReceiver({ name: 'team', notifiers: [fake], clock })]]) });
    return { log, fake, d };
  };
  const a = build();
  a.d.receive([{ labels: { alertname: 'HighErrorRate', service: 'web' } }]);
  await clock.advance(30_000);
  assert.equal(a.fake.delivered.length, 1);
  await clock.advance(1000); // let the record stage's append land
  a.d.stop();
  await a.log.close();

  await clock.advance(60_000);
  const b = build();
  assert.deepEqual(await b.d.restore(b.log), { alerts: 1, groups: 1 });
  assert.equal(b.d.alerts()[0]!.state, 'firing');
  const [g] = b.d.groupViews();
  assert.deepEqual(g!.alerts.length, 1);
  // the next flush is the old group's cadence (notified at +30 s, interval 5 min), and sends nothing new
  assert.equal(g!.nextFlushAt, Date.UTC(2026, 2, 1, 12) + 30_000 + 5 * M);
  await clock.advance(5 * M);
  assert.equal(b.fake.delivered.length, 0, 'already notified before the restart: not sent again');
  b.d.receive([{ labels: { alertname: 'HighErrorRate', service: 'api' } }]);
  await clock.advance(5 * M);
  assert.equal(b.fake.delivered.length, 1, 'a new alert of the same group is news');
  assert.equal(b.d.groupViews().length, 1);
  b.d.stop();
  await b.log.close();
});
