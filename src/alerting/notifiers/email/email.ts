// kind: email — one SMTP transaction per attempt (nodemailer's SMTPConnection, driven directly so
// an abort closes the socket at once instead of waiting for nodemailer's own minutes-long timeouts).
// SMTP 4xx replies and connection failures are retryable; 5xx replies and authentication failures
// are not. Every message of one alert shares a References root, so mail clients thread trigger,
// acknowledge and resolve together.
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { z } from 'zod';
import type { Clock } from '../../../clock/clock.ts';
import { actionLinks, actionTitle, describeError, type DeliveryResult, type Notification, type Notifier } from '../notifier.ts';
import { commonSpecFields, envName, readEnv, type CreateDeps } from '../spec.ts';

const address = z.email({ message: 'expected an email address like oncall@example.com' });

export const emailSpecSchema = z.strictObject({
  kind: z.literal('email'),
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: z.int().min(1).max(65535),
      /** TLS from the first byte (usually port 465); otherwise STARTTLS is used when offered */
      secure: z.boolean().default(false),
      user: z.string().min(1).optional(),
      password_env: envName.optional(),
    })
    .refine((s) => s.password_env === undefined || s.user !== undefined, { message: 'password_env needs user', path: ['user'] }),
  /** "Greenlight <greenlight@example.com>" or a bare address */
  from: z.string().regex(/@/, { message: 'expected a sender address like "Greenlight <greenlight@example.com>"' }),
  /** used when the notification names no recipient with an email address */
  to: z.array(address).min(1).optional(),
  ...commonSpecFields,
});
export type EmailSpec = z.output<typeof emailSpecSchema>;

export interface EmailOptions {
  name?: string | undefined;
  host: string;
  port: number;
  secure?: boolean;
  user?: string | undefined;
  password?: string | undefined;
  from: string;
  to?: string[] | undefined;
  clock: Clock;
  /** nodemailer's own socket timeouts, a backstop for callers that use no timeout stage */
  socketTimeoutMs?: number;
}

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
  references: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

/** "Greenlight <gl@example.com>" -> "gl@example.com": the SMTP envelope takes a bare address. */
function envelopeAddress(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
}

function domainOf(from: string): string {
  const m = /@([A-Za-z0-9.-]+)/.exec(from);
  return m?.[1] ?? 'greenlight.invalid';
}

export function emailMessage(n: Notification, from: string): EmailMessage {
  const sev = n.severity.toUpperCase();
  const summary = oneLine(n.summary);
  const subject = n.action === 'trigger' ? `[${sev}] ${summary}` : `[${sev}] ${actionTitle[n.action]}: ${summary}`;
  const links = actionLinks(n);
  const facts: Array<[string, string]> = [
    ['Status', actionTitle[n.action]],
    ['Severity', n.severity],
    ['Source', n.source],
    ['Started', new Date(n.startsAt).toISOString()],
  ];
  if (n.incidentId) facts.push(['Incident', n.incidentId]);
  if (n.recipient) facts.push(['On call', n.recipient.name]);
  const labels = Object.entries(n.labels);
  const annotations = Object.entries(n.annotations ?? {});

  const text = [
    `${actionTitle[n.action]} [${sev}] ${n.summary}`,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(annotations.length ? ['', ...annotations.map(([k, v]) => `${k}: ${v}`)] : []),
    ...(labels.length ? ['', 'Labels:', ...labels.map(([k, v]) => `  ${k}=${v}`)] : []),
    ...(links.length ? ['', ...links.map((l) => `${l.text}: ${l.href}`)] : []),
    '',
    `dedup key: ${n.dedupKey}`,
    '-- Greenlight',
    '',
  ].join('\n');

  const row = (k: string, v: string) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(`${actionTitle[n.action]} [${sev}] ${n.summary}`)}</h2>`,
    `<table>${facts.map(([k, v]) => row(k, v)).join('')}${annotations.map(([k, v]) => row(k, v)).join('')}</table>`,
    labels.length ? `<p>${labels.map(([k, v]) => `<code>${escapeHtml(k)}=${escapeHtml(v)}</code>`).join(' ')}</p>` : '',
    links.length
      ? `<p>${links.map((l) => `<a href="${escapeHtml(l.href)}" style="display:inline-block;padding:8px 14px;margin-right:8px;border:1px solid #888;border-radius:4px;text-decoration:none">${escapeHtml(l.text)}</a>`).join('')}</p>`
      : '',
    `<p style="color:#888;font-size:small">dedup key ${escapeHtml(n.dedupKey)} · Greenlight</p>`,
    '</body></html>',
  ].join('\n');

  const domain = domainOf(from);
  const root = `<alert.${createHash('sha256').update(n.dedupKey).digest('hex').slice(0, 32)}@${domain}>`;
  return {
    subject,
    text,
    html,
    headers: {
      'X-Greenlight-Notification-Id': oneLine(n.id),
      'X-Greenlight-Dedup-Key': oneLine(n.dedupKey),
      'X-Greenlight-Action': n.action,
      'X-Greenlight-Severity': n.severity,
    },
    // Retries of one notification reuse its Message-ID, so a receiver that already got it can drop the copy.
    messageId: `<${createHash('sha256').update(`${n.id}/${n.action}`).digest('hex').slice(0, 32)}@${domain}>`,
    references: root,
  };
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  permanent?: boolean;
  message?: string;
}

export class EmailNotifier implements Notifier {
  readonly kind = 'email';
  readonly name: string;
  private readonly opts: EmailOptions;

  constructor(opts: EmailOptions) {
    this.name = opts.name ?? 'email';
    this.opts = opts;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryResult> {
    const { clock } = this.opts;
    const started = clock.now();
    const to = n.recipient?.email ? [n.recipient.email] : this.opts.to;
    if (!to || to.length === 0) {
      return {
        ok: false,
        attempts: 1,
        retryable: false,
        durationMs: 0,
        error: `email notifier "${this.name}" has nobody to write to: the notification's recipient has no email and the notifier has no "to"`,
      };
    }
    const m = emailMessage(n, this.opts.from);
    try {
      const raw = await new MailComposer({
        from: this.opts.from,
        to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        headers: m.headers,
        messageId: m.messageId,
        references: m.references,
        inReplyTo: m.references,
        date: new Date(clock.now()),
      })
        .compile()
        .build();
      const info = await this.transact(to, raw, signal);
      return { ok: true, attempts: 1, status: info.status, durationMs: clock.now() - started };
    } catch (e) {
      const err = e as SmtpError;
      const durationMs = clock.now() - started;
      if (signal?.aborted) {
        return { ok: false, attempts: 1, retryable: true, durationMs, error: `SMTP delivery to ${this.opts.host}:${this.opts.port} aborted: ${describeError(signal.reason)}` };
      }
      const retryable = err.permanent !== undefined ? !err.permanent : err.code !== 'EAUTH' && err.code !== 'EENVELOPE';
      const hint = retryable ? '' : err.code === 'EAUTH' ? ' (not retried: check smtp.user and the password variable)' : ' (not retried: the server refused this message or its recipients)';
      return {
        ok: false,
        attempts: 1,
        retryable,
        durationMs,
        ...(err.responseCode !== undefined ? { status: err.responseCode } : {}),
        error: `SMTP ${this.opts.host}:${this.opts.port}: ${describeError(e)}${hint}`,
      };
    }
  }

  private transact(to: string[], raw: Buffer, signal?: AbortSignal): Promise<{ status: number }> {
    const backstop = this.opts.socketTimeoutMs ?? 60_000;
    const conn = new SMTPConnection({
      host: this.opts.host,
      port: this.opts.port,
      secure: this.opts.secure ?? false,
      connectionTimeout: backstop,
      greetingTimeout: backstop,
      socketTimeout: backstop,
      socketCloseTimeout: 0,
    });
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: unknown, value?: { status: number }) => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          conn.close();
          reject(err);
        } else {
          conn.quit();
          resolve(value!);
        }
      };
      const onAbort = () => finish(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      conn.on('error', (err) => finish(err));
      conn.connect((connectErr) => {
        if (connectErr) return finish(connectErr);
        const afterLogin = () =>
          conn.send({ from: envelopeAddress(this.opts.from), to }, raw, (sendErr, info) => {
            if (sendErr) return finish(sendErr);
            const status = Number(/^(\d{3})/.exec(info?.response ?? '')?.[1] ?? 250);
            finish(null, { status });
          });
        if (this.opts.user === undefined) return afterLogin();
        conn.login({ user: this.opts.user, pass: this.opts.password ?? '' }, (loginErr) => (loginErr ? finish(loginErr) : afterLogin()));
      });
    });
  }
}

export function createEmail(spec: EmailSpec, deps: CreateDeps): EmailNotifier {
  return new EmailNotifier({
    name: spec.name,
    host: spec.smtp.host,
    port: spec.smtp.port,
    secure: spec.smtp.secure,
    user: spec.smtp.user,
    password: spec.smtp.password_env === undefined ? undefined : readEnv(spec.smtp.password_env, deps, 'email.smtp.password_env'),
    from: spec.from,
    to: spec.to,
    clock: deps.clock,
    socketTimeoutMs: Math.max(5_000, 2 * spec.timeout),
  });
}
