// kind: slack — a Slack incoming webhook carrying a Block Kit message (header, summary with fields,
// context, buttons for the signed action links) plus the `text` fallback Slack shows in
// notifications and on clients that cannot render blocks. Limits are Slack's documented ones.
import { z } from 'zod';
import type { Clock } from '../../../clock/clock.ts';
import { postJson } from '../http-post.ts';
import { actionLinks, actionTitle, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';
import { commonSpecFields, httpUrl, type CreateDeps } from '../spec.ts';

export const slackSpecSchema = z.strictObject({
  kind: z.literal('slack'),
  /** the incoming webhook URL (it is a secret: anyone holding it can post to the channel) */
  url: httpUrl,
  ...commonSpecFields,
});
export type SlackSpec = z.output<typeof slackSpecSchema>;

const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const MAX_FIELDS = 10;
const BUTTON_TEXT_MAX = 75;
const URL_MAX = 3000;

const severityMark: Record<Notification['severity'], string> = {
  critical: ':red_circle:',
  error: ':large_orange_circle:',
  warning: ':large_yellow_circle:',
  info: ':large_blue_circle:',
};

/** Slack mrkdwn treats &, < and > as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export function slackMessage(n: Notification): SlackMessage {
  const mark = n.action === 'resolve' ? ':white_check_mark:' : n.action === 'acknowledge' ? ':eyes:' : severityMark[n.severity];
  const title = `${actionTitle[n.action]} [${n.severity.toUpperCase()}] ${n.summary}`;
  const fields: string[] = [`*Source*\n${escapeMrkdwn(n.source)}`, `*Severity*\n${n.severity}`];
  if (n.incidentId) fields.push(`*Incident*\n${escapeMrkdwn(n.incidentId)}`);
  if (n.recipient) fields.push(`*On call*\n${escapeMrkdwn(n.recipient.name)}`);
  const labelEntries = Object.entries(n.labels);
  for (const [k, v] of labelEntries.slice(0, MAX_FIELDS - fields.length)) fields.push(`*${escapeMrkdwn(k)}*\n${escapeMrkdwn(v)}`);
  const description = n.annotations?.description;
  const started = Math.floor(n.startsAt / 1000);
  const links = actionLinks(n).filter((l) => l.href.length <= URL_MAX);

  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${title}`, HEADER_MAX), emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`${mark} *${escapeMrkdwn(n.summary)}*${description ? `\n${escapeMrkdwn(description)}` : ''}`, SECTION_MAX) },
      fields: fields.map((f) => ({ type: 'mrkdwn', text: clip(f, FIELD_MAX) })),
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `started <!date^${started}^{date_short_pretty} {time}|${new Date(n.startsAt).toISOString()}> · dedup \`${escapeMrkdwn(n.dedupKey)}\` · Greenlight`,
        },
      ],
    },
  ];
  if (links.length > 0) {
    blocks.push({
      type: 'actions',
      elements: links.map((l) => ({
        type: 'button',
        action_id: `greenlight_${l.rel}`,
        text: { type: 'plain_text', text: clip(l.text, BUTTON_TEXT_MAX) },
        url: l.href,
        ...(l.rel === 'acknowledge' ? { style: 'primary' } : l.rel === 'resolve' ? { style: 'danger' } : {}),
      })),
    });
  }
  // The fallback is what phones show in the push notification: it must stand on its own.
  const text = [`${title} (${n.source})`, ...links.map((l) => `${l.text}: ${l.href}`)].join('\n');
  return { text, blocks };
}

export class SlackNotifier implements Notifier {
  readonly kind = 'slack';
  readonly name: string;
  private readonly url: string;
  private readonly clock: Clock;

  constructor(opts: { name?: string | undefined; url: string; clock: Clock }) {
    this.name = opts.name ?? 'slack';
    this.url = opts.url;
    this.clock = opts.clock;
  }

  send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    return postJson({ url: this.url, body: JSON.stringify(slackMessage(n)), headers: {}, clock: this.clock, signal, receiver: `Slack webhook "${this.name}"` });
  }
}

export function createSlack(spec: SlackSpec, deps: CreateDeps): SlackNotifier {
  return new SlackNotifier({ name: spec.name, url: spec.url, clock: deps.clock });
}
