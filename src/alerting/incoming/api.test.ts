import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../clock/clock.ts';
import { MemoryEventLog } from '../../events/memory-log.ts';
import { Routes } from '../../api/http.ts';
import { alertingRoutes } from '../../api/alerting-routes.ts';
import { createAlerting } from '../alerting.ts';
import { HttpReceiver } from '../notifiers/loopback-receivers.ts';
import { alertingConfigSchema } from '../schema.ts';
import { parseApiAlerts } from './api.ts';

const good = { labels: { alertname: 'WebDown', service: 'web' }, annotations: { summary: 'all requests fail' }, startsAt: '2026-03-04T10:00:00Z' };

test('POST /v1/alerts bodies are validated like Alertmanager intake: each bad field is named', () => {
  const cases: [unknown, RegExp][] = [
    [[{ labels: { alertname: 'x' }, annotations: { summary: 12345 } }], /\[0\]\.annotations\.summary: annotation values must be strings/],
    [[good, { labels: { alertname: 'x' }, startsAt: 'not-a-date' }], /\[1\]\.startsAt/],
    [[{ labels: { alertname: 'x' }, endsAt: 'Tuesday' }], /\[0\]\.endsAt/],
    [[null], /\[0\]/],
    [[[1]], /\[0\]/],
    [{}, /JSON array of alerts/],
    ['text', /JSON array of alerts/],
    [[{ labels: {} }], /\[0\]\.labels: an alert needs at least one label/],
    [[{ labels: { "bad-name": "x" } }], /\[0\]\.labels\.bad-name: /],
    [[{ labels: { a: 1 } }], /\[0\]\.labels\.a: label values must be strings/],
    [[{ labels: { a: 'b' }, surprise: true }], /surprise/],
    [[{ labels: { a: 'b' }, startsAt: Number.NaN }], /\[0\]\.startsAt/],
  ];
  for (const [body, re] of cases) {
    assert.throws(() => parseApiAlerts(body), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'USAGE', `for ${JSON.stringify(body)}`);
      assert.match(err.message, re, `for ${JSON.stringify(body)}`);
      return true;
    });
  }
  const [a] = parseApiAlerts([good]);
  assert.equal(a!.startsAt, Date.parse('2026-03-04T10:00:00Z'));
});

test('one malformed alert cannot block the others: 400 at the API, refused alone by the dispatcher, the group is still notified', async (t) => {
  const hook = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  const clock = new ManualClock(Date.UTC(2026, 2, 4, 10, 5));
  const errors: unknown[] = [];
  const alerting = createAlerting(
    alertingConfigSchema.parse({
      route: { receiver: 'team', group_by: ['alertname'], group_wait: '0s' },
      receivers: [{ name: 'team', notifiers: [{ kind: 'webhook', url: hook.url('/team'), retry: { attempts: 1 } }] }],
    }),
    { clock, log: new MemoryEventLog(clock), onError: (e) => errors.push(e) },
  );
  const routes = alertingRoutes(new Routes(), { alerting: () => alerting, clock, actorOf: () => 'user:test' });
  const server = createServer(routes.handler(() => 'a-token-of-sixteen-chars'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    alerting.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await hook.close();
  });
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: 'Bearer a-token-of-sixteen-chars', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (const bad of [[null], [[1]], [{ ...good, labels: { alertname: 'WebDown', n: '1' }, annotations: { summary: 12345 } }], [{ ...good, startsAt: 'not-a-date' }]]) {
    const res = await post(bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /invalid alerts: \[0\]/);
  }
  assert.equal((await post([good])).status, 200);
  // A producer that bypasses the API (rules, a plugin) hands in a broken alert of the same group.
  alerting.receive([{ labels: { alertname: 'WebDown', n: '2' }, annotations: { summary: 12345 as unknown as string }, startsAt: Number.NaN }]);
  await clock.advance(0);
  await hook.waitForRequests(1);
  const delivered = JSON.parse(hook.requests[0]!.body) as { alerts?: unknown[] };
  assert.ok(JSON.stringify(delivered).includes('all requests fail'));
  assert.equal(alerting.dispatcher.alerts().length, 1, 'only the valid alert is held');
  assert.doesNotThrow(() => JSON.stringify({ alerts: alerting.dispatcher.alerts(), groups: alerting.dispatcher.groupViews() }));
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /alert refused \(api\): annotations\.summary/);
});
