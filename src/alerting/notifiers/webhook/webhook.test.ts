import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ManualClock, systemClock } from '../../../clock/clock.ts';
import { GreenlightError } from '../../../errors/errors.ts';
import { HttpReceiver, type HttpRecord } from '../loopback-receivers.ts';
import { notifierContract, sampleNotification, type Received } from '../notifier.contract.ts';
import { notifierSpecSchema } from '../registry.ts';
import { createWebhook, verifyWebhook, webhookSpecSchema, WebhookNotifier } from './webhook.ts';

const SECRET = 'contract-secret';

/** The receiver's check, written from docs/notifiers.md rather than from webhook.ts. */
function verifyAsDocumented(req: HttpRecord, secret: string, nowMs: number): string[] {
  const ts = String(req.headers['x-greenlight-timestamp'] ?? '');
  const sig = String(req.headers['x-greenlight-signature'] ?? '');
  const problems: string[] = [];
  if (!/^\d+$/.test(ts)) problems.push('no timestamp');
  if (Math.abs(nowMs / 1000 - Number(ts)) > 300) problems.push('timestamp outside 5 minutes');
  const expected = `sha256=${createHmac('sha256', secret).update(`${ts}.${req.body}`).digest('hex')}`;
  if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) problems.push('bad signature');
  return problems;
}

function checkPayload(req: HttpRecord, nowMs: number): Received {
  const problems = verifyAsDocumented(req, SECRET, nowMs);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(req.body) as Record<string, unknown>;
  } catch {
    problems.push('body is not JSON');
  }
  if (req.method !== 'POST') problems.push(`method ${req.method}`);
  if (!String(req.headers['content-type']).startsWith('application/json')) problems.push('content-type');
  if (body.version !== 1) problems.push('version');
  for (const f of ['id', 'dedupKey', 'action', 'severity', 'summary', 'source', 'startsAt', 'sentAt']) {
    if (typeof body[f] !== 'string') problems.push(`${f} missing`);
  }
  if (req.headers['x-greenlight-notification-id'] !== body.id) problems.push('notification id header');
  return { action: body.action as Received['action'], dedupKey: String(body.dedupKey), text: req.body, problems };
}

notifierContract('webhook', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 204, body: '' } });
  return {
    transport: (clock) => new WebhookNotifier({ url: rx.url('/hooks/greenlight'), secret: SECRET, clock }),
    answer: (...a) => rx.answer(...a),
    waitForAttempts: (n) => rx.waitForRequests(n),
    attemptCount: () => rx.requests.length,
    // The manual clock in the contract starts in 2026; the receiver checks freshness against the sender's clock there.
    received: () => rx.accepted().map((r) => checkPayload(r, Number(r.headers['x-greenlight-timestamp']) * 1000)),
    close: () => rx.close(),
  };
});

test('webhook: the signature covers the timestamp, so a replayed or altered request fails verification', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 200, body: '' } });
  try {
    const clock = new ManualClock(Date.UTC(2026, 5, 3, 10, 0, 5));
    const r = await new WebhookNotifier({ url: rx.url(), secret: SECRET, clock }).send(sampleNotification());
    assert.equal(r.ok, true, r.error);
    const req = rx.requests[0]!;
    const ts = req.headers['x-greenlight-timestamp'] as string;
    const sig = req.headers['x-greenlight-signature'] as string;
    assert.equal(ts, String(Math.floor(clock.now() / 1000)));
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.deepEqual(verifyAsDocumented(req, SECRET, clock.now()), []);
    const input = { secret: SECRET, timestamp: ts, signature: sig, rawBody: req.body, now: clock.now() };
    assert.deepEqual(verifyWebhook(input), { ok: true });
    assert.equal(verifyWebhook({ ...input, secret: 'other' }).ok, false);
    assert.equal(verifyWebhook({ ...input, rawBody: req.body.replace('critical', 'info') }).ok, false);
    assert.equal(verifyWebhook({ ...input, timestamp: String(Number(ts) + 1) }).ok, false, 'timestamp is part of the signed content');
    const replayed = verifyWebhook({ ...input, now: clock.now() + 301_000 });
    assert.deepEqual(replayed, { ok: false, reason: 'timestamp outside the tolerance window (replayed or clock skew)' });
  } finally {
    await rx.close();
  }
});

test('webhook: custom headers are sent, the secret can come from the environment, no secret means no signature', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 200, body: '' } });
  try {
    const spec = webhookSpecSchema.parse({ kind: 'webhook', url: rx.url('/x'), secret: { env: 'HOOK_SECRET' }, headers: { 'X-Team': 'web' } });
    const n = createWebhook(spec, { clock: systemClock, env: { HOOK_SECRET: SECRET } });
    assert.equal((await n.send(sampleNotification())).ok, true);
    assert.equal(rx.requests[0]!.headers['x-team'], 'web');
    assert.deepEqual(verifyAsDocumented(rx.requests[0]!, SECRET, Date.now()), []);

    const plain = createWebhook(webhookSpecSchema.parse({ kind: 'webhook', url: rx.url('/y') }), { clock: systemClock });
    assert.equal((await plain.send(sampleNotification())).ok, true);
    assert.equal(rx.requests[1]!.headers['x-greenlight-signature'], undefined);
    const body = JSON.parse(rx.requests[1]!.body) as Record<string, unknown>;
    assert.equal(body.incidentId, 'inc-42');
    assert.equal(body.startsAt, '2026-06-03T10:00:00.000Z');
  } finally {
    await rx.close();
  }
});

test('webhook: config is strict; a missing secret variable is a config error naming it', () => {
  assert.equal(notifierSpecSchema.safeParse({ kind: 'webhook', url: 'http://127.0.0.1:1/', extra: 1 }).success, false);
  assert.equal(notifierSpecSchema.safeParse({ kind: 'webhook', url: 'ftp://example.com/' }).success, false);
  assert.equal(notifierSpecSchema.safeParse({ kind: 'webhook', url: 'https://example.com/', headers: { 'X-Greenlight-Signature': 'x' } }).success, false);
  const spec = webhookSpecSchema.parse({ kind: 'webhook', url: 'https://example.com/', secret: { env: 'NOPE_SECRET' }, timeout: '3s' });
  assert.equal(spec.timeout, 3000);
  assert.throws(
    () => createWebhook(spec, { clock: systemClock, env: {} }),
    (e: unknown) => e instanceof GreenlightError && e.code === 'CONFIG_INVALID' && e.message.includes('NOPE_SECRET'),
  );
});

test('webhook: an unreachable receiver is a retryable failure, not an exception', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 200, body: '' } });
  const url = rx.url('/gone');
  await rx.close();
  const r = await new WebhookNotifier({ url, clock: systemClock }).send(sampleNotification());
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.match(r.error ?? '', /could not reach webhook "webhook" at http:\/\/127\.0\.0\.1:\d+/);
});
