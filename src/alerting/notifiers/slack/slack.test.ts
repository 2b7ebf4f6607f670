import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../clock/clock.ts';
import { HttpReceiver, type HttpRecord } from '../loopback-receivers.ts';
import { notifierContract, sampleNotification, type Received } from '../notifier.contract.ts';
import { slackMessage, SlackNotifier } from './slack.ts';

type Block = Record<string, unknown> & { type: string };

/** Checks a message against Slack's Block Kit rules for the block types we use. */
function checkSlackMessage(raw: string): { problems: string[]; text: string; header: string } {
  const problems: string[] = [];
  const words: string[] = [];
  let msg: { text?: unknown; blocks?: unknown };
  try {
    msg = JSON.parse(raw) as typeof msg;
  } catch {
    return { problems: ['body is not JSON'], text: '', header: '' };
  }
  if (typeof msg.text !== 'string' || msg.text.length === 0) problems.push('no text fallback');
  else words.push(msg.text);
  if (!Array.isArray(msg.blocks) || msg.blocks.length === 0 || msg.blocks.length > 50) return { problems: [...problems, 'blocks must be 1..50'], text: '', header: '' };
  const blocks = msg.blocks as Block[];
  let header = '';
  const plain = (t: unknown, max: number, where: string) => {
    const o = t as { type?: unknown; text?: unknown };
    if (o?.type !== 'plain_text' || typeof o.text !== 'string' || o.text.length === 0 || o.text.length > max) problems.push(`${where}: expected plain_text of 1..${max} chars`);
    else words.push(o.text);
  };
  const mrkdwn = (t: unknown, max: number, where: string) => {
    const o = t as { type?: unknown; text?: unknown };
    if (o?.type !== 'mrkdwn' || typeof o.text !== 'string' || o.text.length > max) problems.push(`${where}: expected mrkdwn of at most ${max} chars`);
    else words.push(o.text);
  };
  for (const [i, b] of blocks.entries()) {
    switch (b.type) {
      case 'header':
        plain(b.text, 150, `blocks[${i}].text`);
        header = String((b.text as { text?: unknown })?.text ?? '');
        break;
      case 'section': {
        if (b.text === undefined && b.fields === undefined) problems.push(`blocks[${i}]: section needs text or fields`);
        if (b.text !== undefined) mrkdwn(b.text, 3000, `blocks[${i}].text`);
        const fields = (b.fields ?? []) as unknown[];
        if (!Array.isArray(fields) || fields.length > 10) problems.push(`blocks[${i}].fields: at most 10`);
        else fields.forEach((f, j) => mrkdwn(f, 2000, `blocks[${i}].fields[${j}]`));
        break;
      }
      case 'context': {
        const els = b.elements as unknown[];
        if (!Array.isArray(els) || els.length === 0 || els.length > 10) problems.push(`blocks[${i}].elements: 1..10`);
        else els.forEach((e, j) => mrkdwn(e, 3000, `blocks[${i}].elements[${j}]`));
        break;
      }
      case 'actions': {
        const els = b.elements as Array<Record<string, unknown>>;
        if (!Array.isArray(els) || els.length === 0 || els.length > 25) problems.push(`blocks[${i}].elements: 1..25`);
        const ids = new Set<string>();
        for (const [j, e] of (els ?? []).entries()) {
          if (e.type !== 'button') problems.push(`blocks[${i}].elements[${j}]: expected a button`);
          plain(e.text, 75, `blocks[${i}].elements[${j}].text`);
          if (typeof e.url !== 'string' || !/^https?:\/\//.test(e.url) || e.url.length > 3000) problems.push(`blocks[${i}].elements[${j}].url`);
          else words.push(e.url);
          if (typeof e.action_id !== 'string' || ids.has(e.action_id)) problems.push(`blocks[${i}].elements[${j}].action_id must be unique`);
          else ids.add(e.action_id);
          if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') problems.push(`blocks[${i}].elements[${j}].style`);
        }
        break;
      }
      default:
        problems.push(`blocks[${i}]: unexpected block type ${b.type}`);
    }
  }
  if (blocks[0]?.type !== 'header') problems.push('first block should be the header');
  return { problems, text: words.join('\n'), header };
}

function interpret(req: HttpRecord): Received {
  const { problems, text, header } = checkSlackMessage(req.body);
  if (!String(req.headers['content-type']).startsWith('application/json')) problems.push('content-type');
  const action = header.startsWith('Resolved') ? 'resolve' : header.startsWith('Acknowledged') ? 'acknowledge' : 'trigger';
  const dedupKey = /dedup `([^`]+)`/.exec(text)?.[1] ?? '';
  return { action, dedupKey, text: text.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'), problems };
}

notifierContract('slack', async () => {
  // Slack answers 200 "ok"; failures are 400 invalid_payload, 404 no_service, 429 and 5xx.
  const rx = await HttpReceiver.start({ ok: { status: 200, body: 'ok' }, fatal: { status: 400, body: 'invalid_payload' }, retryable: { status: 503, body: 'service unavailable' } });
  return {
    transport: (clock) => new SlackNotifier({ url: rx.url('/services/T000/B000/XXXX'), clock }),
    answer: (...a) => rx.answer(...a),
    waitForAttempts: (n) => rx.waitForRequests(n),
    attemptCount: () => rx.requests.length,
    received: () => rx.accepted().map(interpret),
    close: () => rx.close(),
  };
});

test('slack: message layout: header, summary with fields, context, buttons with the signed links', () => {
  const n = sampleNotification();
  const m = slackMessage(n);
  assert.deepEqual(m.blocks.map((b) => b.type), ['header', 'section', 'context', 'actions']);
  assert.deepEqual(checkSlackMessage(JSON.stringify(m)).problems, []);
  const buttons = (m.blocks[3] as { elements: Array<{ text: { text: string }; url: string; style?: string }> }).elements;
  assert.deepEqual(buttons.map((b) => [b.text.text, b.url]), [
    ['Acknowledge', n.links!.acknowledge],
    ['Resolve', n.links!.resolve],
    ['Snooze', n.links!.snooze],
    ['Dashboard', n.links!.dashboard],
  ]);
  assert.ok(m.text.startsWith('Triggered [CRITICAL] production/web: 100% of requests fail with HTTP 500'));
  assert.ok(m.text.includes(n.links!.acknowledge!), 'the push-notification fallback carries the ack link');
});

test('slack: a resolve has no acknowledge button; mrkdwn control characters are escaped; long summaries are clipped', () => {
  const resolved = slackMessage(sampleNotification({ action: 'resolve' }));
  const actions = resolved.blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string }> };
  assert.deepEqual(actions.elements.map((e) => e.action_id), ['greenlight_dashboard']);
  const tricky = slackMessage(sampleNotification({ summary: `<!channel> a & b ${'x'.repeat(400)}` }));
  assert.deepEqual(checkSlackMessage(JSON.stringify(tricky)).problems, []);
  const section = tricky.blocks[1] as { text: { text: string } };
  assert.ok(section.text.text.includes('&lt;!channel&gt; a &amp; b'));
});

test('slack: errors do not leak the webhook URL path, which is the secret', async () => {
  const rx = await HttpReceiver.start({ ok: { status: 200, body: 'ok' } });
  const url = rx.url('/services/T000/B000/SECRETTOKEN');
  await rx.close();
  const r = await new SlackNotifier({ url, clock: systemClock }).send(sampleNotification());
  assert.equal(r.ok, false);
  assert.ok(!(r.error ?? '').includes('SECRETTOKEN'), r.error);
});
