import { test } from 'node:test';
import { queryType } from '../events/log.ts';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ManualClock } from '../clock/clock.ts';
import { MemoryEventLog } from '../events/memory-log.ts';
import type { Alert } from './alerts/alert.ts';
import { createAlerting } from './alerting.ts';
import { HttpReceiver } from './notifiers/loopback-receivers.ts';
import { alertingConfigSchema } from './schema.ts';

function exampleYaml(webhookUrl: string): string {
  return `
route:
  receiver: team
  group_by: [alertname, environment]
  routes:
    - matchers: ['severity=~"page|critical"']
      receiver: oncall
      group_wait: 0s
      group_interval: 1m
      repeat_interval: 1h
inhibit_rules:
  - source_matchers: ['alertname="rollback_in_progress"']
    target_matchers: ['kind="probe"']
    equal: [environment]
receivers:
  - name: team
    notifiers:
      - { kind: webhook, url: "${webhookUrl}team", retry: { attempts: 1 } }
  - name: oncall
    escalation_policy: web
    notifiers:
      - { kind: webhook, url: "${webhookUrl}page", retry: { attempts: 1 } }
schedules:
  - name: primary
    time_zone: Europe/Paris
    layers:
      - { users: [alice, bob], length: 1w, handoff: "09:00", start: "2026-03-02" }
escalation_policies:
  - name: web
    repeat: 1
    levels:
      - { schedules: [primary], ack_timeout: 5m }
      - { users: [carol], ack_timeout: 10m }
users:
  - { id: alice, name: Alice, email: alice@example.com }
  - { id: bob, name: Bob }
  - { id: carol, name: Carol }
action_links:
  base_url: https://greenlight.example.com/api/alerting
  secret: { env: GL_LINK_SECRET }
`;
}

test('the example config parses with the defaults filled in', () => {
  const cfg = alertingConfigSchema.parse(parse(exampleYaml('http://127.0.0.1:1/')));
  assert.equal(cfg.route.routes![0]!.group_wait, 0);
  assert.equal(cfg.route.routes![0]!.matchers![0]!.op, '=~');
  assert.equal(cfg.escalation_policies[0]!.levels[0]!.ack_timeout, 300_000);
  assert.equal(cfg.schedules[0]!.layers[0]!.length, 7 * 86_400_000);
  assert.equal(cfg.receivers[0]!.send_resolved, true);
});

test('config errors name every broken field and reference at once', () => {
  const r = alertingConfigSchema.safeParse({
    route: { receiver: 'nobody', group_wait: 'soon', routes: [{ matchers: ['severity=~"("'], receiver: 'ghost' }] },
    receivers: [{ name: 'team', escalation_policy: 'missing' }, { name: 'empty' }],
    schedules: [{ name: 's', time_zone: 'Mars/Olympus', layers: [{ users: ['x'], length: '1 week', handoff: '9am', start: '2026-02-30' }] }],
    escalation_policies: [{ name: 'p', levels: [{ schedules: ['nope'] }] }],
    surprise: true,
  });
  assert.equal(r.success, false);
  const got = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const expectOne = (re: RegExp) => assert.ok(got.some((g) => re.test(g)), `expected ${re} in\n${got.join('\n')}`);
  expectOne(/^route\.group_wait: expected a duration/);
  expectOne(/^route\.routes\.0\.matchers\.0: .*invalid regular expression/);
  expectOne(/^receivers\.1: a receiver needs notifiers/);
  expectOne(/^schedules\.0\.time_zone: expected an IANA time zone/);
  expectOne(/^schedules\.0\.layers\.0\.length: expected a rotation length/);
  expectOne(/^schedules\.0\.layers\.0\.handoff/);
  expectOne(/^schedules\.0\.layers\.0\.start/);
  expectOne(/surprise/);
  // references are checked once the fields themselves are valid
  const refs = alertingConfigSchema.safeParse({
    route: { receiver: 'nobody', routes: [{ receiver: 'ghost' }] },
    receivers: [{ name: 'team', escalation_policy: 'missing' }],
    escalation_policies: [{ name: 'p', levels: [{ schedules: ['nope'], users: ['zed'] }] }],
    users: [{ id: 'amy' }],
  });
  const refMsgs = refs.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(refMsgs.sort(), [
    'escalation_policies.0.levels.0.schedules.0: no schedule named "nope"',
    'escalation_policies.0.levels.0.users.0: no user with id "zed" under alerting.users',
    'receivers.0.escalation_policy: no escalation policy named "missing"',
    'route.receiver: no receiver named "nobody" (defined: team)',
    'route.routes.0.receiver: no receiver named "ghost" (defined: team)',
  ]);
});

test('end to end on loopback: a paging alert opens an incident, pages the on-call by webhook, the signed link acknowledges it', async () => {
  const hook = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  // Wednesday 4 March 2026, 10:00 UTC: alice is on call (turn 0 of primary)
  const clock = new ManualClock(Date.UTC(2026, 2, 4, 10));
  const log = new MemoryEventLog(clock);
  const opened: Alert[] = [];
  const incidents = {
    async openOrJoin(a: Alert) {
      opened.push(a);
      return { incidentId: 'inc-42' };
    },
  };
  const errors: unknown[] = [];
  const alerting = createAlerting(alertingConfigSchema.parse(parse(exampleYaml(hook.url('/')))), {
    clock,
    log,
    incidents,
    env: { GL_LINK_SECRET: 'test-secret' },
    onError: (e) => errors.push(e),
  });
  try {
    const t0 = clock.now();
    alerting.receive([{ labels: { alertname: 'WebDown', environment: 'production', service: 'web', severity: 'page' }, annotations: { summary: 'all requests fail' } }]);
    await clock.advance(0);
    await hook.waitForRequests(1);
    const page = JSON.parse(hook.requests[0]!.body) as { action: string; recipient: { name: string; email: string }; incidentId: string; links: { acknowledge: string }; summary: string };
    assert.equal(hook.requests[0]!.path, '/page');
    assert.equal(page.action, 'trigger');
    assert.deepEqual(page.recipient, { name: 'Alice', email: 'alice@example.com' });
    assert.equal(page.incidentId, 'inc-42');
    assert.equal(page.summary, 'all requests fail');
    assert.equal(opened.length, 1);

    // 3 minutes later Alice taps "Acknowledge": the preview GET does nothing, the POST acknowledges.
    await clock.advance(3 * 60_000);
    const link = new URL(page.links.acknowledge);
    const preview = await alerting.handleActionLink(link.pathname + link.search, { method: 'GET' });
    assert.equal(preview.status, 200);
    assert.equal((await queryType(log, 'page.acknowledged')).length, 0);
    const ack = await alerting.handleActionLink(link.pathname + link.search, { method: 'POST' });
    assert.equal(ack.status, 200, ack.body);
    const acked = await queryType(log, 'page.acknowledged');
    assert.equal(acked.length, 1);
    assert.equal(acked[0]!.subject, 'incident/inc-42');
    assert.equal(acked[0]!.actor, 'user:alice');
    assert.equal(acked[0]!.data.timeToAcknowledgeMs, 3 * 60_000);
    await hook.waitForRequests(2);
    assert.equal(JSON.parse(hook.requests[1]!.body).action, 'acknowledge');

    // No escalation after the acknowledgement.
    await clock.advance(30 * 60_000);
    assert.equal((await queryType(log, 'page.escalated')).length, 0);

    // The alert resolves: the group's resolution resolves the page.
    alerting.receive([{ labels: { alertname: 'WebDown', environment: 'production', service: 'web', severity: 'page' }, endsAt: clock.now() }]);
    await clock.advance(60_000);
    await hook.waitForRequests(3);
    assert.equal(JSON.parse(hook.requests[2]!.body).action, 'resolve');
    const resolved = await queryType(log, 'page.resolved');
    assert.equal(resolved.length, 1);
    assert.ok(resolved[0]!.time > t0);
    assert.deepEqual(errors, []);
  } finally {
    alerting.stop();
    await hook.close();
  }
});

test('handleActionLink answers 404 when action links are not configured', async () => {
  const cfg = alertingConfigSchema.parse({ route: { receiver: 'r' }, receivers: [{ name: 'r', notifiers: [{ kind: 'webhook', url: 'http://127.0.0.1:1/' }] }] });
  const clock = new ManualClock();
  const alerting = createAlerting(cfg, { clock, log: new MemoryEventLog(clock) });
  assert.equal((await alerting.handleActionLink('/pages/x/acknowledge?expires=1&sig=x')).status, 404);
  alerting.stop();
});

test('the example in docs/alerting.md is a valid alerting section', async () => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../docs/alerting.md', import.meta.url), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
  const r = alertingConfigSchema.safeParse((parse(block) as { alerting: unknown }).alerting);
  assert.ok(r.success, r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  const clock = new ManualClock();
  const alerting = createAlerting(r.data!, { clock, log: new MemoryEventLog(clock), env: { GREENLIGHT_LINK_SECRET: 'x', HOOK_SECRET: 'y' } });
  alerting.stop();
});
