import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../clock/clock.ts';
import { GreenlightError } from '../../../errors/errors.ts';
import { HttpReceiver, type HttpRecord } from '../loopback-receivers.ts';
import { notifierContract, sampleNotification, type Received } from '../notifier.contract.ts';
import { createPagerDuty, PAGERDUTY_EVENTS_URL, pagerdutyDedupKey, pagerdutyEvent, PagerDutyNotifier, pagerdutySpecSchema } from './pagerduty.ts';
import { pipeline } from '../stages/pipeline.ts';
import { notifierSpecSchema } from '../registry.ts';

const KEY = 'R0UT1NGKEY0000000000000000000000';
const ACCEPTED = JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: 'x' });

/** Events API v2 rules, as PagerDuty validates them. */
function checkEvent(raw: string): { problems: string[]; event: Record<string, unknown> } {
  const problems: string[] = [];
  let e: Record<string, unknown> = {};
  try {
    e = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return { problems: ['body is not JSON'], event: {} };
  }
  if (e.routing_key !== KEY) problems.push('routing_key');
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(e.event_action))) problems.push('event_action');
  if (typeof e.dedup_key !== 'string' || e.dedup_key.length === 0 || e.dedup_key.length > 255) problems.push('dedup_key');
  if (e.event_action === 'trigger') {
    const p = e.payload as Record<string, unknown> | undefined;
    if (!p) problems.push('trigger needs a payload');
    else {
      if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) problems.push('payload.summary');
      if (typeof p.source !== 'string' || p.source.length === 0) problems.push('payload.source');
      if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity))) problems.push('payload.severity');
      if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp)))) problems.push('payload.timestamp');
      if (p.custom_details !== undefined && (typeof p.custom_details !== 'object' || p.custom_details === null)) problems.push('payload.custom_details');
    }
    for (const l of (e.links ?? []) as Array<Record<string, unknown>>) if (typeof l.href !== 'string' || typeof l.text !== 'string') problems.push('links[]');
  }
  const known = new Set(['routing_key', 'event_action', 'dedup_key', 'payload', 'links', 'images', 'client', 'client_url']);
  for (const k of Object.keys(e)) if (!known.has(k)) problems.push(`unknown field ${k}`);
  return { problems, event: e };
}

function interpret(req: HttpRecord): Received {
  const { problems, event } = checkEvent(req.body);
  if (req.path !== '/v2/enqueue') problems.push(`path ${req.path}`);
  const p = (event.payload ?? {}) as { summary?: string };
  const links = ((event.links ?? []) as Array<{ href: string; text: string }>).map((l) => `${l.text}: ${l.href}`);
  return { action: event.event_action as Received['action'], dedupKey: String(event.dedup_key), text: [p.summary ?? '', ...links].join('\n'), problems };
}

notifierContract('pagerduty', async () => {
  const rx = await HttpReceiver.start({
    ok: { status: 202, body: ACCEPTED },
    retryable: { status: 500, body: '{"status":"error"}' },
    fatal: { status: 400, body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}' },
  });
  return {
    transport: (clock) => new PagerDutyNotifier({ url: rx.url('/v2/enqueue'), routingKey: KEY, clock }),
    answer: (...a) => rx.answer(...a),
    waitForAttempts: (n) => rx.waitForRequests(n),
    attemptCount: () => rx.requests.length,
    received: () => rx.accepted().map(interpret),
    close: () => rx.close(),
  };
});

test('pagerduty: a trigger carries the Events API v2 fields', () => {
  const n = sampleNotification();
  const e = pagerdutyEvent(n, KEY);
  assert.deepEqual(checkEvent(JSON.stringify(e)).problems, []);
  assert.equal(e.event_action, 'trigger');
  assert.equal(e.dedup_key, n.dedupKey);
  assert.equal(e.payload?.summary, n.summary);
  assert.equal(e.payload?.source, 'production/web');
  assert.equal(e.payload?.severity, 'critical');
  assert.equal(e.payload?.timestamp, '2026-06-03T10:00:00.000Z');
  assert.equal(e.payload?.component, 'web');
  assert.equal(e.payload?.group, 'production');
  assert.deepEqual(e.payload?.custom_details.labels, n.labels);
  assert.equal(e.payload?.custom_details.incident_id, 'inc-42');
  assert.deepEqual(e.links?.map((l) => l.text), ['Acknowledge', 'Resolve', 'Snooze', 'Dashboard']);
  assert.equal(e.client_url, n.links!.dashboard);
});

test('pagerduty: acknowledge and resolve send only the key; over-long dedup keys are hashed stably', () => {
  assert.deepEqual(pagerdutyEvent(sampleNotification({ action: 'resolve' }), KEY), { routing_key: KEY, event_action: 'resolve', dedup_key: sampleNotification().dedupKey });
  const long = 'k'.repeat(300);
  assert.equal(pagerdutyDedupKey(long), pagerdutyDedupKey(long));
  assert.ok(pagerdutyDedupKey(long).length <= 255);
  assert.equal(pagerdutyDedupKey('short'), 'short');
});

test('pagerduty: 429 (throttled) is retried and 202 is success', async () => {
  let calls = 0;
  const rx = await HttpReceiver.start({ ok: { status: 202, body: ACCEPTED }, retryable: { status: 429, body: '{"status":"throttled"}' } });
  try {
    rx.answer('retryable');
    const n = pipeline(new PagerDutyNotifier({ url: rx.url('/v2/enqueue'), routingKey: KEY, clock: systemClock }), {
      clock: systemClock,
      retry: { attempts: 3, initialMs: 1, maxMs: 5 },
    });
    const r = await n.send(sampleNotification());
    calls = rx.requests.length;
    assert.equal(r.ok, true, r.error);
    assert.equal(r.status, 202);
    assert.equal(calls, 2);
  } finally {
    await rx.close();
  }
});

test('pagerduty: config needs exactly one of routing_key and routing_key_env; the URL defaults to PagerDuty', () => {
  assert.equal(notifierSpecSchema.safeParse({ kind: 'pagerduty' }).success, false);
  assert.equal(notifierSpecSchema.safeParse({ kind: 'pagerduty', routing_key: 'a', routing_key_env: 'B' }).success, false);
  const spec = pagerdutySpecSchema.parse({ kind: 'pagerduty', routing_key_env: 'PD_KEY' });
  assert.equal(spec.url, PAGERDUTY_EVENTS_URL);
  assert.equal(createPagerDuty(spec, { clock: systemClock, env: { PD_KEY: KEY } }).kind, 'pagerduty');
  assert.throws(() => createPagerDuty(spec, { clock: systemClock, env: {} }), (e: unknown) => e instanceof GreenlightError && e.message.includes('PD_KEY'));
});
