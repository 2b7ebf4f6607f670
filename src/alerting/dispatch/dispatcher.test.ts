import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { FakeNotifier } from '../notifiers/fake/fake.ts';
import type { Alert } from '../alerts/alert.ts';
import { Dispatcher } from './dispatcher.ts';
import { parseMatcher, type Matcher } from './matchers.ts';
import { NotifierReceiver } from './receiver.ts';
import { buildRoute, type RouteConfig } from './route.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

function m(text: string): Matcher {
  const r = parseMatcher(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

function setup(route: RouteConfig, receivers: string[] = ['team'], extra: Partial<ConstructorParameters<typeof Dispatcher>[0]> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
  const log = new MemoryEventLog(clock);
  const fakes = new Map<string, FakeNotifier>();
  const rx = new Map<string, NotifierReceiver>();
  for (const name of receivers) {
    const f = new FakeNotifier({ name, clock });
    fakes.set(name, f);
    rx.set(name, new NotifierReceiver({ name, notifiers: [f], clock }));
  }
  const errors: unknown[] = [];
  const d = new Dispatcher({ clock, log, route: buildRoute(route), receivers: rx, onError: (e) => errors.push(e), ...extra });
  return { clock, log, d, fake: fakes.get(receivers[0]!)!, fakes, errors };
}

test('group_wait, group_interval and repeat_interval are kept exactly', async () => {
  const { clock, d, fake, errors } = setup({ receiver: 'team', group_by: ['alertname'] });
  const t0 = clock.now();
  d.receive([{ labels: { alertname: 'HighErrorRate', service: 'web' }, annotations: { summary: 'web 5xx over 5%' } }]);
  await clock.advance(30 * S - 1);
  assert.equal(fake.delivered.length, 0, 'nothing before group_wait');
  await clock.advance(1);
  assert.equal(fake.delivered.length, 1, 'first notification at group_wait (30 s)');
  assert.equal(fake.delivered[0]!.action, 'trigger');
  assert.equal(fake.delivered[0]!.summary, 'web 5xx over 5%');

  // A second alert of the group waits for the next group_interval tick (30 s + 5 m).
  await clock.set(t0 + 40 * S);
  d.receive([{ labels: { alertname: 'HighErrorRate', service: 'api' } }]);
  await clock.set(t0 + 30 * S + 5 * M - 1);
  assert.equal(fake.delivered.length, 1);
  await clock.set(t0 + 30 * S + 5 * M);
  assert.equal(fake.delivered.length, 2, 'new alert in the group at group_interval');
  assert.match(fake.delivered[1]!.summary, /FIRING:2/);

  // Nothing changes: quiet until repeat_interval (4 h) after the last send, at a group_interval tick.
  const lastSend = t0 + 30 * S + 5 * M;
  await clock.set(lastSend + 4 * H - 1);
  assert.equal(fake.delivered.length, 2);
  await clock.set(lastSend + 4 * H);
  assert.equal(fake.delivered.length, 3, 'repeat after exactly 4 h');
  await clock.set(lastSend + 8 * H - 1);
  assert.equal(fake.delivered.length, 3);
  await clock.set(lastSend + 8 * H);
  assert.equal(fake.delivered.length, 4);
  assert.deepEqual(errors, []);
  d.stop();
});

test('a resolution is sent at the next tick, then the group is dropped; a new alert waits group_wait again', async () => {
  const { clock, d, fake } = setup({ receiver: 'team', group_by: ['alertname'], group_wait: 10 * S, group_interval: M });
  const t0 = clock.now();
  d.receive([{ labels: { alertname: 'Down', service: 'web' } }]);
  await clock.advance(10 * S);
  assert.equal(fake.delivered.length, 1);
  await clock.set(t0 + 20 * S);
  d.receive([{ labels: { alertname: 'Down', service: 'web' }, endsAt: clock.now() }]);
  await clock.set(t0 + 70 * S - 1);
  assert.equal(fake.delivered.length, 1);
  await clock.set(t0 + 70 * S);
  assert.equal(fake.delivered.length, 2);
  assert.equal(fake.delivered[1]!.action, 'resolve');
  assert.equal(d.groupViews().length, 0, 'empty group dropped');
  await clock.set(t0 + 100 * S);
  d.receive([{ labels: { alertname: 'Down', service: 'web' } }]);
  await clock.advance(10 * S - 1);
  assert.equal(fake.delivered.length, 2);
  await clock.advance(1);
  assert.equal(fake.delivered.length, 3);
  assert.equal(fake.delivered[2]!.action, 'trigger');
  d.stop();
});

test('an alert that fired then resolved within group_wait is never notified', async () => {
  const { clock, d, fake } = setup({ receiver: 'team', group_wait: 30 * S });
  d.receive([{ labels: { alertname: 'Blip' } }]);
  await clock.advance(5 * S);
  d.receive([{ labels: { alertname: 'Blip' }, endsAt: clock.now() }]);
  await clock.advance(10 * M);
  assert.equal(fake.attempts.length, 0);
  d.stop();
});

test('an alert older than group_wait is flushed at once (Alertmanager after a restart)', async () => {
  const { clock, d, fake } = setup({ receiver: 'team' });
  d.receive([{ labels: { alertname: 'Old' }, startsAt: clock.now() - 10 * M }]);
  await clock.advance(0);
  assert.equal(fake.delivered.length, 1);
  d.stop();
});

test('routing: first matching child wins, continue lets later siblings match, children inherit', async () => {
  const { clock, d, fakes } = setup(
    {
      receiver: 'default',
      group_wait: 0,
      routes: [
        { matchers: [m('severity="page"')], receiver: 'audit', continue: true },
        {
          matchers: [m('service=~"web|api"')],
          receiver: 'web-team',
          routes: [{ matchers: [m('environment="production"')], receiver: 'web-prod' }],
        },
        { matchers: [m('service="web"')], receiver: 'never' },
      ],
    },
    ['default', 'audit', 'web-team', 'web-prod', 'never'],
  );
  d.receive([
    { labels: { alertname: 'A', service: 'web', environment: 'production', severity: 'page' } },
    { labels: { alertname: 'B', service: 'api', environment: 'staging' } },
    { labels: { alertname: 'C', service: 'db' } },
  ]);
  await clock.advance(0);
  const got = (n: string) => fakes.get(n)!.delivered.map((x) => x.labels.alertname).sort();
  assert.deepEqual(got('audit'), ['A']);
  assert.deepEqual(got('web-prod'), ['A']);
  assert.deepEqual(got('web-team'), ['B']);
  assert.deepEqual(got('default'), ['C']);
  assert.deepEqual(got('never'), []);
  d.stop();
});

test('group_by ["..."] makes every alert its own group with its fingerprint as dedup key', async () => {
  const { clock, d, fake } = setup({ receiver: 'team', group_by: ['...'], group_wait: 0 });
  const [a, b] = d.receive([{ labels: { alertname: 'X', i: '1' } }, { labels: { alertname: 'X', i: '2' } }]);
  await clock.advance(0);
  assert.deepEqual(fake.delivered.map((n) => n.dedupKey).sort(), [a!.fingerprint, b!.fingerprint].sort());
  d.stop();
});

test('silences: a silenced alert is held back until the silence expires, then sent at the next tick', async () => {
  const { clock, d, fake, log } = setup({ receiver: 'team', group_wait: 30 * S, group_interval: 5 * M });
  const t0 = clock.now();
  const s = await d.silences.create({ matchers: ['service="web"', 'alertname=~"High.*"'], duration: '10m', created_by: 'alice', comment: 'deploying the fix' });
  d.receive([{ labels: { alertname: 'HighLatency', service: 'web' } }, { labels: { alertname: 'HighLatency', service: 'api' } }]);
  await clock.advance(30 * S);
  assert.equal(fake.delivered.length, 1);
  assert.equal(fake.delivered[0]!.labels.service, 'api');
  const web = d.alerts().find((a) => a.labels.service === 'web')!;
  assert.deepEqual(web.status, { state: 'suppressed', silencedBy: [s.id], inhibitedBy: [] });
  // expires at t0 + 10 m; the ticks are at 5m30s, 10m30s
  await clock.set(t0 + 10 * M);
  const expired = await log.query({ types: ['silence.expired'] });
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.time, t0 + 10 * M);
  assert.equal(fake.delivered.length, 1);
  await clock.set(t0 + 10 * M + 30 * S);
  assert.equal(fake.delivered.length, 2);
  assert.match(fake.delivered[1]!.summary, /FIRING:2/);
  assert.equal((await log.query({ types: ['silence.created'] }))[0]!.actor, 'user:alice');
  d.stop();
});

test('silences: expire early, pending silences, and refusal of silence-everything matchers', async () => {
  const { clock, d, fake } = setup({ receiver: 'team', group_wait: 0, group_interval: M });
  const s = await d.silences.create({ matchers: [{ name: 'service', value: 'web' }], duration: '1h', created_by: 'bob', comment: 'noisy' });
  const later = await d.silences.create({
    matchers: ['service="api"'],
    starts_at: new Date(clock.now() + 30 * M).toISOString(),
    ends_at: new Date(clock.now() + 2 * H).toISOString(),
    created_by: 'bob',
    comment: 'maintenance window',
  });
  assert.equal(d.silences.list().find((x) => x.id === later.id)!.state, 'pending');
  await assert.rejects(d.silences.create({ matchers: ['service=~".*"'], duration: '1h', created_by: 'x', comment: 'y' }), /every alert/);
  await assert.rejects(d.silences.create({ matchers: ['service="a"'], created_by: 'x', comment: 'y' }), /ends_at or duration/);
  d.receive([{ labels: { alertname: 'A', service: 'web' } }]);
  await clock.advance(0);
  assert.equal(fake.delivered.length, 0);
  await d.silences.expire(s.id, 'bob');
  await assert.rejects(d.silences.expire(s.id, 'bob'), /already expired/);
  await clock.advance(M);
  assert.equal(fake.delivered.length, 1);
  d.stop();
});

test('inhibition: rollback_in_progress mutes probe alerts of the same environment only', async () => {
  const { clock, d, fake } = setup(
    { receiver: 'team', group_by: ['alertname', 'environment'], group_wait: 0, group_interval: M },
    ['team'],
    {
      inhibitRules: [{ source_matchers: [m('alertname="rollback_in_progress"')], target_matchers: [m('kind="probe"')], equal: ['environment'] }],
    },
  );
  d.receive([{ labels: { alertname: 'rollback_in_progress', environment: 'production' } }]);
  d.receive([
    { labels: { alertname: 'ProbeFailing', kind: 'probe', environment: 'production' } },
    { labels: { alertname: 'ProbeFailing', kind: 'probe', environment: 'staging' } },
  ]);
  await clock.advance(0);
  const sent = () => fake.delivered.map((n) => `${n.labels.alertname}/${n.labels.environment}`).sort();
  assert.deepEqual(sent(), ['ProbeFailing/staging', 'rollback_in_progress/production']);
  const prod = d.alerts().find((a) => a.labels.alertname === 'ProbeFailing' && a.labels.environment === 'production')!;
  assert.equal(prod.status.state, 'suppressed');
  assert.equal(prod.status.inhibitedBy.length, 1);
  // The rollback ends: the probe alert (still firing) is notified at the next tick.
  d.receive([{ labels: { alertname: 'rollback_in_progress', environment: 'production' }, endsAt: clock.now() }]);
  await clock.advance(M);
  assert.ok(sent().includes('ProbeFailing/production'));
  d.stop();
});

test('inhibition: alerts matching both sides do not mute each other', async () => {
  const { clock, d, fake } = setup({ receiver: 'team', group_by: ['...'], group_wait: 0 }, ['team'], {
    inhibitRules: [{ source_matchers: [m('severity="critical"')], target_matchers: [m('severity=~"critical|warning"')], equal: ['service'] }],
  });
  d.receive([
    { labels: { alertname: 'A', severity: 'critical', service: 'web' } },
    { labels: { alertname: 'B', severity: 'critical', service: 'web' } },
    { labels: { alertname: 'C', severity: 'warning', service: 'web' } },
  ]);
  await clock.advance(0);
  assert.deepEqual(fake.delivered.map((n) => n.labels.alertname).sort(), ['A', 'B']);
  d.stop();
});

test('paging alerts open or join an incident once; the notification and events name it', async () => {
  const calls: Alert[] = [];
  const incidents = {
    async openOrJoin(a: Alert) {
      calls.push(a);
      return { incidentId: 'inc-1' };
    },
  };
  const { clock, d, fake, log } = setup({ receiver: 'team', group_by: ['service'], group_wait: 0, group_interval: M, repeat_interval: 2 * M }, ['team'], { incidents });
  d.receive([
    { labels: { alertname: 'Down', service: 'web', severity: 'page' } },
    { labels: { alertname: 'Slow', service: 'web', severity: 'warning' } },
  ]);
  await clock.advance(0);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.labels.alertname, 'Down');
  assert.equal(fake.delivered[0]!.incidentId, 'inc-1');
  assert.equal(fake.delivered[0]!.severity, 'critical');
  await clock.advance(2 * M);
  assert.equal(fake.delivered.length, 2, 'repeat');
  assert.equal(calls.length, 1, 'the incident is opened once per episode');
  assert.equal(d.store.list().find((a) => a.labels.alertname === 'Down')!.incidentId, 'inc-1');
  const notified = await log.query({ types: ['alert.group.notified'] });
  assert.equal(notified[0]!.subject, 'incident/inc-1');
  d.stop();
});

test('a failing incident sink does not stop the page', async () => {
  const incidents = { openOrJoin: async () => Promise.reject(new Error('incident store down')) };
  const { clock, d, fake, errors } = setup({ receiver: 'team', group_wait: 0 }, ['team'], { incidents });
  d.receive([{ labels: { alertname: 'Down', severity: 'critical' } }]);
  await clock.advance(0);
  assert.equal(fake.delivered.length, 1);
  assert.equal(fake.delivered[0]!.incidentId, undefined);
  assert.match(String(errors[0]), /incident store down/);
  d.stop();
});

test('a failed delivery is retried at the next group_interval tick', async () => {
  const { clock, d, fake, errors } = setup({ receiver: 'team', group_wait: 0, group_interval: M });
  fake.answer('fatal');
  d.receive([{ labels: { alertname: 'Down' } }]);
  await clock.advance(0);
  assert.equal(fake.delivered.length, 0);
  assert.equal(errors.length, 1);
  await clock.advance(M);
  assert.equal(fake.delivered.length, 1);
  d.stop();
});

test('pending rule alerts are kept but not routed; firing ones are, with alertname from the rule', async () => {
  const { clock, d, fake, log } = setup({ receiver: 'team', group_wait: 0 });
  const base = { name: 'HighErrorRate', labels: { service: 'web' }, activeAt: clock.now(), value: 0.07, annotations: { summary: 'errors at 7%' } };
  d.receiveRuleChanges([{ ...base, state: 'pending' }]);
  await clock.advance(M);
  assert.equal(fake.attempts.length, 0);
  assert.equal(d.alerts()[0]!.state, 'pending');
  d.receiveRuleChanges([{ ...base, state: 'firing', firedAt: clock.now() }]);
  await clock.advance(0);
  assert.equal(fake.delivered.length, 1);
  assert.equal(fake.delivered[0]!.labels.alertname, 'HighErrorRate');
  const types = (await log.query({ types: ['alert.*'] })).map((e) => e.type);
  assert.deepEqual(types, ['alert.pending', 'alert.firing', 'alert.group.notified']);
  d.stop();
});

test('silences come back from the event log after a restart, expired ones included as expired', async () => {
  const { Silences } = await import('./silences.ts');
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const log = new MemoryEventLog(clock);
  const before = new Silences({ clock, log });
  const keep = await before.create({ matchers: ['service="web"'], duration: '2h', created_by: 'amy', comment: 'migration' });
  const early = await before.create({ matchers: ['service="api"'], duration: '2h', created_by: 'amy', comment: 'oops' });
  await before.expire(early.id, 'amy');
  before.stop();
  await clock.advance(60_000);
  const after = new Silences({ clock, log });
  assert.equal(await after.restore(log), 2);
  assert.deepEqual(after.mutedBy({ service: 'web' }), [keep.id]);
  assert.deepEqual(after.mutedBy({ service: 'api' }), []);
  await clock.advance(2 * H);
  assert.deepEqual(after.mutedBy({ service: 'web' }), []);
  after.stop();
});
