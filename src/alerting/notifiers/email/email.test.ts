import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../clock/clock.ts';
import { createEmail, emailMessage, EmailNotifier, emailSpecSchema } from './email.ts';
import { SmtpReceiver, type MailRecord } from '../loopback-receivers.ts';
import { notifierContract, sampleNotification, type Received } from '../notifier.contract.ts';
import { notifierSpecSchema } from '../registry.ts';

const FROM = 'Greenlight <greenlight@example.com>';

function interpret(m: MailRecord): Received {
  const problems: string[] = [];
  const h = m.headers;
  const action = (h['x-greenlight-action'] ?? '') as Received['action'];
  const severity = h['x-greenlight-severity'] ?? '';
  if (!h.subject) problems.push('no subject');
  else if (!h.subject.includes(`[${severity.toUpperCase()}]`)) problems.push(`subject lacks the severity: ${h.subject}`);
  if (!h.from?.includes('greenlight@example.com')) problems.push('from');
  if (m.from !== 'greenlight@example.com') problems.push(`envelope from ${m.from}`);
  if (!/^<[^@\s]+@example\.com>$/.test(h['message-id'] ?? '')) problems.push('message-id');
  if (!h.references) problems.push('references (threading)');
  if (!(h['content-type'] ?? '').startsWith('multipart/alternative')) problems.push('expected text and HTML alternatives');
  if (!m.text) problems.push('no text/plain part');
  if (!m.html.includes('<html')) problems.push('no text/html part');
  if (!m.html.includes('<a href="https://greenlight.example.com/')) problems.push('HTML has no link buttons');
  return { action, dedupKey: h['x-greenlight-dedup-key'] ?? '', text: `${h.subject}\n${m.text}`, problems };
}

notifierContract('email', async () => {
  const rx = await SmtpReceiver.start();
  return {
    transport: (clock) => new EmailNotifier({ host: '127.0.0.1', port: rx.port, from: FROM, to: ['team@example.com'], clock, socketTimeoutMs: 10_000 }),
    answer: (...a) => rx.answer(...a),
    waitForAttempts: (n) => rx.waitForMails(n),
    attemptCount: () => rx.mails.length,
    received: () => rx.accepted().map(interpret),
    close: () => rx.close(),
  };
});

test('email: goes to the paged person when they have an address, else to the configured list; the subject names severity and summary', async () => {
  const rx = await SmtpReceiver.start();
  try {
    const spec = emailSpecSchema.parse({ kind: 'email', smtp: { host: '127.0.0.1', port: rx.port }, from: FROM, to: ['team@example.com'] });
    const n = createEmail(spec, { clock: systemClock });
    assert.equal((await n.send(sampleNotification())).ok, true);
    assert.equal((await n.send(sampleNotification({ recipient: { name: 'Bob' }, action: 'resolve' }))).ok, true);
    assert.deepEqual(rx.mails.map((m) => m.to), [['ann@example.com'], ['team@example.com']]);
    assert.equal(rx.mails[0]!.headers.subject, '[CRITICAL] production/web: 100% of requests fail with HTTP 500');
    assert.equal(rx.mails[1]!.headers.subject, '[CRITICAL] Resolved: production/web: 100% of requests fail with HTTP 500');
    assert.equal(rx.mails[0]!.headers.references, rx.mails[1]!.headers.references, 'trigger and resolve thread together');
    assert.match(rx.mails[0]!.text, /Acknowledge: https:\/\/greenlight\.example\.com\/a\/ack\?t=sig-ack-123/);
    assert.ok(!rx.mails[1]!.text.includes('Acknowledge:'), 'no acknowledge link once resolved');
  } finally {
    await rx.close();
  }
});

test('email: nobody to write to is a final failure; HTML escapes what the alert says', async () => {
  const r = await new EmailNotifier({ host: '127.0.0.1', port: 1, from: FROM, clock: systemClock }).send(sampleNotification({ recipient: { name: 'Bob' } }));
  assert.equal(r.ok, false);
  assert.equal(r.retryable, false);
  assert.match(r.error ?? '', /nobody to write to/);
  const m = emailMessage(sampleNotification({ summary: '<script>alert(1)</script>' }), FROM);
  assert.ok(!m.html.includes('<script>'));
  assert.ok(m.html.includes('&lt;script&gt;'));
});

test('email: an unreachable SMTP server is retryable', async () => {
  const rx = await SmtpReceiver.start();
  const port = rx.port;
  await rx.close();
  const r = await new EmailNotifier({ host: '127.0.0.1', port, from: FROM, to: ['a@example.com'], clock: systemClock }).send(sampleNotification());
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.match(r.error ?? '', /SMTP 127\.0\.0\.1:\d+/);
});

test('email: config is strict and checks addresses', () => {
  const base = { kind: 'email', smtp: { host: 'smtp.example.com', port: 587 }, from: FROM };
  assert.equal(notifierSpecSchema.safeParse(base).success, true);
  assert.equal(notifierSpecSchema.safeParse({ ...base, to: ['not-an-address'] }).success, false);
  assert.equal(notifierSpecSchema.safeParse({ ...base, smtp: { host: 'h', port: 25, password_env: 'P' } }).success, false);
  assert.equal(notifierSpecSchema.safeParse({ ...base, cc: ['a@example.com'] }).success, false);
});
